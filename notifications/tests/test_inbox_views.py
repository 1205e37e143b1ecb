"""The in-app list: what was sent or kept back, newest first, new ones marked, read once opened; the badge."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import Kind, Notification, Status
from notifications.selectors import unread_count

pytestmark = pytest.mark.django_db

URL = reverse("notifications:inbox")
NOW = timezone.make_aware(datetime(2025, 9, 16, 9, 0))


def notification(recipient, subject: str, *, status: str = Status.SENT, minutes_ago: int = 0, **fields) -> Notification:
    at = NOW - timedelta(minutes=minutes_ago)
    return Notification.objects.create(
        key=f"test:{recipient.pk}:{subject}",
        kind=fields.pop("kind", Kind.FOLLOW_UP_SOON),
        recipient=recipient,
        subject=subject,
        body_text=fields.pop("body_text", "Hello.\nThe follow-up is due."),
        link=fields.pop("link", "/follow-ups/1/"),
        status=status,
        created_at=at,
        sent_at=at if status == Status.SENT else None,
        **fields,
    )


def test_signing_in_is_needed(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_lists_what_was_sent_or_skipped_newest_first(client, programme):
    notification(programme.coach, "Older", minutes_ago=60)
    notification(programme.coach, "Newest", minutes_ago=1)
    notification(programme.coach, "Kept back", status=Status.SKIPPED, minutes_ago=30)
    notification(programme.coach, "Still waiting", status=Status.PENDING)
    notification(programme.coach, "Bounced", status=Status.FAILED)
    client.force_login(programme.coach)

    page = client.get(URL).content.decode()

    assert page.index("Newest") < page.index("Kept back") < page.index("Older")
    assert "Still waiting" not in page and "Bounced" not in page
    assert "Not e-mailed: you turned these off." in page
    assert 'href="/follow-ups/1/"' in page


def test_it_never_shows_someone_else_s_notifications(client, programme):
    notification(programme.nurse, "For the nurse")
    client.force_login(programme.coach)

    page = client.get(URL).content.decode()

    assert "For the nurse" not in page
    assert "No notifications yet." in page


def test_subjects_and_bodies_are_escaped(client, programme):
    notification(programme.coach, "<script>alert(1)</script>", body_text="<b>bold</b> & more")
    client.force_login(programme.coach)

    page = client.get(URL).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in page


def test_new_ones_are_marked_and_opening_the_list_reads_them(client, programme):
    notification(programme.coach, "Seen before", read_at=NOW - timedelta(days=1), minutes_ago=90)
    fresh = notification(programme.coach, "Fresh")
    client.force_login(programme.coach)

    first = client.get(URL).content.decode()
    second = client.get(URL).content.decode()

    assert first.count(">New</span>") == 1
    assert first.index(">New</span>") < first.index("Fresh")
    fresh.refresh_from_db()
    assert fresh.read_at is not None
    assert ">New</span>" not in second


def test_something_sent_after_the_list_was_read_stays_new(client, programme):
    later = notification(programme.coach, "Later")
    Notification.objects.filter(pk=later.pk).update(sent_at=NOW + timedelta(seconds=5))
    client.force_login(programme.coach)

    with time_machine.travel(NOW, tick=False):  # the list is read 5 seconds before the mail goes
        client.get(URL)

    later.refresh_from_db()
    assert later.read_at is None


def test_the_nav_shows_how_many_are_new(client, programme):
    for n in range(3):
        notification(programme.coach, f"Reminder {n}")
    notification(programme.coach, "Waiting", status=Status.PENDING)
    notification(programme.nurse, "Not mine")
    client.force_login(programme.coach)

    home = client.get(reverse("home")).content.decode()
    client.get(URL)
    after = client.get(reverse("home")).content.decode()

    assert "Notifications <span" in home and ">3<span" in home
    assert "Notifications</a>" in after


def test_the_badge_counts_unread_sent_and_skipped_ones_of_the_user_alone(programme):
    notification(programme.coach, "Sent")
    notification(programme.coach, "Kept back", status=Status.SKIPPED)
    notification(programme.coach, "Read", read_at=NOW)
    for status in (Status.PENDING, Status.SENDING, Status.FAILED):
        notification(programme.coach, f"Not sent: {status}", status=status)
    notification(programme.nurse, "Someone else's")

    assert unread_count(programme.coach) == 2
    assert unread_count(programme.nurse) == 1
    assert unread_count(AnonymousUser()) == 0


def test_it_pages_twenty_at_a_time(client, programme):
    for n in range(25):
        notification(programme.coach, f"Reminder {n:02d}", minutes_ago=n)
    client.force_login(programme.coach)

    first = client.get(URL).content.decode()
    second = client.get(URL, {"page": 2}).content.decode()

    assert "Reminder 00" in first and "Reminder 19" in first and "Reminder 20" not in first
    assert "Reminder 20" in second and "Page 2 of 2" in second


def test_the_list_reads_as_many_queries_for_30_notifications_as_for_1(client, programme):
    client.force_login(programme.coach)
    client.get(reverse("home"))  # the session's first request writes to it

    def queries(n: int) -> int:
        Notification.objects.all().delete()
        for i in range(n):
            notification(programme.coach, f"Reminder {i}", minutes_ago=i)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    assert queries(1) == queries(30)
