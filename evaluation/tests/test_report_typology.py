"""The typology report: every figure against the projects that made it, and those that must not count."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluation.reporting import Scope, build_report
from evaluation.reports import typology
from evaluation.reports._common import NO_PCN
from practices.tests.factories import CommissionerFactory, PracticeFactory
from projects.models import ProcessSubtheme, Typology
from projects.tests.factories import ProjectFactory

PD, HO, PCC = Typology.PROCESS_DRIVEN, Typology.HEALTH_OUTPUTS, Typology.PATIENT_CENTRED
ADMIN, FLOW, COMMS = ProcessSubtheme.ADMINISTRATIVE, ProcessSubtheme.PATIENT_FLOW, ProcessSubtheme.COMMUNICATION
FY2024, FY2023 = date(2025, 1, 6), date(2023, 6, 1)


def project(practice, typology=PD, subtheme="", overlap="", starts_on=FY2024):
    return ProjectFactory(
        practice=practice,
        typology=typology,
        process_subtheme=subtheme,
        secondary_typology=overlap,
        starts_on=starts_on,
        planned_end_on=starts_on + timedelta(weeks=13),
    )


@pytest.fixture
def projects(programme):
    """Six of West's projects in two PCNs and two years; three of East's that never count."""
    home, sibling = programme.practice, programme.sibling_practice
    project(home, PD, ADMIN)
    project(home, PD, ADMIN, overlap=PCC)
    project(home, PD, FLOW)
    project(home, HO, overlap=PD)
    project(sibling, PCC)
    project(sibling, PD, COMMS, starts_on=FY2023)
    for _ in range(3):
        project(programme.other_practice, PD, ADMIN)
    return programme


def table(report, title):
    return next(t for t in report.tables if t.title == title)


def test_it_counts_projects_by_category_and_sub_theme(projects):
    report = typology.build(Scope(commissioner=projects.commissioner))

    assert table(report, "Projects by category and sub-theme").rows == (
        ("Process-driven", "Administrative systems", 2, 50.0, 33.3),
        ("Process-driven", "Patient flow", 1, 25.0, 16.7),
        ("Process-driven", "Communication", 1, 25.0, 16.7),
        ("Health outputs", "—", 1, 100.0, 16.7),
        ("Patient-centred care", "—", 1, 100.0, 16.7),
        ("All categories", "", 6, 100.0, 100.0),
    )
    assert dict(report.highlights)["Projects"] == 6
    assert dict(report.highlights)["Process-driven"] == "4 (67%)"
    assert dict(report.highlights)["Overlapping a second category"] == "2 (33%)"


def test_it_counts_overlaps_of_primary_and_secondary_category(projects):
    report = typology.build(Scope(commissioner=projects.commissioner))

    overlaps = table(report, "Overlaps: primary and overlapping category")
    assert [c.label for c in overlaps.columns] == [
        "Primary category", "No overlap", "Also process-driven", "Also health outputs",
        "Also patient-centred care", "Projects", "% overlapping",
    ]  # fmt: skip
    assert overlaps.rows == (
        ("Process-driven", 3, 0, 0, 1, 4, 25.0),
        ("Health outputs", 0, 1, 0, 0, 1, 100.0),
        ("Patient-centred care", 1, 0, 0, 0, 1, 0.0),
    )


def test_it_counts_by_pcn_and_by_financial_year_with_the_gaps_between_years(projects):
    home_pcn, sibling_pcn = projects.practice.pcn.name, projects.sibling_practice.pcn.name
    project(PracticeFactory(commissioner=projects.commissioner, pcn=None), HO, starts_on=date(2021, 5, 1))

    report = typology.build(Scope(commissioner=projects.commissioner))

    assert table(report, "Projects by PCN").rows == tuple(
        sorted([(home_pcn, 3, 1, 0, 4), (sibling_pcn, 1, 0, 1, 2)], key=lambda r: r[0].lower())
    ) + ((NO_PCN, 0, 1, 0, 1),)
    assert table(report, "Projects by financial year of start").rows == (
        ("2021/22", 0, 1, 0, 1),
        ("2022/23", 0, 0, 0, 0),
        ("2023/24", 1, 0, 0, 1),
        ("2024/25", 3, 1, 1, 5),
    )


def test_the_figure_chart_stacks_each_sub_theme_by_overlap_with_alt_text_from_the_figures(projects):
    chart = typology.build(Scope(commissioner=projects.commissioner)).charts[0]

    assert chart.slug == "typology" and chart.kind == "stacked"
    assert chart.categories == (
        "Process-driven: administrative systems",
        "Process-driven: patient flow",
        "Process-driven: communication",
        "Health outputs",
        "Patient-centred care",
    )
    assert [(s.name, s.values) for s in chart.series] == [
        ("No overlap", (1.0, 1.0, 1.0, 0.0, 1.0)),
        ("Also process-driven", (0.0, 0.0, 0.0, 1.0, 0.0)),
        ("Also patient-centred care", (1.0, 0.0, 0.0, 0.0, 0.0)),
    ]
    assert chart.alt == (
        "Of 6 projects, 4 (67%) were process-driven, most about administrative systems (2); "
        "1 (17%) were health outputs; 1 (17%) were patient-centred care. "
        "2 (33%) overlapped a second category, most often with process-driven (1)."
    )


def test_the_year_chart_stacks_categories_per_financial_year(projects):
    chart = typology.build(Scope(commissioner=projects.commissioner)).charts[1]

    assert chart.categories == ("2023/24", "2024/25")
    assert [(s.name, s.values) for s in chart.series] == [
        ("Process-driven", (1.0, 3.0)),
        ("Health outputs", (0.0, 1.0)),
        ("Patient-centred care", (0.0, 1.0)),
    ]
    assert chart.alt == (
        "Projects started per financial year, by primary category: 1 in 2023/24 and 5 in 2024/25. "
        "Process-driven was the largest category in 2 of 2 years."
    )


def test_a_pcn_counts_only_its_practices_projects(projects):
    report = typology.build(Scope(commissioner=projects.commissioner, pcn=projects.sibling_practice.pcn))

    assert table(report, "Projects by category and sub-theme").rows[-1] == ("All categories", "", 2, 100.0, 100.0)
    assert table(report, "Projects by PCN").rows == ((projects.sibling_practice.pcn.name, 1, 0, 1, 2),)


def test_a_year_counts_only_projects_started_in_it(projects):
    report = typology.build(Scope(commissioner=projects.commissioner, year=2023))

    assert table(report, "Projects by financial year of start").rows == (("2023/24", 1, 0, 0, 1),)
    assert report.csv_rows == (
        ("2023/24", projects.sibling_practice.pcn.name, "Process-driven", "Communication", "None", 1),
    )
    assert report.charts[0].alt.startswith("Of 1 project, 1 (100%) were process-driven, most about communication (1)")


def test_the_csv_has_one_row_per_year_pcn_category_sub_theme_and_overlap(projects):
    home, sibling = projects.practice.pcn.name, projects.sibling_practice.pcn.name
    project(projects.practice, PD, ADMIN)  # a second of the same kind: one row with 2

    report = build_report("typology", Scope(commissioner=projects.commissioner))

    assert report.csv_header == (
        "Financial year", "PCN", "Primary category", "Sub-theme", "Overlapping category", "Projects",
    )  # fmt: skip
    pcn_rows = {
        home: [
            ("2024/25", home, "Process-driven", "Administrative systems", "None", 2),
            ("2024/25", home, "Process-driven", "Administrative systems", "Patient-centred care", 1),
            ("2024/25", home, "Process-driven", "Patient flow", "None", 1),
            ("2024/25", home, "Health outputs", "", "Process-driven", 1),
        ],
        sibling: [("2024/25", sibling, "Patient-centred care", "", "None", 1)],
    }
    assert report.csv_rows == (
        ("2023/24", sibling, "Process-driven", "Communication", "None", 1),
        *pcn_rows[min(home, sibling, key=str.lower)],
        *pcn_rows[max(home, sibling, key=str.lower)],
    )
    assert sum(row[-1] for row in report.csv_rows) == 7


def test_an_empty_selection_has_empty_tables_and_empty_charts(db):
    report = typology.build(Scope(commissioner=CommissionerFactory()))

    assert all(t.rows == () for t in report.tables)
    assert all(chart.is_empty for chart in report.charts)
    assert report.csv_rows == ()
    assert report.charts[0].alt == "No projects in this selection, so there is no typology to show."
    assert dict(report.highlights)["Projects"] == 0
    assert dict(report.highlights)["Process-driven"] == "0 (0%)"


def test_a_chosen_year_without_projects_is_empty_too(projects):
    report = typology.build(Scope(commissioner=projects.commissioner, year=2019))

    assert all(t.rows == () for t in report.tables)
    assert all(chart.is_empty for chart in report.charts)


def test_the_data_key_changes_with_the_data(projects):
    scope = Scope(commissioner=projects.commissioner)
    before = typology.build(scope).data_key()

    assert typology.build(scope).data_key() == before
    project(projects.practice, PCC)
    assert typology.build(scope).data_key() != before


def test_its_queries_do_not_grow_with_the_projects(programme):
    scope = Scope(commissioner=programme.commissioner)
    project(programme.practice, PD, ADMIN)
    with CaptureQueriesContext(connection) as few:
        typology.build(scope)

    for i, kind in enumerate([HO, PCC, PD, PD, HO]):
        practice = PracticeFactory(commissioner=programme.commissioner)
        project(
            practice, kind, FLOW if kind == PD else "", overlap=PCC if i % 2 else "", starts_on=date(2020 + i, 7, 1)
        )
    with CaptureQueriesContext(connection) as many:
        report = typology.build(scope)

    assert len(many) == len(few) == 4
    assert table(report, "Projects by category and sub-theme").rows[-1][2] == 6
