"""Background tasks that fail for good show in the admin for staff admins, with ids but never free text.

Tasks run in-process here (``CELERY_TASK_ALWAYS_EAGER``) through Celery's own tracer. With errors
not propagated to the caller, as in a worker, the tracer handles a failure as a worker does and
sends the same ``task_failure`` signal; ``test_logs`` runs a real worker in CI.
"""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError
from django.urls import reverse

from microsystems.celery import app as celery_app
from microsystems.logs import request_id_bound
from microsystems.models import TaskFailure
from microsystems.task_failures import on_task_failure, safe_value
from practices.tasks import run_ods_import
from projects import chart_cache
from projects.tasks import render_chart


@pytest.fixture(autouse=True)
def errors_handled_as_in_a_worker():
    propagates = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = propagates


def test_a_task_that_fails_is_recorded_with_its_arguments_error_traceback_and_request(db):
    with request_id_bound("3f2a9c1e"):
        result = run_ods_import.delay("not-an-id", include_non_gp=True)
    assert result.failed()
    failure = TaskFailure.objects.get()
    assert failure.task_name == "practices.tasks.run_ods_import"
    assert failure.task_id
    assert (failure.args, failure.kwargs) == (["not-an-id"], {"include_non_gp": True})
    assert failure.exception_type == "builtins.ValueError"
    assert failure.message == "Field 'id' expected a number but got 'not-an-id'."
    assert "practices/tasks.py" in failure.traceback
    assert failure.request_id == "3f2a9c1e"
    assert failure.retries == 0


def test_a_task_that_runs_out_of_retries_is_recorded_once_with_its_retries(db, monkeypatch):
    def unreachable(*args):
        raise OperationalError("the database went away")

    monkeypatch.setattr(chart_cache, "render_and_store", unreachable)
    assert render_chart.delay(41, "xmr", "ab" * 32).failed()
    failure = TaskFailure.objects.get()
    assert (failure.task_name, failure.retries) == ("projects.tasks.render_chart", 3)
    assert failure.args == [41, "xmr", "ab" * 32]
    assert failure.exception_type == "django.db.utils.OperationalError"


def test_a_task_that_succeeds_on_a_retry_is_not_recorded(db, monkeypatch):
    attempts = []

    def flaky(*args):
        attempts.append(args)
        if len(attempts) == 1:
            raise OperationalError("the database went away")
        return "drawn"

    monkeypatch.setattr(chart_cache, "render_and_store", flaky)
    render_chart.delay(41, "run", "cd" * 32)
    assert len(attempts) == 2
    assert not TaskFailure.objects.exists()


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        (42, 42),
        (None, None),
        (True, True),
        ("G82013", "G82013"),
        ("run", "run"),
        ("Mrs Jones rings the surgery daily", "<str of 33 left out>"),
        ("x" * 65, "<str of 65 left out>"),
        ({"who": "Mrs Jones"}, "<dict of 1 left out>"),
        (b"%PDF-", "<bytes of 5 left out>"),
    ],
)
def test_only_ids_and_short_codes_are_kept_from_a_tasks_arguments(value, kept):
    assert safe_value(value) == kept


def test_free_text_passed_to_a_failed_task_is_not_recorded(db):
    run_ods_import.delay("Mrs Jones, NHS number 943 476 5919")
    failure = TaskFailure.objects.get()
    assert failure.args == ["<str of 34 left out>"]


def test_a_failure_that_cannot_be_written_is_logged_and_the_worker_carries_on(caplog):
    # No ``db`` fixture: the database refuses every query, as when it is down.
    on_task_failure(sender=run_ods_import, task_id="t-1", exception=ValueError("boom"), args=(1,), kwargs={})
    record = next(r for r in caplog.records if r.name == "microsystems.task_failures")
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "Could not record the failure of task practices.tasks.run_ods_import[t-1]."


# The admin: staff admins read failures; nobody adds or edits them.


@pytest.fixture
def failures(db):
    run_ods_import.delay("one")
    with request_id_bound("req-2"):
        run_ods_import.delay("two")
    return list(TaskFailure.objects.order_by("id"))


def test_a_staff_admin_sees_failures_listed_and_filtered_by_task(client, programme, failures):
    client.force_login(programme.admin)
    changelist = reverse("admin:microsystems_taskfailure_changelist")
    page = client.get(changelist)
    assert page.status_code == 200
    assert page.text.count("practices.tasks.run_ods_import") >= 2
    assert "Field &#x27;id&#x27; expected a number but got &#x27;one&#x27;." in page.text
    assert "req-2" in page.text
    filtered = client.get(changelist, {"task_name": "projects.tasks.render_chart"})
    assert "0 task failures" in filtered.text
    by_request = client.get(changelist, {"q": "req-2"})
    assert "1 task failure" in by_request.text


def test_a_failure_shows_its_traceback_and_cannot_be_changed_or_added(client, programme, failures):
    client.force_login(programme.admin)
    page = client.get(reverse("admin:microsystems_taskfailure_change", args=[failures[0].pk]))
    assert page.status_code == 200
    assert "Traceback" in page.text
    assert 'name="_save"' not in page.text
    assert client.get(reverse("admin:microsystems_taskfailure_add")).status_code == 403


def test_people_who_are_not_staff_admins_cannot_see_failures(client, programme, failures):
    client.force_login(programme.lead)
    page = client.get(reverse("admin:microsystems_taskfailure_changelist"))
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("admin:login"))
