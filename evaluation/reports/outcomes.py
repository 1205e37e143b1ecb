"""The outcomes report: what the completed projects achieved.

A project counts once it has completed (it is in Follow-up or Completed; a project withdrawn
after completing does not). It "shows improvement" when at least one of its measures has
special-cause variation in its direction of improvement at its latest point, read from the
measure's stored ``improvement_signal`` so the database counts it without analysing any series.
Specific aims are met, not met or not recorded (``SpecificAim.met``). The benefits the teams
recorded for staff and for patients are listed, searchable by ``scope.q`` (in the benefits and the
title); the page shows the first ``SHOWN`` of them, the CSV every completed project that matches.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce

from coaching.coaches import count_subquery
from evaluation.reporting import ChartSeries, ChartSpec, Column, Report, Scope, Table, Value, labelled, percent
from projects.models import Measure, Project, SpecificAim, Step, Typology
from projects.models.improvement import ImprovementSignal

from ._common import listing, plural, share

SLUG = "outcomes"
SHOWN = 50  # as many as the report page shows of any table (report_views.PAGE_ROWS)
FINISHED = (Step.FOLLOW_UP, Step.COMPLETED)
AIMS = (("met", "Met"), ("not_met", "Not met"), ("unrecorded", "Not recorded"))

CSV_HEADER = (
    "Project", "Practice", "ODS code", "PCN", "Primary category", "Started", "Completed", "Step",
    "Measures", "Measures showing improvement", "Aims met", "Aims not met", "Aims not recorded",
    "Benefits for staff", "Benefits for patients",
)  # fmt: skip


def build(scope: Scope) -> Report:
    finished = scope.projects().filter(step__in=FINISHED)
    by_typology = _by_typology(finished)
    aims = _aims(finished)
    improving = _improving_rows(finished)
    rows = _project_rows(finished, scope.q)
    total = _totals(by_typology, aims)
    return Report(
        slug=SLUG,
        title="Outcomes",
        intro=(
            "What the completed projects achieved: which have a measure showing special-cause variation in its "
            "direction of improvement, whether their specific aims were met, and the benefits their teams recorded "
            "for staff and for patients. Projects count once they have completed."
            + (f" The benefits are those matching “{scope.q}”." if scope.q else "")
        ),
        scope=scope,
        charts=(_aims_chart(total), _improvement_chart(by_typology, total)),
        tables=(
            _typology_table(by_typology, aims, total),
            _improving_table(improving, total["improving"]),
            _benefits_table(rows, scope.q),
        ),
        csv_header=CSV_HEADER,
        csv_rows=tuple(rows),
        highlights=(
            ("Projects completed", total["projects"]),
            ("With special-cause improvement", share(total["improving"], total["projects"])),
            ("Specific aims met", share(total["met"], total["aims"])),
            ("Specific aims not met", total["not_met"]),
            ("Aims with no result recorded", total["unrecorded"]),
        ),
    )


def _count(rows: QuerySet[Any]) -> Coalesce:
    """A correlated ``COUNT(*)`` of ``rows`` in the outer query: ``coaching.coaches.count_subquery`` for any model."""
    return count_subquery(rows)  # type: ignore[arg-type]  # typed for projects, works for any queryset


# --- queries --------------------------------------------------------------------------------------


def _improving_measure() -> Exists:
    return Exists(Measure.objects.filter(project=OuterRef("pk"), improvement_signal=ImprovementSignal.IMPROVING))


def _by_typology(finished: QuerySet[Project]) -> dict[str, dict[str, int]]:
    """Completed projects and those showing improvement, per primary category: one query."""
    rows = (
        finished.order_by()
        .values("typology")
        .annotate(projects=Count("pk"), improving=Count("pk", filter=Q(_improving_measure())))
    )
    found = {row["typology"]: {"projects": row["projects"], "improving": row["improving"]} for row in rows}
    return {t: found.get(t, {"projects": 0, "improving": 0}) for t in Typology.values}


def _aims(finished: QuerySet[Project]) -> dict[str, dict[str, int]]:
    """Specific aims of the completed projects, met, not met or not recorded, per primary category: one query."""
    rows = (
        SpecificAim.objects.filter(project__in=finished)
        .order_by()
        .values("project__typology")
        .annotate(  # named apart from the field: a filter on ``met`` would otherwise read the annotation
            aims_met=Count("pk", filter=Q(met=True)),
            aims_not_met=Count("pk", filter=Q(met=False)),
            aims_unrecorded=Count("pk", filter=Q(met__isnull=True)),
        )
    )
    found = {row["project__typology"]: {key: row[f"aims_{key}"] for key, _ in AIMS} for row in rows}
    return {t: found.get(t, dict.fromkeys((k for k, _ in AIMS), 0)) for t in Typology.values}


def _improving_rows(finished: QuerySet[Project]) -> list[tuple[Value, ...]]:
    """The latest ``SHOWN`` completed projects with a measure showing improvement, with how many do."""
    measures = Measure.objects.filter(project=OuterRef("pk"))
    improving = measures.filter(improvement_signal=ImprovementSignal.IMPROVING)
    rows = (
        finished.filter(_improving_measure())
        .annotate(n_improving=_count(improving), n_measures=_count(measures))
        .order_by("-completed_on", "title", "pk")
        .values_list(
            "title", "practice__name", "practice__pcn__name", "typology", "completed_on", "n_improving", "n_measures"
        )
    )[:SHOWN]
    return [
        (title, practice, pcn or "", labelled(Typology.choices, typology), completed, f"{improving} of {measures}")
        for title, practice, pcn, typology, completed, improving, measures in rows
    ]


def _project_rows(finished: QuerySet[Project], q: str) -> list[tuple[Value, ...]]:
    """Every completed project matching the search, as a CSV row: one query, counts as subqueries."""
    if q:
        finished = finished.filter(
            Q(title__icontains=q) | Q(staff_benefits__icontains=q) | Q(patient_benefits__icontains=q)
        )
    measures = Measure.objects.filter(project=OuterRef("pk"))
    aims = SpecificAim.objects.filter(project=OuterRef("pk"))
    rows = (
        finished.annotate(
            n_measures=_count(measures),
            n_improving=_count(measures.filter(improvement_signal=ImprovementSignal.IMPROVING)),
            n_met=_count(aims.filter(met=True)),
            n_not_met=_count(aims.filter(met=False)),
            n_unrecorded=_count(aims.filter(met__isnull=True)),
        )
        .order_by("-completed_on", "title", "pk")
        .values_list(
            "title",
            "practice__name",
            "practice__ods_code",
            "practice__pcn__name",
            "typology",
            "starts_on",
            "completed_on",
            "step",
            "n_measures",
            "n_improving",
            "n_met",
            "n_not_met",
            "n_unrecorded",
            "staff_benefits",
            "patient_benefits",
        )  # fmt: skip
    )
    return [_csv_row(row) for row in rows]


def _csv_row(row: tuple[Any, ...]) -> tuple[Value, ...]:
    title, practice, ods, pcn, typology, started, completed, step, *counts, staff, patients = row
    return (
        title, practice, ods, pcn or "", labelled(Typology.choices, typology), started, completed,
        labelled(Step.choices, step), *counts, staff, patients,
    )  # fmt: skip


def _totals(by_typology: dict[str, dict[str, int]], aims: dict[str, dict[str, int]]) -> dict[str, int]:
    total = {
        "projects": sum(row["projects"] for row in by_typology.values()),
        "improving": sum(row["improving"] for row in by_typology.values()),
        **{key: sum(row[key] for row in aims.values()) for key, _ in AIMS},
    }
    total["aims"] = total["met"] + total["not_met"] + total["unrecorded"]
    return total


# --- tables ---------------------------------------------------------------------------------------


def _typology_table(
    by_typology: dict[str, dict[str, int]], aims: dict[str, dict[str, int]], total: dict[str, int]
) -> Table:
    def row(label: str, projects: int, improving: int, met: int, not_met: int, unrecorded: int) -> tuple[Value, ...]:
        return (label, projects, improving, percent(improving, projects), met, not_met, unrecorded)

    rows = [
        row(label, by_typology[t]["projects"], by_typology[t]["improving"], *(aims[t][key] for key, _ in AIMS))
        for t, label in Typology.choices
    ]
    rows.append(row("All categories", total["projects"], total["improving"], *(total[key] for key, _ in AIMS)))
    return Table(
        title="Outcomes by primary category",
        columns=(
            Column("Primary category"),
            Column("Projects completed", numeric=True),
            Column("With special-cause improvement", numeric=True),
            Column("% with improvement", numeric=True),
            Column("Aims met", numeric=True),
            Column("Aims not met", numeric=True),
            Column("Aims not recorded", numeric=True),
        ),
        rows=tuple(rows),
        note="Improvement: at least one measure whose latest point shows special-cause variation in its "
        "direction of improvement on its XmR chart.",
    )


def _improving_table(rows: list[tuple[Value, ...]], total: int) -> Table:
    note = "The most recently completed first."
    if total > len(rows):
        note = f"Showing the {len(rows)} most recently completed of {total}. The CSV has every completed project."
    return Table(
        title="Projects showing special-cause improvement",
        columns=(
            Column("Project"),
            Column("Practice"),
            Column("PCN"),
            Column("Primary category"),
            Column("Completed"),
            Column("Measures improving"),
        ),
        rows=tuple(rows),
        note=note,
        empty="No completed project has a measure showing special-cause improvement yet.",
    )


def _benefits_table(rows: list[tuple[Value, ...]], q: str) -> Table:
    shown = [(row[0], row[1], row[6], row[13], row[14]) for row in rows[:SHOWN]]
    matching = f" matching “{q}”" if q else ""
    note = f"{plural(len(rows), 'completed project')}{matching}, the most recently completed first."
    if len(rows) > SHOWN:
        note = f"Showing {SHOWN} of {len(rows)} completed projects{matching}. The CSV has them all."
    return Table(
        title="Benefits for staff and for patients",
        columns=(
            Column("Project"),
            Column("Practice"),
            Column("Completed"),
            Column("Benefits for staff"),
            Column("Benefits for patients"),
        ),
        rows=tuple(shown),
        note=note,
        empty=f"No completed project's benefits match “{q}”." if q else "No project has completed yet.",
    )


# --- charts ---------------------------------------------------------------------------------------


def _aims_chart(total: dict[str, int]) -> ChartSpec:
    counts = [total[key] for key, _ in AIMS]
    if total["aims"]:
        alt = (
            f"Specific aims of the completed projects: of {plural(total['aims'], 'aim')}, "
            f"{share(total['met'], total['aims'])} were met, {share(total['not_met'], total['aims'])} not met and "
            f"{share(total['unrecorded'], total['aims'])} have no result recorded."
        )
    else:
        alt = "No completed project has specific aims yet."
    return ChartSpec(
        slug="outcomes-aims",
        title="Specific aims met",
        kind="bar",
        categories=tuple(label for _, label in AIMS),
        series=(ChartSeries("Specific aims", tuple(float(n) for n in counts)),),
        alt=alt,
        y_label="Specific aims",
    )


def _improvement_chart(by_typology: dict[str, dict[str, int]], total: dict[str, int]) -> ChartSpec:
    labels = [label for _, label in Typology.choices]
    improving = [by_typology[t]["improving"] for t in Typology.values]
    without = [by_typology[t]["projects"] - by_typology[t]["improving"] for t in Typology.values]
    if total["projects"]:
        parts = [
            f"{label.lower()} {by_typology[t]['improving']} of {by_typology[t]['projects']}"
            for t, label in Typology.choices
            if by_typology[t]["projects"]
        ]
        alt = (
            f"Of {plural(total['projects'], 'completed project')}, {share(total['improving'], total['projects'])} "
            f"have a measure showing special-cause improvement: {listing(parts)}."
        )
    else:
        alt = "No project has completed yet, so there is no improvement to show."
    return ChartSpec(
        slug="outcomes-improvement",
        title="Completed projects showing special-cause improvement, by primary category",
        kind="stacked",
        categories=tuple(labels),
        series=(
            ChartSeries("Special-cause improvement", tuple(float(n) for n in improving)),
            ChartSeries("No improvement signal", tuple(float(n) for n in without)),
        ),
        alt=alt,
        y_label="Completed projects",
    )
