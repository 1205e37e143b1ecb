"""The programme dashboard: how the programme is doing, in figures each linked to the list behind it.

Every figure is counted by the database in one aggregate query per subject (practices, projects,
coaches, follow-ups, payments, reviews), six in all whatever the size of the programme. The conditions come
from the selectors the list pages filter by (``practices.selectors``, ``projects.selectors``,
``evaluation.selectors``), so a number and the list its link opens always agree.

What the scope's year means here: projects count those started in it (as every report does) and
sustainability the reviews of follow-ups due in it; money counts payments falling due in it, or in
the current financial year when all years are chosen. Practices (where they are now), coaches'
load and follow-ups due or overdue are as of today, whatever the year.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.lookups import GreaterThan
from django.urls import reverse
from django.utils import timezone

from coaching.coaches import CLOSED_STEPS, count_subquery, projects_of_coach_ref
from coaching.models import CoachProfile
from practices.filters import NO_COHORT
from practices.models import Cohort, Engagement, OdsStatus
from practices.selectors import (
    PROGRESS_COMPLETED,
    PROGRESS_NOT_CONTACTED,
    PROGRESS_SECOND,
    completed_a_project,
    contact_cutoff,
    has_two_projects,
    not_contacted_since,
)
from projects.models import Payment, PaymentStatus, ProcessSubtheme, Step, Typology, financial_year_label
from projects.models.payments import financial_year_of
from projects.payments.filters import COMMITTED, COMMITTED_STATUSES
from projects.payments.money import format_pounds
from projects.selectors import MISSING_AGREEMENT, MISSING_CHAMPION, without_agreement, without_champion

from .models import FollowUp, FollowUpKind, FollowUpReview, Sustained
from .reporting import ChartSeries, ChartSpec, Scope
from .selectors import DUE, OVERDUE, due_now, overdue_now

# Which list page a figure's link opens: the view shows the link only to those who may open it.
PRACTICES, PROJECTS, FOLLOW_UPS, PAYMENTS, COACHES = "practices", "projects", "follow_ups", "payments", "coaches"


@dataclass(frozen=True)
class Figure:
    """One number on the dashboard and the list of exactly what it counts."""

    label: str
    value: int | Decimal
    url: str
    list: str
    text: str = ""  # how it is shown, when not as a plain count (money)

    @property
    def shown(self) -> str:
        return self.text or f"{self.value:,}"


@dataclass(frozen=True)
class FunnelRow:
    """A stage of the practices' funnel: how many reached it, per cohort and in all (the last cell)."""

    label: str
    note: str
    cells: tuple[Figure, ...]

    @property
    def total(self) -> Figure:
        return self.cells[-1]


@dataclass(frozen=True)
class CoachLoad:
    coaches: Figure
    load: int
    capacity: int
    over: Figure

    @property
    def percent_used(self) -> int:
        return round(100 * self.load / self.capacity) if self.capacity else 0


@dataclass(frozen=True)
class Money:
    year: int
    committed: Figure
    paid: Figure
    committed_count: int
    paid_count: int

    @property
    def year_label(self) -> str:
        return financial_year_label(self.year)


@dataclass(frozen=True)
class Figures:
    """Everything the dashboard shows for one scope, counted as of ``today``."""

    scope: Scope
    today: date
    cohorts: tuple[str, ...]  # the funnel's column headings, "All practices" last
    funnel: tuple[FunnelRow, ...]
    left: tuple[FunnelRow, ...]  # declined and withdrew
    practices: int  # open practices in scope
    not_contacted: Figure
    steps: tuple[Figure, ...]
    projects: Figure
    no_champion: Figure
    no_agreement: Figure
    coaches: CoachLoad
    follow_ups_due: Figure
    follow_ups_overdue: Figure
    money: Money
    typology: ChartSpec
    sustainability: ChartSpec

    @property
    def charts(self) -> tuple[ChartSpec, ...]:
        return (self.typology, self.sustainability)


def programme_figures(scope: Scope, *, today: date | None = None) -> Figures:
    """Every figure of the dashboard for ``scope``: six aggregate queries, whatever the data."""
    today = today or timezone.localdate()
    links = _Links(scope)
    cohorts, funnel, left, practices, not_contacted = _practices(scope, links, today)
    steps, projects, no_champion, no_agreement, typology = _projects(scope, links)
    due, overdue = _follow_ups(scope, links, today)
    return Figures(
        scope=scope,
        today=today,
        cohorts=cohorts,
        funnel=funnel,
        left=left,
        practices=practices,
        not_contacted=not_contacted,
        steps=steps,
        projects=projects,
        no_champion=no_champion,
        no_agreement=no_agreement,
        coaches=_coaches(scope, links),
        follow_ups_due=due,
        follow_ups_overdue=overdue,
        money=_money(scope, links, scope.year if scope.year is not None else financial_year_of(today)),
        typology=typology_chart(typology),
        sustainability=sustainability_chart(_reviews(scope)),
    )


# --- links to the lists ---------------------------------------------------------------------------


class _Links:
    """The list pages' URLs for the scope: each names the commissioner and PCN, and what else it counts."""

    def __init__(self, scope: Scope) -> None:
        self.base: dict[str, Any] = {"commissioner": scope.commissioner.pk}
        if scope.pcn is not None:
            self.base["pcn"] = scope.pcn.pk
        self.year = scope.year

    def practices(self, **params: Any) -> str:
        return _url("practices:directory", {**self.base, "ods_status": OdsStatus.ACTIVE, **params})

    def projects(self, **params: Any) -> str:
        year = {"year": self.year} if self.year is not None else {}
        return _url("projects:list", {**self.base, **year, **params})

    def follow_ups(self, state: str) -> str:
        return _url("evaluation:follow_ups", {**self.base, "state": state})

    def payments(self, year: int, status: str) -> str:
        return _url("payments:list", {**self.base, "year": year, "status": status})

    def coaches(self, **params: Any) -> str:
        return _url("coaching:coaches", {"active": "yes", **params})


def _url(name: str, params: dict[str, Any]) -> str:
    return f"{reverse(name)}?{urlencode(params)}"


# --- practices --------------------------------------------------------------------------------------


COHORTS: tuple[tuple[str, str], ...] = (
    (Cohort.EARLY_ADOPTER, Cohort.EARLY_ADOPTER.label),
    (Cohort.LATE_MAJORITY, Cohort.LATE_MAJORITY.label),
    (NO_COHORT, "No cohort yet"),
)

# (key, label, note, link parameters): the engagement stages are the practice's engagement now;
# "completed" and "second" are the directory's progress filters (``practices.selectors``).
FUNNEL: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("not_approached", "Not yet approached", "", {"engagement": Engagement.NOT_APPROACHED}),
    ("invited", "Invited", "Invited, not yet engaged.", {"engagement": Engagement.INVITED}),
    ("engaged", "Engaged", "Taking part now.", {"engagement": Engagement.ENGAGED}),
    ("completed", "First project completed", "Completed at least one project.", {"progress": PROGRESS_COMPLETED}),
    ("second", "Second project", "Completed a project and started another.", {"progress": PROGRESS_SECOND}),
)
LEFT: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("declined", "Declined", "Said no when invited.", {"engagement": Engagement.DECLINED}),
    ("withdrew", "Withdrew", "Left the programme.", {"engagement": Engagement.WITHDREW}),
)


def _flag(condition: Q) -> ExpressionWrapper:
    return ExpressionWrapper(condition, output_field=BooleanField())


def _practice_groups(scope: Scope, today: date) -> list[dict[str, Any]]:
    """Open practices counted by engagement, cohort and the three progress conditions: one ``GROUP BY``.

    Each condition is worked out once per practice; the groups (at most 5 × 3 × 2 × 2 × 2) are
    what the funnel adds up, never the practices themselves.
    """
    practices = scope.practices().filter(ods_status=OdsStatus.ACTIVE)
    flagged = practices.annotate(
        completed=_flag(completed_a_project()),
        two=_flag(has_two_projects()),
        quiet=_flag(not_contacted_since(contact_cutoff(today))),
    )
    return list(flagged.order_by().values("engagement", "cohort", "completed", "two", "quiet").annotate(n=Count("pk")))


def _stages_of(group: dict[str, Any]) -> list[str]:
    """The funnel stages a group of practices has reached: its engagement, and how far its projects came."""
    stages = [group["engagement"]]
    if group["completed"]:
        stages.append("completed")  # practices.selectors.completed_a_project
        if group["two"]:
            stages.append("second")  # practices.selectors.started_a_second_project
    return stages


def _practices(
    scope: Scope, links: _Links, today: date
) -> tuple[tuple[str, ...], tuple[FunnelRow, ...], tuple[FunnelRow, ...], int, Figure]:
    """The funnel by cohort, declines and withdrawals, and engaged practices not contacted: one query."""
    counts: Counter[tuple[str, str]] = Counter()
    total = quiet = 0
    for group in _practice_groups(scope, today):
        cohort = group["cohort"] or NO_COHORT
        for stage in _stages_of(group):
            counts[(stage, cohort)] += group["n"]
            counts[(stage, "")] += group["n"]
        total += group["n"]
        quiet += group["n"] if group["quiet"] else 0

    def funnel_row(key: str, label: str, note: str, params: dict[str, str]) -> FunnelRow:
        cells = [
            Figure(
                f"{label}, {name.lower()}", counts[(key, cohort)], links.practices(**params, cohort=cohort), PRACTICES
            )
            for cohort, name in COHORTS
        ]
        cells.append(Figure(label, counts[(key, "")], links.practices(**params), PRACTICES))
        return FunnelRow(label, note, tuple(cells))

    not_contacted = Figure(
        "Engaged practices not contacted for 6 months",
        quiet,
        links.practices(progress=PROGRESS_NOT_CONTACTED),
        PRACTICES,
    )
    return (
        (*(name for _, name in COHORTS), "All practices"),
        tuple(funnel_row(*stage) for stage in FUNNEL),
        tuple(funnel_row(*stage) for stage in LEFT),
        total,
        not_contacted,
    )


# --- projects ---------------------------------------------------------------------------------------


def _projects(scope: Scope, links: _Links) -> tuple[tuple[Figure, ...], Figure, Figure, Figure, dict[str, int]]:
    """Projects by step, those lacking a champion or an agreement, and by category: one query."""
    counts: dict[str, Any] = {
        "all": Count("pk"),
        "no_champion": Count("pk", filter=without_champion()),
        "no_agreement": Count("pk", filter=without_agreement()),
    }
    for step in Step.values:
        counts[f"step.{step}"] = Count("pk", filter=Q(step=step))
    for category in Typology.values:
        counts[f"typology.{category}"] = Count("pk", filter=Q(typology=category))
    for subtheme in ProcessSubtheme.values:
        counts[f"subtheme.{subtheme}"] = Count(
            "pk", filter=Q(typology=Typology.PROCESS_DRIVEN, process_subtheme=subtheme)
        )
    row = scope.projects().order_by().aggregate(**counts)
    steps = tuple(
        Figure(str(label), row[f"step.{step}"], links.projects(step=step), PROJECTS) for step, label in Step.choices
    )
    typology: dict[str, int] = {key: n for key, n in row.items() if key.startswith(("typology.", "subtheme."))}
    return (
        steps,
        Figure("Projects", row["all"], links.projects(), PROJECTS),
        Figure(
            "Active projects with no champion", row["no_champion"], links.projects(missing=MISSING_CHAMPION), PROJECTS
        ),
        Figure(
            "Active projects with no coaching agreement",
            row["no_agreement"],
            links.projects(missing=MISSING_AGREEMENT),
            PROJECTS,
        ),
        typology,
    )


# --- coaches ------------------------------------------------------------------------------------------


def _coaches(scope: Scope, links: _Links) -> CoachLoad:
    """The commissioner's active coaches: open projects they hold against what they can take: one query."""
    coaches: QuerySet[CoachProfile] = CoachProfile.objects.filter(commissioner=scope.commissioner, is_active=True)
    load = count_subquery(projects_of_coach_ref().exclude(step__in=CLOSED_STEPS))
    row = coaches.order_by().aggregate(
        coaches=Count("pk"),
        load=Sum(load),
        capacity=Sum("max_projects"),
        over=Count("pk", filter=Q(GreaterThan(load, F("max_projects")))),
    )
    return CoachLoad(
        coaches=Figure("Active coaches", row["coaches"], links.coaches(), COACHES),
        load=row["load"] or 0,
        capacity=row["capacity"] or 0,
        over=Figure("Coaches over capacity", row["over"], links.coaches(capacity="over"), COACHES),
    )


# --- follow-ups -----------------------------------------------------------------------------------------


def _follow_ups(scope: Scope, links: _Links, today: date) -> tuple[Figure, Figure]:
    """Follow-ups due (within 30 days or past their date) and overdue, today: one query."""
    follow_ups = FollowUp.objects.filter(project__practice__commissioner=scope.commissioner)
    if scope.pcn is not None:
        follow_ups = follow_ups.filter(project__practice__pcn=scope.pcn)
    row = follow_ups.order_by().aggregate(
        due=Count("pk", filter=due_now(today)), overdue=Count("pk", filter=overdue_now(today))
    )
    return (
        Figure("Follow-ups due", row["due"], links.follow_ups(DUE), FOLLOW_UPS),
        Figure("Follow-ups overdue", row["overdue"], links.follow_ups(OVERDUE), FOLLOW_UPS),
    )


# --- money ------------------------------------------------------------------------------------------------


def _money(scope: Scope, links: _Links, year: int) -> Money:
    """Payments committed (due or approved) and paid, falling due in ``year``: one query."""
    payments = Payment.objects.filter(project__practice__commissioner=scope.commissioner, financial_year=year)
    if scope.pcn is not None:
        payments = payments.filter(project__practice__pcn=scope.pcn)
    committed, paid = Q(status__in=COMMITTED_STATUSES), Q(status=PaymentStatus.PAID)
    row = payments.order_by().aggregate(
        committed=Sum("amount", filter=committed),
        committed_count=Count("pk", filter=committed),
        paid=Sum("amount", filter=paid),
        paid_count=Count("pk", filter=paid),
    )
    committed_amount = row["committed"] or Decimal("0.00")
    paid_amount = row["paid"] or Decimal("0.00")
    return Money(
        year=year,
        committed=Figure(
            "Committed", committed_amount, links.payments(year, COMMITTED), PAYMENTS, format_pounds(committed_amount)
        ),
        paid=Figure(
            "Paid", paid_amount, links.payments(year, PaymentStatus.PAID), PAYMENTS, format_pounds(paid_amount)
        ),
        committed_count=row["committed_count"],
        paid_count=row["paid_count"],
    )


# --- reviews ------------------------------------------------------------------------------------------------


def _reviews(scope: Scope) -> dict[tuple[str, str], int]:
    """Follow-up reviews by kind and outcome, of follow-ups due in the year (or ever): one query."""
    reviews = FollowUpReview.objects.filter(follow_up__project__practice__commissioner=scope.commissioner)
    if scope.pcn is not None:
        reviews = reviews.filter(follow_up__project__practice__pcn=scope.pcn)
    if scope.bounds is not None:
        reviews = reviews.filter(follow_up__due_on__range=scope.bounds)
    counts = {
        f"{kind}.{outcome}": Count("pk", filter=Q(follow_up__kind=kind, sustained=outcome))
        for kind in FollowUpKind.values
        for outcome in Sustained.values
    }
    row = reviews.order_by().aggregate(**counts)
    return {(kind, outcome): row[f"{kind}.{outcome}"] for kind in FollowUpKind.values for outcome in Sustained.values}


# --- charts -----------------------------------------------------------------------------------------------------


SUBTHEMES = (
    (ProcessSubtheme.ADMINISTRATIVE, "administrative systems"),
    (ProcessSubtheme.PATIENT_FLOW, "patient flow"),
    (ProcessSubtheme.COMMUNICATION, "communication"),
)


def typology_chart(counts: dict[str, int]) -> ChartSpec:
    """Projects by primary category, process-driven split by sub-theme (the evaluation's Figure 3)."""
    parts = [(f"Process-driven: {name}", counts[f"subtheme.{value}"]) for value, name in SUBTHEMES]
    unthemed = counts[f"subtheme.{ProcessSubtheme.NONE}"]
    if unthemed:
        parts.append(("Process-driven: sub-theme not recorded", unthemed))
    parts += [
        ("Health outputs", counts[f"typology.{Typology.HEALTH_OUTPUTS}"]),
        ("Patient-centred care", counts[f"typology.{Typology.PATIENT_CENTRED}"]),
    ]
    return ChartSpec(
        slug="dashboard-typology",
        title="Projects by primary category",
        kind="barh",
        categories=tuple(name for name, _ in parts),
        series=(ChartSeries("Projects", tuple(float(n) for _, n in parts)),),
        alt=_typology_alt(counts, parts),
        x_label="Projects",
    )


def _typology_alt(counts: dict[str, int], parts: list[tuple[str, int]]) -> str:
    total = sum(counts[f"typology.{t}"] for t in Typology.values)
    if not total:
        return "Bar chart of projects by primary category: there are no projects in this selection."
    process = counts[f"typology.{Typology.PROCESS_DRIVEN}"]
    themes = ", ".join(f"{name} {counts[f'subtheme.{value}']}" for value, name in SUBTHEMES)
    largest = max(parts, key=lambda part: part[1])
    return (
        f"Bar chart of {_projects_word(total)} by primary category: "
        f"process-driven {process} ({themes}), "
        f"health outputs {counts[f'typology.{Typology.HEALTH_OUTPUTS}']}, "
        f"patient-centred care {counts[f'typology.{Typology.PATIENT_CENTRED}']}. "
        f"The largest group is {largest[0].lower()}, with {largest[1]}."
    )


def _projects_word(n: int) -> str:
    return f"{n} project" if n == 1 else f"{n} projects"


OUTCOMES = (
    (Sustained.SUSTAINED, "Sustained"),
    (Sustained.PARTLY, "Partly sustained"),
    (Sustained.NOT_SUSTAINED, "Not sustained"),
)
KINDS = (
    (FollowUpKind.SIX_MONTHS, "6-month reviews", "6 months"),
    (FollowUpKind.TWELVE_MONTHS, "12-month reviews", "12 months"),
)


def sustainability_chart(reviews: dict[tuple[str, str], int]) -> ChartSpec:
    """Review outcomes, sustained, partly or not, side by side for the 6- and 12-month reviews."""
    return ChartSpec(
        slug="dashboard-sustainability",
        title="Is the change sustained? Follow-up reviews",
        kind="grouped",
        categories=tuple(label for _, label in OUTCOMES),
        series=tuple(
            ChartSeries(name, tuple(float(reviews[(kind, outcome)]) for outcome, _ in OUTCOMES))
            for kind, name, _ in KINDS
        ),
        alt=_sustainability_alt(reviews),
        y_label="Reviews",
    )


def _sustainability_alt(reviews: dict[tuple[str, str], int]) -> str:
    sentences = []
    for kind, _, short in KINDS:
        n = sum(reviews[(kind, outcome)] for outcome, _ in OUTCOMES)
        if not n:
            sentences.append(f"No reviews at {short} yet.")
            continue
        found = ", ".join(f"{reviews[(kind, outcome)]} {label.lower()}" for outcome, label in OUTCOMES)
        sentences.append(f"Of {n} review{'s' if n != 1 else ''} at {short}: {found}.")
    return "Grouped bar chart of follow-up review outcomes. " + " ".join(sentences)
