"""A real Celery worker, on Redis and PostgreSQL, runs the ODS import the upload page queues.

Needs a shared database and broker, so it runs where ``DATABASE_URL`` is PostgreSQL and
``REDIS_URL`` is set; in CI (``CI=true``) a missing service is a failure, never a skip.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from microsystems.celery import app as celery_app
from practices.models import OdsImport, OdsImportStatus, Practice

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "practices" / "data" / "epraccur-demo.csv"


@pytest.fixture
def worker(transactional_db, tmp_path, settings):
    if connection.vendor != "postgresql" or not django_settings.REDIS_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("The worker test needs PostgreSQL and Redis in CI.")
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
        [sys.executable, "-m", "celery", "-A", "microsystems", "worker", "--pool=solo", "--loglevel=WARNING"],
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


def wait_until_finished(pk: int, *, seconds: float = 60) -> OdsImport:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = OdsImport.objects.get(pk=pk)
        if run.is_finished:
            return run
        time.sleep(0.25)
    raise AssertionError(f"The import was not finished after {seconds} seconds: {run.status}, {run.rows_done} rows")


def test_a_real_worker_imports_an_uploaded_file_and_reports_progress(client, programme, worker):
    client.force_login(programme.lead)
    with SAMPLE.open("rb") as upload:
        response = client.post("/practices/import/", {"file": upload})
    assert response.status_code == 302, response.content[:2000]
    run = wait_until_finished(OdsImport.objects.get().pk)
    assert run.status == OdsImportStatus.DONE, run.problems
    assert run.rows_done == run.rows_total > 0
    assert run.created > 40
    assert Practice.objects.filter(commissioner=programme.commissioner).count() >= run.created
    page = client.get(run.get_absolute_url())
    assert "100%" in page.text
