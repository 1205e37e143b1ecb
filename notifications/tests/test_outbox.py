"""The outbox and its tasks: adding rows once, claiming, sending once, retrying, failing, releasing stale claims.

These run on SQLite or PostgreSQL with Celery eager (tasks run in-process) and Django's
in-memory mail; the real broker and worker are in ``tests/test_notification_worker.py``.
"""

from __future__ import annotations

from datetime import date, timedelta
from smtplib import SMTPServerDisconnected

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from microsystems.celery import app as celery_app
from microsystems.tests.factories import UserFactory
from notifications import outbox, sweep
from notifications.models import Kind, Notification, Preference, Status
from notifications.tasks import backoff, send_notification

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(timezone.datetime(2026, 3, 2, 9, 0))


class FailingBackend(BaseEmailBackend):
    """A mail server that refuses every message (``failures_left`` of them, then takes the rest)."""

    failures_left = 10**6

    def send_messages(self, email_messages):  # type: ignore[no-untyped-def]
        if FailingBackend.failures_left > 0:
            FailingBackend.failures_left -= 1
            raise SMTPServerDisconnected("Connection unexpectedly closed")
        mail.outbox.extend(email_messages)
        return len(email_messages)


@pytest.fixture
def refusing_mail_server(settings):
    """The failing mail server; eager retries run at once and, as in a worker, do not raise into the caller."""
    settings.EMAIL_BACKEND = f"{__name__}.FailingBackend"
    FailingBackend.failures_left = 10**6
    mail.outbox = []
    propagates = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    try:
        yield FailingBackend
    finally:
        celery_app.conf.task_eager_propagates = propagates


def unsaved(recipient, key: str = "follow-up:1:due-14-days", **fields) -> Notification:
    values = {
        "key": key,
        "kind": Kind.FOLLOW_UP_SOON,
        "recipient": recipient,
        "subject": "Follow-up in 14 days: Results handling",
        "body_text": "The 6-month follow-up of Results handling is due on 16 March 2026.",
        "body_html": "<p>The 6-month follow-up of <b>Results handling</b> is due on 16 March 2026.</p>",
        "link": "/projects/1/",
    } | fields
    return Notification(**values)


def saved(recipient, key: str = "follow-up:1:due-14-days", **fields) -> Notification:
    outbox.add_many([unsaved(recipient, key, **fields)])
    return Notification.objects.get(key=key)


# Adding rows ---------------------------------------------------------------------------------


def test_adding_is_idempotent_by_key_also_within_one_batch():
    coach = UserFactory()
    batch = [unsaved(coach, "a"), unsaved(coach, "b"), unsaved(coach, "a", subject="The same key again")]
    assert outbox.add_many(batch) == 2
    assert outbox.add_many([unsaved(coach, "a"), unsaved(coach, "b"), unsaved(coach, "c")]) == 1
    assert outbox.add_many([]) == 0
    assert sorted(Notification.objects.values_list("key", "status")) == [
        ("a", "pending"),
        ("b", "pending"),
        ("c", "pending"),
    ]
    assert Notification.objects.get(key="a").subject == "Follow-up in 14 days: Results handling"


def test_a_kind_the_recipient_turned_off_is_kept_as_skipped_and_never_sent():
    coach, champion = UserFactory(), UserFactory()
    Preference.objects.create(user=coach, kind=Kind.FOLLOW_UP_SOON, enabled=False)
    Preference.objects.create(user=coach, kind=Kind.SESSION_TOMORROW, enabled=True)
    Preference.objects.create(user=champion, kind=Kind.ACTIONS_OVERDUE, enabled=False)
    outbox.add_many(
        [
            unsaved(coach, "coach-soon"),
            unsaved(coach, "coach-session", kind=Kind.SESSION_TOMORROW),
            unsaved(champion, "champion-soon"),
        ]
    )
    assert dict(Notification.objects.values_list("key", "status")) == {
        "coach-soon": "skipped",
        "coach-session": "pending",
        "champion-soon": "pending",
    }
    skipped = Notification.objects.get(key="coach-soon")
    assert outbox.claim(skipped.pk) is None
    assert outbox.send_now(skipped.pk) is False
    assert mail.outbox == []


def test_adding_takes_the_same_number_of_queries_for_ten_rows_as_for_a_thousand():
    users = [UserFactory() for _ in range(5)]

    def queries(count: int, prefix: str) -> int:
        rows = [unsaved(users[i % 5], f"{prefix}:{i}") for i in range(count)]
        with CaptureQueriesContext(connection) as captured:
            assert outbox.add_many(rows) == count
        return len(captured)

    few, many = queries(10, "few"), queries(1000, "many")
    fields = [field for field in Notification._meta.concrete_fields if not field.primary_key]
    batches = -(-1000 // min(500, connection.ops.bulk_batch_size(fields, [None] * 1000)))
    assert many == few + batches - 1  # only bulk_create's batches (of 500 on PostgreSQL) grow


# Claiming and sending ------------------------------------------------------------------------


def test_a_claim_takes_a_pending_row_once():
    row = saved(UserFactory())
    first = outbox.claim(row.pk)
    assert first is not None and first.status == Status.SENDING and first.attempts == 1
    assert first.claimed_at is not None
    assert outbox.claim(row.pk) is None  # someone else has it
    assert outbox.claim(10**9) is None  # gone


def test_send_now_sends_text_html_and_the_invitation_then_marks_it_sent_once():
    coach = UserFactory(email="coach@west.example")
    ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
    row = saved(coach, ics=ics)
    assert outbox.send_now(row.pk) is True
    assert outbox.send_now(row.pk) is False
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["coach@west.example"]
    assert message.subject == "Follow-up in 14 days: Results handling"
    assert "due on 16 March 2026" in message.body
    assert message.alternatives[0][1] == "text/html"
    assert "<b>Results handling</b>" in message.alternatives[0][0]
    assert message.attachments[0][0] == "invitation.ics"
    assert message.extra_headers["X-Microsystems-Key"] == row.key
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (Status.SENT, 1, "")
    assert row.sent_at is not None


def test_the_task_sends_a_row_once_however_often_it_is_queued():
    row = saved(UserFactory())
    assert send_notification.delay(row.pk).get() is True
    assert send_notification.delay(row.pk).get() is False
    assert len(mail.outbox) == 1


def test_a_refused_message_is_retried_and_sent_when_the_server_takes_it(refusing_mail_server):
    refusing_mail_server.failures_left = 2
    row = saved(UserFactory())
    send_notification.apply(args=[row.pk])  # eager: the retries run at once, without their countdown
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 3)
    assert len(mail.outbox) == 1


def test_a_message_refused_every_time_fails_after_the_last_attempt_with_the_error(refusing_mail_server):
    row = saved(UserFactory())
    send_notification.apply(args=[row.pk])
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.FAILED, outbox.MAX_ATTEMPTS)
    assert row.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert mail.outbox == []
    assert send_notification.apply(args=[row.pk]).result is False  # failed rows stay failed


def test_one_failed_attempt_gives_the_row_back_as_pending(refusing_mail_server):
    row = saved(UserFactory())
    with pytest.raises(outbox.DeliveryFailed) as failure:
        outbox.send_now(row.pk)
    assert outbox.mark_attempt_failed(row.pk, str(failure.value), failure.value.claimed_at) is True
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert "Connection unexpectedly closed" in row.last_error


def test_backoff_doubles_from_thirty_seconds_up_to_half_an_hour():
    assert [backoff(n) for n in range(8)] == [30, 60, 120, 240, 480, 960, 1800, 1800]


# Stale claims ---------------------------------------------------------------------------------


def test_a_claim_left_by_a_dead_worker_is_released_after_the_lease_and_sent_once():
    row = saved(UserFactory())
    with time_machine.travel(NOW, tick=False) as traveller:
        stale = outbox.claim(row.pk)  # ...and the worker dies here
        assert stale is not None
        traveller.shift(timedelta(seconds=599))
        assert outbox.release_stale_claims() == 0
        traveller.shift(timedelta(seconds=2))
        assert outbox.release_stale_claims() == 1
        assert outbox.send_now(row.pk) is True
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.SENT, 2)
    assert len(mail.outbox) == 1


def test_the_lease_is_a_setting(settings):
    settings.NOTIFICATION_CLAIM_LEASE_SECONDS = 5
    row = saved(UserFactory())
    with time_machine.travel(NOW, tick=False) as traveller:
        outbox.claim(row.pk)
        traveller.shift(timedelta(seconds=6))
        assert outbox.release_stale_claims() == 1


def test_a_worker_whose_claim_was_released_and_taken_again_changes_nothing():
    row = saved(UserFactory())
    with time_machine.travel(NOW, tick=False) as traveller:
        slow = outbox.claim(row.pk)
        traveller.shift(timedelta(minutes=11))
        outbox.release_stale_claims()
        fresh = outbox.claim(row.pk)
        assert slow is not None and fresh is not None
        assert outbox.mark_attempt_failed(row.pk, "late", slow.claimed_at) is False
        assert outbox.mark_sent(row.pk, slow.claimed_at) is False
        row.refresh_from_db()
        assert (row.status, row.claimed_at, row.last_error) == (Status.SENDING, fresh.claimed_at, "")
        assert outbox.mark_sent(row.pk, fresh.claimed_at) is True


# The sweep --------------------------------------------------------------------------------------


@pytest.fixture
def one_finder(monkeypatch):
    """FINDERS replaced by one finder of our own: a reminder per user in ``due``, on the day asked."""
    due: list = []
    days: list[date] = []

    def reminders(today: date) -> list[Notification]:
        days.append(today)
        return [unsaved(user, f"test:{user.pk}:{today}") for user in due]

    monkeypatch.setattr("notifications.finders.FINDERS", [reminders])
    return due, days


def test_a_sweep_run_twice_creates_and_sends_nothing_twice(one_finder, django_capture_on_commit_callbacks):
    due, days = one_finder
    due.extend(UserFactory() for _ in range(3))
    with django_capture_on_commit_callbacks(execute=True):
        first = sweep.run(date(2026, 3, 2))
    with django_capture_on_commit_callbacks(execute=True):
        second = sweep.run(date(2026, 3, 2))
    assert (first.created, first.queued) == (3, 3)
    assert (second.created, second.queued) == (0, 0)
    assert days == [date(2026, 3, 2)] * 2
    assert len(mail.outbox) == 3
    assert sorted(m.to[0] for m in mail.outbox) == sorted(user.email for user in due)
    assert set(Notification.objects.values_list("status", flat=True)) == {Status.SENT}


def test_a_failing_finder_does_not_stop_the_others(monkeypatch, django_capture_on_commit_callbacks):
    coach = UserFactory()

    def broken(today: date) -> list[Notification]:
        raise ValueError("a bug in one finder")

    def working(today: date) -> list[Notification]:
        return [unsaved(coach, f"working:{today}")]

    monkeypatch.setattr("notifications.finders.FINDERS", [broken, working])
    with django_capture_on_commit_callbacks(execute=True):
        result = sweep.run(date(2026, 3, 2))
    assert (result.created, result.failed_finders, result.queued) == (1, 1, 1)
    assert len(mail.outbox) == 1


def test_the_sweep_queues_rows_a_broker_outage_left_pending_and_releases_stale_claims(
    one_finder, django_capture_on_commit_callbacks
):
    coach = UserFactory()
    left = saved(coach, "left-pending")  # its message was never published
    with time_machine.travel(NOW, tick=False) as traveller:
        stale = saved(coach, "stale")
        outbox.claim(stale.pk)
        traveller.shift(timedelta(minutes=11))
        with django_capture_on_commit_callbacks(execute=True):
            result = sweep.run(date(2026, 3, 2))
    assert (result.created, result.released, result.queued) == (0, 1, 2)
    assert sorted(m.extra_headers["X-Microsystems-Key"] for m in mail.outbox) == [left.key, stale.key]


def test_queueing_publishes_only_after_the_commit(django_capture_on_commit_callbacks):
    row = saved(UserFactory())
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outbox.queue([row.pk])
        outbox.queue([])
    assert mail.outbox == [] and len(callbacks) == 1
    callbacks[0]()
    assert len(mail.outbox) == 1


# The schedule -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the scheduler closes the database connection, as beat does
def test_beat_installs_the_sweep_in_the_database_schedule_every_five_minutes():
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    assert not PeriodicTask.objects.filter(name="sweep-notifications").exists()
    DatabaseScheduler(app=celery_app)  # what `celery beat` does when it starts
    task = PeriodicTask.objects.select_related("interval").get(name="sweep-notifications")
    assert task.task == "notifications.tasks.sweep_notifications" and task.enabled
    assert (task.interval.every, task.interval.period) == (300, "seconds")
    assert "notifications.tasks.sweep_notifications" in celery_app.tasks
