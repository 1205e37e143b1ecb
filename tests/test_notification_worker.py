"""Reminders are never lost and never sent twice: a hung or dead broker, a killed worker, two sweeps at once.

These need PostgreSQL and Redis (``DATABASE_URL``, ``REDIS_URL``) and start real Celery worker
processes; in CI (``CI=true``) a missing service is a failure, never a skip. Workers write mail
with Django's file-based backend (``notifications.tests.mail_backends.SlowFileBackend``, slowed
down so a worker can be killed while it sends), and the tests count each deduplication key's
messages in those files.

The data is real: completed projects whose 6-month follow-up is due in 14 days, so a sweep
creates the follow-ups (``ensure_follow_ups``) and the finders add their reminders.

The one duplicate the design allows, the mail server having taken a message when the worker
dies before its row is marked sent, is not provoked here: the kill comes while the server is
still taking the message (``taking.txt`` names it, no mail file has it), so every key must be
mailed exactly once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
import redis
from dateutil.relativedelta import relativedelta
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from evaluation.models import FollowUp
from microsystems.celery import app as celery_app
from notifications import outbox, sweep
from notifications.models import Kind, Notification, Status
from notifications.tasks import sweep_notifications
from notifications.tests.mail_backends import mailed_keys, taken_keys
from projects.models import Project, Step
from projects.tests.factories import ProjectFactory

ROOT = Path(__file__).resolve().parent.parent
LEASE_SECONDS = 2  # the workers' NOTIFICATION_CLAIM_LEASE_SECONDS: a dead worker's claim is given back soon

pytestmark = [pytest.mark.services, pytest.mark.slow]


def needs_services() -> None:
    if connection.vendor != "postgresql" or not django_settings.REDIS_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("The notification worker tests need PostgreSQL and Redis in CI.")
        pytest.skip("Needs DATABASE_URL (PostgreSQL) and REDIS_URL.")


def wait_for(condition: Callable[[], object], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"Not so after {seconds} seconds: {what}")


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """This process publishes to ``url`` (a fresh connection pool) until the block ends."""

    def reset() -> None:
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    saved = celery_app.conf.broker_url
    celery_app.conf.broker_url = url
    reset()
    try:
        yield
    finally:
        celery_app.conf.broker_url = saved
        reset()


class HungServer:
    """A TCP server that accepts connections and never answers: Redis hung."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted.append(conn)  # held open, never read from or written to

    def close(self) -> None:
        self.listener.close()
        for conn in self.accepted:
            conn.close()


def closed_port() -> int:
    """A port nothing listens on: Redis down."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


class Workers:
    """Celery worker processes on the test database and Redis, mailing into ``mail_dir``."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *, mail_seconds: float) -> subprocess.Popen[bytes]:
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "microsystems.settings.local",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "DEBUG": "false",
            "EMAIL_BACKEND": "notifications.tests.mail_backends.SlowFileBackend",
            "NOTIFICATION_TEST_MAIL_DIR": str(self.mail_dir),
            "NOTIFICATION_TEST_MAIL_SECONDS": str(mail_seconds),
            "NOTIFICATION_CLAIM_LEASE_SECONDS": str(LEASE_SECONDS),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "microsystems", "worker", "--pool=solo", "--loglevel=WARNING",
             "-n", f"{name}@%h"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self.processes.append(process)
        return process

    def wait_until_up(self, count: int) -> None:
        wait_for(lambda: len(celery_app.control.ping(timeout=0.5)) >= count, seconds=60, what=f"{count} worker(s) up")

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no clean-up, no acknowledgement, the message in hand stays unacknowledged."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def publishing(transactional_db):
    """Tasks go to the broker (not run in-process), and on-commit callbacks run for real."""
    needs_services()
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = eager


@pytest.fixture
def workers(publishing, tmp_path) -> Iterator[Workers]:
    queue = redis.Redis.from_url(django_settings.REDIS_URL)
    # No messages left over from another test, in any queue.
    queue.delete("celery", "default", "rendering", "notifications", "unacked", "unacked_index")
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    running = Workers(mail_dir)
    try:
        yield running
    finally:
        running.stop_all()


def follow_up_due_in_14_days(programme, count: int) -> list[Project]:
    """Completed projects whose 6-month follow-up falls due in 14 days (the follow-ups are the sweep's to make)."""
    completed_on = timezone.localdate() + timedelta(days=14) - relativedelta(months=6)
    return [
        ProjectFactory(
            practice=programme.practice, lead_coach=programme.coach, step=Step.FOLLOW_UP, completed_on=completed_on
        )
        for _ in range(count)
    ]


def unfinished() -> int:
    return Notification.objects.filter(status__in=[Status.PENDING, Status.SENDING]).count()


def assert_each_sent_once(mail_dir: Path) -> dict[str, int]:
    """Every row is sent or skipped, and each sent row's key is in exactly one message."""
    states = dict(Notification.objects.values_list("key", "status"))
    assert states and set(states.values()) <= {Status.SENT, Status.SKIPPED}, states
    counts = mailed_keys(mail_dir)
    sent = {key for key, status in states.items() if status == Status.SENT}
    assert {key: counts[key] for key in sent} == dict.fromkeys(sent, 1)
    assert set(counts) == sent
    return dict(counts)


def complete_through_the_page(client, programme, project: Project, completed_on: date):
    client.force_login(programme.lead)
    return client.post(
        f"/projects/{project.pk}/complete/",
        {
            "completed_on": completed_on.isoformat(),
            "staff_benefits": "Fewer interruptions for the duty doctor.",
            "patient_benefits": "Results acted on within two days.",
            "override_reason": "Measured on paper.",
        },
    )


def project_in_treat(programme) -> Project:
    return ProjectFactory(practice=programme.practice, lead_coach=programme.coach, step=Step.TREAT)


def reminder_completion_date() -> date:
    return timezone.localdate() + timedelta(days=14) - relativedelta(months=6)


# Redis hung, Redis down -----------------------------------------------------------------------------


def test_a_hung_broker_never_hangs_completing_a_project_or_the_sweep_that_publishes(client, programme, publishing):
    project = project_in_treat(programme)
    hung = HungServer()
    try:
        with broker_at(f"redis://127.0.0.1:{hung.port}/0"):
            started = time.monotonic()
            response = complete_through_the_page(client, programme, project, reminder_completion_date())
            completing = time.monotonic() - started
            started = time.monotonic()
            result = sweep.run()  # creates the reminders, then publishes them on commit: to the hung server
            sweeping = time.monotonic() - started
            many = list(Notification.objects.values_list("id", flat=True)) * 50
            started = time.monotonic()
            outbox.queue(many)  # outside a transaction: published at once, giving up at the first failure
            queueing = time.monotonic() - started
    finally:
        hung.close()
    assert response.status_code == 302, response.content[:2000]
    assert completing < 3
    assert sweeping < 2.5 and queueing < 2.5, (sweeping, queueing)
    assert hung.accepted, "the sweep did try the hung broker"
    assert FollowUp.objects.filter(project=project).count() == 2
    assert result.created >= 1 and result.queued == result.created
    reminder = Notification.objects.get(recipient=programme.coach, kind=Kind.FOLLOW_UP_SOON)
    assert reminder.status == Status.PENDING  # saved, and waiting for the next sweep


def test_with_the_broker_down_completion_succeeds_and_the_reminders_go_out_once_it_is_back(client, programme, workers):
    project = project_in_treat(programme)
    with broker_at(f"redis://127.0.0.1:{closed_port()}/0"):
        started = time.monotonic()
        response = complete_through_the_page(client, programme, project, reminder_completion_date())
        down = sweep.run()
        assert time.monotonic() - started < 3
    assert response.status_code == 302, response.content[:2000]
    assert FollowUp.objects.filter(project=project).count() == 2
    assert down.created >= 1 and unfinished() == down.created  # nothing sent, nothing lost
    assert mailed_keys(workers.mail_dir) == {}

    workers.start("back", mail_seconds=0)  # Redis is back, with a worker
    back = sweep.run()  # the next sweep queues what is pending
    assert (back.created, back.queued) == (0, down.created)
    wait_for(lambda: unfinished() == 0, seconds=60, what="the reminders sent")
    counts = assert_each_sent_once(workers.mail_dir)
    reminder = Notification.objects.get(recipient=programme.coach, kind=Kind.FOLLOW_UP_SOON)
    assert counts[reminder.key] == 1


# A worker killed mid-send, mid-sweep ---------------------------------------------------------------


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(programme, workers):
    follow_up_due_in_14_days(programme, 12)
    first = workers.start("first", mail_seconds=0.4)
    sweep_notifications.delay()
    # Kill it while the mail server is taking a message, after three went out.
    wait_for(
        lambda: (
            sum(mailed_keys(workers.mail_dir).values()) >= 3
            and len(taken_keys(workers.mail_dir)) > sum(mailed_keys(workers.mail_dir).values())
        ),
        seconds=60,
        what="three messages sent and a fourth being taken",
    )
    workers.kill(first)
    in_flight = taken_keys(workers.mail_dir)[-1]
    assert mailed_keys(workers.mail_dir)[in_flight] == 0
    assert Notification.objects.get(key=in_flight).status == Status.SENDING  # claimed by the dead worker
    assert unfinished() > 1

    workers.start("second", mail_seconds=0.05)
    time.sleep(LEASE_SECONDS + 0.5)
    sweep_notifications.delay()  # the next sweep gives the dead worker's claim back and queues the rest
    wait_for(lambda: unfinished() == 0, seconds=90, what="every notification sent")
    counts = assert_each_sent_once(workers.mail_dir)
    assert len(counts) >= 12
    assert Notification.objects.get(key=in_flight).attempts == 2


def test_a_worker_killed_mid_sweep_loses_nothing_and_sends_nothing_twice(programme, workers):
    follow_up_due_in_14_days(programme, 12)
    first = workers.start("first", mail_seconds=0.4)
    sweep_notifications.delay()
    wait_for(Notification.objects.exists, seconds=60, what="the sweep's first rows committed")
    workers.kill(first)  # mid-sweep: its first finder committed, the rest perhaps not, nothing queued perhaps

    workers.start("second", mail_seconds=0.05)
    time.sleep(LEASE_SECONDS + 0.5)
    sweep_notifications.delay()
    wait_for(lambda: unfinished() == 0 and Notification.objects.exists(), seconds=90, what="every notification sent")
    time.sleep(1)  # a late duplicate message, if any, has had time to do harm
    counts = assert_each_sent_once(workers.mail_dir)
    follow_ups = FollowUp.objects.filter(project__completed_on=reminder_completion_date())
    assert follow_ups.count() == 24  # 6 and 12 months, each once
    soon = Notification.objects.filter(kind=Kind.FOLLOW_UP_SOON, recipient=programme.coach)
    assert soon.count() == 12 and all(counts[key] == 1 for key in soon.values_list("key", flat=True))


# The sweep twice, by two workers at once -------------------------------------------------------------


def test_two_workers_sweeping_at_once_create_and_send_nothing_twice(programme, workers):
    follow_up_due_in_14_days(programme, 12)
    workers.start("one", mail_seconds=0.05)
    workers.start("two", mail_seconds=0.05)
    workers.wait_until_up(2)
    sweep_notifications.delay()
    sweep_notifications.delay()  # each worker takes one: two sweeps at once
    wait_for(lambda: unfinished() == 0 and Notification.objects.exists(), seconds=90, what="every notification sent")
    time.sleep(1)
    counts = assert_each_sent_once(workers.mail_dir)
    assert FollowUp.objects.count() == 24
    assert Notification.objects.filter(kind=Kind.FOLLOW_UP_SOON, recipient=programme.coach).count() == 12

    again = sweep.run()  # and once more, here: nothing new, nothing to queue
    assert (again.created, again.queued) == (0, 0)
    time.sleep(1)
    assert mailed_keys(workers.mail_dir) == counts
