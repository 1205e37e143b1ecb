#!/usr/bin/env python3
"""Follow ``docs/deploy.md`` on a clean checkout and check that the application answers.

Runs the guide's own commands, so the guide and this check cannot drift apart:

1. creates a fresh PostgreSQL database on ``--server`` and empties Redis database ``--redis``;
2. loads the guide's example environment (the ``deploy-env`` block), with production settings,
   pointing only the database, Redis and the file folders at the fresh ones;
3. runs every ``deploy-step`` block in order (``install`` ones are skipped with ``--venv``,
   which links an existing virtual environment instead: installing takes minutes);
4. starts every line of the ``deploy-start`` block as a process (gunicorn, the workers, beat);
5. runs the ``deploy-check`` blocks until they pass (``/healthz``, ``/readyz``, the workers answer);
6. checks for itself: the sign-in page behind the proxy headers, the redirect to HTTPS,
   ``manage.py check --deploy``, the three queues consumed, every process still running;
7. stops the processes and drops the database.

Usage (standard library only; needs ``psql``, ``redis-cli``, ``curl`` and ``bash``)::

    python3 scripts/deploy_check.py --checkout /tmp/clean-copy \\
        --server postgres://postgres@127.0.0.1:5432/postgres --redis redis://127.0.0.1:6379/11 \\
        [--venv /path/to/existing/.venv]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from deploy_doc import Block, blocks, guide, read_env_file  # noqa: E402

STEP_TIMEOUT = 900  # an install from PyPI on a slow line
READY_TIMEOUT = 120  # the processes answering the guide's checks after they start
STOP_TIMEOUT = 40
QUEUES = {"default", "notifications", "rendering"}
# Left out of the processes' environment: the guide's file and this check decide these.
DROPPED = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "REDIS_URL",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "VIRTUAL_ENV",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the browser tests in the same test run; check --deploy refuses it
)


class CheckFailed(Exception):
    pass


def say(message: str) -> None:
    print(f"deploy-check: {message}", flush=True)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def psql(server: str, sql: str) -> None:
    done = subprocess.run(  # noqa: S603
        ["psql", server, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode:
        raise CheckFailed(f"psql failed on {sql!r}: {done.stderr.strip()}")


def redis_flush(url: str) -> None:
    done = subprocess.run(["redis-cli", "-u", url, "flushdb"], capture_output=True, text=True, timeout=30, check=False)  # noqa: S603, S607
    if done.returncode or "OK" not in done.stdout:
        raise CheckFailed(f"redis-cli could not empty {url}: {done.stdout}{done.stderr}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_block(block: Block, *, cwd: Path, env: dict[str, str], timeout: float = STEP_TIMEOUT) -> str:
    done = subprocess.run(  # noqa: S603
        ["bash", "-euo", "pipefail", "-c", block.body],  # noqa: S607
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode:
        raise CheckFailed(
            f"the {block.tag} block at docs/deploy.md line {block.line} failed ({done.returncode}):\n"
            f"{block.body}\n--- output ---\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return done.stdout


class Processes:
    """The guide's long-running processes, each in its own session, logged to a file; stopped on exit."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.running: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    def start(self, command: str, *, cwd: Path, env: dict[str, str]) -> None:
        log = self.folder / f"process-{len(self.running) + 1}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603
                ["bash", "-c", f"exec {command}"],  # noqa: S607
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running.append((command, process, log))

    def exited(self) -> list[str]:
        return [
            f"{cmd} (exit {p.returncode})\n{self.tail(log)}" for cmd, p, log in self.running if p.poll() is not None
        ]

    @staticmethod
    def tail(log: Path) -> str:
        return log.read_text(errors="replace")[-3000:]

    def logs(self) -> str:
        return "\n".join(f"--- {cmd}\n{self.tail(log)}" for cmd, _, log in self.running)

    def stop(self) -> None:
        for _, process, _ in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for _, process, _ in self.running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)


def get(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode(errors="replace")
    finally:
        connection.close()


def wait_for_checks(checks: list[Block], processes: Processes, *, cwd: Path, env: dict[str, str]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if processes.exited():
            raise CheckFailed("a process stopped:\n" + "\n".join(processes.exited()))
        try:
            for block in checks:
                run_block(block, cwd=cwd, env=env, timeout=60)
            return
        except CheckFailed:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def check_app(port: int, host: str, *, cwd: Path, env: dict[str, str]) -> None:
    """What the guide's checks leave out: the sign-in page, HTTPS, ``check --deploy``, the queues."""
    proxied = {"Host": host, "X-Forwarded-Proto": "https"}
    status, _, body = get(port, "/account/login/", proxied)
    if status != 200 or 'name="password"' not in body:
        raise CheckFailed(f"the sign-in page answered {status} without a password field")
    status, headers, _ = get(port, "/account/login/", {"Host": host})
    location = headers.get("Location", "")
    if status != 301 or not location.startswith(f"https://{host}/"):
        raise CheckFailed(f"plain HTTP was not redirected to HTTPS (status {status}, Location {location!r})")
    python = str(cwd / ".venv" / "bin" / "python")
    deploy = subprocess.run(  # noqa: S603
        [python, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if deploy.returncode or "no issues" not in deploy.stdout:
        raise CheckFailed(f"manage.py check --deploy is not clean:\n{deploy.stdout}{deploy.stderr}")
    inspect = subprocess.run(  # noqa: S603
        [python, "-m", "celery", "-A", "microsystems", "inspect", "active_queues", "--json", "--timeout", "10"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    consumed = queues_consumed(inspect.stdout)
    if consumed != QUEUES:
        raise CheckFailed(f"the workers consume {sorted(consumed)}, not {sorted(QUEUES)}:\n{inspect.stderr}")


def queues_consumed(output: str) -> set[str]:
    """The queue names in ``celery inspect active_queues --json`` output (one JSON object)."""
    start = output.find("{")
    if start < 0:
        return set()
    replies = json.loads(output[start:])
    return {queue["name"] for worker in replies.values() for queue in worker}


def deploy(args: argparse.Namespace, stack: ExitStack) -> None:
    root = Path(args.checkout).resolve()
    text = guide(root)
    env_blocks = blocks(text, "deploy-env")
    steps, starts, checks = blocks(text, "deploy-step"), blocks(text, "deploy-start"), blocks(text, "deploy-check")
    if len(env_blocks) != 1 or not steps or len(starts) != 1 or not checks:
        raise CheckFailed("docs/deploy.md needs one deploy-env block, deploy-step blocks, one deploy-start block "
                          "and deploy-check blocks")  # fmt: skip
    example = read_env_file(env_blocks[0].body)
    if args.venv:
        steps = [b for b in steps if "install" not in b.labels]
        venv = root / ".venv"
        if not venv.exists():
            venv.symlink_to(Path(args.venv).resolve(), target_is_directory=True)
        elif venv.resolve() != Path(args.venv).resolve():
            raise CheckFailed(f"{venv} exists and is not {args.venv}")
        say(f"reusing the virtual environment {args.venv}: the install step is not run")
    elif (root / ".venv").exists():
        raise CheckFailed(f"{root} is not a clean checkout: it has a .venv (give --venv to reuse one)")

    work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="deploy-check-")))
    database = f"microsystems_deploy_{secrets.token_hex(4)}"
    psql(args.server, f'CREATE DATABASE "{database}"')
    stack.callback(psql, args.server, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    redis_flush(args.redis)
    stack.callback(redis_flush, args.redis)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    env.update(example)
    env.update(
        DATABASE_URL=with_database(args.server, database),
        REDIS_URL=args.redis,
        MEDIA_ROOT=str(work / "media"),
        STATIC_ROOT=str(work / "static"),
        PORT=str(port),
        WEB_CONCURRENCY="2",
        RENDER_CONCURRENCY="1",
        PYTHONUNBUFFERED="1",
    )
    host = example["ALLOWED_HOSTS"].split(",")[0].strip()
    say(f"database {database}, Redis {args.redis}, port {port}, settings {env['DJANGO_SETTINGS_MODULE']}")

    for block in steps:
        started = time.monotonic()
        run_block(block, cwd=root, env=env)
        say(f"ran the deploy-step at line {block.line} in {time.monotonic() - started:.0f}s")
    processes = Processes(work)
    stack.callback(processes.stop)
    for command in starts[0].commands:
        processes.start(command, cwd=root, env=env)
    say(f"started {len(processes.running)} processes")
    try:
        wait_for_checks(checks, processes, cwd=root, env=env)
        say("the guide's checks pass")
        check_app(port, host, cwd=root, env=env)
        if processes.exited():
            raise CheckFailed("a process stopped:\n" + "\n".join(processes.exited()))
    except CheckFailed as failure:
        raise CheckFailed(f"{failure}\n=== process logs ===\n{processes.logs()}") from None
    say("the sign-in page, HTTPS redirect, check --deploy and the three queues are right")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkout", default=str(Path(__file__).resolve().parent.parent), help="the clean checkout")
    parser.add_argument("--server", required=True, help="a PostgreSQL URL allowed to create and drop databases")
    parser.add_argument("--redis", required=True, help="a Redis URL with a database number this check may empty")
    parser.add_argument("--venv", help="reuse this virtual environment instead of running the install step")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        with ExitStack() as stack:
            deploy(args, stack)
    except (CheckFailed, subprocess.TimeoutExpired) as failure:
        say(f"FAILED: {failure}")
        return 1
    say(f"passed in {time.monotonic() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
