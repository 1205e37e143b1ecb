"""Putting messages in the outbox and sending them once each.

``add_many`` creates rows idempotently: the deduplication key is unique, so adding what is
already there does nothing, however often or by however many workers at once. A send
claims its row with a conditional update (pending → sending) before it sends and marks it
sent after, so two tasks for one row send it once.

The one window for a duplicate: the mail server has accepted a message and the worker dies
(or the database goes away) before the row is marked sent: the time between SMTP's reply to
the end of the message and one indexed UPDATE committing, milliseconds. The row stays
*sending*; after the lease (``NOTIFICATION_CLAIM_LEASE_SECONDS``, 10 minutes) the sweep gives
it back to *pending* and it is sent again. Every other failure (the mail server refuses, the
worker dies before or while sending) loses nothing and sends nothing twice. An error *after*
the mail server accepted a message is never treated as a failed delivery, so it never leads
to a retry that would send it again. (A mail server that accepts a message but whose reply is
lost, or comes after the task's soft time limit, looks like a refusal: that message is sent
again; SMTP cannot tell the two apart.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from microsystems.broker import publish

from .models import Notification, Preference, Status

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


class DeliveryFailed(Exception):
    """The mail server did not take the message: nothing was sent, so it may be tried again."""

    def __init__(self, message: str, *, claimed_at: datetime | None) -> None:
        super().__init__(message)
        self.claimed_at = claimed_at  # the claim to give back (``mark_attempt_failed``)


def lease() -> timedelta:
    """A claim older than this belongs to a worker that died (``NOTIFICATION_CLAIM_LEASE_SECONDS``)."""
    return timedelta(seconds=getattr(settings, "NOTIFICATION_CLAIM_LEASE_SECONDS", 600))


def add_many(notifications: Iterable[Notification]) -> int:
    """Create the rows not already in the outbox (by key); a kind the recipient turned off is kept as skipped.

    Returns how many rows were new (a sweep running at the same time may have added some of
    them first: the unique key keeps one). Two reads, then one INSERT for every 500 new rows.
    """
    rows = list(notifications)
    if not rows:
        return 0
    keys = [row.key for row in rows]
    existing = set(Notification.objects.filter(key__in=keys).values_list("key", flat=True))
    new: dict[str, Notification] = {}
    for row in rows:  # one per key, also within this batch: the first wins
        if row.key not in existing:
            new.setdefault(row.key, row)
    if not new:
        return 0
    turned_off = set(
        Preference.objects.filter(user_id__in={row.recipient_id for row in new.values()}, enabled=False).values_list(
            "user_id", "kind"
        )
    )
    for row in new.values():
        if (row.recipient_id, row.kind) in turned_off:
            row.status = Status.SKIPPED
    Notification.objects.bulk_create(new.values(), ignore_conflicts=True, batch_size=500)
    return len(new)


def queue(notification_ids: Iterable[int]) -> None:
    """Ask a worker to send each, once the transaction commits; a broker that is down only delays them."""
    ids = list(notification_ids)
    if ids:
        transaction.on_commit(lambda: _publish(ids))


def _publish(ids: list[int]) -> None:
    from .tasks import send_notification

    for done, notification_id in enumerate(ids):
        if not publish(send_notification, notification_id):  # the broker is down or hung: give up at once
            log.warning("Could not queue %s notification(s); the next sweep will queue them.", len(ids) - done)
            return


def claim(notification_id: int) -> Notification | None:
    """Take a pending row for sending; None if it is gone, sent, or someone else has it.

    The conditional UPDATE is the lock: of two workers, one changes the row and the other
    changes nothing. The claim's time is its token (``mark_sent``, ``mark_attempt_failed``).
    """
    now = timezone.now()
    claimed = Notification.objects.filter(pk=notification_id, status=Status.PENDING).update(
        status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    return Notification.objects.select_related("recipient").filter(pk=notification_id, claimed_at=now).first()


def _claimed(notification_id: int, claimed_at: datetime | None) -> QuerySet[Notification]:
    """The row while it is still this claim's (a stale claim released and taken again is someone else's)."""
    rows = Notification.objects.filter(pk=notification_id, status=Status.SENDING)
    return rows.filter(claimed_at=claimed_at) if claimed_at is not None else rows


def deliver(notification: Notification) -> None:
    """Send the e-mail: the plain text, the HTML alternative, and the calendar invitation if there is one."""
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=notification.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notification.recipient.email],
        headers={"X-Microsystems-Key": notification.key},
    )
    if notification.body_html:
        message.attach_alternative(notification.body_html, "text/html")
    if notification.ics:
        message.attach("invitation.ics", notification.ics, "text/calendar; method=REQUEST; charset=utf-8")
    message.send()


def mark_sent(notification_id: int, claimed_at: datetime | None = None) -> bool:
    """Record that the mail server took it (one UPDATE, straight after); False if the claim was no longer ours."""
    return bool(_claimed(notification_id, claimed_at).update(status=Status.SENT, sent_at=timezone.now(), last_error=""))


def mark_attempt_failed(notification_id: int, error: str, claimed_at: datetime | None = None) -> bool:
    """Give the row back for another try, or fail it after ``MAX_ATTEMPTS``; True when it may be retried.

    Only for a message the mail server did not take (``DeliveryFailed``): a row marked pending
    is sent again.
    """
    with transaction.atomic():
        row = _claimed(notification_id, claimed_at).select_for_update().values("attempts").first()
        if row is None:  # sent, released or taken by another worker meanwhile: not ours to change
            return False
        final = row["attempts"] >= MAX_ATTEMPTS
        _claimed(notification_id, claimed_at).update(
            status=Status.FAILED if final else Status.PENDING, last_error=error[:2000]
        )
    return not final


def release_stale_claims() -> int:
    """Rows left *sending* by a worker that died: back to pending, to be sent again."""
    return Notification.objects.filter(status=Status.SENDING, claimed_at__lt=timezone.now() - lease()).update(
        status=Status.PENDING
    )


def send_now(notification_id: int) -> bool:
    """Claim, send and mark one row (the task's body, also used by the management command); True if sent.

    Raises ``DeliveryFailed`` when the mail server did not take it; the row is still *sending*
    and the caller gives it back (``mark_attempt_failed``) with the claim's time from the error.
    """
    notification = claim(notification_id)
    if notification is None:
        return False
    try:
        deliver(notification)
    except Exception as error:  # the soft time limit too: the server had not finished taking it
        raise DeliveryFailed(f"{type(error).__name__}: {error}", claimed_at=notification.claimed_at) from error
    mark_sent(notification_id, notification.claimed_at)  # the window: only this UPDATE after the server's yes
    return True
