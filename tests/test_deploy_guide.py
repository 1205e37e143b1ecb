"""docs/deploy.md is followed from a clean copy of the code by its own steps (``scripts/deploy_check.py``).

The copy holds the files Git would check out (tracked and new, not ignored: no ``.venv``, no ``var``),
and every step of the guide runs, the ``install`` one too: a new virtual environment from the
package index (about a minute here, the packages coming from pip's cache).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
REDIS_DB = 11  # this test's own Redis database: the check empties it

pytestmark = [pytest.mark.services, pytest.mark.slow]


def needs_services() -> None:
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("The deploy guide check needs PostgreSQL and Redis in CI.")
        pytest.skip("Needs DATABASE_URL (PostgreSQL) and REDIS_URL.")


def server_url() -> str:
    """The test database's server, as a URL naming the maintenance database."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"


def redis_url(db: int) -> str:
    base, _, _ = settings.REDIS_URL.rpartition("/")
    return f"{base}/{db}"


def clean_copy(destination: Path) -> Path:
    """The working tree as a fresh clone would have it, plus files not yet committed (not ignored ones)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def machine_environment() -> dict[str, str]:
    """This process's environment without what the test run itself set (the browser tests allow async-unsafe
    calls, which ``check --deploy`` rightly refuses), as an operator's shell would have it."""
    return {name: value for name, value in os.environ.items() if name != "DJANGO_ALLOW_ASYNC_UNSAFE"}


def test_the_deploy_guide_deploys_a_clean_copy(db, tmp_path):
    needs_services()
    checkout = clean_copy(tmp_path / "checkout")
    assert not (checkout / ".venv").exists() and not (checkout / "var").exists()
    result = subprocess.run(
        [
            sys.executable,
            "scripts/deploy_check.py",
            f"--checkout={checkout}",
            f"--server={server_url()}",
            f"--redis={redis_url(REDIS_DB)}",
        ],
        cwd=checkout,
        env=machine_environment(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]
    assert "the guide's checks pass" in result.stdout
    assert "the sign-in page, HTTPS redirect, check --deploy and the three queues are right" in result.stdout
