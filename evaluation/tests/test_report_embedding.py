"""The embedding report: programme means by occasion and the change per practice, against the scores behind them."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluation.models import CHARACTERISTICS, EmbeddingAssessment
from evaluation.reporting import Scope, build_report
from evaluation.reports import embedding
from practices.tests.factories import PracticeFactory
from projects.models import Step
from projects.tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db

NAMES = [name for name, _ in CHARACTERISTICS]


def assess(project, occasion, *first, rest=3, on=date(2025, 6, 1)):
    """An assessment whose first scores are ``first`` and the others ``rest``."""
    scores = list(first) + [rest] * (len(NAMES) - len(first))
    return EmbeddingAssessment.objects.create(
        project=project, occasion=occasion, assessed_on=on, **dict(zip(NAMES, scores, strict=True))
    )


@pytest.fixture
def data(programme):
    results = ProjectFactory(practice=programme.practice, title="Test results", step=Step.COMPLETED)
    flow = ProjectFactory(practice=programme.sibling_practice, title="Morning flow", step=Step.FOLLOW_UP)
    new = ProjectFactory(practice=programme.sibling_practice, title="New project", step=Step.ASSESS)
    other = ProjectFactory(practice=programme.other_practice, title="Elsewhere", step=Step.COMPLETED)
    # Test results: baseline mean 2, 6 months 3, 12 months 4 (leadership 1 → 5).
    assess(results, "baseline", 1, rest=2)
    assess(results, "6m", 3, rest=3)
    assess(results, "12m", 5, rest=4)
    # Morning flow: baseline mean 3, 6 months mean 2.5 (leadership 3 → 2, the rest 3 → 2.5 on average).
    assess(flow, "baseline", rest=3)
    assess(flow, "6m", 2, 2, 2, 2, 2, rest=3)
    # A baseline with no follow-up: in the means, not in the change.
    assess(new, "baseline", 5, rest=5)
    # Never counted: another commissioner's.
    assess(other, "baseline", rest=1)
    assess(other, "12m", rest=5)
    return {"results": results, "flow": flow, "new": new}


def table(report, title):
    return next(t for t in report.tables if t.title == title)


def test_the_programme_means_average_every_assessment_per_occasion(programme, data):
    report = embedding.build(Scope(programme.commissioner))

    rows = {row[0]: row[1:] for row in table(report, "Programme means by occasion").rows}
    # Leadership at baseline: (1 + 3 + 5) / 3; at 6 months (3 + 2) / 2; at 12 months 5.
    assert rows["Leadership"][:3] == (3.0, 2.5, 5.0)
    assert rows["Organisational support"][:3] == (3.33, 2.5, 4.0)
    assert rows["Mean of the ten"][:3] == (round((1.9 + 3 + 5) / 3, 2), round((3 + 2.5) / 2, 2), 4.1)
    assert rows["Assessments"][:3] == (3, 2, 1) and rows["Practices"] == (2, 2, 1, "")


def test_the_change_compares_each_project_baseline_with_its_latest_follow_up(programme, data):
    report = embedding.build(Scope(programme.commissioner))

    rows = {row[0]: row[1:] for row in table(report, "Programme means by occasion").rows}
    # Leadership: results 1 → 5 (its 12 months), flow 3 → 2: means 2 → 3.5.
    assert rows["Leadership"][3] == "+1.50"
    # Mean of the ten: results 1.9 → 4.1, flow 3.0 → 2.5: means 2.45 → 3.3.
    assert rows["Mean of the ten"][3] == "+0.85" and rows["Assessments"][3] == "2 projects"
    assert dict(report.highlights)["Mean change (of 5)"] == "+0.85"


def test_each_practice_shows_its_change_largest_rise_first(programme, data):
    report = embedding.build(Scope(programme.commissioner))

    rows = table(report, "Change per practice").rows
    assert rows == (
        (programme.practice.name, programme.practice.pcn.name, 1, 1.9, "12 months", 4.1, "+2.20"),
        (programme.sibling_practice.name, programme.sibling_practice.pcn.name, 1, 3.0, "6 months", 2.5, "-0.50"),
    )
    chart = report.charts[1]
    assert chart.kind == "barh" and chart.series[0].values == (2.2, -0.5)
    assert "Of 2 practices compared, 1 rose, 1 fell and 0 stayed the same" in chart.alt


def test_the_occasion_chart_groups_the_ten_by_occasion(programme, data):
    chart = embedding.build(Scope(programme.commissioner)).charts[0]

    assert chart.kind == "grouped" and len(chart.categories) == 10
    assert [s.name for s in chart.series] == ["Baseline", "6 months", "12 months"]
    assert chart.series[0].values[0] == 3.0
    assert "baseline (3 assessments): mean" in chart.alt.lower()


def test_many_practices_chart_the_top_and_bottom_ten_and_say_so(programme):
    for n in range(25):
        project = ProjectFactory(practice=PracticeFactory(commissioner=programme.commissioner))
        assess(project, "baseline", rest=1)
        assess(project, "6m", rest=1 + n % 5)

    report = embedding.build(Scope(programme.commissioner))

    chart = report.charts[1]
    assert len(chart.categories) == 20
    assert chart.alt.startswith("The chart shows the 10 practices with the largest rise and the 10 with the smallest")
    assert len(table(report, "Change per practice").rows) == 25


def test_a_pcn_narrows_it(programme, data):
    report = embedding.build(Scope(programme.commissioner, pcn=programme.practice.pcn))

    assert dict(report.highlights)["Self-assessments"] == 3
    assert [row[0] for row in table(report, "Change per practice").rows] == [programme.practice.name]


def test_a_year_counts_the_projects_started_in_it(programme, data):
    old = ProjectFactory(practice=programme.practice, starts_on=date(2023, 5, 1), planned_end_on=date(2023, 8, 1))
    assess(old, "baseline", rest=2, on=date(2023, 5, 2))

    assert dict(embedding.build(Scope(programme.commissioner, year=2023)).highlights)["Self-assessments"] == 1
    assert dict(embedding.build(Scope(programme.commissioner, year=2024)).highlights)["Self-assessments"] == 6


def test_the_csv_has_a_row_per_assessment_with_the_ten_scores(programme, data):
    report = embedding.build(Scope(programme.commissioner))

    assert len(report.csv_rows) == 6 and len(report.csv_header) == len(report.csv_rows[0]) == 17
    first = dict(zip(report.csv_header, report.csv_rows[0], strict=True))
    assert first["Practice"] == programme.practice.name and first["Project"] == "Test results"
    assert first["Occasion"] == "Baseline (project start)" and first["Date assessed"] == date(2025, 6, 1)
    assert first["Leadership"] == 1 and first["Information and information technology"] == 2
    assert first["Mean of the ten"] == 1.9
    assert programme.other_practice.name not in {row[0] for row in report.csv_rows}


def test_an_empty_scope_says_there_is_nothing_yet(programme):
    report = build_report("embedding", Scope(programme.commissioner))

    assert report.csv_rows == () and all(chart.is_empty for chart in report.charts)
    assert report.charts[0].alt == "No self-assessments yet."
    assert dict(report.highlights)["Mean change (of 5)"] == "—"
    assert table(report, "Change per practice").rows == ()


def test_queries_stay_constant_as_assessments_grow(programme):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            embedding.build(Scope(programme.commissioner))
        return len(captured)

    project = ProjectFactory(practice=programme.practice)
    assess(project, "baseline")
    assess(project, "6m")
    one = queries()
    for _ in range(4):
        more = ProjectFactory(practice=PracticeFactory(commissioner=programme.commissioner))
        assess(more, "baseline")
        assess(more, "12m", rest=4)
    assert queries() == one <= 5
