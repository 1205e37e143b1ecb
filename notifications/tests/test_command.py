"""``manage.py send_due_notifications``: the sweep by hand, queueing for the worker or sending in-process."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from microsystems.tests.factories import UserFactory
from notifications.models import Kind, Notification, Status

from .test_outbox import FailingBackend, unsaved

pytestmark = pytest.mark.django_db


@pytest.fixture
def due(monkeypatch):
    """FINDERS replaced by one finder: a reminder for each user in the list, keyed by the day."""
    users: list = []
    days: list[date] = []

    def reminders(today: date) -> list[Notification]:
        days.append(today)
        return [unsaved(user, f"command:{user.pk}:{today}") for user in users]

    monkeypatch.setattr("notifications.finders.FINDERS", [reminders])
    return users, days


def command(*args: str) -> str:
    out = StringIO()
    call_command("send_due_notifications", *args, stdout=out)
    return out.getvalue()


def test_by_default_it_adds_what_is_due_and_queues_it_for_the_worker(due, django_capture_on_commit_callbacks):
    users, days = due
    users.extend([UserFactory(), UserFactory()])
    with django_capture_on_commit_callbacks(execute=True) as published:
        output = command()
    assert "Added 2 notification(s) to the outbox" in output
    assert "Queued 2 pending notification(s) for the worker." in output
    assert len(published) == 1  # one on-commit publish (Celery is eager in tests, so they are sent)
    assert len(mail.outbox) == 2


def test_with_send_it_sends_the_pending_rows_itself_and_publishes_nothing(due, django_capture_on_commit_callbacks):
    users, days = due
    users.extend([UserFactory(), UserFactory(), UserFactory()])
    with django_capture_on_commit_callbacks(execute=True) as published:
        output = command("--send", "--date", "2026-03-16")
    assert days == [date(2026, 3, 16)]
    assert published == []
    assert "Added 3 notification(s)" in output
    assert "Sent 3 notification(s); 0 could not be sent." in output
    assert sorted(m.to[0] for m in mail.outbox) == sorted(u.email for u in users)
    again = command("--send", "--date", "2026-03-16")
    assert "Added 0 notification(s)" in again and "Sent 0 notification(s)" in again
    assert len(mail.outbox) == 3


def test_with_send_a_refused_message_stays_pending_and_is_reported(due, settings):
    users, _ = due
    users.append(UserFactory())
    settings.EMAIL_BACKEND = "notifications.tests.test_outbox.FailingBackend"
    FailingBackend.failures_left = 1
    output = command("--send")
    row = Notification.objects.get()
    assert f"Notification {row.pk} was not sent (SMTPServerDisconnected: Connection unexpectedly closed)" in output
    assert "it stays pending." in output and "Sent 0 notification(s); 1 could not be sent." in output
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert "Sent 1 notification(s); 0 could not be sent." in command("--send")


def test_with_send_it_sends_at_most_the_limit(due):
    users, _ = due
    users.extend(UserFactory() for _ in range(3))
    assert "Sent 2 notification(s)" in command("--send", "--limit", "2")
    assert Notification.objects.filter(status=Status.PENDING).count() == 1


def test_skipped_rows_are_not_sent(due):
    users, _ = due
    user = UserFactory()
    users.append(user)
    user.notification_preferences.create(kind=Kind.FOLLOW_UP_SOON, enabled=False)
    assert "Sent 0 notification(s)" in command("--send")
    assert Notification.objects.get().status == Status.SKIPPED and mail.outbox == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "16/03/2026"], "--date must be a date as YYYY-MM-DD, not '16/03/2026'."),
        (["--send", "--limit", "0"], "--limit must be at least 1."),
    ],
)
def test_bad_options_are_refused_before_anything_is_done(due, args, message):
    users, days = due
    with pytest.raises(CommandError, match=message):
        command(*args)
    assert days == [] and not Notification.objects.exists()
