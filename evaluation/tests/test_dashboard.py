"""The dashboard's figures, each checked against the rows that produced it, including the rows it must not count.

West (``programme.commissioner``) is the scope; East's rows, closed practices, other PCNs and other
years are there to be left out. Today is 1 September 2025, in the financial year 2025/26.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coaching.tests.factories import AgreementFactory, CoachProfileFactory, SessionFactory
from evaluation.dashboard import programme_figures
from evaluation.models import FollowUp, FollowUpKind, FollowUpReview, FollowUpStatus, Sustained
from evaluation.reporting import Scope
from practices.models import Cohort, Engagement, OdsStatus
from practices.tests.factories import PracticeFactory
from projects.models import PaymentStatus, Step, Typology
from projects.tests.factories import ProjectFactory, TeamMemberFactory
from projects.tests.payment_factories import PaymentFactory

TODAY = date(2025, 9, 1)


def figures(programme, **scope):
    return programme_figures(Scope(commissioner=programme.commissioner, **scope), today=TODAY)


def funnel(result) -> dict[str, tuple[int, ...]]:
    return {row.label: tuple(cell.value for cell in row.cells) for row in (*result.funnel, *result.left)}


def practice(programme, engagement, cohort=Cohort.NONE, **fields):
    fields.setdefault("pcn", programme.practice.pcn)
    return PracticeFactory(commissioner=programme.commissioner, engagement=engagement, cohort=cohort, **fields)


def project(at, step=Step.TREAT, **fields):
    fields.setdefault("starts_on", date(2025, 5, 1))
    fields.setdefault("planned_end_on", date(2025, 8, 1))
    return ProjectFactory(practice=at, step=step, **fields)


# --- practices ------------------------------------------------------------------------------------------------


def test_the_funnel_counts_open_practices_by_engagement_and_cohort(programme):
    practice(programme, Engagement.INVITED, Cohort.EARLY_ADOPTER)
    practice(programme, Engagement.ENGAGED, Cohort.EARLY_ADOPTER)
    practice(programme, Engagement.ENGAGED, Cohort.LATE_MAJORITY)
    practice(programme, Engagement.DECLINED)
    practice(programme, Engagement.WITHDREW, Cohort.LATE_MAJORITY)
    practice(programme, Engagement.ENGAGED, Cohort.EARLY_ADOPTER, ods_status=OdsStatus.CLOSED)  # closed: not counted
    PracticeFactory(commissioner=programme.other_commissioner, engagement=Engagement.ENGAGED)  # East's
    # programme.practice and sibling_practice are not approached, with no cohort.
    result = figures(programme)
    # columns: early adopter, late majority, no cohort, all
    assert funnel(result) == {
        "Not yet approached": (0, 0, 2, 2),
        "Invited": (1, 0, 0, 1),
        "Engaged": (1, 1, 0, 2),
        "First project completed": (0, 0, 0, 0),
        "Second project": (0, 0, 0, 0),
        "Declined": (0, 0, 1, 1),
        "Withdrew": (0, 1, 0, 1),
    }
    assert result.practices == 7
    assert result.cohorts == ("Early adopter", "Late majority", "No cohort yet", "All practices")


def test_a_practice_reaches_first_and_second_project_whatever_its_engagement(programme):
    done_twice = practice(programme, Engagement.ENGAGED, Cohort.EARLY_ADOPTER)
    project(done_twice, Step.FOLLOW_UP, starts_on=date(2024, 5, 1), completed_on=date(2024, 9, 1))
    project(done_twice, Step.ORGANISE, starts_on=date(2025, 6, 1))
    done_once = practice(programme, Engagement.WITHDREW, Cohort.LATE_MAJORITY)
    project(done_once, Step.COMPLETED, completed_on=date(2025, 8, 1))
    two_unfinished = practice(programme, Engagement.ENGAGED)  # two projects, none completed: neither stage
    project(two_unfinished, Step.WITHDRAWN)
    project(two_unfinished, Step.TREAT)
    other = PracticeFactory(commissioner=programme.other_commissioner, engagement=Engagement.ENGAGED)
    project(other, Step.COMPLETED, completed_on=date(2025, 8, 1))
    project(other, Step.TREAT)

    rows = funnel(figures(programme))
    assert rows["First project completed"] == (1, 1, 0, 2)
    assert rows["Second project"] == (1, 0, 0, 1)


def test_the_funnel_follows_the_pcn_and_ignores_the_year(programme):
    practice(programme, Engagement.ENGAGED, pcn=programme.sibling_practice.pcn)
    practice(programme, Engagement.ENGAGED)
    rows = funnel(figures(programme, pcn=programme.sibling_practice.pcn, year=2019))
    assert rows["Engaged"] == (0, 0, 1, 1)
    assert rows["Not yet approached"] == (0, 0, 1, 1)  # the sibling practice itself


def test_engaged_practices_not_contacted_for_six_months(programme):
    coach = programme.coach
    seen = practice(programme, Engagement.ENGAGED, engagement_since=date(2024, 1, 1))
    SessionFactory(project=project(seen), coach=coach, on=date(2025, 3, 1))  # six months ago today: contact
    unseen = practice(programme, Engagement.ENGAGED, engagement_since=date(2024, 1, 1))
    SessionFactory(project=project(unseen), coach=coach, on=date(2025, 2, 28))  # one day too early
    SessionFactory(project=project(unseen), coach=coach, on=date(2025, 8, 20), status="planned")  # not held
    practice(programme, Engagement.ENGAGED)  # engaged since an unknown date, never seen: counted
    practice(programme, Engagement.ENGAGED, engagement_since=date(2025, 7, 1))  # engaged too recently
    practice(programme, Engagement.INVITED, engagement_since=date(2024, 1, 1))  # not engaged
    PracticeFactory(commissioner=programme.other_commissioner, engagement=Engagement.ENGAGED)

    assert figures(programme).not_contacted.value == 2


# --- projects -------------------------------------------------------------------------------------------------


def test_projects_by_step_count_the_year_and_pcn_chosen(programme):
    here, sibling = programme.practice, programme.sibling_practice
    project(here, Step.ORGANISE)
    project(here, Step.TREAT)
    project(here, Step.TREAT, starts_on=date(2024, 6, 1))  # 2024/25
    project(sibling, Step.FOLLOW_UP, completed_on=date(2025, 8, 1))
    project(sibling, Step.WITHDRAWN)
    project(programme.other_practice, Step.TREAT)  # East's

    def steps(**scope):
        return {figure.label: figure.value for figure in figures(programme, **scope).steps if figure.value}

    assert steps() == {"Organise": 1, "Treat": 2, "Follow-up": 1, "Withdrawn": 1}
    assert steps(year=2025) == {"Organise": 1, "Treat": 1, "Follow-up": 1, "Withdrawn": 1}
    assert steps(year=2025, pcn=here.pcn) == {"Organise": 1, "Treat": 1}
    assert [figure.label for figure in figures(programme).steps] == [
        "Organise", "Assess", "Diagnose", "Treat", "Follow-up", "Completed", "Withdrawn",
    ]  # fmt: skip
    assert figures(programme, year=2025).projects.value == 4


def test_active_projects_with_no_champion_or_no_agreement(programme):
    bare = project(programme.practice, Step.ORGANISE)
    championed = project(programme.practice, Step.TREAT)
    TeamMemberFactory(project=championed, is_champion=True)
    agreed = project(programme.practice, Step.ASSESS)
    AgreementFactory(project=agreed)
    TeamMemberFactory(project=agreed, is_champion=False)
    project(programme.practice, Step.FOLLOW_UP, completed_on=date(2025, 8, 1))  # not active
    project(programme.practice, Step.WITHDRAWN)  # not active
    project(programme.other_practice, Step.ORGANISE)  # East's
    assert bare.step == Step.ORGANISE

    result = figures(programme)
    assert result.no_champion.value == 2  # bare and agreed
    assert result.no_agreement.value == 2  # bare and championed


def test_the_typology_chart_counts_projects_by_category_and_sub_theme(programme):
    project(programme.practice, typology=Typology.PROCESS_DRIVEN, process_subtheme="administrative")
    project(programme.practice, typology=Typology.PROCESS_DRIVEN, process_subtheme="patient_flow")
    project(programme.practice, typology=Typology.PROCESS_DRIVEN, process_subtheme="patient_flow")
    project(programme.practice, typology=Typology.HEALTH_OUTPUTS, process_subtheme="")
    project(programme.other_practice, typology=Typology.PATIENT_CENTRED, process_subtheme="")  # East's

    chart = figures(programme).typology
    assert dict(zip(chart.categories, chart.series[0].values, strict=True)) == {
        "Process-driven: administrative systems": 1.0,
        "Process-driven: patient flow": 2.0,
        "Process-driven: communication": 0.0,
        "Health outputs": 1.0,
        "Patient-centred care": 0.0,
    }
    assert chart.alt.startswith("Bar chart of 4 projects by primary category: process-driven 3")
    assert "The largest group is process-driven: patient flow, with 2." in chart.alt


def test_the_typology_chart_says_when_a_sub_theme_was_not_recorded(programme):
    project(programme.practice, typology=Typology.PROCESS_DRIVEN, process_subtheme="")
    chart = figures(programme).typology
    assert "Process-driven: sub-theme not recorded" in chart.categories


# --- coaches ---------------------------------------------------------------------------------------------------


def test_coach_load_against_capacity(programme):
    busy = CoachProfileFactory(user=programme.coach, commissioner=programme.commissioner, max_projects=1)
    project(programme.practice, Step.TREAT, lead_coach=busy.user)
    project(programme.practice, Step.ORGANISE, co_coach=busy.user)
    project(programme.practice, Step.COMPLETED, lead_coach=busy.user, completed_on=date(2025, 8, 1))  # closed
    light = CoachProfileFactory(commissioner=programme.commissioner, max_projects=3)
    project(programme.sibling_practice, Step.ASSESS, lead_coach=light.user)
    retired = CoachProfileFactory(commissioner=programme.commissioner, is_active=False, max_projects=1)
    project(programme.practice, Step.TREAT, lead_coach=retired.user)
    project(programme.practice, Step.TREAT, lead_coach=retired.user)
    CoachProfileFactory(commissioner=programme.other_commissioner, max_projects=2)

    load = figures(programme).coaches
    assert (load.coaches.value, load.load, load.capacity, load.over.value) == (2, 3, 4, 1)
    assert load.percent_used == 75


def test_coach_load_with_no_coaches_is_zero(programme):
    load = figures(programme).coaches
    assert (load.coaches.value, load.load, load.capacity, load.over.value, load.percent_used) == (0, 0, 0, 0, 0)


# --- follow-ups ------------------------------------------------------------------------------------------------


def follow_up(of, kind, due_on, status=FollowUpStatus.SCHEDULED):
    return FollowUp.objects.create(project=of, kind=kind, due_on=due_on, status=status)


def test_follow_ups_due_and_overdue_today(programme):
    six, twelve = FollowUpKind.SIX_MONTHS, FollowUpKind.TWELVE_MONTHS
    follow_up(project(programme.practice), six, date(2025, 10, 1))  # due in 30 days: due
    follow_up(project(programme.practice), six, date(2025, 10, 2))  # 31 days away: not yet
    follow_up(project(programme.practice), six, date(2025, 8, 2))  # 30 days past: still due
    follow_up(project(programme.practice), six, date(2025, 8, 1))  # 31 days past: overdue
    follow_up(project(programme.sibling_practice), twelve, date(2024, 8, 1))  # overdue
    follow_up(project(programme.practice), six, date(2025, 8, 1), FollowUpStatus.HELD)
    follow_up(project(programme.practice), six, date(2025, 8, 1), FollowUpStatus.CANCELLED)
    follow_up(project(programme.other_practice), six, date(2025, 9, 1))  # East's

    result = figures(programme)
    assert (result.follow_ups_due.value, result.follow_ups_overdue.value) == (2, 2)
    narrowed = figures(programme, pcn=programme.sibling_practice.pcn, year=2019)  # the year does not matter
    assert (narrowed.follow_ups_due.value, narrowed.follow_ups_overdue.value) == (0, 1)


# --- money -----------------------------------------------------------------------------------------------------------


def payment(of, amount, status, due_on=date(2025, 6, 1), **fields):
    if status == PaymentStatus.PAID:
        fields |= {"paid_on": due_on, "reference": "PO-1"}
    return PaymentFactory(project=of, amount=Decimal(amount), status=status, due_on=due_on, **fields)


def test_money_committed_and_paid_in_the_year(programme):
    payment(project(programme.practice), "1500.00", PaymentStatus.DUE)
    payment(project(programme.practice), "250.50", PaymentStatus.APPROVED)
    payment(project(programme.sibling_practice), "1000.00", PaymentStatus.PAID)
    payment(project(programme.practice), "700.00", PaymentStatus.CANCELLED)
    payment(project(programme.practice), "900.00", PaymentStatus.PAID, due_on=date(2025, 3, 31))  # 2024/25
    payment(project(programme.other_practice), "3000.00", PaymentStatus.DUE)  # East's

    money = figures(programme).money  # all years chosen: money counts this financial year
    assert (money.year, money.year_label) == (2025, "2025/26")
    assert (money.committed.value, money.committed.shown, money.committed_count) == (Decimal("1750.50"), "£1,750.50", 2)
    assert (money.paid.value, money.paid.shown, money.paid_count) == (Decimal("1000.00"), "£1,000.00", 1)

    earlier = figures(programme, year=2024).money
    assert (earlier.committed.shown, earlier.paid.shown) == ("£0.00", "£900.00")
    sibling = figures(programme, pcn=programme.sibling_practice.pcn).money
    assert (sibling.committed.shown, sibling.paid.shown) == ("£0.00", "£1,000.00")


# --- sustainability ------------------------------------------------------------------------------------------------


def review(of, kind, due_on, sustained):
    held = follow_up(of, kind, due_on, FollowUpStatus.HELD)
    return FollowUpReview.objects.create(follow_up=held, held_on=due_on, sustained=sustained)


def test_the_sustainability_chart_counts_review_outcomes_at_6_and_12_months(programme):
    six, twelve = FollowUpKind.SIX_MONTHS, FollowUpKind.TWELVE_MONTHS
    a, b, c = (project(programme.practice) for _ in range(3))
    review(a, six, date(2025, 5, 1), Sustained.SUSTAINED)
    review(b, six, date(2025, 6, 1), Sustained.SUSTAINED)
    review(c, six, date(2025, 7, 1), Sustained.NOT_SUSTAINED)
    review(a, twelve, date(2025, 11, 1), Sustained.PARTLY)
    review(b, twelve, date(2024, 12, 1), Sustained.SUSTAINED)  # due in 2024/25
    review(project(programme.other_practice), six, date(2025, 5, 1), Sustained.PARTLY)  # East's

    chart = figures(programme, year=2025).sustainability
    assert chart.kind == "grouped"
    assert chart.categories == ("Sustained", "Partly sustained", "Not sustained")
    assert [(s.name, s.values) for s in chart.series] == [
        ("6-month reviews", (2.0, 0.0, 1.0)),
        ("12-month reviews", (0.0, 1.0, 0.0)),
    ]
    assert chart.alt == (
        "Grouped bar chart of follow-up review outcomes. "
        "Of 3 reviews at 6 months: 2 sustained, 0 partly sustained, 1 not sustained. "
        "Of 1 review at 12 months: 0 sustained, 1 partly sustained, 0 not sustained."
    )
    assert figures(programme).sustainability.series[1].values == (1.0, 1.0, 0.0)


def test_charts_with_no_data_say_so_in_their_alt_text(programme):
    result = figures(programme)
    assert result.typology.is_empty and result.sustainability.is_empty
    assert "no projects" in result.typology.alt
    assert "No reviews at 6 months yet. No reviews at 12 months yet." in result.sustainability.alt


# --- links and cost ------------------------------------------------------------------------------------------------


def test_each_figure_links_to_its_list_with_the_scope(programme):
    pcn = programme.practice.pcn
    result = figures(programme, pcn=pcn, year=2025)
    c = programme.commissioner.pk
    assert result.funnel[2].cells[0].url == (
        f"/practices/?commissioner={c}&pcn={pcn.pk}&ods_status=A&engagement=engaged&cohort=early_adopter"
    )
    assert result.not_contacted.url == f"/practices/?commissioner={c}&pcn={pcn.pk}&ods_status=A&progress=not_contacted"
    assert result.steps[3].url == f"/projects/?commissioner={c}&pcn={pcn.pk}&year=2025&step=treat"
    assert result.no_champion.url == f"/projects/?commissioner={c}&pcn={pcn.pk}&year=2025&missing=champion"
    assert result.follow_ups_overdue.url == f"/follow-ups/?commissioner={c}&pcn={pcn.pk}&state=overdue"
    assert result.money.committed.url == f"/payments/?commissioner={c}&pcn={pcn.pk}&year=2025&status=committed"
    assert result.coaches.over.url == "/coaching/coaches/?active=yes&capacity=over"


def build(programme, n: int) -> None:
    """``n`` of every kind of row the dashboard counts."""
    coach = CoachProfileFactory(commissioner=programme.commissioner).user
    for i in range(n):
        at = practice(programme, Engagement.ENGAGED, Cohort.EARLY_ADOPTER, engagement_since=date(2024, 1, 1))
        done = project(at, Step.FOLLOW_UP, completed_on=date(2025, 8, 1), lead_coach=coach)
        TeamMemberFactory(project=done, is_champion=True)
        SessionFactory(project=done, coach=coach, on=date(2025, 7, 1))
        review(done, FollowUpKind.SIX_MONTHS, date(2025, 8, 1 + i), Sustained.SUSTAINED)
        follow_up(done, FollowUpKind.TWELVE_MONTHS, date(2025, 9, 10))
        payment(done, "100.00", PaymentStatus.PAID)
        project(at, Step.ORGANISE, typology=Typology.HEALTH_OUTPUTS, process_subtheme="", co_coach=coach)


@pytest.mark.parametrize("n", [1, 5])
def test_the_figures_take_six_queries_however_much_data(programme, n):
    build(programme, n)
    with CaptureQueriesContext(connection) as queries:
        result = figures(programme, year=2025)
    assert len(queries) == 6
    assert result.funnel[4].total.value == n  # each practice completed a project and started another
    assert result.money.paid_count == n
