"""Reads of projects, scoped to what a user may see, shaped for each page."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from coaching.models import CoachingAgreement
from microsystems.models import User
from practices.models import OdsStatus, Practice, ProgrammeRoleKind
from practices.permissions import roles_of

from .models import (
    FundingRoute,
    Payment,
    Project,
    Step,
    StepChange,
    TeamMember,
    WorkbookSection,
    financial_year_bounds,
)


def projects_for(user: User | AnonymousUser) -> QuerySet[Project]:
    """Every project the user may see: as lead, as the project's coach, or as practice staff."""
    if not user.is_authenticated:
        return Project.objects.none()
    roles = roles_of(user)
    if roles.is_admin:
        return Project.objects.all()
    scope = Q(pk__in=[])
    leads = roles.commissioners_with(ProgrammeRoleKind.LEAD)
    if leads:
        scope |= Q(practice__commissioner_id__in=leads)
    if roles.holds(ProgrammeRoleKind.COACH):
        scope |= Q(lead_coach=user) | Q(co_coach=user)
    if roles.practices:
        scope |= Q(practice_id__in=list(roles.practices))
    return Project.objects.filter(scope)


def with_first_flag(projects: QuerySet[Project]) -> QuerySet[Project]:
    """Annotate ``is_first``: no earlier project at the same practice (derived, never typed)."""
    earlier = Project.objects.filter(practice=OuterRef("practice")).filter(
        Q(starts_on__lt=OuterRef("starts_on")) | Q(starts_on=OuterRef("starts_on"), pk__lt=OuterRef("pk"))
    )
    return projects.annotate(is_first=~Exists(earlier))


ROW_FIELDS = (
    "pk", "title", "step", "typology", "starts_on", "practice_id", "practice__name", "practice__pcn__name",
    "lead_coach__full_name", "lead_coach__email", "co_coach__full_name", "co_coach__email",
)  # fmt: skip


def list_rows(projects: QuerySet[Project]) -> QuerySet[Project]:
    """The list's rows as plain dicts with only the columns they show: model instances cost time on every row."""
    return projects.values(*ROW_FIELDS)


def project_list(user: User | AnonymousUser) -> QuerySet[Project]:
    return list_rows(projects_for(user))


def complete_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add each row's champions and whether it is its practice's first project, with two small queries."""
    ids = [row["pk"] for row in rows]
    champions: dict[int, list[str]] = {}
    names = (
        TeamMember.objects.filter(project_id__in=ids, is_champion=True)
        .order_by()  # one champion a project at most: the team's ordering would only cost
        .values_list("project_id", "name", "user__full_name", "user__email")
    )
    for project_id, name, full_name, email in names:
        champions.setdefault(project_id, []).append(full_name or name or email)
    first = first_project_ids({row["practice_id"] for row in rows})
    for row in rows:
        row["champions"] = champions.get(row["pk"], [])
        row["is_first"] = first.get(row["practice_id"]) == row["pk"]
    return rows


def first_project_ids(practice_ids: set[int]) -> dict[int, int]:
    """Each practice's first project, by practice id: the one already paid as its first, else the earliest start
    (then the lowest id). Once paid as first, a project stays first even if an earlier one is entered later."""
    paid_as_first = Payment.objects.filter(project=OuterRef("pk"), route=FundingRoute.FIRST_PROJECT)
    earliest = (
        Project.objects.filter(practice_id__in=practice_ids)
        .annotate(paid_as_first=Exists(paid_as_first))
        .order_by("practice_id", "-paid_as_first", "starts_on", "pk")
        .values_list("practice_id", "pk")
    )
    first: dict[int, int] = {}
    for practice_id, pk in earliest:
        first.setdefault(practice_id, pk)
    return first


def project_for_overview(user: User | AnonymousUser) -> QuerySet[Project]:
    return (
        with_first_flag(projects_for(user))
        .select_related("practice", "practice__commissioner", "practice__pcn", "lead_coach", "co_coach", "agreement")
        .prefetch_related(
            Prefetch("team", queryset=TeamMember.objects.select_related("user")),
            # Read as a set: no order, so no join to the project for the default ordering.
            Prefetch("sections", queryset=WorkbookSection.objects.only("project_id", "key", "complete").order_by()),
            "specific_aims",
            Prefetch("step_changes", queryset=StepChange.objects.select_related("changed_by")),
        )
    )


def practices_to_start_projects(user: User | AnonymousUser) -> QuerySet[Practice]:
    """Open practices where the user may start a project: a lead's commissioners' practices, staff their own."""
    roles = roles_of(user)
    leads = roles.commissioners_with(ProgrammeRoleKind.LEAD)
    scope = Q(commissioner_id__in=leads) | Q(pk__in=list(roles.practices))
    return Practice.objects.filter(scope, ods_status=OdsStatus.ACTIVE).order_by("name")


def caseload(user: User | AnonymousUser) -> QuerySet[Project]:
    """A coach's open projects, the ones they lead or co-coach."""
    if not user.is_authenticated:
        return Project.objects.none()
    return (
        Project.objects.filter(Q(lead_coach=user) | Q(co_coach=user))
        .exclude(step__in=["completed", "withdrawn"])
        .select_related("practice")
        .order_by("practice__name", "title")
    )


def projects_of_practice(user: User | AnonymousUser, practice_id: int) -> QuerySet[Project]:
    return with_first_flag(projects_for(user).filter(practice_id=practice_id)).select_related("lead_coach")


# What an active project still lacks: the programme dashboard counts these and the project list filters
# by them, through the same conditions, so a number and its list always agree.

ACTIVE_STEPS = (Step.ORGANISE, Step.ASSESS, Step.DIAGNOSE, Step.TREAT)
MISSING_CHAMPION, MISSING_AGREEMENT = "champion", "agreement"
MISSING_CHOICES = [
    (MISSING_CHAMPION, "Active, no champion"),
    (MISSING_AGREEMENT, "Active, no coaching agreement"),
]


def without_champion() -> Q:
    """Active (Organise to Treat) with no team member named champion: every successful project had one."""
    champion = TeamMember.objects.filter(project=OuterRef("pk"), is_champion=True)
    return Q(step__in=ACTIVE_STEPS) & ~Q(Exists(champion))


def without_agreement() -> Q:
    """Active (Organise to Treat) with no signed coaching agreement recorded."""
    agreement = CoachingAgreement.objects.filter(project=OuterRef("pk"))
    return Q(step__in=ACTIVE_STEPS) & ~Q(Exists(agreement))


def missing_condition(missing: str) -> Q:
    """The condition for one of ``MISSING_CHOICES``."""
    conditions = {MISSING_CHAMPION: without_champion, MISSING_AGREEMENT: without_agreement}
    return conditions[missing]()


def started_in(year: int) -> Q:
    """Started in the financial year ``year`` (April to March, named by the year it starts)."""
    return Q(starts_on__range=financial_year_bounds(year))
