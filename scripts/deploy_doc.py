"""Read the commands out of ``docs/deploy.md``, so the checks run exactly what the guide says.

A fenced block whose info string is ``sh <tag>`` (for example ```` ```sh deploy-step ````) is a
step of that kind; further words are labels (```` ```sh deploy-step install ````). Blocks are
returned in the order they appear in the guide. Standard library only: the checks run before
anything is installed.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

GUIDE = Path("docs") / "deploy.md"
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    tag: str
    labels: tuple[str, ...]
    body: str
    line: int  # where the block starts in the guide, for messages

    @property
    def commands(self) -> list[str]:
        """The block's lines that do something (comments and blank lines dropped)."""
        return [ln.strip() for ln in self.body.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def blocks(text: str, tag: str) -> list[Block]:
    """Every ```` ```sh <tag> ```` block in ``text``, in order."""
    found = []
    for match in FENCE.finditer(text):
        words = match.group("info").split()
        if len(words) >= 2 and words[0] == "sh" and words[1] == tag:
            line = text.count("\n", 0, match.start()) + 1
            found.append(Block(tag=tag, labels=tuple(words[2:]), body=match.group("body"), line=line))
    return found


def read_env_file(body: str) -> dict[str, str]:
    """``KEY=value`` lines as systemd's ``EnvironmentFile=`` and a POSIX shell both read them."""
    env = {}
    for raw in body.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", key):
            raise ValueError(f"Not a KEY=value line in the guide's environment file: {raw!r}")
        parts = shlex.split(value) if value else [""]
        env[key] = parts[0] if len(parts) == 1 else value
    return env


def guide(root: Path) -> str:
    return (root / GUIDE).read_text(encoding="utf-8")
