"""Celery entry points: send one notification; sweep for what is due. Both are idempotent.

``send_notification`` acknowledges its message only when it has finished (``acks_late``), so a
worker killed mid-send leaves the message to be delivered again, and the row's claim decides
whether anything is left to do. A failed delivery is retried with exponential backoff, up to
``outbox.MAX_ATTEMPTS`` attempts in all; then the row is *failed* and shows in the admin.
"""

from __future__ import annotations

from celery import shared_task

from . import outbox

BACKOFF_SECONDS = 30  # 30 s, 1, 2, 4 minutes… at most half an hour
BACKOFF_AT_MOST = 1800


def backoff(retries: int) -> int:
    return int(min(BACKOFF_SECONDS * 2**retries, BACKOFF_AT_MOST))


@shared_task(bind=True, acks_late=True, max_retries=outbox.MAX_ATTEMPTS, soft_time_limit=60, time_limit=90)
def send_notification(self, notification_id: int) -> bool:  # type: ignore[no-untyped-def]
    """Send one row if it is still pending; True when this call sent it."""
    try:
        return outbox.send_now(notification_id)
    except outbox.DeliveryFailed as error:
        if outbox.mark_attempt_failed(notification_id, str(error), error.claimed_at):
            # If the retry cannot be published (broker down) the row is pending anyway: the sweep queues it.
            raise self.retry(exc=error, countdown=backoff(self.request.retries)) from error
        return False


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def sweep_notifications() -> dict[str, int]:
    """Find what is due, add it to the outbox, give back stale claims, and queue what is pending."""
    from .sweep import run

    return run().as_dict()
