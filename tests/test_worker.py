"""A real Celery worker, on Redis and PostgreSQL, runs the ODS import the upload page queues.

Needs a shared database and broker, so it runs where ``DATABASE_URL`` is PostgreSQL and
``REDIS_URL`` is set; in CI (``CI=true``) a missing service is a failure, never a skip.
"""

from __future__ import annotations

import time
from pathlib import Path

from practices.models import OdsImport, OdsImportStatus, Practice

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "practices" / "data" / "epraccur-demo.csv"


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
