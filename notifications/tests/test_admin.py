"""The outbox in the admin: states and errors at a glance, and failed rows sent again."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from microsystems.audit import AuditEntry
from microsystems.tests.factories import UserFactory
from notifications.models import Kind, Notification, Status

from .test_outbox import unsaved

pytestmark = pytest.mark.django_db

URL = "/admin/notifications/notification/"


def rows(count: int, *, status: str = Status.PENDING, prefix: str = "row", **fields) -> list[Notification]:
    made = [unsaved(UserFactory(), f"{prefix}:{n}", status=status, **fields) for n in range(count)]
    return Notification.objects.bulk_create(made)


def test_the_outbox_lists_state_kind_recipient_attempts_and_the_last_error(client, programme):
    failed = rows(1, status=Status.FAILED, prefix="failed", attempts=5, last_error="SMTP <refused> the message")[0]
    rows(1, status=Status.SENT, prefix="sent", kind=Kind.SESSION_TOMORROW)
    client.force_login(programme.admin)
    page = client.get(URL)
    assert page.status_code == 200
    assert "SMTP &lt;refused&gt; the message" in page.text and "SMTP <refused>" not in page.text
    assert escape(str(failed.recipient)) in page.text
    assert "A coaching session tomorrow" in page.text and "Failed" in page.text
    assert "Sent" in client.get(URL, {"status__exact": "sent"}).text
    filtered = client.get(URL, {"status__exact": "failed"})
    assert "failed:0" in filtered.text and "sent:0" not in filtered.text


def test_the_list_takes_the_same_queries_for_five_rows_as_for_fifty(client, programme):
    client.force_login(programme.admin)
    rows(5, prefix="few")
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    rows(45, prefix="many")
    with CaptureQueriesContext(connection) as many:
        client.get(URL)
    assert len(many) == len(few)


def test_a_row_is_read_only_and_none_can_be_added(client, programme):
    row = rows(1)[0]
    client.force_login(programme.admin)
    page = client.get(f"{URL}{row.pk}/change/")
    assert page.status_code == 200 and 'name="subject"' not in page.text
    assert client.get(f"{URL}add/").status_code == 403


def test_send_again_gives_failed_rows_back_and_sends_them_and_leaves_the_others(
    client, programme, django_capture_on_commit_callbacks
):
    failed = rows(2, status=Status.FAILED, prefix="failed", attempts=5, last_error="refused")
    sent = rows(1, status=Status.SENT, prefix="sent")[0]
    client.force_login(programme.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            URL,
            {"action": "send_again", "_selected_action": [r.pk for r in [*failed, sent]]},
            follow=True,
        )
    assert "2 failed notification(s) will be sent again." in response.text
    assert "1 selected notification(s) had not failed and were left as they were." in response.text
    assert len(mail.outbox) == 2
    states = dict(Notification.objects.values_list("key", "status"))
    assert states == {"failed:0": "sent", "failed:1": "sent", "sent:0": "sent"}
    assert Notification.objects.get(key="failed:0").attempts == 1  # counted afresh
    entry = AuditEntry.objects.get(action="notifications.sent_again")
    assert entry.actor == programme.admin


def test_only_staff_admins_see_the_outbox(client, programme):
    client.force_login(programme.lead)
    assert client.get(URL).status_code == 302  # to the admin's login
