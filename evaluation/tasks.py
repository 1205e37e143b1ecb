"""Background work for the programme's evaluation: drawing report charts and the programme report.

Both are named ``render_*`` so they run on the ``rendering`` queue with the measure charts.
"""

from __future__ import annotations

from celery import Task, shared_task

from projects.tasks import TRANSIENT  # the same transient errors as the measure charts: worth another try


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=60,
    time_limit=90,
)
def render_report_chart(self: Task, key: str) -> str:
    """Draw the report chart ``key`` into storage; safe to run twice (a drawn chart is left alone)."""
    from .report_charts import render_and_store

    return render_and_store(key)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=300,
    time_limit=360,
)
def render_programme_report(self: Task, report_id: int) -> str:
    """Build the programme report ``report_id`` as a PDF, reporting progress on its row; safe to run twice."""
    from .programme_report import generate

    return generate(report_id)
