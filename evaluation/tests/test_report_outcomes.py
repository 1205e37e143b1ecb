"""The outcomes report: improvement, aims and benefits of completed projects, checked against the rows behind them."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluation.reporting import Scope, build_report
from evaluation.reports import outcomes
from projects.models import SpecificAim, Step, Typology
from projects.models.improvement import ImprovementSignal
from projects.tests.factories import ProjectFactory
from projects.tests.improvement_factories import MeasureFactory

pytestmark = pytest.mark.django_db

IMPROVING, NONE = ImprovementSignal.IMPROVING, ImprovementSignal.NONE


def finished(practice, *, title, typology=Typology.PROCESS_DRIVEN, step=Step.FOLLOW_UP, signals=(), aims=(), **fields):
    """A completed project with measures of the given signals and aims with the given results."""
    values = {
        "practice": practice, "title": title, "typology": typology, "step": step,
        "completed_on": date(2025, 4, 30), "staff_benefits": "Less chasing.", "patient_benefits": "Quicker answers.",
    } | fields  # fmt: skip
    project = ProjectFactory(**values)
    for n, signal in enumerate(signals):
        MeasureFactory(project=project, name=f"Measure {n}", improvement_signal=signal)
    for met in aims:
        SpecificAim.objects.create(
            project=project, measure="Waits", baseline="5", target="2", target_date=date(2025, 4, 1), met=met
        )
    return project


@pytest.fixture
def data(programme):
    west, sibling, east = programme.practice, programme.sibling_practice, programme.other_practice
    return {
        "results": finished(
            west, title="Test results", signals=(IMPROVING, NONE), aims=(True, False),
            staff_benefits="Fewer interruptions for the duty doctor.", completed_on=date(2025, 5, 2),
        ),
        "diabetes": finished(
            sibling, title="Diabetes reviews", typology=Typology.HEALTH_OUTPUTS, step=Step.COMPLETED,
            signals=(NONE,), aims=(None,), patient_benefits="Reviews booked in the birthday month.",
        ),
        "flow": finished(west, title="Morning flow", signals=(IMPROVING, IMPROVING), aims=(True,)),
        # Never counted: still in Treat, withdrawn after completing, another commissioner's.
        "active": ProjectFactory(practice=west, title="Active", step=Step.TREAT),
        "withdrawn": finished(west, title="Withdrawn", step=Step.WITHDRAWN, signals=(IMPROVING,), aims=(True,)),
        "other": finished(east, title="Other commissioner", signals=(IMPROVING,), aims=(True,)),
    }  # fmt: skip


def table(report, title):
    return next(t for t in report.tables if t.title == title)


def test_it_counts_completed_projects_with_improvement_and_their_aims(programme, data):
    MeasureFactory(project=data["active"], improvement_signal=IMPROVING)
    report = outcomes.build(Scope(programme.commissioner))

    assert dict(report.highlights) == {
        "Projects completed": 3,
        "With special-cause improvement": "2 (67%)",
        "Specific aims met": "2 (50%)",
        "Specific aims not met": 1,
        "Aims with no result recorded": 1,
    }
    by_typology = {row[0]: row[1:] for row in table(report, "Outcomes by primary category").rows}
    assert by_typology["Process-driven"] == (2, 2, 100.0, 2, 1, 0)
    assert by_typology["Health outputs"] == (1, 0, 0.0, 0, 0, 1)
    assert by_typology["Patient-centred care"] == (0, 0, 0.0, 0, 0, 0)
    assert by_typology["All categories"] == (3, 2, 66.7, 2, 1, 1)


def test_it_lists_the_projects_showing_improvement(programme, data):
    report = outcomes.build(Scope(programme.commissioner))

    rows = table(report, "Projects showing special-cause improvement").rows
    assert [(r[0], r[5]) for r in rows] == [("Test results", "1 of 2"), ("Morning flow", "2 of 2")]


def test_the_charts_carry_the_figures_and_say_them(programme, data):
    aims, improvement = outcomes.build(Scope(programme.commissioner)).charts

    assert aims.series[0].values == (2.0, 1.0, 1.0)
    assert "of 4 aims, 2 (50%) were met, 1 (25%) not met" in aims.alt
    assert improvement.categories == ("Process-driven", "Health outputs", "Patient-centred care")
    assert [s.values for s in improvement.series] == [(2.0, 0.0, 0.0), (0.0, 1.0, 0.0)]
    assert "Of 3 completed projects, 2 (67%) have a measure showing special-cause improvement" in improvement.alt


def test_a_pcn_and_a_year_narrow_it(programme, data):
    by_pcn = outcomes.build(Scope(programme.commissioner, pcn=programme.practice.pcn))
    assert dict(by_pcn.highlights)["Projects completed"] == 2

    finished(programme.practice, title="Last year", starts_on=date(2024, 1, 8), planned_end_on=date(2024, 4, 8))
    by_year = outcomes.build(Scope(programme.commissioner, year=2024))
    assert {row[0] for row in by_year.csv_rows} == {"Test results", "Diabetes reviews", "Morning flow"}


def test_the_search_finds_benefits_and_titles(programme, data):
    doctor = outcomes.build(Scope(programme.commissioner, q="duty DOCTOR"))
    birthday = outcomes.build(Scope(programme.commissioner, q="birthday"))
    title = outcomes.build(Scope(programme.commissioner, q="flow"))
    nothing = outcomes.build(Scope(programme.commissioner, q="telephone"))

    assert [row[0] for row in doctor.csv_rows] == ["Test results"]
    assert [row[0] for row in table(birthday, "Benefits for staff and for patients").rows] == ["Diabetes reviews"]
    assert [row[0] for row in title.csv_rows] == ["Morning flow"]
    assert nothing.csv_rows == () and table(nothing, "Benefits for staff and for patients").empty.startswith(
        "No completed project's benefits match"
    )
    assert dict(nothing.highlights)["Projects completed"] == 3  # the headline figures are not searched


def test_the_csv_has_a_row_per_completed_project_with_its_figures(programme, data):
    report = outcomes.build(Scope(programme.commissioner))

    assert report.csv_header[0] == "Project" and len(report.csv_header) == len(report.csv_rows[0])
    rows = {row[0]: dict(zip(report.csv_header, row, strict=True)) for row in report.csv_rows}
    assert set(rows) == {"Test results", "Diabetes reviews", "Morning flow"}
    results = rows["Test results"]
    assert results["Practice"] == programme.practice.name and results["ODS code"] == "G82013"
    assert results["PCN"] == programme.practice.pcn.name and results["Primary category"] == "Process-driven"
    assert (results["Measures"], results["Measures showing improvement"]) == (2, 1)
    assert (results["Aims met"], results["Aims not met"], results["Aims not recorded"]) == (1, 1, 0)
    assert results["Benefits for staff"] == "Fewer interruptions for the duty doctor."
    assert results["Completed"] == date(2025, 5, 2) and results["Step"] == "Follow-up"


def test_the_page_table_is_capped_but_the_csv_holds_every_row(programme, monkeypatch):
    monkeypatch.setattr(outcomes, "SHOWN", 2)
    for n in range(3):
        finished(programme.practice, title=f"Project {n}", signals=(IMPROVING,))

    report = outcomes.build(Scope(programme.commissioner))

    assert len(report.csv_rows) == 3
    benefits = table(report, "Benefits for staff and for patients")
    assert len(benefits.rows) == 2 and benefits.note.startswith("Showing 2 of 3 completed projects")
    improving = table(report, "Projects showing special-cause improvement")
    assert len(improving.rows) == 2 and "Showing the 2 most recently completed of 3" in improving.note


def test_an_empty_scope_has_zeros_and_says_so(programme):
    report = build_report("outcomes", Scope(programme.commissioner))

    assert dict(report.highlights)["Projects completed"] == 0
    assert report.csv_rows == () and all(c.is_empty for c in report.charts)
    assert report.charts[0].alt == "No completed project has specific aims yet."


def test_queries_stay_constant_as_projects_grow(programme):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            outcomes.build(Scope(programme.commissioner))
        return len(captured)

    finished(programme.practice, title="First", signals=(IMPROVING,), aims=(True,))
    one = queries()
    for n in range(4):
        finished(programme.practice, title=f"More {n}", signals=(IMPROVING, NONE), aims=(True, None))
    assert queries() == one <= 5
