"""A real Celery worker, on Redis and PostgreSQL, draws the chart a report page asked for; the poll then shows it.

Needs a shared database and broker, so it runs where ``DATABASE_URL`` is PostgreSQL and
``REDIS_URL`` is set; in CI (``CI=true``) a missing service is a failure, never a skip. The worker
is another process, so the storage is the file system under a temporary ``MEDIA_ROOT`` both share.
The page shows a report built here (this module's ``build``): the worker needs only the chart's row.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from evaluation import reporting
from evaluation.models import RenderStatus, ReportChart
from evaluation.reporting import ChartSeries, ChartSpec, Report, Scope

pytestmark = pytest.mark.slow

ALT = "Review outcomes: 60% sustained at 6 months, 50% at 12 months."


def build(scope: Scope) -> Report:
    chart = ChartSpec(
        slug="sustainability",
        title="Review outcomes",
        kind="stacked",
        categories=("6-month", "12-month"),
        series=(ChartSeries("Sustained", (60.0, 50.0)), ChartSeries("Not sustained", (40.0, 50.0))),
        alt=ALT,
        percent=True,
    )
    return Report(slug="sustainability", title="Sustainability", intro="", scope=scope, charts=(chart,))


def wait_until_drawn(*, seconds: float = 90) -> ReportChart:
    deadline = time.monotonic() + seconds
    row = None
    while time.monotonic() < deadline:
        row = ReportChart.objects.first()
        if row is not None and row.status not in (RenderStatus.QUEUED, RenderStatus.RUNNING):
            return row
        time.sleep(0.25)
    raise AssertionError(f"The chart was not drawn after {seconds} seconds: {row and row.status}")


def test_a_real_worker_draws_the_chart_a_report_page_asked_for(programme, worker, client, monkeypatch):
    monkeypatch.setitem(reporting.REPORTS, "sustainability", ("Sustainability", __name__))
    client.force_login(programme.lead)
    page = client.get(reverse("programme:report", args=["sustainability"])).content.decode()
    assert "Drawing the chart “Review outcomes”" in page  # no transaction is open: queued as the page is served

    row = wait_until_drawn()
    assert (row.status, row.error, row.commissioner_id) == (RenderStatus.READY, "", programme.commissioner.pk)
    stored = Path(django_settings.MEDIA_ROOT) / row.file_name
    assert stored.read_bytes().startswith(b"\x89PNG")

    poll = client.get(reverse("programme:chart", args=[row.key])).content.decode()
    assert f'alt="{ALT}"' in poll and "hx-get" not in poll
    image = re.search(r'src="(/charts/[^"]+)"', poll)
    assert image is not None
    client.logout()  # the signed link is the permission
    response = client.get(image[1])
    assert response.status_code == 200 and response.content == stored.read_bytes()
