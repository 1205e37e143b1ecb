"""Which reminders and digests a user gets: a kind turned off is kept in the outbox as skipped, never sent."""

from __future__ import annotations

from django.db import transaction

from microsystems.audit import audit
from microsystems.models import User

from .models import Kind, Notification, Preference, Status
from .selectors import turned_off


class PreferenceError(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def set_preferences(*, user: User, choices: dict[str, bool]) -> dict[str, bool]:
    """Store the user's choice for each kind in ``choices``; returns what changed (kind → on).

    Turning a kind off also keeps back the messages of that kind still waiting to be sent.
    """
    unknown = set(choices) - set(Kind.values)
    if unknown:
        raise PreferenceError(f"There is no kind of notification called {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        off_before = turned_off(user)
        changed = {kind: on for kind, on in choices.items() if on == (kind in off_before)}
        if not changed:
            return {}
        Preference.objects.bulk_create(
            [Preference(user=user, kind=kind, enabled=on) for kind, on in changed.items()],
            update_conflicts=True,
            unique_fields=["user", "kind"],
            update_fields=["enabled"],
        )
        now_off = [kind for kind, on in changed.items() if not on]
        if now_off:
            Notification.objects.filter(recipient=user, kind__in=now_off, status=Status.PENDING).update(
                status=Status.SKIPPED
            )
        audit(
            user,
            "notifications.preferences_changed",
            by=user,
            summary=", ".join(f"{Kind(kind).label}: {'on' if on else 'off'}" for kind, on in changed.items()),
            changes=changed,
        )
    return changed
