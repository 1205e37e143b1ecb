"""``manage.py send_due_notifications [--date YYYY-MM-DD] [--send]``: run the notification sweep by hand.

Without ``--send`` it does what the periodic sweep does: adds what is due to the outbox and queues
the pending rows for the Celery worker. With ``--send`` it queues nothing and sends the pending rows
itself, one claim at a time, so it works with no worker and no broker at all.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications import outbox
from notifications.sweep import pending_ids, run


class Command(BaseCommand):
    help = (
        "Add the reminders and digests that are due to the outbox and queue them for the worker; "
        "with --send, send the pending ones in this process instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", metavar="YYYY-MM-DD", help="Find what is due on this day (default: today).")
        parser.add_argument("--send", action="store_true", help="Send the pending notifications here and now.")
        parser.add_argument(
            "--limit", type=int, default=1000, metavar="N", help="Send at most N with --send (default 1000)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        today = self._date(options["date"])
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        result = run(today, publish=not options["send"])
        self.stdout.write(
            f"Added {result.created} notification(s) to the outbox; "
            f"gave back {result.released} stale claim(s); repaired the follow-ups of {result.follow_ups_repaired} "
            "project(s)."
        )
        if result.failed_finders:
            self.stdout.write(self.style.WARNING(f"{result.failed_finders} finder(s) failed: see the log."))
        if not options["send"]:
            self.stdout.write(self.style.SUCCESS(f"Queued {result.queued} pending notification(s) for the worker."))
            return
        sent = failed = 0
        for notification_id in pending_ids(options["limit"]):
            try:
                sent += outbox.send_now(notification_id)
            except outbox.DeliveryFailed as error:
                failed += 1
                retry = outbox.mark_attempt_failed(notification_id, str(error), error.claimed_at)
                self.stdout.write(
                    self.style.WARNING(
                        f"Notification {notification_id} was not sent ({error}); "
                        + ("it stays pending." if retry else "it is marked failed.")
                    )
                )
        style = self.style.SUCCESS if not failed else self.style.WARNING
        self.stdout.write(style(f"Sent {sent} notification(s); {failed} could not be sent."))

    def _date(self, text: str | None) -> date | None:
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError as e:
            raise CommandError(f"--date must be a date as YYYY-MM-DD, not {text!r}.") from e
