"""Every finder the sweep runs, in order (see ``notifications.sweep``).

A finder takes the day the sweep runs and returns the unsaved outbox rows due by then, each
with its deduplication key; the outbox keeps those it does not have. Each reads a constant
number of queries whatever the number of projects. The reminders are in
``notifications.reminders``, the digests in ``notifications.digests``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from . import digests, reminders
from .models import Notification

Finder = Callable[[date], Iterable[Notification]]

FINDERS: list[Finder] = [
    reminders.follow_ups_soon,
    reminders.follow_ups_today,
    reminders.sessions_tomorrow,
    reminders.refreshers_due,
    digests.overdue_actions,
    digests.lead_weekly,
    digests.practice_monthly,
]
