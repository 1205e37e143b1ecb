"""The coaching lists' rows drawn in Python: every value escaped, the links and badges right."""

from datetime import date, time

import pytest
from django.utils.formats import date_format

from coaching.coaches import DirectoryRow
from coaching.matching import CoachFacts, Match, Reason
from coaching.models import Session
from coaching.session_selectors import SESSION_ROW, SESSION_ROW_PROJECT, CaseloadRow, WeekSession, with_counts
from coaching.tables import (
    _Formats,
    caseload_rows_html,
    directory_rows_html,
    follow_up_items_html,
    match_items_html,
    session_rows_html,
    week_items_html,
)
from coaching.tests.factories import CoachProfileFactory, SessionFactory
from evaluation.selectors import CoachFollowUp
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

TITLE = '<script>alert("x")</script> & results'


def _rows(sessions):
    return with_counts(sessions).values(*SESSION_ROW, *SESSION_ROW_PROJECT, "attended", "actions_count")


def test_session_rows_escape_text_and_link_to_the_session_and_project():
    session = SessionFactory(project=ProjectFactory(title=TITLE), actual_minutes=80, planned_minutes=60)
    rows = session_rows_html(_rows(Session.objects.filter(pk=session.pk)), with_project=True)
    assert "<script>" not in rows and "&lt;script&gt;" in rows and "&amp; results" in rows
    assert f'href="/coaching/sessions/{session.pk}/"' in rows
    assert f'href="/coaching/projects/{session.project_id}/sessions/"' in rows
    assert "80 of 60 minutes" in rows and "Overran by 20 min" in rows
    assert "4 February 2025" in rows and "13:00" in rows


def test_caseload_rows_carry_the_csrf_token_and_say_how_long_since_contact():
    project = ProjectFactory(title=TITLE)
    row = CaseloadRow(
        project_id=project.pk,
        title=project.title,
        step=project.step,
        practice_name=project.practice.name,
        last_held=date(2025, 2, 4),
        next_on=None,
        open_count=2,
        overdue_count=1,
        days_since_contact=1,
    )
    html = caseload_rows_html([row], csrf_token='tok"en')
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'value="tok&quot;en"' in html
    assert f'action="/coaching/projects/{project.pk}/sessions/new/"' in html
    assert "1 day ago" in html and "Not planned" in html and 'text-bg-danger">1<' in html


def test_repeated_dates_and_times_are_each_shown_in_every_row():
    project = ProjectFactory()
    SessionFactory(project=project, on=date(2025, 3, 3), starts_at=time(9, 30))
    SessionFactory(project=project, on=date(2025, 3, 3), starts_at=time(9, 30))
    rows = session_rows_html(_rows(Session.objects.filter(project=project)), with_project=False)
    assert rows.count("3 March 2025") == 2 and rows.count("09:30") == 2


def test_dates_read_as_django_formats_them_in_every_pattern():
    formats = _Formats()
    for day in (date(2025, 3, 3), date(2024, 2, 29), date(1999, 12, 31)):
        for pattern in (None, "l j F", "j M Y", "D jS F", r"j \o\f F"):
            assert formats.day(day, pattern) == date_format(day, pattern)


def test_the_week_and_follow_ups_lists_escape_text_and_link_to_each():
    week = week_items_html([WeekSession(7, date(2025, 3, 3), time(9, 30), "held", "video", TITLE, "A & B")])
    assert "<script>" not in week and "Monday 3 March, 09:30: &lt;script&gt;" in week
    assert 'href="/coaching/sessions/7/"' in week and "A &amp; B · Video" in week and "text-bg-success" in week
    due = CoachFollowUp(9, "6m", date(2025, 3, 3), "scheduled", TITLE, "A & B", overdue=True, due=False)
    follow_ups = follow_up_items_html([due])
    assert "<script>" not in follow_ups and "6-month follow-up: &lt;script&gt;" in follow_ups
    assert 'href="/follow-ups/9/"' in follow_ups
    assert "due 3 March 2025" in follow_ups and "Overdue" in follow_ups


def test_the_directory_rows_escape_text_and_show_the_load_against_the_limit():
    coach = CoachProfileFactory(commissioning_role=TITLE, max_projects=1, protected_hours="2.5", trained_on=None)
    row = DirectoryRow(
        coach=coach, load=2, by_typology={}, last_training=None, refresher_due=None, refresher_overdue=False
    )
    html = directory_rows_html([row])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert f'href="/coaching/coaches/{coach.pk}/"' in html and "2 of 1" in html and "Over the limit" in html
    assert "<td>2.5</td>" in html and "Not recorded" in html and "No training recorded" in html


def test_the_matches_escape_names_and_offer_to_make_each_lead_coach():
    project = ProjectFactory()
    coach = CoachFacts(user_id=42, name=TITLE, is_active=True, max_projects=1, open_projects=1)
    match = Match(coach=coach, has_conflict=True, has_capacity=False, score=0, reasons=(Reason("A & B", False),))
    html = match_items_html([match], project=project)
    assert "<script>" not in html and "1. &lt;script&gt;" in html and "A &amp; B" in html
    assert "Conflict of interest</span> <span" in html
    assert f"/projects/{project.pk}/coaches/?lead_coach=42" in html
