"""Log lines: JSON when configured, each with the id of the request behind it, in the web process and in
the tasks it queued; and none with what people typed in a workbook.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from kombu import Connection

from microsystems.celery import app as celery_app
from microsystems.logs import HEADER, JsonFormatter, RequestIdFilter, current_request_id, request_id_bound
from microsystems.models import TaskFailure
from practices.tasks import run_ods_import
from projects.models import Step, WorkbookSection
from projects.tests.factories import ProjectFactory
from tests.conftest import worker as real_worker  # noqa: F401  (the worker tests' fixture, as ``real_worker``)

ROOT = Path(__file__).resolve().parents[2]
NHS_NUMBER = "943 476 5919"  # passes the modulus-11 check


@pytest.fixture
def captured(caplog):
    """Every record from INFO up, with the request id as the console handler sees it."""
    caplog.handler.addFilter(RequestIdFilter())
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="microsystems.requests")
    yield caplog
    caplog.handler.filters.clear()


def record(name: str, message: str, *, exc_info: object = None) -> logging.LogRecord:
    made = logging.LogRecord(name, logging.WARNING, __file__, 1, message, None, exc_info)  # type: ignore[arg-type]
    RequestIdFilter().filter(made)
    return made


# The lines


def test_with_log_format_json_each_line_is_a_json_object_with_the_request_id():
    script = (
        "import logging, django; django.setup()\n"
        "from microsystems.logs import request_id_bound\n"
        "with request_id_bound('7d1c0a55'):\n"
        "    logging.getLogger('projects.views').warning('section %s refused', 12)\n"
        "logging.getLogger('microsystems.broker').error('no request here')\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "microsystems.settings.test", "LOG_FORMAT": "json"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [set(line) for line in lines] == [{"time", "level", "logger", "message", "request_id"}] * 2
    first, second = lines
    assert first["time"].endswith("+00:00")
    assert (first["level"], first["logger"], first["message"]) == ("WARNING", "projects.views", "section 12 refused")
    assert (first["request_id"], second["request_id"]) == ("7d1c0a55", None)


def test_an_unknown_log_format_is_refused_at_start():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "microsystems.settings.test", "LOG_FORMAT": "xml"}
    script = "import django; django.setup()"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "LOG_FORMAT must be 'plain' or 'json', not 'xml'." in done.stderr


def test_a_json_line_carries_the_traceback_and_the_request_fields():
    try:
        raise ValueError("boom")
    except ValueError:
        failed = record("x", "failed", exc_info=sys.exc_info())
    line = json.loads(JsonFormatter().format(failed))
    assert line["exc"].startswith("Traceback") and line["exc"].endswith("ValueError: boom")
    request = record("microsystems.requests", "GET / 200")
    request.__dict__.update(method="GET", path="/", status=200, duration_ms=3.2, request=object())
    line = json.loads(JsonFormatter().format(request))
    assert (line["method"], line["path"], line["status"], line["duration_ms"]) == ("GET", "/", 200, 3.2)
    assert "request" not in line  # django.request attaches the whole request: never written out


def test_plain_lines_carry_the_request_id_too():
    formatter = logging.Formatter("%(levelname)s [%(request_id)s] %(message)s")
    with request_id_bound("abc"):
        assert formatter.format(record("x", "inside")) == "WARNING [abc] inside"
    assert formatter.format(record("x", "outside")) == "WARNING [-] outside"


# Requests


def test_each_response_has_its_own_request_id(client):
    first, second = client.get("/healthz")[HEADER], client.get("/healthz")[HEADER]
    assert len(first) == 32 and first != second


def test_the_proxys_request_id_is_kept_when_it_looks_like_one(client):
    sent = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert client.get("/healthz", headers={HEADER: sent})[HEADER] == sent


@pytest.mark.parametrize("sent", ["two words", "forged\nERROR line", "x" * 129, "", "<script>"])
def test_a_request_id_that_does_not_look_like_one_is_replaced(client, sent):
    returned = client.get("/healthz", headers={HEADER: sent})[HEADER]
    assert returned != sent and len(returned) == 32


def test_every_line_a_request_logs_has_its_id_and_one_line_sums_it_up(client, db, captured):
    client.get("/account/login/?next=/projects/&q=Mrs+Jones", headers={HEADER: "req-42"})
    line = next(r for r in captured.records if r.name == "microsystems.requests")
    assert line.getMessage() == "GET /account/login/ 200"
    assert (line.request_id, line.method, line.path, line.status) == ("req-42", "GET", "/account/login/", 200)
    assert "Jones" not in line.getMessage()  # the query string is left out
    assert current_request_id() is None  # nothing leaks into the next request


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/account/reset/MQ/cj8kxq-0a1b2c3d4e5f/", "/account/reset/***/***/"),
        ("/account/invitation/MQ/cj8kxq-0a1b2c3d4e5f/", "/account/invitation/***/***/"),
        ("/coaching/calendar/Zk3xq9PRvT2.ics", "/coaching/calendar/***.ics"),
    ],
)
def test_secret_links_are_logged_with_their_secrets_masked(client, db, captured, path, logged):
    client.get(path)
    line = next(r for r in captured.records if r.name == "microsystems.requests")
    assert line.path == logged
    assert line.getMessage().split(" ")[1] == logged


def test_probes_are_not_logged_line_by_line(client, captured):
    client.get("/healthz")
    assert not [r for r in captured.records if r.name == "microsystems.requests"]


# Tasks


@pytest.fixture
def memory_broker():
    """Publish for real, to kombu's in-memory transport, instead of running tasks in-process."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    with Connection("memory://") as broker:
        yield broker
    celery_app.conf.task_always_eager = eager


def published(broker, task, *args, request_id=None):
    with request_id_bound(request_id):
        task.apply_async(args, connection=broker, queue="observed")
    with broker.SimpleQueue("observed") as queue:
        message = queue.get(timeout=1)
        message.ack()
    return message


def test_a_task_queued_by_a_request_carries_its_id_in_the_message(memory_broker):
    message = published(memory_broker, run_ods_import, 7, request_id="req-7")
    assert message.headers["task"] == "practices.tasks.run_ods_import"
    assert message.headers["request_id"] == "req-7"
    assert "request_id" not in published(memory_broker, run_ods_import, 7).headers  # a sweep's task has none


def test_a_worker_runs_the_task_with_the_id_of_the_request_that_queued_it(memory_broker, db, captured):
    from celery.worker.request import Request

    message = published(memory_broker, run_ods_import, "not-an-id", request_id="req-8")
    Request(message, app=celery_app, task=run_ods_import).execute()  # as the worker does, in this process
    error = next(r for r in captured.records if r.name == "celery.app.trace")
    assert (error.levelno, error.request_id, error.task_id) == (logging.ERROR, "req-8", message.headers["id"])
    assert TaskFailure.objects.get().request_id == "req-8"
    assert current_request_id() is None  # cleared after the task: the next task starts without one


def test_a_task_run_in_process_keeps_the_id_of_its_caller(db):
    with request_id_bound("req-9"):
        run_ods_import.delay(10**9)  # no such import: the task does nothing
        assert current_request_id() == "req-9"


# No free text in logs


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice, lead_coach=programme.coach, step=Step.ASSESS)


def save(client, project, key, data, version):
    url = f"/projects/{project.pk}/sections/{key}/"
    return client.post(url, {"version": version, **data}, headers={"HX-Request": "true"})


def test_a_refused_or_conflicting_workbook_save_logs_nothing_of_what_was_typed(client, programme, project, captured):
    client.force_login(programme.nurse)
    typed = f"Mrs Jones, NHS number {NHS_NUMBER}, rings daily."
    assert save(client, project, "patients", {"who": typed}, version=0).status_code == 422
    WorkbookSection.objects.filter(project=project, key="purpose").update(version=3)
    assert save(client, project, "purpose", {"purpose": "Mine: Mrs Jones rings daily."}, version=0).status_code == 409
    assert save(client, project, "purpose", {"purpose": "x" * 5000}, version=3).status_code == 422
    logged = [r for r in captured.records if r.name.startswith(("django", "projects", "microsystems"))]
    assert {r.name for r in logged} >= {"microsystems.requests", "django.request"}  # the failures are logged
    for line in logged:
        text = f"{line.getMessage()} {line.__dict__}"
        assert "Jones" not in text and NHS_NUMBER not in text and "xxxxx" not in text


def test_a_password_typed_into_the_email_field_is_not_logged(client, db, captured):
    client.post("/admin/login/", {"username": "Tr0ub4dor&3 horse", "password": "x"})  # its field takes any text
    failed = next(r for r in captured.records if r.getMessage().startswith("failed login"))
    assert failed.getMessage() == "failed login: email=(not an e-mail address) from=127.0.0.1"


# A real worker (CI: PostgreSQL and Redis)


@pytest.fixture
def json_worker(monkeypatch, request):
    """The worker tests' real worker, logging JSON lines."""
    monkeypatch.setenv("LOG_FORMAT", "json")
    return request.getfixturevalue("real_worker")


def test_a_real_worker_logs_json_lines_with_the_request_id_and_records_the_failure(json_worker):
    stderr = json_worker.stderr.fileno()
    os.set_blocking(stderr, False)
    with request_id_bound("req-ci-1"):
        run_ods_import.delay("not-an-id")
    deadline, output = time.monotonic() + 60, b""
    while time.monotonic() < deadline and b"req-ci-1" not in output:
        try:
            output += os.read(stderr, 1 << 16)
        except BlockingIOError:
            time.sleep(0.2)
    lines = [json.loads(line) for line in output.decode().splitlines() if line.startswith("{")]
    failed = [line for line in lines if line["request_id"] == "req-ci-1"]
    assert failed, output.decode()[-3000:]
    assert failed[0]["level"] == "ERROR" and failed[0]["task"] == "practices.tasks.run_ods_import"
    assert connection.vendor == "postgresql"
    assert TaskFailure.objects.get(request_id="req-ci-1").task_name == "practices.tasks.run_ods_import"
