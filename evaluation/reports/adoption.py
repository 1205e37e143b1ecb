"""The adoption report: which practices took the programme up, which turned it down or left, and why.

Practices are counted as they stand now (their engagement and cohort); the financial-year filter
applies to projects, which count when they started in it. A practice's reason for declining or
withdrawing is that of its latest change to its present engagement. A project is its practice's
first by the rule of ``projects.selectors.first_project_ids`` (the one paid as the first, else
the earliest started, then the lowest id), worked out by the database in one pass of a window
function over all the practices' projects, whatever year they started in. Every figure is one
aggregate query; only the median needs the durations themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from statistics import median
from typing import Any

from django.db import models
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
    Window,
)
from django.db.models.functions import RowNumber

from evaluation.reporting import ChartSeries, ChartSpec, Column, Report, Scope, Table, Value, labelled, percent
from practices.models import Cohort, Engagement, EngagementChange, EngagementReason
from projects.models import FundingRoute, Payment, Step, StepChange

from ._common import LONG_HEADER, grouped_counts, largest, listing, long_rows, plural, share

SLUG = "adoption"
STAGES: tuple[str, ...] = tuple(Engagement.values)  # the funnel's order: not approached → withdrew
COHORTS: tuple[str, ...] = (Cohort.EARLY_ADOPTER, Cohort.LATE_MAJORITY, Cohort.NONE)
LEFT = (Engagement.DECLINED, Engagement.WITHDREW)
NOT_RECORDED = "Not recorded"
LATEST_WITHDRAWALS = 20  # the withdrawn projects listed with their reasons, newest first

Counts = dict[tuple[Any, ...], int]


def build(scope: Scope) -> Report:
    practices = scope.practices()
    projects = scope.projects()
    stages = grouped_counts(practices, "cohort", "engagement")
    reasons = grouped_counts(practices.filter(engagement__in=LEFT), "engagement", reason=_latest_reason())
    withdrawn: QuerySet[Any] = projects.filter(step=Step.WITHDRAWN).annotate(at_step=_withdrawn_at())
    journeys = _journeys(scope)
    timing = _timing(scope)
    tables = (
        _stage_table(stages),
        _reason_table(reasons),
        _withdrawal_table(withdrawn),
        _journey_table(journeys),
        _timing_table(timing),
        _latest_withdrawals(withdrawn),
    )
    return Report(
        slug=SLUG,
        title="Adoption",
        intro=(
            "Which practices took up the programme, by cohort (the evaluation's early adopters and late majority), "
            "which declined or withdrew and why, how first projects compare with later ones, and how long "
            "projects took from the coaching agreement to completion. Practices are counted as they are now; "
            "projects when they started in this selection."
        ),
        scope=scope,
        charts=(_stage_chart(stages), _reason_chart(reasons)),
        tables=tables,
        csv_header=LONG_HEADER,
        csv_rows=tuple(row for table in tables[:-1] for row in long_rows(table))
        + tuple(long_rows(tables[-1], labels=2)),
        highlights=_highlights(stages, reasons, journeys, timing),
    )


# --- queries --------------------------------------------------------------------------------------


def _latest_reason() -> Subquery:
    """The reason given at a practice's latest change to the engagement it has now."""
    return Subquery(
        EngagementChange.objects.filter(practice=OuterRef("pk"), to_engagement=OuterRef("engagement"))
        .order_by("-changed_at", "-pk")
        .values("reason")[:1]
    )


def _withdrawn_at() -> Subquery:
    """The step a project was in when it was withdrawn: its latest move to Withdrawn."""
    return Subquery(
        StepChange.objects.filter(project=OuterRef("pk"), to_step=Step.WITHDRAWN)
        .order_by("-changed_at", "-pk")
        .values("from_step")[:1]
    )


def first_projects(scope: Scope) -> QuerySet[Any]:
    """The ids of the first projects of the scope's practices (``first_project_ids``' rule), as a subquery.

    One pass of a window function over all the practices' projects, whatever year they started in:
    each practice's projects are ranked, the one paid as its first ahead, then the earliest, then the
    lowest id, and the first of each is kept.
    """
    paid_as_first = Exists(Payment.objects.filter(project=OuterRef("pk"), route=FundingRoute.FIRST_PROJECT))
    rank = Window(
        RowNumber(),
        partition_by=[F("practice_id")],
        order_by=[paid_as_first.desc(), F("starts_on").asc(), F("pk").asc()],
    )
    every_year = replace(scope, year=None).projects()
    return every_year.order_by().annotate(rank=rank).filter(rank=1).values("pk")


@dataclass(frozen=True)
class Journey:
    """How many projects, completed, withdrawn before completing and still under way."""

    projects: int = 0
    completed: int = 0
    withdrawn: int = 0

    @property
    def under_way(self) -> int:
        return self.projects - self.completed - self.withdrawn


def _with_first_flag(projects: QuerySet[Any], scope: Scope) -> QuerySet[Any]:
    first = When(pk__in=first_projects(scope), then=models.Value(True))
    return projects.annotate(is_first=Case(first, default=models.Value(False), output_field=BooleanField()))


def _journeys(scope: Scope) -> dict[str, Journey]:
    """First, subsequent and all projects, each as a ``Journey``: one query grouped by first or not."""
    rows = (
        _with_first_flag(scope.projects(), scope)
        .order_by()
        .values("is_first")
        .annotate(
            n=Count("pk"),
            completed=Count("pk", filter=Q(completed_on__isnull=False)),
            withdrawn=Count("pk", filter=Q(step=Step.WITHDRAWN, completed_on__isnull=True)),
        )
    )
    journeys = {"first": Journey(), "subsequent": Journey()}
    for row in rows:
        journeys["first" if row["is_first"] else "subsequent"] = Journey(row["n"], row["completed"], row["withdrawn"])
    first, subsequent = journeys["first"], journeys["subsequent"]
    journeys["all"] = Journey(
        first.projects + subsequent.projects,
        first.completed + subsequent.completed,
        first.withdrawn + subsequent.withdrawn,
    )
    return journeys


@dataclass(frozen=True)
class Timing:
    """Days from the coaching agreement to completion: how many projects, and their mean, median and range."""

    projects: int = 0
    mean: float | None = None
    median: float | None = None
    shortest: int | None = None
    longest: int | None = None


def _days(value: timedelta | float | None) -> float | None:
    """A duration from the database in days (SQLite may hand back microseconds for an average)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds() / 86400
    return float(value) / 86_400_000_000


def _timing(scope: Scope) -> dict[str, Timing]:
    """Agreement-to-completion times for first, subsequent and all completed projects: two queries.

    Count, mean and range are aggregates grouped by first or not (those of all projects follow from
    the two); the median needs the durations, which come back as one list from one ``values_list``
    (one number per completed project in the selection).
    """
    done = _with_first_flag(
        scope.projects()
        .filter(completed_on__isnull=False, agreement__isnull=False)
        .annotate(took=ExpressionWrapper(F("completed_on") - F("agreement__signed_on"), output_field=DurationField())),
        scope,
    ).order_by()
    groups = done.values("is_first").annotate(
        n=Count("pk"), mean=Avg("took"), shortest=Min("took"), longest=Max("took")
    )
    figures: dict[str, dict[str, Any]] = {"first": {"n": 0}, "subsequent": {"n": 0}}
    for row in groups:
        figures["first" if row["is_first"] else "subsequent"] = {
            "n": row["n"],
            "mean": _days(row["mean"]),
            "shortest": _days(row["shortest"]),
            "longest": _days(row["longest"]),
        }
    durations: dict[str, list[float]] = {"first": [], "subsequent": [], "all": []}
    for took, is_first in done.values_list("took", "is_first"):
        days = _days(took)
        if days is not None:
            durations["all"].append(days)
            durations["first" if is_first else "subsequent"].append(days)
    timed = [f for f in figures.values() if f["n"]]
    figures["all"] = {
        "n": sum(f["n"] for f in timed),
        "mean": sum(f["mean"] * f["n"] for f in timed) / sum(f["n"] for f in timed) if timed else None,
        "shortest": min((f["shortest"] for f in timed), default=None),
        "longest": max((f["longest"] for f in timed), default=None),
    }
    return {name: _timing_of(figures[name], durations[name]) for name in ("first", "subsequent", "all")}


def _timing_of(figures: dict[str, Any], durations: list[float]) -> Timing:
    if not figures["n"]:
        return Timing()
    return Timing(
        projects=figures["n"],
        mean=round(figures["mean"], 1),
        median=round(median(durations), 1) if durations else None,
        shortest=round(figures["shortest"]),
        longest=round(figures["longest"]),
    )


# --- charts ---------------------------------------------------------------------------------------


def _stage_chart(stages: Counts) -> ChartSpec:
    return ChartSpec(
        slug="adoption-engagement",
        title="Practices by engagement and cohort",
        kind="stacked",
        categories=tuple(labelled(Engagement.choices, s) for s in STAGES),
        series=tuple(
            ChartSeries(labelled(Cohort.choices, c), tuple(float(stages.get((c, s), 0)) for s in STAGES))
            for c in COHORTS
        ),
        alt=_stage_alt(stages),
        y_label="Practices",
    )


def _stage_alt(stages: Counts) -> str:
    practices = sum(stages.values())
    if not practices:
        return "No practices in this selection."
    at = {s: sum(n for (_, stage), n in stages.items() if stage == s) for s in STAGES}
    parts = listing([f"{share(at[s], practices)} {labelled(Engagement.choices, s).lower()}" for s in STAGES])
    sentence = f"Of {plural(practices, 'practice')}, {parts}."
    cohorts = []
    for cohort in COHORTS[:2]:
        members = sum(n for (c, _), n in stages.items() if c == cohort)
        if members:
            engaged = stages.get((cohort, Engagement.ENGAGED), 0)
            cohorts.append(
                f"{labelled(Cohort.choices, cohort).lower()}: {plural(members, 'practice')}, {engaged} engaged"
            )
    if cohorts:
        joined = "; ".join(cohorts)
        sentence += f" {joined[0].upper()}{joined[1:]}."
    return sentence


def _reason_labels(reasons: Counts) -> list[tuple[str | None, str]]:
    """Each reason the chart and table show: every recorded kind, then "not recorded" when there is any."""
    shown: list[tuple[str | None, str]] = [(r.value, str(r.label)) for r in EngagementReason]
    unknown = sorted({r for _, r in reasons if r and r not in EngagementReason.values})
    shown += [(r, r) for r in unknown]
    if any(not r for _, r in reasons):
        shown.append((None, NOT_RECORDED))
    return shown


def _with_reason(reasons: Counts, engagement: str, reason: str | None) -> int:
    return sum(n for (e, r), n in reasons.items() if e == engagement and (r or None) == reason)


def _reason_chart(reasons: Counts) -> ChartSpec:
    shown = _reason_labels(reasons)
    return ChartSpec(
        slug="adoption-reasons",
        title="Why practices declined or withdrew",
        kind="stacked",
        categories=tuple(label for _, label in shown),
        series=tuple(
            ChartSeries(labelled(Engagement.choices, e), tuple(float(_with_reason(reasons, e, r)) for r, _ in shown))
            for e in LEFT
        ),
        alt=_reason_alt(reasons),
        y_label="Practices",
    )


def _reason_alt(reasons: Counts) -> str:
    left = sum(reasons.values())
    if not left:
        return "No practice in this selection has declined or withdrawn."
    declined, withdrew = (sum(n for (e, _), n in reasons.items() if e == stage) for stage in LEFT)
    sentence = f"{plural(left, 'practice')} declined or withdrew: {declined} declined and {withdrew} withdrew."
    ranked = sorted(
        ((label, sum(_with_reason(reasons, e, r) for e in LEFT)) for r, label in _reason_labels(reasons)),
        key=lambda item: -item[1],
    )
    top = [f"{label.lower()} ({n})" for label, n in ranked[:2] if n and label != NOT_RECORDED]
    if top:
        sentence += f" The commonest reason{'s were' if len(top) > 1 else ' was'} {listing(top)}."
    return sentence


# --- tables ---------------------------------------------------------------------------------------


def _stage_table(stages: Counts) -> Table:
    rows: list[tuple[Value, ...]] = []
    if stages:
        for cohort in COHORTS:
            per_stage = [stages.get((cohort, s), 0) for s in STAGES]
            rows.append((labelled(Cohort.choices, cohort), *per_stage, sum(per_stage)))
        per_stage = [sum(n for (_, stage), n in stages.items() if stage == s) for s in STAGES]
        rows.append(("All practices", *per_stage, sum(per_stage)))
    return Table(
        title="Practices by cohort and engagement",
        columns=(
            Column("Cohort"),
            *(Column(labelled(Engagement.choices, s), numeric=True) for s in STAGES),
            Column("Practices", numeric=True),
        ),
        rows=tuple(rows),
        note="Each practice as it is now, whatever the financial year chosen.",
        empty="No practices in this selection.",
    )


def _reason_table(reasons: Counts) -> Table:
    rows: list[tuple[Value, ...]] = []
    if reasons:
        for reason, label in _reason_labels(reasons):
            per_stage = [_with_reason(reasons, e, reason) for e in LEFT]
            rows.append((label, *per_stage, sum(per_stage)))
        per_stage = [sum(n for (e, _), n in reasons.items() if e == stage) for stage in LEFT]
        rows.append(("All reasons", *per_stage, sum(per_stage)))
    return Table(
        title="Why practices declined or withdrew",
        columns=(
            Column("Reason"),
            *(Column(labelled(Engagement.choices, e), numeric=True) for e in LEFT),
            Column("Practices", numeric=True),
        ),
        rows=tuple(rows),
        note="The reason recorded at the practice's latest change to declined or withdrew.",
        empty="No practice in this selection has declined or withdrawn.",
    )


def _withdrawal_table(withdrawn: QuerySet[Any]) -> Table:
    figures = (
        withdrawn.order_by()
        .values("at_step")
        .annotate(n=Count("pk"), with_reason=Count("pk", filter=~Q(withdrawal_reason="")))
    )
    by_step = {row["at_step"]: (row["n"], row["with_reason"]) for row in figures}
    order = [s for s in Step.values if s in by_step] + [s for s in by_step if s not in Step.values]
    rows: list[tuple[Value, ...]] = [(labelled(Step.choices, s) if s else NOT_RECORDED, *by_step[s]) for s in order]
    if rows:
        rows.append(("All steps", sum(n for n, _ in by_step.values()), sum(r for _, r in by_step.values())))
    return Table(
        title="Projects withdrawn, by the step they were in",
        columns=(Column("Step withdrawn at"), Column("Projects", numeric=True), Column("With a reason", numeric=True)),
        rows=tuple(rows),
        empty="No project started in this selection has been withdrawn.",
    )


def _latest_withdrawals(withdrawn: QuerySet[Any]) -> Table:
    latest = withdrawn.order_by(F("withdrawn_on").desc(nulls_last=True), "-pk").values_list(
        "title", "practice__name", "at_step", "withdrawn_on", "withdrawal_reason"
    )[:LATEST_WITHDRAWALS]
    return Table(
        title="The latest project withdrawals and their reasons",
        columns=(Column("Project"), Column("Practice"), Column("Step"), Column("Withdrawn on"), Column("Reason")),
        rows=tuple(
            (title, practice, labelled(Step.choices, step) if step else NOT_RECORDED, on, reason or NOT_RECORDED)
            for title, practice, step, on, reason in latest
        ),
        note=f"The {LATEST_WITHDRAWALS} most recent at most, newest first.",
        empty="No project started in this selection has been withdrawn.",
    )


JOURNEY_ROWS = (("first", "First projects"), ("subsequent", "Subsequent projects"), ("all", "All projects"))


def _journey_table(journeys: dict[str, Journey]) -> Table:
    rows: tuple[tuple[Value, ...], ...] = ()
    if journeys["all"].projects:
        rows = tuple(
            (label, j.projects, j.completed, j.withdrawn, j.under_way, percent(j.completed, j.projects))
            for name, label in JOURNEY_ROWS
            for j in (journeys[name],)
        )
    return Table(
        title="First and subsequent projects",
        columns=(
            Column("Projects"),
            Column("Started", numeric=True),
            Column("Completed", numeric=True),
            Column("Withdrawn before completing", numeric=True),
            Column("Under way", numeric=True),
            Column("% completed", numeric=True),
        ),
        rows=rows,
        note="A practice's first project is the one paid as its first, or else its earliest.",
        empty="No projects started in this selection.",
    )


def _timing_table(timing: dict[str, Timing]) -> Table:
    rows: tuple[tuple[Value, ...], ...] = ()
    if timing["all"].projects:
        rows = tuple(
            (label, t.projects, t.median, t.mean, t.shortest, t.longest)
            for name, label in JOURNEY_ROWS
            for t in (timing[name],)
        )
    return Table(
        title="Days from coaching agreement to completion",
        columns=(
            Column("Projects"),
            Column("Completed with an agreement", numeric=True),
            Column("Median days", numeric=True),
            Column("Mean days", numeric=True),
            Column("Shortest", numeric=True),
            Column("Longest", numeric=True),
        ),
        rows=rows,
        note="From the date the coaching agreement was signed to the project's completion date.",
        empty="No project started in this selection has completed with a coaching agreement.",
    )


def _highlights(
    stages: Counts, reasons: Counts, journeys: dict[str, Journey], timing: dict[str, Timing]
) -> tuple[tuple[str, Value], ...]:
    practices = sum(stages.values())
    engaged = sum(n for (_, s), n in stages.items() if s == Engagement.ENGAGED)
    top = largest((label, sum(_with_reason(reasons, e, r) for e in LEFT)) for r, label in _reason_labels(reasons))
    return (
        ("Practices", practices),
        ("Engaged", share(engaged, practices)),
        ("Declined or withdrew", share(sum(reasons.values()), practices)),
        ("Commonest reason", top[0] if top else "—"),
        ("First projects", journeys["first"].projects),
        ("Subsequent projects", journeys["subsequent"].projects),
        ("Median days from agreement to completion", timing["all"].median),
    )
