"""The adoption report: practices by cohort and engagement, why some left, first projects and their timing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coaching.models import CoachingAgreement
from evaluation.reporting import Scope
from evaluation.reports import adoption
from evaluation.reports._common import LONG_HEADER
from practices.models import Cohort, Engagement, EngagementChange, EngagementReason
from practices.tests.factories import CommissionerFactory, PracticeFactory
from projects.models import FundingRoute, Project, Step
from projects.services import withdraw_project
from projects.tests.factories import ProjectFactory
from projects.tests.payment_factories import PaymentFactory

EARLY, LATE, NONE = Cohort.EARLY_ADOPTER, Cohort.LATE_MAJORITY, Cohort.NONE


def practice_at(commissioner, engagement, cohort=NONE, **fields):
    return PracticeFactory(commissioner=commissioner, engagement=engagement, cohort=cohort, **fields)


def left(practice, engagement, reason, at):
    return EngagementChange.objects.create(
        practice=practice,
        changed_at=datetime(at.year, at.month, at.day, 12, tzinfo=UTC),
        effective_on=at,
        from_engagement=Engagement.INVITED,
        to_engagement=engagement,
        reason=reason,
    )


def project(practice, starts_on, **fields):
    return ProjectFactory(
        practice=practice, starts_on=starts_on, planned_end_on=starts_on + timedelta(weeks=13), **fields
    )


def agreed_and_completed(project, *, agreed, completed):
    CoachingAgreement.objects.create(
        project=project,
        signed_by_name="Dr A Shah",
        signed_by_role="GP partner",
        signed_on=agreed,
        meeting_slot="Tuesdays at 1pm",
        staff_released="The results nurse.",
        champion="Jo Patel",
        patients_involved="A patient representative.",
    )
    Project.objects.filter(pk=project.pk).update(completed_on=completed, step=Step.FOLLOW_UP)


def table(report, title):
    return next(t for t in report.tables if t.title.startswith(title))


@pytest.fixture
def practices(programme):
    """West: engaged early adopter, declined late majority, two that withdrew, one invited, one not approached.
    East: a practice that declined, which never counts."""
    west = programme.commissioner
    home, sibling = programme.practice, programme.sibling_practice
    home.engagement, home.cohort = Engagement.ENGAGED, EARLY
    home.save()
    sibling.engagement, sibling.cohort = Engagement.DECLINED, LATE
    sibling.save()
    left(sibling, Engagement.DECLINED, EngagementReason.OTHER, date(2023, 1, 1))
    left(sibling, Engagement.WITHDREW, EngagementReason.NOT_CONVINCED, date(2023, 6, 1))  # not its engagement now
    left(sibling, Engagement.DECLINED, EngagementReason.NO_TIME, date(2024, 1, 1))  # the latest: this reason counts
    staffing = practice_at(west, Engagement.WITHDREW, EARLY)
    left(staffing, Engagement.WITHDREW, EngagementReason.STAFFING, date(2024, 3, 1))
    practice_at(west, Engagement.WITHDREW, LATE)  # no change recorded: reason not recorded
    practice_at(west, Engagement.INVITED, LATE)
    practice_at(west, Engagement.NOT_APPROACHED)
    programme.other_practice.engagement = Engagement.DECLINED
    programme.other_practice.save()
    left(programme.other_practice, Engagement.DECLINED, EngagementReason.NO_TIME, date(2024, 1, 1))
    return programme


def test_it_counts_practices_by_cohort_and_engagement(practices):
    report = adoption.build(Scope(commissioner=practices.commissioner))

    stages = table(report, "Practices by cohort and engagement")
    assert [c.label for c in stages.columns] == [
        "Cohort", "Not yet approached", "Invited", "Engaged", "Declined", "Withdrew", "Practices",
    ]  # fmt: skip
    assert stages.rows == (
        ("Early adopter", 0, 0, 1, 0, 1, 2),
        ("Late majority", 0, 1, 0, 1, 1, 3),
        ("None yet", 1, 0, 0, 0, 0, 1),
        ("All practices", 1, 1, 1, 1, 2, 6),
    )
    chart = report.charts[0]
    assert chart.categories == ("Not yet approached", "Invited", "Engaged", "Declined", "Withdrew")
    assert [(s.name, s.values) for s in chart.series] == [
        ("Early adopter", (0.0, 0.0, 1.0, 0.0, 1.0)),
        ("Late majority", (0.0, 1.0, 0.0, 1.0, 1.0)),
        ("None yet", (1.0, 0.0, 0.0, 0.0, 0.0)),
    ]
    assert chart.alt == (
        "Of 6 practices, 1 (17%) not yet approached, 1 (17%) invited, 1 (17%) engaged, 1 (17%) declined "
        "and 2 (33%) withdrew. Early adopter: 2 practices, 1 engaged; late majority: 3 practices, 0 engaged."
    )


def test_it_counts_the_latest_reason_for_declining_or_withdrawing(practices):
    report = adoption.build(Scope(commissioner=practices.commissioner))

    reasons = table(report, "Why practices declined or withdrew")
    assert reasons.rows == (
        ("No time to take part", 1, 0, 1),
        ("Staff shortages or turnover", 0, 1, 1),
        ("Other priorities (for example CQC, mergers)", 0, 0, 0),
        ("Not convinced of the benefit", 0, 0, 0),
        ("Practice merger, move or closure", 0, 0, 0),
        ("Other", 0, 0, 0),
        ("Not recorded", 0, 1, 1),
        ("All reasons", 1, 2, 3),
    )
    chart = report.charts[1]
    assert [(s.name, s.values) for s in chart.series] == [
        ("Declined", (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)),
        ("Withdrew", (0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0)),
    ]
    assert chart.alt == (
        "3 practices declined or withdrew: 1 declined and 2 withdrew. "
        "The commonest reasons were no time to take part (1) and staff shortages or turnover (1)."
    )
    assert dict(report.highlights)["Declined or withdrew"] == "3 (50%)"


def test_a_pcn_counts_only_its_practices(practices):
    report = adoption.build(Scope(commissioner=practices.commissioner, pcn=practices.sibling_practice.pcn))

    assert table(report, "Practices by cohort and engagement").rows[-1] == ("All practices", 0, 0, 0, 1, 0, 1)
    assert table(report, "Why practices declined or withdrew").rows[0] == ("No time to take part", 1, 0, 1)


@pytest.fixture
def journeys(programme):
    """Home: a first project (2024/25) and a later one; sibling: one first project; a third practice whose
    later project was paid as its first; East's project never counts."""
    home, sibling = programme.practice, programme.sibling_practice
    first = project(home, date(2024, 5, 1))
    later = project(home, date(2025, 1, 6))
    only = project(sibling, date(2025, 1, 6))
    paid = practice_at(programme.commissioner, Engagement.ENGAGED)
    earlier = project(paid, date(2023, 5, 1), step=Step.WITHDRAWN)
    paid_first = project(paid, date(2024, 6, 1))
    PaymentFactory(project=paid_first, route=FundingRoute.FIRST_PROJECT)
    agreed_and_completed(first, agreed=date(2024, 5, 10), completed=date(2024, 8, 8))  # 90 days
    agreed_and_completed(later, agreed=date(2025, 1, 10), completed=date(2025, 3, 1))  # 50 days
    agreed_and_completed(only, agreed=date(2025, 1, 10), completed=date(2025, 4, 20))  # 100 days
    Project.objects.filter(pk=paid_first.pk).update(completed_on=date(2024, 9, 1))  # no agreement: not timed
    east = project(programme.other_practice, date(2024, 5, 1))
    agreed_and_completed(east, agreed=date(2024, 5, 2), completed=date(2024, 5, 4))
    return programme, {"first": first, "later": later, "only": only, "earlier": earlier, "paid_first": paid_first}


def test_it_compares_first_and_subsequent_projects(journeys):
    programme, _ = journeys
    report = adoption.build(Scope(commissioner=programme.commissioner))

    assert table(report, "First and subsequent projects").rows == (
        ("First projects", 3, 3, 0, 0, 100.0),
        ("Subsequent projects", 2, 1, 1, 0, 50.0),
        ("All projects", 5, 4, 1, 0, 80.0),
    )
    assert dict(report.highlights)["First projects"] == 3
    assert dict(report.highlights)["Subsequent projects"] == 2


def test_a_project_is_first_by_its_practice_history_whatever_the_year_chosen(journeys):
    programme, _ = journeys
    report = adoption.build(Scope(commissioner=programme.commissioner, year=2024))

    # 2024/25 starts: home's first and later, sibling's only, the paid first; East's never.
    assert table(report, "First and subsequent projects").rows == (
        ("First projects", 3, 3, 0, 0, 100.0),
        ("Subsequent projects", 1, 1, 0, 0, 100.0),
        ("All projects", 4, 4, 0, 0, 100.0),
    )
    only_2023 = adoption.build(Scope(commissioner=programme.commissioner, year=2023))
    assert table(only_2023, "First and subsequent projects").rows[1] == ("Subsequent projects", 1, 0, 1, 0, 0.0)


def test_it_times_agreement_to_completion_in_days(journeys):
    programme, _ = journeys
    report = adoption.build(Scope(commissioner=programme.commissioner))

    assert table(report, "Days from coaching agreement to completion").rows == (
        ("First projects", 2, 95.0, 95.0, 90, 100),
        ("Subsequent projects", 1, 50.0, 50.0, 50, 50),
        ("All projects", 3, 90.0, 80.0, 50, 100),
    )
    assert dict(report.highlights)["Median days from agreement to completion"] == 90.0


def test_it_counts_project_withdrawals_by_step_with_their_reasons(journeys, programme):
    _, made = journeys
    withdrawing = project(programme.sibling_practice, date(2025, 2, 3), step=Step.DIAGNOSE)
    withdraw_project(project=withdrawing, on=date(2025, 3, 3), reason="The lead GP left.", by=programme.lead)

    report = adoption.build(Scope(commissioner=programme.commissioner))

    assert table(report, "Projects withdrawn").rows == (
        ("Diagnose", 1, 1),
        ("Not recorded", 1, 0),  # made withdrawn without the service: no step change, no reason
        ("All steps", 2, 1),
    )
    assert table(report, "The latest project withdrawals").rows == (
        (withdrawing.title, "Kingswood Surgery", "Diagnose", date(2025, 3, 3), "The lead GP left."),
        (made["earlier"].title, made["earlier"].practice.name, "Not recorded", None, "Not recorded"),
    )


def test_the_csv_is_a_long_table_of_every_figure(practices):
    report = adoption.build(Scope(commissioner=practices.commissioner))

    assert report.csv_header == LONG_HEADER == ("Table", "Row", "Column", "Value")
    assert ("Practices by cohort and engagement", "Early adopter", "Engaged", 1) in report.csv_rows
    assert ("Practices by cohort and engagement", "All practices", "Practices", 6) in report.csv_rows
    assert ("Why practices declined or withdrew", "Not recorded", "Withdrew", 1) in report.csv_rows
    stage_rows = [r for r in report.csv_rows if r[0] == "Practices by cohort and engagement"]
    assert len(stage_rows) == 4 * 6  # four rows of six figures


def test_the_csv_lists_withdrawals_with_their_reasons(programme):
    withdrawing = project(programme.practice, date(2025, 2, 3), step=Step.TREAT)
    withdraw_project(project=withdrawing, on=date(2025, 3, 3), reason="No one to run it", by=programme.lead)

    report = adoption.build(Scope(commissioner=programme.commissioner))

    name = f"{withdrawing.title} · Amherst Medical Practice"
    latest = "The latest project withdrawals and their reasons"
    assert (latest, name, "Step", "Treat") in report.csv_rows
    assert (latest, name, "Reason", "No one to run it") in report.csv_rows


def test_an_empty_selection_has_empty_tables_and_empty_charts(db):
    report = adoption.build(Scope(commissioner=CommissionerFactory()))

    assert all(t.rows == () for t in report.tables)
    assert all(chart.is_empty for chart in report.charts)
    assert report.csv_rows == ()
    assert report.charts[0].alt == "No practices in this selection."
    assert dict(report.highlights)["Median days from agreement to completion"] is None


def test_its_queries_do_not_grow_with_the_practices_and_projects(programme):
    scope = Scope(commissioner=programme.commissioner)
    first = project(programme.practice, date(2024, 5, 1))
    agreed_and_completed(first, agreed=date(2024, 5, 10), completed=date(2024, 8, 8))
    with CaptureQueriesContext(connection) as few:
        adoption.build(scope)

    for i in range(5):
        practice = practice_at(programme.commissioner, Engagement.WITHDREW, LATE)
        left(practice, Engagement.WITHDREW, EngagementReason.STAFFING, date(2024, 3, 1))
        done = project(practice, date(2024, 5, 1 + i))
        agreed_and_completed(done, agreed=date(2024, 5, 10), completed=date(2024, 8, 8 + i))
        withdrawing = project(practice, date(2024, 9, 1), step=Step.ASSESS)
        withdraw_project(project=withdrawing, on=date(2024, 10, 1), reason="Merger", by=programme.lead)
    with CaptureQueriesContext(connection) as many:
        report = adoption.build(scope)

    assert len(many) == len(few) == 7
    assert table(report, "Days from coaching agreement to completion").rows[-1][1] == 6
