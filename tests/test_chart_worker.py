"""A real Celery worker, on Redis and PostgreSQL, draws a measure's charts into file storage.

Needs a shared database and broker, so it runs where ``DATABASE_URL`` is PostgreSQL and
``REDIS_URL`` is set; in CI (``CI=true``) a missing service is a failure, never a skip. The worker
is another process, so the storage is the file system under a temporary ``MEDIA_ROOT`` both share.
"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import default_storage

from projects.chart_cache import request_charts
from projects.models import Chart, Step
from projects.tests.factories import ProjectFactory
from projects.tests.improvement_factories import MeasureFactory, PdsaCycleFactory, weekly_values

ROOT = Path(__file__).resolve().parent.parent
VALUES = [8, 9, 7, 8, 9, 8, 7, 8, 9, 8, 5, 4, 5, 4, 3, 4, 5, 4]

pytestmark = pytest.mark.slow


def wait_until_drawn(measure_id: int, *, seconds: float = 90) -> list[Chart]:
    deadline = time.monotonic() + seconds
    rows: list[Chart] = []
    while time.monotonic() < deadline:
        rows = list(Chart.objects.filter(measure_id=measure_id).order_by("kind"))
        if len(rows) == 2 and all(row.status != Chart.Status.PENDING for row in rows):
            return rows
        time.sleep(0.25)
    raise AssertionError(f"The charts were not drawn after {seconds} seconds: {[(r.kind, r.status) for r in rows]}")


def test_a_real_worker_draws_both_charts_into_file_storage(programme, worker):
    project = ProjectFactory(practice=programme.practice, lead_coach=programme.coach, step=Step.TREAT)
    measure = MeasureFactory(project=project, name="Days from result to action")
    weekly_values(measure, VALUES)
    PdsaCycleFactory(project=project, change_idea__project=project)
    request_charts(measure.pk)  # no transaction is open here, so it is queued at once
    rows = wait_until_drawn(measure.pk)
    assert [(row.kind, row.status, row.error) for row in rows] == [("run", "ready", ""), ("xmr", "ready", "")]
    for row in rows:
        assert row.png == f"charts/{row.key}-{row.kind}.png"
        assert (Path(django_settings.MEDIA_ROOT) / row.png).is_file()
        with default_storage.open(row.png) as png, default_storage.open(row.svg) as svg:
            assert png.read().startswith(b"\x89PNG") and b"<svg" in svg.read()
        assert row.alt


def test_a_real_worker_draws_them_again_when_the_data_changes(programme, worker):
    project = ProjectFactory(practice=programme.practice, lead_coach=programme.coach, step=Step.TREAT)
    measure = MeasureFactory(project=project)
    weekly_values(measure, VALUES)
    request_charts(measure.pk)
    first = {row.kind: row.key for row in wait_until_drawn(measure.pk)}
    weekly_values(measure, [2, 2, 3], start=date(2026, 1, 5))
    request_charts(measure.pk)
    rows = wait_until_drawn(measure.pk)
    assert all(row.status == Chart.Status.READY and row.key != first[row.kind] for row in rows)
    assert len(os.listdir(Path(django_settings.MEDIA_ROOT) / "charts")) == 8
