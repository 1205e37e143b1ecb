"""E-mail backends for tests that run a real worker process: mail written to files, so it can be counted.

``SlowFileBackend`` writes each message to a file in ``NOTIFICATION_TEST_MAIL_DIR`` (Django's
file-based backend), after waiting ``NOTIFICATION_TEST_MAIL_SECONDS``; before waiting it
notes the message's key in ``taking.txt`` there, as a mail server that has started to take
it. A worker killed while it waits has sent nothing. Set through the worker's environment.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from pathlib import Path

from django.core.mail.backends import filebased

KEY = re.compile(r"^X-Microsystems-Key: (\S+)\s*$", re.MULTILINE)
TAKING = "taking.txt"


class SlowFileBackend(filebased.EmailBackend):
    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["file_path"] = os.environ["NOTIFICATION_TEST_MAIL_DIR"]
        super().__init__(*args, **kwargs)

    def send_messages(self, email_messages):  # type: ignore[no-untyped-def]
        delay = float(os.environ.get("NOTIFICATION_TEST_MAIL_SECONDS", "0"))
        for message in email_messages:
            with (Path(self.file_path) / TAKING).open("a") as taking:
                taking.write(message.extra_headers.get("X-Microsystems-Key", "") + "\n")
            time.sleep(delay)
        return super().send_messages(email_messages)


def mailed_keys(directory: Path) -> Counter[str]:
    """How many messages each key has in the mail files written to ``directory``."""
    counts: Counter[str] = Counter()
    for path in directory.glob("*.log"):
        counts.update(KEY.findall(path.read_text(errors="replace")))
    return counts


def taken_keys(directory: Path) -> list[str]:
    """The keys the mail server started to take, in order (some may never have been finished)."""
    path = directory / TAKING
    return path.read_text().split() if path.exists() else []
