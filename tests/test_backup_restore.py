"""The backup and restore drill: docs/deploy.md's backup and restore commands bring back the same pages.

``scripts/backup_restore_drill.py`` seeds the demo with its charts into a fresh database, backs it
up and restores it with the guide's commands, and compares every project page and stored file.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.test_deploy_guide import server_url

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.services, pytest.mark.slow]


def test_a_restored_backup_serves_the_same_project_pages_and_files(db):
    if connection.vendor != "postgresql":
        if os.environ.get("CI") == "true":
            pytest.fail("The backup and restore drill needs PostgreSQL in CI.")
        pytest.skip("Needs DATABASE_URL (PostgreSQL).")
    result = subprocess.run(
        [sys.executable, "scripts/backup_restore_drill.py", f"--server={server_url()}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]
    assert "pages and" in result.stdout and "answer the same from both copies" in result.stdout
    assert "0 stored files" not in result.stdout
