"""The periodic sweep: find what is due, put it in the outbox, and queue what is waiting.

Each *finder* looks at the database for one kind of reminder or digest due on a day and
returns unsaved ``Notification`` rows with their deduplication keys; the outbox keeps the
ones it does not have yet. Run twice, or by two workers at once, it creates and sends
nothing twice: the key is unique, and a send claims its row first. Finders are set-based: a
constant number of queries whatever the number of projects. They are listed in
``notifications.finders.FINDERS``; one that fails is logged and the others still run.

Every pending row is queued again by each sweep (at most ``QUEUE_AT_MOST``), so a message
lost by the broker, or never published because the broker was down, goes out at the next
sweep; a message for a row already sent does nothing.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from . import outbox
from .models import Notification, Status

log = logging.getLogger(__name__)

QUEUE_AT_MOST = 5000  # rows queued by one sweep; the next takes the rest


@dataclass(frozen=True)
class SweepResult:
    created: int
    released: int
    queued: int
    failed_finders: int = 0
    follow_ups_repaired: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def pending_ids(limit: int = QUEUE_AT_MOST) -> list[int]:
    """The rows waiting to be sent, oldest first."""
    pending = Notification.objects.filter(status=Status.PENDING).order_by("created_at", "id")
    return list(pending.values_list("id", flat=True)[:limit])


def run(today: date | None = None, *, publish: bool = True) -> SweepResult:
    """One sweep for ``today``; ``publish=False`` leaves the pending rows unqueued (the command sends them itself)."""
    from evaluation.followups import ensure_follow_ups

    from .finders import FINDERS

    today = today or timezone.localdate()
    repaired = ensure_follow_ups()  # a project never goes without its follow-ups, whatever happened when it completed
    created = failed = 0
    for finder in FINDERS:
        try:
            with transaction.atomic():
                created += outbox.add_many(finder(today))
        except Exception:  # one broken finder must not stop the reminders of the others
            failed += 1
            log.exception("The notification finder %s failed on %s.", getattr(finder, "__name__", finder), today)
    released = outbox.release_stale_claims()
    waiting: list[int] = []
    if publish:
        with transaction.atomic():
            waiting = pending_ids()
            outbox.queue(waiting)
    return SweepResult(
        created=created, released=released, queued=len(waiting), failed_finders=failed, follow_ups_repaired=repaired
    )
