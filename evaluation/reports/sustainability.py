"""The sustainability report: whether changes lasted, at the 6- and 12-month follow-ups, and why not.

Follow-ups count when they fall due in the chosen financial year (or at any time), whenever their
project started: a review is about the year it is held in, not the project's. Each is held,
cancelled (its project was withdrawn), not yet due, due (up to 30 days past its date) or overdue.
Outcomes are grouped by the project's typology and by whether it said it would need ongoing
resources, which the evaluation found decided whether a change survived its funding.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from evaluation.models import OVERDUE_AFTER, FollowUpKind, FollowUpReview, FollowUpStatus, NotSustainedReason, Sustained
from evaluation.reporting import ChartSeries, ChartSpec, Column, Report, Scope, Table, Value, labelled, percent
from projects.models import Typology

from ._common import LONG_HEADER, follow_ups_in, grouped_counts, largest, long_rows, plural, share

SLUG = "sustainability"
KINDS: tuple[str, ...] = tuple(FollowUpKind.values)
OUTCOMES: tuple[str, ...] = tuple(Sustained.values)
KIND_NAMES: dict[str, str] = {FollowUpKind.SIX_MONTHS: "6-month", FollowUpKind.TWELVE_MONTHS: "12-month"}
RESOURCES = ((True, "Needs ongoing resources"), (False, "No ongoing resources"))
STATES = ("held", "upcoming", "due", "overdue", "cancelled")

Outcomes = dict[tuple[Any, ...], int]  # (kind, typology, needs ongoing resources, sustained) → reviews


def build(scope: Scope) -> Report:
    follow_ups = follow_ups_in(scope)
    reviews = FollowUpReview.objects.filter(follow_up__in=follow_ups)
    states = _states(follow_ups)
    outcomes = grouped_counts(
        reviews,
        "follow_up__kind",
        "follow_up__project__typology",
        "follow_up__project__needs_ongoing_resources",
        "sustained",
    )
    reasons = _reasons(reviews)
    tables = (
        _state_table(states),
        _outcome_table(outcomes),
        _reason_table(reasons),
        _typology_table(outcomes),
        _resources_table(outcomes),
    )
    return Report(
        slug=SLUG,
        title="Sustainability",
        intro=(
            "Whether the changes lasted: what the 6- and 12-month follow-up reviews found, the reasons given "
            "when a change was not fully sustained, and how that differs by typology and by whether the project "
            "needed ongoing resources. Follow-ups count when they fall due in this selection."
        ),
        scope=scope,
        charts=(_outcome_chart(outcomes), _resources_chart(outcomes)),
        tables=tables,
        csv_header=LONG_HEADER,
        csv_rows=tuple(row for i, table in enumerate(tables) for row in long_rows(table, labels=2 if i >= 3 else 1)),
        highlights=_highlights(states, outcomes),
    )


# --- queries --------------------------------------------------------------------------------------


def _states(follow_ups: QuerySet[Any]) -> dict[str, dict[str, int]]:
    """For each kind of follow-up, how many are in each state: one query, counted by the database."""
    today = timezone.localdate()
    scheduled = Q(status=FollowUpStatus.SCHEDULED)
    overdue_before = today - OVERDUE_AFTER  # overdue: more than 30 days past due and not held
    rows = (
        follow_ups.order_by()
        .values("kind")
        .annotate(
            held=Count("pk", filter=Q(status=FollowUpStatus.HELD)),
            upcoming=Count("pk", filter=scheduled & Q(due_on__gt=today)),
            due=Count("pk", filter=scheduled & Q(due_on__lte=today, due_on__gte=overdue_before)),
            overdue=Count("pk", filter=scheduled & Q(due_on__lt=overdue_before)),
            cancelled=Count("pk", filter=Q(status=FollowUpStatus.CANCELLED)),
        )
    )
    by_kind = {row["kind"]: {state: row[state] for state in STATES} for row in rows}
    return {kind: by_kind.get(kind, dict.fromkeys(STATES, 0)) for kind in KINDS}


def _reasons(reviews: QuerySet[FollowUpReview]) -> Counter[tuple[str, str]]:
    """How often each reason was given, by kind of review: (kind, reason) → reviews.

    ``reasons`` is a JSON list, and counting a list's members in the database needs JSON table
    functions that differ between SQLite and PostgreSQL. Reviews are few (two per completed project)
    and only those not fully sustained carry reasons, so their lists come back in one query and
    are counted here.
    """
    counted: Counter[tuple[str, str]] = Counter()
    lists = reviews.exclude(sustained=Sustained.SUSTAINED).values_list("follow_up__kind", "reasons")
    for kind, reasons in lists:
        for reason in set(reasons or ()):
            counted[(kind, reason)] += 1
    return counted


# --- figures --------------------------------------------------------------------------------------


def _count(outcomes: Outcomes, **where: Any) -> int:
    """Reviews matching ``where`` (kind, typology, resources, sustained; any left out counts all)."""
    names = ("kind", "typology", "resources", "sustained")
    return sum(
        n for key, n in outcomes.items() if all(key[names.index(name)] == value for name, value in where.items())
    )


def _outcome_row(outcomes: Outcomes, **where: Any) -> tuple[int, ...]:
    """Sustained, partly, not sustained, reviews."""
    per_outcome = tuple(_count(outcomes, sustained=o, **where) for o in OUTCOMES)
    return (*per_outcome, sum(per_outcome))


def _kind_label(kind: str) -> str:
    return f"{KIND_NAMES.get(kind, kind)} review"


# --- charts ---------------------------------------------------------------------------------------


def _outcome_chart(outcomes: Outcomes) -> ChartSpec:
    return ChartSpec(
        slug="sustainability",
        title="Were changes sustained? 6- and 12-month reviews",
        kind="stacked",
        categories=tuple(_kind_label(k) for k in KINDS),
        series=tuple(
            ChartSeries(
                labelled(Sustained.choices, o), tuple(float(_count(outcomes, kind=k, sustained=o)) for k in KINDS)
            )
            for o in OUTCOMES
        ),
        alt=_outcome_alt(outcomes),
        y_label="Reviews",
    )


def _outcome_alt(outcomes: Outcomes) -> str:
    if not outcomes:
        return "No follow-up reviews in this selection yet."
    parts = []
    for kind in KINDS:
        sustained, partly, not_sustained, reviews = _outcome_row(outcomes, kind=kind)
        if reviews:
            parts.append(
                f"of {plural(reviews, KIND_NAMES[kind] + ' review')}, {share(sustained, reviews)} found the change "
                f"sustained, {share(partly, reviews)} partly and {share(not_sustained, reviews)} not"
            )
        else:
            parts.append(f"there are no {KIND_NAMES[kind]} reviews yet")
    sentence = "; ".join(parts)
    return f"{sentence[0].upper()}{sentence[1:]}."


def _resources_chart(outcomes: Outcomes) -> ChartSpec:
    groups = [(needs, kind) for needs, _ in RESOURCES for kind in KINDS]
    series = []
    for outcome in OUTCOMES:
        values = []
        for needs, kind in groups:
            *_, reviews = _outcome_row(outcomes, kind=kind, resources=needs)
            values.append(percent(_count(outcomes, kind=kind, resources=needs, sustained=outcome), reviews))
        series.append(ChartSeries(labelled(Sustained.choices, outcome), tuple(values)))
    return ChartSpec(
        slug="sustainability-resources",
        title="Outcome by whether the project needed ongoing resources",
        kind="stacked",
        categories=tuple(f"{label}, {KIND_NAMES[kind]}" for needs, label in RESOURCES for kind in KINDS),
        series=tuple(series),
        alt=_resources_alt(outcomes),
        y_label="% of reviews",
        percent=True,
    )


def _resources_alt(outcomes: Outcomes) -> str:
    if not outcomes:
        return "No follow-up reviews in this selection yet, so nothing to compare."
    parts = []
    for kind in KINDS:
        if not _count(outcomes, kind=kind):
            parts.append(f"no {KIND_NAMES[kind]} reviews yet")
            continue
        groups = []
        for needs, _ in RESOURCES:
            needing = "needing ongoing resources" if needs else "not needing them"
            *_, reviews = _outcome_row(outcomes, kind=kind, resources=needs)
            sustained = _count(outcomes, kind=kind, resources=needs, sustained=Sustained.SUSTAINED)
            if reviews:
                groups.append(
                    f"{sustained} of {plural(reviews, 'project')} {needing} ({round(percent(sustained, reviews))}%)"
                )
            else:
                groups.append(f"no project {needing}")
        parts.append(f"at {KIND_NAMES[kind]} reviews, changes were sustained in {' and '.join(groups)}")
    sentence = "; ".join(parts)
    return f"{sentence[0].upper()}{sentence[1:]}."


# --- tables ---------------------------------------------------------------------------------------


def _state_table(states: dict[str, dict[str, int]]) -> Table:
    rows: list[tuple[Value, ...]] = []
    if any(sum(per_state.values()) for per_state in states.values()):
        for kind in KINDS:
            counts = [states[kind][s] for s in STATES]
            rows.append((labelled(FollowUpKind.choices, kind), *counts, sum(counts)))
        counts = [sum(states[k][s] for k in KINDS) for s in STATES]
        rows.append(("All follow-ups", *counts, sum(counts)))
    return Table(
        title="Follow-ups held, due and overdue",
        columns=(
            Column("Follow-up"),
            Column("Held", numeric=True),
            Column("Not yet due", numeric=True),
            Column("Due", numeric=True),
            Column("Overdue", numeric=True),
            Column("Cancelled", numeric=True),
            Column("Follow-ups", numeric=True),
        ),
        rows=tuple(rows),
        note=(
            "Due: past its date by up to 30 days and not yet held. Overdue: more than 30 days past its date. "
            "Cancelled: the project was withdrawn."
        ),
        empty="No follow-ups fall due in this selection.",
    )


OUTCOME_COLUMNS = (
    *(Column(str(label), numeric=True) for label in Sustained.labels),
    Column("Reviews", numeric=True),
    Column("% sustained", numeric=True),
    Column("% at least partly", numeric=True),
)


def _with_shares(row: tuple[int, ...]) -> tuple[Value, ...]:
    sustained, partly, _, reviews = row
    return (*row, percent(sustained, reviews), percent(sustained + partly, reviews))


def _outcome_table(outcomes: Outcomes) -> Table:
    rows: tuple[tuple[Value, ...], ...] = ()
    if outcomes:
        rows = tuple((_kind_label(k), *_with_shares(_outcome_row(outcomes, kind=k))) for k in KINDS)
    return Table(
        title="What the reviews found",
        columns=(Column("Review"), *OUTCOME_COLUMNS),
        rows=rows,
        empty="No follow-up reviews in this selection yet.",
    )


def _reason_table(reasons: Counter[tuple[str, str]]) -> Table:
    known = [(r.value, str(r.label)) for r in NotSustainedReason]
    unknown = sorted({r for _, r in reasons if r not in NotSustainedReason.values})
    rows: tuple[tuple[Value, ...], ...] = ()
    if reasons:
        rows = tuple(
            (label, *(reasons[(k, reason)] for k in KINDS), sum(reasons[(k, reason)] for k in KINDS))
            for reason, label in [*known, *((r, r) for r in unknown)]
        )
    return Table(
        title="Why changes were not fully sustained",
        columns=(
            Column("Reason"),
            *(Column(f"{KIND_NAMES[k]} reviews", numeric=True) for k in KINDS),
            Column("Reviews", numeric=True),
        ),
        rows=rows,
        note="A review may give more than one reason, so the reasons add up to more than the reviews.",
        empty="No review in this selection found a change not fully sustained.",
    )


def _typology_table(outcomes: Outcomes) -> Table:
    categories = [*Typology.values, *sorted({t for _, t, _, _ in outcomes} - set(Typology.values))]
    rows = tuple(
        (labelled(Typology.choices, category), _kind_label(kind), *_with_shares(row))
        for category in categories
        for kind in KINDS
        for row in (_outcome_row(outcomes, kind=kind, typology=category),)
        if row[-1]
    )
    return Table(
        title="Outcome by typology",
        columns=(Column("Primary category"), Column("Review"), *OUTCOME_COLUMNS),
        rows=rows,
        note="Only categories with reviews are shown.",
        empty="No follow-up reviews in this selection yet.",
    )


def _resources_table(outcomes: Outcomes) -> Table:
    rows = tuple(
        (label, _kind_label(kind), *_with_shares(row))
        for needs, label in RESOURCES
        for kind in KINDS
        for row in (_outcome_row(outcomes, kind=kind, resources=needs),)
        if row[-1]
    )
    return Table(
        title="Outcome by whether the project needed ongoing resources",
        columns=(Column("Ongoing resources"), Column("Review"), *OUTCOME_COLUMNS),
        rows=rows,
        note="As the project said at its start: whether the change would need resources after it ended.",
        empty="No follow-up reviews in this selection yet.",
    )


def _highlights(states: dict[str, dict[str, int]], outcomes: Outcomes) -> tuple[tuple[str, Value], ...]:
    per_kind = {k: _outcome_row(outcomes, kind=k) for k in KINDS}
    top = largest(
        (labelled(Typology.choices, t), _count(outcomes, typology=t, sustained=Sustained.SUSTAINED))
        for t in Typology.values
    )
    return (
        ("Reviews held", sum(row[-1] for row in per_kind.values())),
        *((f"Sustained at {KIND_NAMES[k]} review", share(per_kind[k][0], per_kind[k][-1])) for k in KINDS),
        ("Follow-ups overdue", sum(states[k]["overdue"] for k in KINDS)),
        ("Follow-ups due", sum(states[k]["due"] for k in KINDS)),
        ("Most sustained changes", top[0] if top else "—"),
    )
