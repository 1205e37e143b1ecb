"""The sustainability report: follow-up states, review outcomes and reasons, by typology and ongoing resources."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluation.models import FollowUp, FollowUpReview, FollowUpStatus, Sustained
from evaluation.reporting import Scope
from evaluation.reports import sustainability
from evaluation.reports._common import LONG_HEADER
from practices.tests.factories import CommissionerFactory
from projects.models import Typology
from projects.tests.factories import ProjectFactory

TODAY = date(2025, 9, 1)
PD, HO, PCC = Typology.PROCESS_DRIVEN, Typology.HEALTH_OUTPUTS, Typology.PATIENT_CENTRED
HELD, SCHEDULED, CANCELLED = FollowUpStatus.HELD, FollowUpStatus.SCHEDULED, FollowUpStatus.CANCELLED
YES, PARTLY, NO = Sustained.SUSTAINED, Sustained.PARTLY, Sustained.NOT_SUSTAINED


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2025, 9, 1, 12, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def project(practice, typology=PD, needs=False):
    return ProjectFactory(practice=practice, typology=typology, needs_ongoing_resources=needs)


def follow_up(project, kind, due_on, status=SCHEDULED, sustained=None, reasons=()):
    made = FollowUp.objects.create(project=project, kind=kind, due_on=due_on, status=status)
    if sustained is not None:
        FollowUpReview.objects.create(follow_up=made, held_on=due_on, sustained=sustained, reasons=list(reasons))
    return made


@pytest.fixture
def reviews(programme):
    """West's follow-ups due in 2024/25 and 2025/26, one due in 2023/24; East's, which never count.

    6-month reviews: sustained (process-driven, ongoing resources), not sustained (health outputs,
    for two reasons), partly (patient-centred, ongoing resources); 12-month: one sustained in 2023/24.
    Still to hold: one due (12 days past), one overdue (62 days past), one not yet due; two cancelled.
    """
    home, sibling = programme.practice, programme.sibling_practice
    a, b, d = project(home, PD, needs=True), project(sibling, HO), project(home, PCC, needs=True)
    follow_up(a, "6m", date(2025, 3, 1), HELD, YES)
    follow_up(a, "12m", date(2025, 8, 20))  # due
    follow_up(b, "6m", date(2025, 2, 1), HELD, NO, reasons=["staff_turnover", "lack_of_time"])
    follow_up(b, "12m", date(2025, 7, 1))  # overdue
    follow_up(d, "6m", date(2025, 6, 1), HELD, PARTLY, reasons=["funding_ended"])
    follow_up(d, "12m", date(2025, 12, 1))  # not yet due, in 2025/26
    e = project(home, HO)
    follow_up(e, "6m", date(2025, 5, 1), CANCELLED)
    follow_up(e, "12m", date(2025, 11, 1), CANCELLED)
    f = project(sibling, PD)
    follow_up(f, "12m", date(2024, 3, 1), HELD, YES)  # 2023/24
    east = project(programme.other_practice, HO)
    follow_up(east, "6m", date(2025, 3, 1), HELD, NO, reasons=["reverted"])
    follow_up(east, "12m", date(2025, 6, 1))
    return programme


def table(report, title):
    return next(t for t in report.tables if t.title.startswith(title))


def test_it_counts_follow_ups_held_due_overdue_and_not_yet_due(reviews):
    report = sustainability.build(Scope(commissioner=reviews.commissioner))

    assert table(report, "Follow-ups held, due and overdue").rows == (
        ("6-month follow-up", 3, 0, 0, 0, 1, 4),
        ("12-month follow-up", 1, 1, 1, 1, 1, 5),
        ("All follow-ups", 4, 1, 1, 1, 2, 9),
    )
    assert dict(report.highlights)["Follow-ups overdue"] == 1
    assert dict(report.highlights)["Follow-ups due"] == 1


def test_a_follow_up_turns_overdue_thirty_days_after_its_date(reviews, clock):
    clock.move_to(datetime(2025, 9, 20, 12, tzinfo=UTC))  # the 12-month follow-up due on 20 August: 31 days past

    report = sustainability.build(Scope(commissioner=reviews.commissioner))

    assert table(report, "Follow-ups held, due and overdue").rows[1] == ("12-month follow-up", 1, 1, 0, 2, 1, 5)


def test_it_counts_what_the_reviews_found(reviews):
    report = sustainability.build(Scope(commissioner=reviews.commissioner))

    assert table(report, "What the reviews found").rows == (
        ("6-month review", 1, 1, 1, 3, 33.3, 66.7),
        ("12-month review", 1, 0, 0, 1, 100.0, 100.0),
    )
    chart = report.charts[0]
    assert chart.slug == "sustainability" and chart.categories == ("6-month review", "12-month review")
    assert [(s.name, s.values) for s in chart.series] == [
        ("Sustained", (1.0, 1.0)),
        ("Partly sustained", (1.0, 0.0)),
        ("Not sustained", (1.0, 0.0)),
    ]
    assert chart.alt == (
        "Of 3 6-month reviews, 1 (33%) found the change sustained, 1 (33%) partly and 1 (33%) not; "
        "of 1 12-month review, 1 (100%) found the change sustained, 0 (0%) partly and 0 (0%) not."
    )
    assert dict(report.highlights)["Sustained at 6-month review"] == "1 (33%)"
    assert dict(report.highlights)["Reviews held"] == 4


def test_it_counts_each_reason_given_by_kind_of_review(reviews):
    report = sustainability.build(Scope(commissioner=reviews.commissioner))

    assert table(report, "Why changes were not fully sustained").rows == (
        ("Staff turnover", 1, 0, 1),
        ("Lack of time", 1, 0, 1),
        ("Funding ended", 1, 0, 1),
        ("Reverted to old routines", 0, 0, 0),  # only East's review gave it
        ("Other", 0, 0, 0),
    )


def test_it_compares_outcomes_by_typology_and_by_ongoing_resources(reviews):
    report = sustainability.build(Scope(commissioner=reviews.commissioner))

    assert table(report, "Outcome by typology").rows == (
        ("Process-driven", "6-month review", 1, 0, 0, 1, 100.0, 100.0),
        ("Process-driven", "12-month review", 1, 0, 0, 1, 100.0, 100.0),
        ("Health outputs", "6-month review", 0, 0, 1, 1, 0.0, 0.0),
        ("Patient-centred care", "6-month review", 0, 1, 0, 1, 0.0, 100.0),
    )
    assert table(report, "Outcome by whether").rows == (
        ("Needs ongoing resources", "6-month review", 1, 1, 0, 2, 50.0, 100.0),
        ("No ongoing resources", "6-month review", 0, 0, 1, 1, 0.0, 0.0),
        ("No ongoing resources", "12-month review", 1, 0, 0, 1, 100.0, 100.0),
    )
    chart = report.charts[1]
    assert chart.percent and chart.categories == (
        "Needs ongoing resources, 6-month",
        "Needs ongoing resources, 12-month",
        "No ongoing resources, 6-month",
        "No ongoing resources, 12-month",
    )
    assert [(s.name, s.values) for s in chart.series] == [
        ("Sustained", (50.0, 0.0, 0.0, 100.0)),
        ("Partly sustained", (50.0, 0.0, 0.0, 0.0)),
        ("Not sustained", (0.0, 0.0, 100.0, 0.0)),
    ]
    assert chart.alt == (
        "At 6-month reviews, changes were sustained in 1 of 2 projects needing ongoing resources (50%) and "
        "0 of 1 project not needing them (0%); at 12-month reviews, changes were sustained in no project "
        "needing ongoing resources and 1 of 1 project not needing them (100%)."
    )


def test_a_year_counts_the_follow_ups_due_in_it(reviews):
    report = sustainability.build(Scope(commissioner=reviews.commissioner, year=2025))

    assert table(report, "Follow-ups held, due and overdue").rows == (
        ("6-month follow-up", 1, 0, 0, 0, 1, 2),
        ("12-month follow-up", 0, 1, 1, 1, 1, 4),
        ("All follow-ups", 1, 1, 1, 1, 2, 6),
    )
    assert table(report, "What the reviews found").rows == (
        ("6-month review", 0, 1, 0, 1, 0.0, 100.0),
        ("12-month review", 0, 0, 0, 0, 0.0, 0.0),
    )
    assert report.charts[0].alt.endswith("; there are no 12-month reviews yet.")
    earlier = sustainability.build(Scope(commissioner=reviews.commissioner, year=2023))
    assert table(earlier, "What the reviews found").rows[1] == ("12-month review", 1, 0, 0, 1, 100.0, 100.0)


def test_a_pcn_counts_only_its_practices_follow_ups(reviews):
    report = sustainability.build(Scope(commissioner=reviews.commissioner, pcn=reviews.sibling_practice.pcn))

    assert table(report, "What the reviews found").rows == (
        ("6-month review", 0, 0, 1, 1, 0.0, 0.0),
        ("12-month review", 1, 0, 0, 1, 100.0, 100.0),
    )
    assert table(report, "Follow-ups held, due and overdue").rows[-1] == ("All follow-ups", 2, 0, 0, 1, 0, 3)


def test_the_csv_is_a_long_table_of_every_figure(reviews):
    report = sustainability.build(Scope(commissioner=reviews.commissioner))

    assert report.csv_header == LONG_HEADER
    assert ("Follow-ups held, due and overdue", "12-month follow-up", "Overdue", 1) in report.csv_rows
    assert ("What the reviews found", "6-month review", "% sustained", 33.3) in report.csv_rows
    assert ("Why changes were not fully sustained", "Funding ended", "6-month reviews", 1) in report.csv_rows
    assert ("Outcome by typology", "Health outputs · 6-month review", "Not sustained", 1) in report.csv_rows
    assert (
        "Outcome by whether the project needed ongoing resources",
        "Needs ongoing resources · 6-month review",
        "Reviews",
        2,
    ) in report.csv_rows
    assert len(report.csv_rows) == sum(
        len(t.rows) * (len(t.columns) - (2 if "Outcome" in t.title else 1)) for t in report.tables
    )


def test_an_empty_selection_has_empty_tables_and_empty_charts(db):
    report = sustainability.build(Scope(commissioner=CommissionerFactory()))

    assert all(t.rows == () for t in report.tables)
    assert all(chart.is_empty for chart in report.charts)
    assert report.csv_rows == ()
    assert report.charts[0].alt == "No follow-up reviews in this selection yet."
    assert dict(report.highlights)["Reviews held"] == 0


def test_its_queries_do_not_grow_with_the_follow_ups(programme):
    scope = Scope(commissioner=programme.commissioner)
    follow_up(project(programme.practice), "6m", date(2025, 3, 1), HELD, NO, reasons=["other"])
    with CaptureQueriesContext(connection) as few:
        sustainability.build(scope)

    for i in range(5):
        made = project(programme.sibling_practice, [PD, HO, PCC][i % 3], needs=bool(i % 2))
        follow_up(made, "6m", date(2025, 1, 1) + timedelta(days=i), HELD, PARTLY, reasons=["lack_of_time"])
        follow_up(made, "12m", date(2025, 8, 1) + timedelta(days=i))
    with CaptureQueriesContext(connection) as many:
        report = sustainability.build(scope)

    assert len(many) == len(few) == 3
    assert dict(report.highlights)["Reviews held"] == 6
