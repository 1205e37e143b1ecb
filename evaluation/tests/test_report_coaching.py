"""The coaching report: sessions, attendance, overruns, actions, experience and mentoring, against the rows behind them.

Seen on 1 September 2025 (the ``clock`` fixture).
"""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coaching.models import Attendance, Mentoring, SessionAttendance, SessionStatus
from coaching.tests.factories import ActionFactory, CoachProfileFactory, SessionFactory
from evaluation.reporting import Scope, build_report
from evaluation.reports import coaching
from microsystems.tests.factories import UserFactory
from projects.models import Step, Typology
from projects.tests.factories import ProjectFactory, TeamMemberFactory

pytestmark = pytest.mark.usefixtures("clock")


def attend(session, *statuses):
    for status in statuses:
        member = TeamMemberFactory(project=session.project)
        SessionAttendance.objects.create(session=session, member=member, status=status)


@pytest.fixture
def data(programme):
    west = programme.commissioner
    coach = CoachProfileFactory(user=programme.coach, commissioner=west)
    sam = CoachProfileFactory(user=UserFactory(full_name="Sam Fletcher"), commissioner=west, level="in_training")
    mentor = CoachProfileFactory(user=UserFactory(full_name="Ruth Okafor"), commissioner=west, level="mentor")
    east = CoachProfileFactory(user=UserFactory(full_name="Tom Reid"), commissioner=programme.other_commissioner)
    Mentoring.objects.create(mentor=mentor, mentee=sam, starts_on=date(2025, 1, 1))
    Mentoring.objects.create(mentor=mentor, mentee=coach, starts_on=date(2024, 6, 1), ends_on=date(2025, 3, 1))

    done = ProjectFactory(
        practice=programme.practice, lead_coach=coach.user, step=Step.COMPLETED, completed_on=date(2025, 5, 1)
    )
    active = ProjectFactory(
        practice=programme.sibling_practice, lead_coach=sam.user, co_coach=coach.user, step=Step.TREAT,
        typology=Typology.HEALTH_OUTPUTS,
    )  # fmt: skip
    elsewhere = ProjectFactory(practice=programme.other_practice, lead_coach=east.user, step=Step.TREAT)

    first = SessionFactory(project=done, coach=coach.user, planned_minutes=60, actual_minutes=75)
    SessionFactory(project=done, coach=coach.user, planned_minutes=60, actual_minutes=60)
    SessionFactory(project=done, coach=coach.user, actual_minutes=None)
    SessionFactory(project=done, coach=coach.user, status=SessionStatus.PLANNED, actual_minutes=None)
    SessionFactory(project=done, coach=coach.user, status=SessionStatus.CANCELLED, actual_minutes=90)
    theirs = SessionFactory(project=active, coach=sam.user, planned_minutes=45, actual_minutes=50)
    east_session = SessionFactory(project=elsewhere, coach=east.user, actual_minutes=120)
    attend(first, Attendance.PRESENT, Attendance.APOLOGIES)
    attend(theirs, Attendance.PRESENT, Attendance.ABSENT)
    attend(east_session, Attendance.ABSENT, Attendance.ABSENT)

    ActionFactory(raised_in=first, status="done", closed_on=date(2025, 2, 10), due_on=date(2025, 2, 18))
    ActionFactory(raised_in=first, status="done", closed_on=date(2025, 3, 1), due_on=date(2025, 2, 18))
    ActionFactory(raised_in=first, status="open", due_on=date(2025, 8, 1))
    ActionFactory(raised_in=theirs, status="open", due_on=date(2025, 10, 1))
    ActionFactory(raised_in=theirs, status="dropped", due_on=date(2025, 3, 1))
    ActionFactory(raised_in=east_session, status="open", due_on=date(2025, 1, 1))
    return {"coach": coach, "sam": sam, "mentor": mentor}


def table(report, title):
    return next(t for t in report.tables if t.title == title)


def test_the_headline_figures_count_held_sessions_of_the_commissioners_projects(programme, data):
    report = coaching.build(Scope(programme.commissioner))

    assert dict(report.highlights) == {
        "Sessions held": 4,
        "Mean sessions per coached project": 2.0,
        "Median sessions per coached project": 2.0,
        "Attendance": "50.0%",
        "Sessions that overran": "2 (67%)",
        "Actions done on time": "1 (33%)",
        "Active mentoring pairs": 1,
        "Mentees with no completed project": 1,
    }


def test_the_tables_break_the_figures_down(programme, data):
    report = coaching.build(Scope(programme.commissioner))

    sessions = dict(table(report, "Sessions and attendance").rows)
    assert sessions["Sessions with their length logged"] == 3
    assert sessions["Mean minutes over, when a session overran"] == 10.0
    assert (sessions["Sent apologies"], sessions["Did not attend"]) == ("1 (25%)", "1 (25%)")
    actions = dict(table(report, "Actions agreed at sessions").rows)
    assert actions == {
        "Done on time": "1 (33%)", "Done late": "1 (33%)", "Open and overdue": "1 (33%)",
        "Open, not yet due": 1, "Dropped": 1, "All actions": 5,
    }  # fmt: skip
    pairs = table(report, "Mentoring pairs").rows
    assert pairs == (("Ruth Okafor", "Sam Fletcher", date(2025, 1, 1), None, 0),)


def test_the_csv_has_a_row_per_coach_of_the_commissioner(programme, data):
    report = coaching.build(Scope(programme.commissioner))

    rows = {row[0]: dict(zip(report.csv_header, row, strict=True)) for row in report.csv_rows}
    assert set(rows) == {"Coach West", "Ruth Okafor", "Sam Fletcher"}
    coach = rows["Coach West"]
    assert (coach["Open projects"], coach["Projects coached"]) == (1, 2)
    assert (coach["Sessions held"], coach["Sessions timed"], coach["Sessions overran"], coach["% overran"]) == (
        3, 2, 1, 50.0,
    )  # fmt: skip
    assert (coach["Attendance marks"], coach["Marked attended"], coach["% attended"]) == (2, 1, 50.0)
    assert (coach["Actions judged"], coach["Actions done on time"], coach["% on time"]) == (3, 1, 33.3)
    assert coach["Completed projects (all time)"] == 1 and coach["Completed: process-driven"] == 1
    sam = rows["Sam Fletcher"]
    assert (sam["Level"], sam["Sessions held"], sam["% overran"], sam["Actions judged"]) == ("In training", 1, 100.0, 0)
    assert sam["Mentored by"] == "Ruth Okafor" and rows["Ruth Okafor"]["Mentoring"] == "Sam Fletcher"
    assert len(report.csv_header) == len(report.csv_rows[0])


def test_the_charts_show_sessions_per_project_and_experience(programme, data):
    sessions, experience = coaching.build(Scope(programme.commissioner)).charts

    assert sessions.categories[0] == "1–4" and sessions.series[0].values == (2.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    assert "for 2 projects: mean 2.0, median 2.0" in sessions.alt
    assert experience.categories == ("Coach West",)
    assert [s.values for s in experience.series] == [(1.0,), (0.0,), (0.0,)]
    assert "1 of 3 coaches have completed a project" in experience.alt


def test_a_pcn_narrows_the_sessions_but_lists_every_coach(programme, data):
    report = coaching.build(Scope(programme.commissioner, pcn=programme.practice.pcn))

    assert dict(report.highlights)["Sessions held"] == 3
    assert dict(report.highlights)["Actions done on time"] == "1 (33%)"
    assert len(report.csv_rows) == 3


def test_a_year_counts_its_projects_and_the_pairs_active_in_it(programme, data):
    in_year = coaching.build(Scope(programme.commissioner, year=2024))
    other_year = coaching.build(Scope(programme.commissioner, year=2023))

    assert dict(in_year.highlights)["Sessions held"] == 4 and dict(in_year.highlights)["Active mentoring pairs"] == 2
    assert dict(other_year.highlights)["Sessions held"] == 0
    assert dict(other_year.highlights)["Active mentoring pairs"] == 0


def test_the_median_reads_the_middle_of_the_counts():
    assert coaching._median({1: 1, 2: 0, 3: 1}, 0, 2) == 2.0
    assert coaching._median({1: 1, 2: 2, 3: 0}, 0, 3) == 2
    assert coaching._median({1: 1}, 2, 3) == f"more than {coaching.MOST_SESSIONS}"
    assert coaching._median({1: 0}, 0, 0) is None


def test_an_empty_scope_has_zeros_and_says_so(programme):
    report = build_report("coaching", Scope(programme.commissioner))

    highlights = dict(report.highlights)
    assert highlights["Sessions held"] == 0 and highlights["Mean sessions per coached project"] is None
    assert highlights["Actions done on time"] == "0 (0%)" and report.csv_rows == ()
    assert report.charts[0].alt == "No coaching sessions have been held for these projects yet."
    assert all(chart.is_empty for chart in report.charts)


def test_queries_stay_constant_as_sessions_and_coaches_grow(programme):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            coaching.build(Scope(programme.commissioner))
        return len(captured)

    def one_more():
        profile = CoachProfileFactory(commissioner=programme.commissioner)
        project = ProjectFactory(practice=programme.practice, lead_coach=profile.user)
        session = SessionFactory(project=project, coach=profile.user)
        attend(session, Attendance.PRESENT)
        ActionFactory(raised_in=session)

    one_more()
    one = queries()
    for _ in range(4):
        one_more()
    assert queries() == one <= 12  # five grouped counts of the scope, then the coaches
