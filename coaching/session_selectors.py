"""Reads of coaching sessions and actions, scoped to what a user may see and shaped for each page.

Every page reads a constant number of queries however many projects, sessions or actions
there are: counts and dates come from annotations and subqueries, never from a query per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from django.contrib.auth.models import AnonymousUser
from django.db.models import DateField, F, Field, Func, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL

from microsystems.compiled import CompiledQuery
from microsystems.models import User
from practices.models import ProgrammeRoleKind
from practices.permissions import roles_of
from projects.models import Project, TeamMember
from projects.selectors import caseload_of, projects_for

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


def _count(rows: QuerySet[Any]) -> Subquery:
    """A correlated ``COUNT(*)`` of ``rows``: never null, so it needs no ``GROUP BY`` nor ``Coalesce``."""
    return Subquery(
        rows.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n"), output_field=IntegerField()
    )


def with_counts(sessions: QuerySet[Session]) -> QuerySet[Session]:
    """Annotate how many attended and how many actions each session raised (two subqueries, not a join)."""
    present = SessionAttendance.objects.filter(session=OuterRef("pk"), status=Attendance.PRESENT)
    return sessions.annotate(
        attended=_count(present), actions_count=_count(Action.objects.filter(raised_in=OuterRef("pk")))
    )


# What a row of a list of sessions shows (``coaching.tables.session_rows_html``): plain values, not sessions.
SESSION_ROW = ("pk", "on", "starts_at", "status", "format", "step", "planned_minutes", "actual_minutes")
SESSION_ROW_PROJECT = ("project_id", "project__title", "project__practice__name")


def project_sessions(project: Project) -> QuerySet[Session, dict[str, Any]]:
    """A project's sessions, newest first, with their counts: the rows of its list."""
    sessions = with_counts(Session.objects.filter(project_id=project.pk))
    return sessions.order_by("-on", "-starts_at", "-pk").values(*SESSION_ROW, "attended", "actions_count")


def open_actions(project: Project) -> QuerySet[Action]:
    return (
        Action.objects.filter(project=project, status=ActionStatus.OPEN)
        .select_related("project", "owner__user", "raised_in")
        .order_by("due_on", "pk")
    )


def coach_sessions(user: User) -> QuerySet[Session, dict[str, Any]]:
    """The sessions a coach ran or is down to run, and those of the projects they coach, newest first: the rows
    of their list, with each session's project."""
    coached = Project.objects.filter(Q(lead_coach_id=user.pk) | Q(co_coach_id=user.pk)).values("pk")
    mine = Q(coach_id=user.pk) | Q(project_id__in=coached)  # a subquery, not a join: each side uses its index
    return (
        with_counts(Session.objects.filter(mine))
        .order_by("-on", "-starts_at", "-pk")
        .values(*SESSION_ROW, *SESSION_ROW_PROJECT, "attended", "actions_count")
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
    project_id: int
    title: str
    step: str
    practice_name: str
    last_held: date | None
    next_on: date | None
    open_count: int
    overdue_count: int
    days_since_contact: int | None


# A caseload project's figures, each a correlated subquery on the outer project's id. Written out rather
# than built from querysets: building and compiling four ``Subquery`` expressions cost the coach's home
# about 1 ms a request, ten times what the database spends on them. They read the outer query's table by
# name, so ``caseload_rows`` evaluates its queryset at once and never nests it in another query.
LAST_HELD = (
    'SELECT MAX(s."on") FROM coaching_session s'
    ' WHERE s.project_id = projects_project.id AND s.status = %s AND s."on" <= %s'
)
NEXT_ON = (
    'SELECT MIN(s."on") FROM coaching_session s'
    ' WHERE s.project_id = projects_project.id AND s.status IN (%s, %s) AND s."on" >= %s'
)
OPEN_ACTIONS = "SELECT COUNT(*) FROM coaching_action a WHERE a.project_id = projects_project.id AND a.status = %s"
OVERDUE_ACTIONS = OPEN_ACTIONS + " AND a.due_on < %s"


def _figure(sql: str, params: tuple[Any, ...], field: Field[Any, Any]) -> RawSQL:
    return RawSQL(sql, params, output_field=field)  # noqa: S611  (constant SQL, every value a bound parameter)


_CASELOAD_ROWS = CompiledQuery(
    lambda user_id, today: (
        caseload_of(user_id)
        .annotate(
            last_held=_figure(LAST_HELD, (SessionStatus.HELD, today), DateField()),
            next_on=_figure(NEXT_ON, (SessionStatus.PLANNED, SessionStatus.DRAFT, today), DateField()),
            open_count=_figure(OPEN_ACTIONS, (ActionStatus.OPEN,), IntegerField()),
            overdue_count=_figure(OVERDUE_ACTIONS, (ActionStatus.OPEN, today), IntegerField()),
        )
        .values_list("pk", "title", "step", "practice__name", "last_held", "next_on", "open_count", "overdue_count")
    )
)


def caseload_rows(user: User, today: date) -> list[CaseloadRow]:
    """The coach's open projects with their last and next session and their open and overdue actions: one query,
    compiled once per process.

    Plain values, not projects: a coach's caseload is long and the table shows four of a project's columns.
    """
    rows = _CASELOAD_ROWS(user.pk, today)
    return [
        CaseloadRow(
            project_id=pk,
            title=title,
            step=step,
            practice_name=practice_name,
            last_held=last,
            next_on=next_on,
            open_count=open_count,
            overdue_count=overdue_count,
            days_since_contact=(today - last).days if last else None,
        )
        for pk, title, step, practice_name, last, next_on, open_count, overdue_count in rows
    ]


def week_of(today: date) -> tuple[date, date]:
    monday = today - timedelta(days=today.weekday())
    return monday, monday + timedelta(days=6)


@dataclass
class WeekSession:
    pk: int
    on: date
    starts_at: time
    status: str
    format: str
    project_title: str
    practice_name: str


def week_sessions(user: User, today: date) -> list[WeekSession]:
    """This week's sessions (Monday to Sunday) of the coach's projects, in time order: the values the home shows."""
    monday, sunday = week_of(today)
    return [WeekSession(*row) for row in _WEEK_SESSIONS(user.pk, monday, sunday)]


def _week_sessions(user_id: int, monday: date, sunday: date) -> QuerySet[Session, Any]:
    coached = Project.objects.filter(Q(lead_coach_id=user_id) | Q(co_coach_id=user_id)).values("pk")
    mine = Q(coach_id=user_id) | Q(project_id__in=coached)  # a subquery, not a join: each side uses its index
    return (
        Session.objects.filter(mine, on__range=(monday, sunday))
        .exclude(status=SessionStatus.CANCELLED)
        .order_by("on", "starts_at", "pk")
        .values_list("pk", "on", "starts_at", "status", "format", "project__title", "project__practice__name")
    )


_WEEK_SESSIONS = CompiledQuery(_week_sessions)


@dataclass
class Refresher:
    last_training: date | None
    due_on: date | None
    overdue: bool


@dataclass
class HomeProfile:
    """What the coach's home reads of their profile."""

    calendar_token: str
    trained_on: date | None
    last_training: date | None


def profile_of(user: User) -> HomeProfile | None:
    """The coach's profile with the date of their last training, or None for a coach without one."""
    return next((HomeProfile(*row) for row in _PROFILE(user.pk)), None)


_PROFILE = CompiledQuery(
    lambda user_id: (
        CoachProfile.objects.filter(user_id=user_id)
        .order_by()
        .values_list("calendar_token", "trained_on")
        .annotate(last_training=Max("training__completed_on"))[:1]
    )
)


def refresher_for(profile: HomeProfile, today: date) -> Refresher:
    """A refresher falls due 12 months after the last training (the profile's training date if none is recorded)."""
    last = profile.last_training or profile.trained_on
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
