"""A follow-up's state as a badge, as ``evaluation/_state.html`` draws it, for lists written in Python."""

from __future__ import annotations

from .models import FollowUpStatus

STATUS_BADGES: dict[str, str] = {
    FollowUpStatus.HELD: '<span class="badge text-bg-success">Held</span>',
    FollowUpStatus.CANCELLED: '<span class="badge text-bg-secondary">Cancelled</span>',
}
SCHEDULED = '<span class="badge text-bg-light border">Scheduled</span>'


def follow_up_badge(*, overdue: bool, due: bool, status: str) -> str:
    if overdue:
        return '<span class="badge text-bg-danger">Overdue</span>'
    if due:
        return '<span class="badge text-bg-warning">Due</span>'
    return STATUS_BADGES.get(status, SCHEDULED)
