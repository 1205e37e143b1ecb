"""Reads of coaching sessions and actions, scoped to what a user may see and shaped for each page.

Every page reads a constant number of queries however many projects, sessions or actions
there are: counts and dates come from annotations and subqueries, never from a query per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from microsystems.models import User
from practices.models import ProgrammeRoleKind
from practices.permissions import roles_of
from projects.models import Project, TeamMember
from projects.selectors import caseload, projects_for

from .models import (
    Action,
    ActionStatus,
    Attendance,
    CoachProfile,
    Mentoring,
    Reflection,
    Session,
    SessionAttendance,
    SessionStatus,
    refresher_due,
)

CALENDAR_MONTHS_BACK = 3


def is_coach(user: User | AnonymousUser) -> bool:
    return roles_of(user).holds(ProgrammeRoleKind.COACH)


def sessions_for(user: User | AnonymousUser) -> QuerySet[Session]:
    """Every session of a project the user may see."""
    return Session.objects.filter(project__in=projects_for(user))


def session_for_page(user: User | AnonymousUser) -> QuerySet[Session]:
    return sessions_for(user).select_related("project", "project__practice", "coach")


def actions_for(user: User | AnonymousUser) -> QuerySet[Action]:
    """Every action of a project the user may see, with what the tick-off rule reads."""
    return Action.objects.filter(project__in=projects_for(user)).select_related("project", "owner__user")


def with_counts(sessions: QuerySet[Session]) -> QuerySet[Session]:
    """Annotate how many attended and how many actions each session raised (two subqueries, not a join)."""
    present = SessionAttendance.objects.filter(session=OuterRef("pk"), status=Attendance.PRESENT)
    attended = present.values("session").annotate(n=Count("pk")).values("n")
    raised = Action.objects.filter(raised_in=OuterRef("pk")).values("raised_in").annotate(n=Count("pk")).values("n")
    return sessions.annotate(
        attended=Coalesce(Subquery(attended, output_field=IntegerField()), Value(0)),
        actions_count=Coalesce(Subquery(raised, output_field=IntegerField()), Value(0)),
    )


def project_sessions(project: Project) -> QuerySet[Session]:
    """A project's sessions, newest first, with their counts."""
    return with_counts(project.sessions.select_related("coach")).order_by("-on", "-starts_at", "-pk")


def open_actions(project: Project) -> QuerySet[Action]:
    return (
        Action.objects.filter(project=project, status=ActionStatus.OPEN)
        .select_related("project", "owner__user", "raised_in")
        .order_by("due_on", "pk")
    )


def coach_sessions(user: User) -> QuerySet[Session]:
    """The sessions a coach ran or is down to run, and those of the projects they coach, newest first."""
    coached = Project.objects.filter(Q(lead_coach=user) | Q(co_coach=user)).values("pk")
    mine = Q(coach=user) | Q(project_id__in=coached)  # a subquery, not a join: each side uses its index
    return with_counts(Session.objects.filter(mine).select_related("project", "project__practice", "coach")).order_by(
        "-on", "-starts_at", "-pk"
    )


# The log page


def team_of(project: Project) -> list[TeamMember]:
    return list(project.team.select_related("user"))


def carried_actions(session: Session) -> QuerySet[Action]:
    """The actions raised before this session that were open when it started (and any closed at it).

    An action closed at this session (``closed_on`` its date) stays listed, so its review can be
    changed again; one done or dropped before it does not carry.
    """
    return (
        Action.objects.filter(project_id=session.project_id, raised_in__on__lte=session.on)
        .exclude(raised_in_id=session.pk)
        .exclude(raised_in__on=session.on, raised_in_id__gt=session.pk)
        .filter(Q(status=ActionStatus.OPEN) | Q(closed_on__gte=session.on))
        .select_related("owner__user", "raised_in", "project")
        .order_by("due_on", "pk")
    )


def raised_actions(session: Session) -> list[Action]:
    return list(session.actions_raised.select_related("owner__user", "project").order_by("pk"))


def closed_at(session: Session) -> QuerySet[Action]:
    """Carried-over actions that were closed at this session."""
    return carried_actions(session).exclude(status=ActionStatus.OPEN)


def attendance_of(session: Session) -> dict[int, str]:
    return dict(session.attendance.values_list("member_id", "status"))


# Reflections


def mentee_ids(user: User | AnonymousUser, today: date) -> set[int]:
    """The user ids of the coaches this user mentors today."""
    if not user.is_authenticated:
        return set()
    active = Mentoring.objects.filter(mentor__user=user, starts_on__lte=today).exclude(ends_on__lt=today)
    return set(active.values_list("mentee__user_id", flat=True))


def readable_reflections(user: User | AnonymousUser, session: Session, today: date) -> list[Reflection]:
    """The reflections on a session this user may read: their own and their mentees'; nothing else, not even a count."""
    if not user.is_authenticated:
        return []
    readers = Q(coach=user) | Q(coach_id__in=list(mentee_ids(user, today)))
    return list(session.reflections.filter(readers).select_related("coach"))


def sessions_for_reflection(user: User | AnonymousUser, today: date) -> QuerySet[Session]:
    """Sessions of the user's projects, and those a mentee reflected on (a mentor reaches these only for that)."""
    if not user.is_authenticated:
        return Session.objects.none()
    mentees = list(mentee_ids(user, today))
    reach = Q(project__in=projects_for(user))
    if mentees:
        reach |= Q(pk__in=Reflection.objects.filter(coach_id__in=mentees).values("session_id"))
    return Session.objects.filter(reach).select_related("project", "project__practice", "coach")


# The coach's home


@dataclass
class CaseloadRow:
    project: Project
    last_held: date | None
    next_on: date | None
    open_count: int
    overdue_count: int
    days_since_contact: int | None


def caseload_rows(user: User, today: date) -> list[CaseloadRow]:
    """The coach's open projects with their last and next session and their open and overdue actions: one query."""
    sessions = Session.objects.filter(project=OuterRef("pk"))
    last_held = sessions.filter(status=SessionStatus.HELD, on__lte=today).order_by("-on").values("on")[:1]
    upcoming = sessions.filter(status__in=[SessionStatus.PLANNED, SessionStatus.DRAFT], on__gte=today)
    open_actions_ = Action.objects.filter(project=OuterRef("pk"), status=ActionStatus.OPEN).values("project")
    overdue = open_actions_.filter(due_on__lt=today)
    shown = ("title", "step", "practice_id", "practice__name")  # what the caseload table shows
    projects = (
        caseload(user)
        .only(*shown)
        .annotate(
            last_held=Subquery(last_held),
            next_on=Subquery(upcoming.order_by("on", "starts_at").values("on")[:1]),
            open_count=Coalesce(Subquery(open_actions_.annotate(n=Count("pk")).values("n")), Value(0)),
            overdue_count=Coalesce(Subquery(overdue.annotate(n=Count("pk")).values("n")), Value(0)),
        )
    )
    return [
        CaseloadRow(
            project=p,
            last_held=p.last_held,  # type: ignore[attr-defined]
            next_on=p.next_on,  # type: ignore[attr-defined]
            open_count=p.open_count,  # type: ignore[attr-defined]
            overdue_count=p.overdue_count,  # type: ignore[attr-defined]
            days_since_contact=(today - p.last_held).days if p.last_held else None,  # type: ignore[attr-defined]
        )
        for p in projects
    ]


def week_of(today: date) -> tuple[date, date]:
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)


def week_sessions(user: User, today: date) -> QuerySet[Session]:
    """This week's sessions (Monday to Sunday) of the coach's projects, in time order."""
    monday, sunday = week_of(today)
    coached = Project.objects.filter(Q(lead_coach=user) | Q(co_coach=user)).values("pk")
    mine = Q(coach=user) | Q(project_id__in=coached)  # a subquery, not a join: each side uses its index
    return (
        Session.objects.filter(mine, on__range=(monday, sunday))
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("project", "project__practice")
        .order_by("on", "starts_at", "pk")
    )


@dataclass
class Refresher:
    last_training: date | None
    due_on: date | None
    overdue: bool


def profile_of(user: User) -> CoachProfile | None:
    """The coach's profile with the date of their last training, or None for a coach without one."""
    return CoachProfile.objects.filter(user=user).annotate(last_training=Max("training__completed_on")).first()


def refresher_for(profile: CoachProfile, today: date) -> Refresher:
    """A refresher falls due 12 months after the last training (the profile's training date if none is recorded)."""
    last = getattr(profile, "last_training", None) or profile.trained_on
    due = refresher_due(last)
    return Refresher(last_training=last, due_on=due, overdue=due is not None and due < today)


# The calendar feed


def calendar_sessions(profile: CoachProfile, today: date) -> QuerySet[Session]:
    """The coach's planned, draft and held sessions from three months ago onwards."""
    user_id = profile.user_id
    mine = Q(coach_id=user_id) | Q(project__lead_coach_id=user_id) | Q(project__co_coach_id=user_id)
    since = today - relativedelta(months=CALENDAR_MONTHS_BACK)
    return (
        Session.objects.filter(mine, on__gte=since)
        .exclude(status=SessionStatus.CANCELLED)
        .select_related("project", "project__practice")
        .order_by("on", "starts_at", "pk")
    )
