"""Scale out: two web processes and two Celery workers on one PostgreSQL and one Redis.

Two gunicorn processes (each its own port) and two Celery workers (each consuming every queue)
run on the test database and Redis, as separate machines would. A coach signs in through web
process A and carries on through web process B with the same cookie; both processes show the
coach the measure pages, which ask for the charts; a notification sweep is queued twice, as two
beats would. Every task is then done once: each task message succeeds exactly once across both
workers (their logs name each task id), each chart is drawn once (one ``'drawn'`` per chart, one
file per chart), and each reminder is mailed once (Django's file-based e-mail, counted by key).

Needs PostgreSQL and Redis (``DATABASE_URL``, ``REDIS_URL``); in CI (``CI=true``) a missing
service is a failure, never a skip.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
from dateutil.relativedelta import relativedelta
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from microsystems.celery import app as celery_app
from microsystems.management.commands.bench import HOST, free_port, gunicorn_command
from microsystems.tests.factories import PASSWORD
from notifications.models import Notification, Status
from notifications.tasks import sweep_notifications
from notifications.tests.mail_backends import mailed_keys
from projects.models import Chart, Step
from projects.tests.factories import ProjectFactory
from projects.tests.improvement_factories import MeasureFactory, weekly_values

ROOT = Path(__file__).resolve().parent.parent
QUEUES = "default,rendering,notifications"
VALUES = [8, 9, 7, 8, 9, 8, 7, 8, 9, 8, 5, 4, 5, 4, 3, 4, 5, 4]
# The worker's INFO line for a finished task: "Task <name>[<id>] succeeded in 0.1s: <return value>".
SUCCEEDED = re.compile(r"Task (?P<name>[\w.]+)\[(?P<id>[0-9a-f-]+)\] succeeded in [\d.e-]+s: (?P<result>.*)$", re.M)

pytestmark = [pytest.mark.services, pytest.mark.slow]


def wait_for(condition: Callable[[], object], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"Not so after {seconds} seconds: {what}")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    text: str


@dataclass
class Browser:
    """A browser's cookie jar, sending to whichever web process it is pointed at (cookies ignore the port)."""

    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, port: int, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        headers = {"Host": f"{HOST}:{port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"http://{HOST}:{port}{path}"
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            text = raw.read().decode("utf-8", errors="replace")
            for value in raw.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(value).items():
                    self.cookies[name] = morsel.value
            return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, text)
        finally:
            conn.close()

    def get(self, port: int, path: str) -> Response:
        return self.request(port, "GET", path)

    def post(self, port: int, path: str, form: dict[str, str]) -> Response:
        return self.request(port, "POST", path, form)


class Processes:
    """gunicorn and Celery worker processes on the test database and Redis; all stopped at the end."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.media = tmp_path / "media"
        self.mail = tmp_path / "mail"
        self.media.mkdir()
        self.mail.mkdir()
        self.running: list[tuple[subprocess.Popen[bytes], Path]] = []
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "microsystems.settings.local",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": django_settings.REDIS_URL,
            "DEBUG": "false",
            "REQUIRE_TWO_FACTOR": "false",
            "MEDIA_ROOT": str(self.media),
            "STORAGE_BACKEND": "filesystem",
            "EMAIL_BACKEND": "notifications.tests.mail_backends.SlowFileBackend",
            "NOTIFICATION_TEST_MAIL_DIR": str(self.mail),
            "NOTIFICATION_TEST_MAIL_SECONDS": "0",
        }
        if db.get("PASSWORD"):
            self.env["DATABASE_URL"] = (
                f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
            )

    def _start(self, command: list[str], log_name: str) -> Path:
        log = self.tmp_path / log_name
        with log.open("wb") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.running.append((process, log))
        return log

    def web(self, name: str) -> int:
        port = free_port()
        self._start(gunicorn_command(port, workers=1), f"web-{name}.log")
        return port

    def worker(self, name: str) -> Path:
        command = [sys.executable, "-m", "celery", "-A", "microsystems", "worker", "--pool=solo",
                   "--loglevel=INFO", "-Q", QUEUES, "-n", f"{name}@%h"]  # fmt: skip
        return self._start(command, f"worker-{name}.log")

    def wait_until_serving(self, port: int) -> None:
        def serving() -> bool:
            try:
                return Browser().get(port, "/account/login/").status == 200
            except OSError:
                return False

        wait_for(serving, seconds=60, what=f"gunicorn serving on port {port}\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"== {log.name}\n{log.read_text(errors='replace')[-3000:]}" for _, log in self.running)

    def stop_all(self) -> None:
        for process, _ in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process, _ in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


@pytest.fixture
def processes(transactional_db, tmp_path) -> Iterator[Processes]:
    if connection.vendor != "postgresql" or not django_settings.REDIS_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("The multi-process test needs PostgreSQL and Redis in CI.")
        pytest.skip("Needs DATABASE_URL (PostgreSQL) and REDIS_URL.")
    broker = redis.Redis.from_url(django_settings.REDIS_URL)
    broker.delete(*QUEUES.split(","), "celery", "unacked", "unacked_index")  # nothing left over from another test
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False  # this process publishes to Redis, like a web process
    running = Processes(tmp_path)
    try:
        yield running
    finally:
        celery_app.conf.task_always_eager = eager
        running.stop_all()


def sign_in(browser: Browser, port: int, email: str) -> Response:
    browser.get(port, "/account/login/")
    form = {"username": email, "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    return browser.post(port, "/account/login/", form)


def succeeded(logs: list[Path]) -> list[tuple[str, str, str]]:
    """Every task the workers finished: (task name, task id, return value)."""
    found = []
    for log in logs:
        found += [
            (m["name"], m["id"], m["result"].strip()) for m in SUCCEEDED.finditer(log.read_text(errors="replace"))
        ]
    return found


def test_two_web_processes_and_two_workers_share_sessions_and_do_every_task_once(programme, processes, settings):
    coach = programme.coach
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # one the web processes know
    coach.set_password(PASSWORD)
    coach.save(update_fields=["password"])
    measures = []
    for _ in range(3):
        project = ProjectFactory(practice=programme.practice, lead_coach=coach, step=Step.TREAT)
        measure = MeasureFactory(project=project)
        weekly_values(measure, VALUES)
        measures.append(measure)
    # Reminders due: completed projects whose 6-month follow-up falls due in 14 days (the sweep opens them).
    completed_on = timezone.localdate() + timedelta(days=14) - relativedelta(months=6)
    for _ in range(4):
        ProjectFactory(practice=programme.practice, lead_coach=coach, step=Step.FOLLOW_UP, completed_on=completed_on)

    web_a, web_b = processes.web("a"), processes.web("b")
    worker_logs = [processes.worker("one"), processes.worker("two")]
    processes.wait_until_serving(web_a)
    processes.wait_until_serving(web_b)

    # Sign in through A; the same cookie is signed in on B. Without it, B sends you to sign in.
    browser = Browser()
    signed_in = sign_in(browser, web_a, coach.email)
    assert signed_in.status == 302 and signed_in.headers["location"] == "/", (signed_in.status, signed_in.text[:2000])
    home_b = browser.get(web_b, "/")
    assert home_b.status == 200 and coach.full_name in home_b.text, home_b.text[:2000]
    assert Browser().get(web_b, "/").status == 302

    # Both web processes show the coach the measure pages; each asks for charts that are not drawn.
    for measure in measures:
        for port in (web_b, web_a):
            page = browser.get(port, measure.get_absolute_url())
            assert page.status == 200, page.text[:2000]
    assert Chart.objects.filter(measure__in=measures).count() == 6  # pending, queued to "rendering"

    # A sweep, queued twice (as two beats would), while the workers come up.
    sweep_notifications.delay()
    sweep_notifications.delay()
    wait_for(
        lambda: len(celery_app.control.ping(timeout=0.5)) >= 2, seconds=60, what=f"two workers\n{processes.logs()}"
    )

    def all_done() -> bool:
        charts_done = not Chart.objects.filter(measure__in=measures).exclude(status=Chart.Status.READY).exists()
        mail_done = not Notification.objects.filter(status__in=[Status.PENDING, Status.SENDING]).exists()
        return charts_done and mail_done and Notification.objects.exists()

    wait_for(all_done, seconds=60, what=f"every chart drawn and every reminder sent\n{processes.logs()}")
    time.sleep(1)  # a late duplicate, if any, has had time to run

    # Every task message was done once, by one worker or the other.
    tasks = succeeded(worker_logs)
    ids = Counter(task_id for _, task_id, _ in tasks)
    assert ids and set(ids.values()) == {1}, [task for task in tasks if ids[task[1]] > 1]
    names = Counter(name for name, _, _ in tasks)
    assert names["notifications.tasks.sweep_notifications"] == 2

    # Each chart drawn once, into one file in the shared storage, by whichever worker took it.
    drawn = [result for name, _, result in tasks if name == "projects.tasks.render_chart"]
    assert drawn == ["'drawn'"] * 6, drawn
    for row in Chart.objects.filter(measure__in=measures):
        assert row.png == f"charts/{row.key}-{row.kind}.png" and row.svg == f"charts/{row.key}-{row.kind}.svg"
        assert (processes.media / row.png).read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in (processes.media / "charts").iterdir()) == sorted(
        name.removeprefix("charts/")
        for row in Chart.objects.filter(measure__in=measures)
        for name in (row.png, row.svg)
    )

    # Each reminder mailed once: the two sweeps created each row once and each row was sent once.
    states = dict(Notification.objects.values_list("key", "status"))
    assert set(states.values()) <= {Status.SENT, Status.SKIPPED}, states
    sent = {key for key, status in states.items() if status == Status.SENT}
    assert len(sent) >= 4
    assert mailed_keys(processes.mail) == Counter(dict.fromkeys(sent, 1))
    assert names["notifications.tasks.send_notification"] >= len(sent)

    # And B still serves the signed-in coach a chart: the signed link from the page, straight from storage.
    page = browser.get(web_b, measures[0].get_absolute_url())
    link = re.search(r'src="(/charts/[^"]+)"', page.text)
    assert link, page.text[:3000]
    image = Browser().get(web_a, link[1])  # no session needed: the link is signed
    assert image.status == 200 and image.headers["content-type"] == "image/png"
