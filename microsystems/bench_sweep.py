"""The notification sweep, measured: its time and its SQL statements on the sweep's dataset.

This runs in ``manage.py bench_sweep``, a child process ``manage.py bench`` starts under the
bench settings against a sweep dataset (``bench_build --sweep-projects``): 10,000 completed
projects whose 6-month follow-up falls due within 14 days, and a tenth as many in the small
dataset. ``measure_sweep`` empties the outbox, then runs ``notifications.sweep.run`` twice on
the dataset's day without publishing (no broker is involved: queueing is one query for the
pending ids, timed on its own):

- the first sweep finds every reminder due and adds it to the outbox;
- the second finds the same and adds nothing: what every later sweep of the day costs.

Each statement is counted by kind (SELECT, INSERT, UPDATE, other) with an execute wrapper that
keeps no SQL text. The counts must not grow with the number of projects: the reads and updates
are the same at 1,000 and 10,000 projects, and the INSERTs are the outbox's bulk inserts, one a
batch of ``BULK_BATCH`` new rows of a finder (``outbox.add_many``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from django.db import connection
from django.db.models import Count

BULK_BATCH = 500  # outbox.add_many's bulk_create batch


@contextmanager
def counting() -> Iterator[Counter[str]]:
    """Count the statements sent in the block by their first word."""
    counts: Counter[str] = Counter()

    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "OTHER"
        counts[word if word in {"SELECT", "INSERT", "UPDATE", "DELETE"} else "OTHER"] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counts


def _sweep(today: date) -> dict[str, Any]:
    from notifications.sweep import run

    with counting() as counts:
        started = time.perf_counter()
        result = run(today, publish=False)
        elapsed = time.perf_counter() - started
    return {
        "ms": round(elapsed * 1000, 1),
        "created": result.created,
        "failed_finders": result.failed_finders,
        "follow_ups_repaired": result.follow_ups_repaired,
        "queries": sum(counts.values()),
        "by_kind": dict(sorted(counts.items())),
        "reads_and_updates": sum(counts.values()) - counts["INSERT"],
        "inserts": counts["INSERT"],
    }


def measure_sweep(today: date) -> dict[str, Any]:
    """Empty the outbox, then sweep twice on ``today`` and time the pending ids' query (what queueing reads)."""
    from evaluation.models import FollowUp
    from notifications.finders import FINDERS
    from notifications.models import Notification
    from notifications.sweep import pending_ids
    from projects.models import Project

    Notification.objects.all().delete()
    first = _sweep(today)
    second = _sweep(today)
    with counting() as counts:
        started = time.perf_counter()
        pending = pending_ids()
        pending_ms = (time.perf_counter() - started) * 1000
    return {
        "day": today.isoformat(),
        "projects": Project.objects.filter(completed_on__isnull=False).count(),
        "follow_ups": FollowUp.objects.count(),
        "finders": len(FINDERS),
        "outbox_rows": Notification.objects.count(),
        "rows_by_kind": dict(Notification.objects.order_by().values_list("kind").annotate(n=Count("id"))),
        "first": first,
        "second": second,
        "queue": {"ms": round(pending_ms, 1), "queries": sum(counts.values()), "ids": len(pending)},
    }
