"""The coach's calendar feed: valid iCalendar (RFC 5545) with the right sessions, behind a secret link."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.urls import reverse

from coaching.calendar import Event, calendar_text, escape_text, fold
from coaching.models import SessionStatus
from coaching.tests.factories import CoachProfileFactory, SessionFactory
from projects.tests.factories import ProjectFactory

NOW = datetime(2025, 6, 10, 9, 0, tzinfo=UTC)


def unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def event(**overrides) -> Event:
    values = {
        "uid": "coaching-session-1@testserver",
        "starts": datetime(2025, 6, 10, 12, 0, tzinfo=UTC),
        "ends": datetime(2025, 6, 10, 13, 0, tzinfo=UTC),
        "summary": "Coaching: Results (Amherst)",
        "stamp": NOW,
    }
    return Event(**(values | overrides))


# Writing iCalendar


def test_text_values_are_escaped():
    assert escape_text("a\\b;c,d\ne\r\nf") == "a\\\\b\\;c\\,d\\ne\\nf"
    assert escape_text("bell\x07 tab\t") == "bell tab\t"


def test_long_lines_fold_at_75_octets_without_splitting_a_character():
    line = "DESCRIPTION:" + "Café ☕ and results handling, " * 12
    folded = fold(line)
    physical = folded.split("\r\n")
    assert len(physical) > 1
    assert all(len(p.encode()) <= 75 for p in physical)
    assert all(p.startswith(" ") for p in physical[1:])
    assert folded.replace("\r\n ", "") == line
    assert fold("SUMMARY:short") == "SUMMARY:short"


def test_a_calendar_has_its_frame_crlf_endings_and_each_event():
    text = calendar_text(
        [event(description="Agenda:\nThe 5Ps; the fishbone, then actions", location="Amherst", url="https://x/s/1/")],
        name="Coaching sessions: Sam Coach",
    )
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")  # no bare line feeds
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    lines = unfold(text)
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == 1
    assert "DTSTART:20250610T120000Z" in lines and "DTEND:20250610T130000Z" in lines
    assert "DTSTAMP:20250610T090000Z" in lines
    assert "UID:coaching-session-1@testserver" in lines
    assert "DESCRIPTION:Agenda:\\nThe 5Ps\\; the fishbone\\, then actions" in lines
    assert "LOCATION:Amherst" in lines and "URL:https://x/s/1/" in lines


# The feed


@pytest.fixture
def feed_setup(programme):
    profile = CoachProfileFactory(user=programme.coach, commissioner=programme.commissioner)
    project = ProjectFactory(practice=programme.practice, lead_coach=programme.coach, title="Results, handled; fast")

    def session(on, **kwargs):
        values = {"project": project, "coach": programme.coach, "on": on, "starts_at": time(13, 0)}
        return SessionFactory(**(values | kwargs))

    return profile, project, session


@time_machine.travel(datetime(2025, 6, 10, 9, 0, tzinfo=UTC))
def test_the_feed_lists_the_coachs_sessions_from_three_months_back(client, programme, feed_setup):
    profile, project, session = feed_setup
    held = session(date(2025, 4, 1), agenda="Review; plan, act", actual_minutes=90)  # British Summer Time
    planned = session(date(2025, 12, 2), status=SessionStatus.PLANNED, format="video", actual_minutes=None)
    session(date(2025, 3, 1))  # more than three months ago
    session(date(2025, 6, 17), status=SessionStatus.CANCELLED)
    SessionFactory(on=date(2025, 6, 12))  # another coach's session elsewhere

    response = client.get(reverse("coaching:calendar", args=[profile.calendar_token]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    text = response.content.decode()
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    lines = unfold(text)
    assert [x for x in lines if x.startswith("UID:")] == [
        f"UID:coaching-session-{held.pk}@testserver",
        f"UID:coaching-session-{planned.pk}@testserver",
    ]
    summary = "SUMMARY:Coaching: Results\\, handled\\; fast (Amherst Medical Practice)"
    assert lines.count(summary) == 2
    assert "DTSTART:20250401T120000Z" in lines and "DTEND:20250401T133000Z" in lines  # 13:00 BST, 90 minutes
    assert "DTSTART:20251202T130000Z" in lines and "DTEND:20251202T140000Z" in lines  # 13:00 GMT, 60 planned
    assert "LOCATION:Amherst Medical Practice" in lines and "LOCATION:Video" in lines
    assert any(x.startswith("DESCRIPTION:Agenda:\\nReview\\; plan\\, act") for x in lines)
    assert f"URL:http://testserver/coaching/sessions/{held.pk}/" in lines
    assert "STATUS:TENTATIVE" in lines and "STATUS:CONFIRMED" in lines


def test_the_feed_needs_no_sign_in_but_the_right_token(client, feed_setup):
    profile, _, _ = feed_setup
    assert client.get(reverse("coaching:calendar", args=[profile.calendar_token])).status_code == 200
    assert client.get(reverse("coaching:calendar", args=[profile.calendar_token[:-1]])).status_code == 404
    profile.is_active = False
    profile.save(update_fields=["is_active"])
    assert client.get(reverse("coaching:calendar", args=[profile.calendar_token])).status_code == 404


def test_the_feed_runs_the_same_queries_for_few_and_many_sessions(client, feed_setup, django_assert_num_queries):
    profile, _, session = feed_setup
    path = reverse("coaching:calendar", args=[profile.calendar_token])
    session(date.today())
    with django_assert_num_queries(2):
        client.get(path)
    for days in range(20):
        session(date.today() + timedelta(days=days + 1))
    with django_assert_num_queries(2):
        client.get(path)
