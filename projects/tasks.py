"""Background work for projects: drawing a measure's charts."""

from __future__ import annotations

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from . import chart_cache

# Worth another try: the database or the storage was briefly unreachable. A drawing error is not.
TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=True,
    max_retries=3,
    soft_time_limit=60,
    time_limit=90,
)
def render_chart(self: Task, measure_id: int, kind: str, key: str) -> str:
    """Draw one chart of a measure for the data named by ``key``; safe to run twice.

    Does nothing if the data has changed since (a newer render is queued) or the chart is already
    drawn; marks the chart failed, with the error, if drawing raises.
    """
    return chart_cache.render_and_store(measure_id, kind, key)


@shared_task(acks_late=True)
def requeue_lost_charts() -> int:
    """Periodic: queue again any chart left pending by a lost message or a worker that died."""
    return chart_cache.requeue_lost_charts()
