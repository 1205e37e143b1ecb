"""Fixtures for the tests that run a real Celery worker against PostgreSQL and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from microsystems.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
QUEUES = ["-Q", "default,rendering,notifications"]  # every queue (settings: CELERY_TASK_QUEUES)


@pytest.fixture
def worker(transactional_db, tmp_path, settings):
    """A Celery worker process on the test database and Redis, with the file system as storage.

    Needs a database and broker both processes share, so it runs where ``DATABASE_URL`` is
    PostgreSQL and ``REDIS_URL`` is set; in CI (``CI=true``) a missing service is a failure.
    """
    if connection.vendor != "postgresql" or not django_settings.REDIS_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("The worker tests need PostgreSQL and Redis in CI.")
        pytest.skip("Needs DATABASE_URL (PostgreSQL) and REDIS_URL.")
    media = tmp_path / "media"
    settings.MEDIA_ROOT = str(media)
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "microsystems.settings.local",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "MEDIA_ROOT": str(media),
        "DEBUG": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "microsystems", "worker", "--pool=solo", "--loglevel=WARNING", *QUEUES],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield process
    finally:
        celery_app.conf.task_always_eager = eager
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
