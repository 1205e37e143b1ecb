"""Reads of projects, scoped to what a user may see, shaped for each page."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from coaching.models import CoachingAgreement
from microsystems.compiled import CompiledQuery
from microsystems.models import User
from practices.models import OdsStatus, Practice, ProgrammeRoleKind
from practices.permissions import roles_of

from .models import (
    FundingRoute,
    Payment,
    Project,
    SpecificAim,
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


ROW_FIELDS = (
    "pk", "title", "step", "typology", "starts_on", "practice_id", "practice__name", "practice__pcn__name",
    "lead_coach__full_name", "lead_coach__email", "co_coach__full_name", "co_coach__email",
)  # fmt: skip


def list_keys(projects: QuerySet[Project]) -> QuerySet[Project, Any]:
    """The list's rows as ids alone, for the table to sort and page: the database then sorts the matching ids,
    not every matching row joined to all it shows. ``rows_by_id`` reads the columns of one page's rows."""
    return projects.values("pk")


_LIST_ROWS = CompiledQuery(lambda ids: Project.objects.filter(pk__in=ids).order_by().values(*ROW_FIELDS))


def rows_by_id(ids: list[int]) -> list[dict[str, Any]]:
    """The list's rows for these project ids, in their order, as plain dicts with only the columns they show
    (model instances cost time on every row): one query, compiled once per process."""
    rows = {row["pk"]: row for row in _LIST_ROWS(sorted(ids))}
    return [rows[pk] for pk in ids if pk in rows]


_CHAMPIONS = CompiledQuery(
    lambda project_ids: (
        TeamMember.objects.filter(project_id__in=project_ids, is_champion=True)
        .order_by()  # one champion a project at most: the team's ordering would only cost
        .values_list("project_id", "name", "user__full_name", "user__email")
    )
)


def complete_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add each row's champions and whether it is its practice's first project, with two small queries."""
    champions: dict[int, list[str]] = {}
    for project_id, name, full_name, email in _CHAMPIONS(sorted(row["pk"] for row in rows)):
        champions.setdefault(project_id, []).append(full_name or name or email)
    first = first_project_ids({row["practice_id"] for row in rows})
    for row in rows:
        row["champions"] = champions.get(row["pk"], [])
        row["is_first"] = first.get(row["practice_id"]) == row["pk"]
    return rows


_FIRST_PROJECTS = CompiledQuery(
    lambda practice_ids: (
        Project.objects.filter(practice_id__in=practice_ids)
        .annotate(
            paid_as_first=Exists(Payment.objects.filter(project=OuterRef("pk"), route=FundingRoute.FIRST_PROJECT))
        )
        .order_by("practice_id", "-paid_as_first", "starts_on", "pk")
        .values_list("practice_id", "pk")
    )
)


def first_project_ids(practice_ids: set[int]) -> dict[int, int]:
    """Each practice's first project, by practice id: the one already paid as its first, else the earliest start
    (then the lowest id). Once paid as first, a project stays first even if an earlier one is entered later."""
    first: dict[int, int] = {}
    for practice_id, pk in _FIRST_PROJECTS(sorted(practice_ids)):
        first.setdefault(practice_id, pk)
    return first


def sees_project(user: User | AnonymousUser, project: Project) -> bool:
    """``projects_for``'s rule for one project already read (with its practice): no query."""
    if not user.is_authenticated:
        return False
    roles = roles_of(user)
    if roles.is_admin or project.practice.commissioner_id in roles.commissioners_with(ProgrammeRoleKind.LEAD):
        return True
    if roles.holds(ProgrammeRoleKind.COACH) and user.pk in {project.lead_coach_id, project.co_coach_id}:
        return True
    return project.practice_id in roles.practices


def project_with_lists(user: User | AnonymousUser) -> QuerySet[Project]:
    """The user's projects with what the team and step pages read: team, sections, aims and step history."""
    return (
        projects_for(user)
        .select_related("practice", "practice__commissioner", "practice__pcn", "lead_coach", "co_coach", "agreement")
        .prefetch_related(
            Prefetch("team", queryset=TeamMember.objects.select_related("user")),
            # Read as a set: no order, so no join to the project for the default ordering.
            Prefetch("sections", queryset=WorkbookSection.objects.only("project_id", "key", "complete").order_by()),
            "specific_aims",
            Prefetch("step_changes", queryset=StepChange.objects.select_related("changed_by")),
        )
    )


_OVERVIEW_PROJECT = CompiledQuery(
    lambda pk: Project.objects.filter(pk=pk).select_related(
        "practice", "practice__pcn", "lead_coach", "co_coach", "agreement"
    )
)


def project_for_overview(user: User | AnonymousUser, pk: int) -> Project | None:
    """The project if the user may see it, with ``is_first`` (``first_project_ids``' rule), else None.

    Read by id and checked with ``sees_project``, both compiled once per process: the overview is
    the page most opened, and building its scoped query cost more than the database spent on it.
    """
    project = _seen_by(user, _OVERVIEW_PROJECT(pk))
    if project is None:
        return None
    project.is_first = first_project_ids({project.practice_id}).get(project.practice_id) == project.pk  # type: ignore[attr-defined]
    return project


_PROJECT_WITH_PRACTICE = CompiledQuery(lambda pk: Project.objects.filter(pk=pk).select_related("practice"))


def project_with_practice(user: User | AnonymousUser, pk: int) -> Project | None:
    """The project with its practice if the user may see it (``sees_project``), else None: one compiled query."""
    return _seen_by(user, _PROJECT_WITH_PRACTICE(pk))


def _seen_by(user: User | AnonymousUser, rows: list[Project]) -> Project | None:
    """The project read by id (with its practice), if there is one and the user may see it."""
    project = next(iter(rows), None)
    return project if project is not None and sees_project(user, project) else None


# A project's own lists, each one query compiled once per process (see ``microsystems.compiled``).
team_of = CompiledQuery(lambda project_id: TeamMember.objects.filter(project_id=project_id).select_related("user"))
section_states_of = CompiledQuery(  # read as a set: no order, so no join to the project for the default ordering
    lambda project_id: (
        WorkbookSection.objects.filter(project_id=project_id).only("project_id", "key", "complete").order_by()
    )
)
aims_of = CompiledQuery(lambda project_id: SpecificAim.objects.filter(project_id=project_id))
step_changes_of = CompiledQuery(
    lambda project_id: StepChange.objects.filter(project_id=project_id).select_related("changed_by")
)


def _startable(commissioner_ids: list[int], practice_ids: list[int]) -> QuerySet[Practice]:
    return Practice.objects.filter(
        Q(commissioner_id__in=commissioner_ids) | Q(pk__in=practice_ids), ods_status=OdsStatus.ACTIVE
    )


_ANY_PRACTICE_TO_START = CompiledQuery(
    lambda commissioner_ids, practice_ids: (
        _startable(commissioner_ids, practice_ids).order_by().values_list("pk", flat=True)[:1]
    )
)


def practices_to_start_projects(user: User | AnonymousUser) -> QuerySet[Practice]:
    """Open practices where the user may start a project: a lead's commissioners' practices, staff their own."""
    roles = roles_of(user)
    return _startable(list(roles.commissioners_with(ProgrammeRoleKind.LEAD)), list(roles.practices)).order_by("name")


def may_start_projects(user: User | AnonymousUser) -> bool:
    """Whether ``practices_to_start_projects`` has any: one query, compiled once per process."""
    roles = roles_of(user)
    return bool(
        _ANY_PRACTICE_TO_START(sorted(roles.commissioners_with(ProgrammeRoleKind.LEAD)), sorted(roles.practices))
    )


def caseload(user: User | AnonymousUser) -> QuerySet[Project]:
    """A coach's open projects, the ones they lead or co-coach."""
    if not user.is_authenticated:
        return Project.objects.none()
    return caseload_of(user.pk)


def caseload_of(user_id: int) -> QuerySet[Project]:
    """``caseload`` by the coach's id (for a query compiled once per process)."""
    return (
        Project.objects.filter(Q(lead_coach_id=user_id) | Q(co_coach_id=user_id))
        .exclude(step__in=["completed", "withdrawn"])
        .select_related("practice")
        .order_by("practice__name", "title")
    )


def projects_of_practice(user: User | AnonymousUser, practice_id: int) -> list[Project]:
    """The practice's projects the user may see, each with ``is_first`` (``first_project_ids``' rule)."""
    projects = list(projects_for(user).filter(practice_id=practice_id).select_related("lead_coach"))
    first = first_project_ids({practice_id}).get(practice_id)
    for project in projects:
        project.is_first = project.pk == first  # type: ignore[attr-defined]
    return projects


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
