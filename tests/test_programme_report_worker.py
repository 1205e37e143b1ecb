"""A real Celery worker, on Redis and PostgreSQL, makes the programme report's PDF end to end.

Needs a shared database and broker, so it runs where ``DATABASE_URL`` is PostgreSQL and
``REDIS_URL`` is set; in CI (``CI=true``) a missing service is a failure, never a skip. The worker
is another process, so the PDF goes to the file system under a temporary ``MEDIA_ROOT`` both share.
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from pypdf import PdfReader

from evaluation.models import ProgrammeReport, RenderStatus
from evaluation.programme_report import request_report
from evaluation.reporting import REPORTS
from projects.models import Typology
from projects.tests.factories import ProjectFactory

YEAR = 2024  # ProjectFactory's projects start on 6 January 2025: financial year 2024/25

pytestmark = pytest.mark.slow


def wait_until_made(report_id: int, *, seconds: float = 120) -> tuple[ProgrammeReport, list[int]]:
    """The report once it is ready or failed, and the progress values seen on the way."""
    deadline, seen = time.monotonic() + seconds, []
    while time.monotonic() < deadline:
        report = ProgrammeReport.objects.get(pk=report_id)
        seen.append(report.progress)
        if report.status in (RenderStatus.READY, RenderStatus.FAILED):
            return report, seen
        time.sleep(0.1)
    raise AssertionError(f"The report was not made after {seconds} seconds: {report.status} {report.stage}")


def test_a_real_worker_makes_the_programme_report_and_a_second_request_reuses_it(programme, worker):
    ProjectFactory(practice=programme.practice, typology=Typology.PROCESS_DRIVEN)
    ProjectFactory(practice=programme.sibling_practice, typology=Typology.PATIENT_CENTRED, process_subtheme="")
    report, reused = request_report(programme.commissioner, YEAR, programme.lead)  # no transaction: queued at once
    assert not reused
    report, seen = wait_until_made(report.pk)
    assert (report.status, report.error, report.progress) == (RenderStatus.READY, "", 100)
    assert seen == sorted(seen)
    path = Path(django_settings.MEDIA_ROOT) / report.file.name
    assert report.file.name == f"programme-reports/99J-2024-25-{report.data_key[:8]}.pdf" and path.is_file()
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)
    assert "Programme report 2024/25" in text and "NHS West Kent" in text and "Executive summary" in text
    for number, (title, _) in enumerate(REPORTS.values(), start=1):
        assert f"{number}. {title}" in text

    again, reused = request_report(programme.commissioner, YEAR, programme.finance)
    assert reused and again.pk == report.pk and ProgrammeReport.objects.count() == 1
    time.sleep(1)  # nothing was queued: the file is the one already made
    assert ProgrammeReport.objects.get(pk=report.pk).finished_at == report.finished_at
