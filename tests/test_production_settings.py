"""Production settings refuse to start without their secrets and pass ``check --deploy``."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOOD = {
    "DJANGO_SETTINGS_MODULE": "microsystems.settings.production",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
    "ALLOWED_HOSTS": "microsystems.nhs.example",
    "DATABASE_URL": "sqlite:////tmp/microsystems-production-check.sqlite3",
}


def manage(*args: str, **env_overrides: str) -> subprocess.CompletedProcess[str]:
    dropped = {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(GOOD)
    env.update(env_overrides)
    env = {k: v for k, v in env.items() if v}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_reports_no_issues():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"])
def test_it_refuses_to_start_without(missing):
    result = manage("check", **{missing: ""})
    assert result.returncode != 0
    assert f"{missing} must be set in production" in result.stderr


def test_seed_demo_refuses_to_run_in_production():
    result = manage("seed_demo")
    assert result.returncode != 0
    assert "refuses to run with production settings" in result.stderr
