"""Reads of follow-ups, scoped to what a user may see and shaped for each page: a constant number of queries.

The lead sees every follow-up of their commissioner's projects, a coach those assigned to them
and those of the projects they coach, practice staff their practice's: the projects the user
sees (``projects.selectors.projects_for``), and any follow-up assigned to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from microsystems.compiled import CompiledQuery
from microsystems.models import User
from practices.permissions import roles_of
from projects.models import Project, TeamMember
from projects.selectors import projects_for

from .models import OVERDUE_AFTER, FollowUp, FollowUpReschedule, FollowUpReview, FollowUpStatus

DUE_SOON = timedelta(days=30)  # the coach's home lists follow-ups due within this, and every overdue one
DUE, OVERDUE = "due", "overdue"
STATES = [(DUE, "Due (within 30 days or past its date)"), (OVERDUE, "Overdue")]


def due_now(today: date) -> Q:
    """Still to be held, due within ``DUE_SOON`` or already past its date, but not yet overdue."""
    return Q(status=FollowUpStatus.SCHEDULED, due_on__lte=today + DUE_SOON, due_on__gte=today - OVERDUE_AFTER)


def overdue_now(today: date) -> Q:
    """Still to be held more than ``OVERDUE_AFTER`` past its date (as ``FollowUp.is_overdue``)."""
    return Q(status=FollowUpStatus.SCHEDULED, due_on__lt=today - OVERDUE_AFTER)


def state_condition(state: str, today: date) -> Q:
    return due_now(today) if state == DUE else overdue_now(today)


def follow_ups_for(user: User | AnonymousUser) -> QuerySet[FollowUp]:
    """Every follow-up the user may see."""
    if not user.is_authenticated:
        return FollowUp.objects.none()
    if roles_of(user).is_admin:
        return FollowUp.objects.all()
    return FollowUp.objects.filter(Q(project__in=projects_for(user).values("pk")) | Q(assigned_to=user))


def with_state(follow_ups: list[FollowUp], today: date) -> list[FollowUp]:
    """Set ``overdue`` and ``due`` (past its date, not yet overdue) on each, for the badges."""
    for follow_up in follow_ups:
        overdue = follow_up.is_overdue(today)
        follow_up.overdue = overdue  # type: ignore[attr-defined]
        follow_up.due = follow_up.status == FollowUpStatus.SCHEDULED and follow_up.due_on <= today and not overdue  # type: ignore[attr-defined]
    return follow_ups


def follow_up_list(
    user: User | AnonymousUser,
    *,
    status: str = "",
    kind: str = "",
    state: str = "",
    commissioner: int | None = None,
    pcn: int | None = None,
    today: date | None = None,
) -> QuerySet[FollowUp]:
    """The list page's rows: those still to be held first, the most overdue at the top, then the rest by date.

    ``state`` (due or overdue, as of ``today``), ``commissioner`` and ``pcn`` narrow it as the programme
    dashboard's figures do."""
    rows = follow_ups_for(user)
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    if state:
        rows = rows.filter(state_condition(state, today or timezone.localdate()))
    if commissioner is not None:
        rows = rows.filter(project__practice__commissioner_id=commissioner)
    if pcn is not None:
        rows = rows.filter(project__practice__pcn_id=pcn)
    to_hold = Case(When(status=FollowUpStatus.SCHEDULED, then=Value(0)), default=Value(1), output_field=IntegerField())
    return (
        rows.select_related("project", "project__practice", "assigned_to")
        .annotate(to_hold=to_hold)
        .order_by("to_hold", "due_on", "pk")
    )


def follow_up_for_page(user: User | AnonymousUser) -> QuerySet[FollowUp]:
    """One follow-up with everything its page shows: its project, coach, history and review."""
    return (
        follow_ups_for(user)
        .select_related("project", "project__practice", "project__lead_coach", "project__co_coach", "assigned_to")
        .prefetch_related(Prefetch("reschedules", queryset=FollowUpReschedule.objects.select_related("by")))
    )


def review_of(follow_up: FollowUp) -> FollowUpReview | None:
    """The follow-up's review with who came and who recorded it, or None (two queries)."""
    return (
        FollowUpReview.objects.filter(follow_up=follow_up)
        .select_related("recorded_by")
        .prefetch_related(Prefetch("attendees", queryset=TeamMember.objects.select_related("user")))
        .first()
    )


def team_of(project: Project) -> QuerySet[TeamMember]:
    return project.team.select_related("user").order_by("-is_champion", "kind", "name", "user__full_name", "pk")


_PROJECT_FOLLOW_UPS = CompiledQuery(
    lambda project_id: (
        FollowUp.objects.filter(project_id=project_id).select_related("assigned_to").order_by("due_on", "pk")
    )
)


def project_follow_ups(project: Project, today: date) -> list[FollowUp]:
    """A project's follow-ups for its overview, with their badges: one query, compiled once per process."""
    return with_state(_PROJECT_FOLLOW_UPS(project.pk), today)


@dataclass(frozen=True)
class CoachFollowUp:
    """A follow-up as the coach's home lists it: plain values, with its badge's state worked out."""

    pk: int
    kind: str
    due_on: date
    status: str
    project_title: str
    practice_name: str
    overdue: bool
    due: bool


def _coach_follow_ups(user_id: int, due_by: date) -> QuerySet[FollowUp, Any]:
    coached = Project.objects.filter(Q(lead_coach_id=user_id) | Q(co_coach_id=user_id)).values("pk")
    return (
        FollowUp.objects.filter(Q(assigned_to_id=user_id) | Q(project_id__in=coached))
        .filter(status=FollowUpStatus.SCHEDULED, due_on__lte=due_by)
        .order_by("due_on", "pk")
        .values_list("pk", "kind", "due_on", "status", "project__title", "project__practice__name")
    )


_COACH_FOLLOW_UPS = CompiledQuery(_coach_follow_ups)


def coach_follow_ups(user: User, today: date) -> list[CoachFollowUp]:
    """For the coach's home: follow-ups still to be held that are theirs or their projects', due within
    ``DUE_SOON`` or already past their date, most overdue first: one query."""
    rows = _COACH_FOLLOW_UPS(user.pk, today + DUE_SOON)
    overdue_before = today - OVERDUE_AFTER  # as ``FollowUp.is_overdue`` and ``with_state``
    follow_ups = []
    for pk, kind, due_on, status, title, practice_name in rows:
        overdue = status == FollowUpStatus.SCHEDULED and due_on < overdue_before
        due = status == FollowUpStatus.SCHEDULED and due_on <= today and not overdue
        follow_ups.append(CoachFollowUp(pk, kind, due_on, status, title, practice_name, overdue, due))
    return follow_ups
