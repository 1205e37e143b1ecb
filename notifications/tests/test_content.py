"""What the e-mails say and carry: a plain-text and an HTML part, absolute links, and the follow-up's .ics."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from notifications import content, outbox, reminders, sweep
from notifications.ics import follow_up_invitation
from notifications.models import Kind, Notification, Status

from .reminder_data import SIX_MONTHS, completed, found, six_month

__all__ = ["completed"]  # a fixture

pytestmark = pytest.mark.django_db

SITE = "https://microsystems.nhs.example"


@pytest.fixture
def site(settings):
    settings.SITE_URL = SITE + "/"


def test_links_are_absolute_from_the_site_url(site):
    assert content.absolute("/follow-ups/3/") == f"{SITE}/follow-ups/3/"


def test_dates_read_as_people_write_them():
    assert content.day(date(2025, 3, 3)) == "3 March 2025"
    assert content.days_until(date(2025, 3, 3), date(2025, 3, 1)) == "in 2 days"
    assert content.days_until(date(2025, 3, 3), date(2025, 3, 2)) == "tomorrow"
    assert content.days_until(date(2025, 3, 3), date(2025, 3, 4)) == "yesterday"


def test_the_text_part_keeps_text_as_typed_and_the_html_part_escapes_it(completed, site):
    row = found(reminders.follow_ups_soon, SIX_MONTHS - timedelta(days=14))[0]

    assert "Results & letters <fast>" in row.body_text
    assert "&amp;" not in row.body_text
    assert "<strong>Results &amp; letters &lt;fast&gt;</strong>" in row.body_html
    assert "<fast>" not in row.body_html


def test_a_reminder_links_to_its_page_and_to_the_preferences(completed, site):
    follow_up = six_month(completed)
    row = found(reminders.follow_ups_soon, SIX_MONTHS - timedelta(days=14))[0]

    assert f"The follow-up: {SITE}/follow-ups/{follow_up.pk}/" in row.body_text
    assert f'href="{SITE}/follow-ups/{follow_up.pk}/"' in row.body_html
    assert f"{SITE}/notifications/preferences/" in row.body_text
    assert f'href="{SITE}/notifications/preferences/"' in row.body_html


def test_the_text_part_has_no_runs_of_blank_lines_or_trailing_spaces(completed):
    row = found(reminders.follow_ups_soon, SIX_MONTHS - timedelta(days=14))[0]

    assert "\n\n\n" not in row.body_text
    assert all(line == line.rstrip() for line in row.body_text.splitlines())


def test_the_follow_up_invitation_is_an_all_day_request_for_the_recipient(completed, programme, site):
    follow_up = six_month(completed)
    now = timezone.make_aware(datetime(2025, 9, 16, 6, 0))

    ics = follow_up_invitation(follow_up, attendee=programme.nurse, url=f"{SITE}/x/", sequence=2, now=now)

    lines = ics.split("\r\n")
    assert ics.endswith("\r\n") and "\n" not in ics.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = ics.replace("\r\n ", "")
    assert "METHOD:REQUEST" in unfolded
    assert f"UID:follow-up-{follow_up.pk}@microsystems.nhs.example" in unfolded
    assert "DTSTART;VALUE=DATE:20250930\r\nDTEND;VALUE=DATE:20251001" in unfolded
    assert "SEQUENCE:2" in unfolded
    assert "DTSTAMP:20250916T050000Z" in unfolded  # 6:00 in London in September is 5:00 UTC
    assert r"SUMMARY:6-month follow-up: Results & letters <fast> (Amherst Medical Practice)" in unfolded
    assert 'ATTENDEE;CN="Nurse Amherst";' in unfolded and "mailto:nurse@amherst.example" in unfolded
    assert "ORGANIZER;CN=" in unfolded and "TRANSP:TRANSPARENT" in unfolded


def test_text_in_the_invitation_is_escaped(completed, programme):
    completed.title = "Calls; letters, and\nresults"
    follow_up = six_month(completed)
    follow_up.project = completed

    ics = follow_up_invitation(follow_up, attendee=programme.coach, url="u", sequence=0, now=timezone.now())

    assert r"SUMMARY:6-month follow-up: Calls\; letters\, and\nresults" in ics.replace("\r\n ", "")


def test_a_sent_reminder_has_text_html_and_the_invitation_attached(completed, programme, site):
    outbox.add_many(found(reminders.follow_ups_soon, SIX_MONTHS - timedelta(days=14)))
    row = Notification.objects.get(recipient=programme.nurse)
    mail.outbox = []

    assert outbox.send_now(row.pk)

    message = mail.outbox[0]
    assert message.to == ["nurse@amherst.example"]
    assert message.subject == row.subject
    assert message.body == row.body_text
    assert message.alternatives[0][1] == "text/html"  # type: ignore[attr-defined]
    assert message.alternatives[0][0] == row.body_html  # type: ignore[attr-defined]
    name, ics, mimetype = message.attachments[0]
    assert name == "invitation.ics" and "BEGIN:VEVENT" in ics and mimetype.startswith("text/calendar")


def test_the_sweep_sends_the_reminders_on_their_days_and_only_once(
    completed, programme, django_capture_on_commit_callbacks
):
    mail.outbox = []
    sent_on: dict[date, list[str]] = {}
    for day in [SIX_MONTHS - timedelta(days=15), SIX_MONTHS - timedelta(days=14), SIX_MONTHS - timedelta(days=13)]:
        with time_machine.travel(datetime(day.year, day.month, day.day, 7, 0), tick=False):
            before = len(mail.outbox)
            with django_capture_on_commit_callbacks(execute=True):
                sweep.run()
            with django_capture_on_commit_callbacks(execute=True):
                sweep.run()  # a second sweep the same day
            sent_on[day] = sorted(m.to[0] for m in mail.outbox[before:] if "follow-up" in m.subject)

    assert sent_on == {
        date(2025, 9, 15): [],
        date(2025, 9, 16): ["coach@west.example", "nurse@amherst.example"],
        date(2025, 9, 17): [],
    }
    assert set(Notification.objects.filter(kind=Kind.FOLLOW_UP_SOON).values_list("status", flat=True)) == {Status.SENT}
