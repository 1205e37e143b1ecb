"""Reminders: a follow-up 14 days before and on the day, a coaching session the day before, a refresher due.

Each finder takes the day the sweep runs and returns the unsaved rows due by then. A sweep
that did not run on a day must not lose that day's reminders, so each looks at a window,
not a single day, and the deduplication key (which names the date the reminder is about)
makes it go once:

- *Follow-up soon*: due 1 to 14 days ahead. Normally found 14 days before; after an outage
  it goes at the next sweep, saying how many days are left. On the day itself the
  on-the-day reminder takes over, so a late sweep never sends both at once.
- *Follow-up today*: due today, or up to ``LATE_BY_AT_MOST`` days ago (a sweep that missed
  the day); older ones are the lead's weekly digest's business, not a reminder's.
- *Session tomorrow*: a planned session tomorrow, or today if yesterday's sweep missed it.
- *Refresher due*: the refresher falls due within ``REFRESHER_NOTICE`` either side of today.

A follow-up's key names its due date, so a rescheduled follow-up reminds again for the new
date; a session's names its date, for the same reason. A key also names the recipient: each
person gets their own row. Every finder reads a constant number of queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta

from django.db.models import Count, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from coaching.coaches import last_trained
from coaching.models import REFRESHER_AFTER, CoachProfile, Session, SessionStatus, refresher_due
from evaluation.models import FollowUp, FollowUpReschedule, FollowUpStatus
from microsystems.models import User
from projects.models import Project, Step, TeamMember

from .content import Draft, absolute, day, days_until, new_only
from .ics import follow_up_invitation
from .models import Kind, Notification

SOON = timedelta(days=14)
LATE_BY_AT_MOST = timedelta(days=2)
REFRESHER_NOTICE = timedelta(days=30)


def champions_of(projects: QuerySet[Project]) -> dict[int, User]:
    """Each project's champion, if the champion is a member of staff with an active login: one query."""
    members = TeamMember.objects.filter(
        project__in=projects, is_champion=True, user__isnull=False, user__is_active=True
    ).select_related("user")
    return {member.project_id: member.user for member in members if member.user is not None}


def _active(users: Iterable[User | None]) -> list[User]:
    """The active users among ``users``, each once, in order."""
    seen: dict[int, User] = {}
    for user in users:
        if user is not None and user.is_active and user.pk not in seen:
            seen[user.pk] = user
    return list(seen.values())


# Follow-ups


def _follow_ups_due(start: date, end: date) -> QuerySet[FollowUp]:
    moves = (
        FollowUpReschedule.objects.filter(follow_up=OuterRef("pk"))
        .order_by()
        .values("follow_up")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        FollowUp.objects.filter(status=FollowUpStatus.SCHEDULED, due_on__gte=start, due_on__lte=end)
        .exclude(project__step=Step.WITHDRAWN)
        .select_related("project__practice", "project__lead_coach", "project__co_coach", "assigned_to")
        .annotate(moves=Coalesce(Subquery(moves, output_field=IntegerField()), 0))
        .order_by("due_on", "pk")
    )


def _follow_up_drafts(today: date, *, start: date, end: date, kind: str, when: str) -> list[Notification]:
    follow_ups = _follow_ups_due(start, end)
    champions = champions_of(Project.objects.filter(pk__in=follow_ups.values("project_id")))
    now = timezone.now()
    drafts = []
    for follow_up in follow_ups:
        project = follow_up.project
        coaches = _active([follow_up.assigned_to, project.lead_coach, project.co_coach])
        champion = champions.get(project.pk)
        path = follow_up.get_absolute_url()
        for person in _active([*coaches, champion]):
            drafts.append(
                Draft(
                    key=f"follow-up:{follow_up.pk}:{follow_up.due_on.isoformat()}:{when}:user-{person.pk}",
                    kind=kind,
                    recipient=person,
                    subject=f"{follow_up.get_kind_display()} of {project.title}: due {_due_words(follow_up, today)}",
                    template="follow_up",
                    link=path,
                    context={
                        "follow_up": follow_up,
                        "project": project,
                        "due": day(follow_up.due_on),
                        "due_words": _due_words(follow_up, today),
                        "is_coach": person in coaches,
                        "coaches": coaches,
                    },
                    calendar=_invitation(follow_up, person, path, now),
                )
            )
    return new_only(drafts)


def _due_words(follow_up: FollowUp, today: date) -> str:
    words = days_until(follow_up.due_on, today)
    return words if words == "today" else f"{words}, on {day(follow_up.due_on)}"


def _invitation(follow_up: FollowUp, person: User, path: str, now: datetime) -> Callable[[], str]:
    """Write the .ics only if the message is new (``content.render`` calls it)."""

    def build() -> str:
        moves: int = follow_up.moves  # type: ignore[attr-defined]
        return follow_up_invitation(follow_up, attendee=person, url=absolute(path), sequence=moves, now=now)

    return build


def follow_ups_soon(today: date) -> list[Notification]:
    """A follow-up due in the next 14 days (not today): to its coaches and the project's champion."""
    return _follow_up_drafts(
        today, start=today + timedelta(days=1), end=today + SOON, kind=Kind.FOLLOW_UP_SOON, when="due-14-days"
    )


def follow_ups_today(today: date) -> list[Notification]:
    """A follow-up due today (or in the last two days, if the sweep missed its day): the same people."""
    return _follow_up_drafts(
        today, start=today - LATE_BY_AT_MOST, end=today, kind=Kind.FOLLOW_UP_TODAY, when="due-today"
    )


# Coaching sessions


def sessions_tomorrow(today: date) -> list[Notification]:
    """A planned coaching session tomorrow: to its coach, the project's coaches and the champion."""
    sessions = (
        Session.objects.filter(status=SessionStatus.PLANNED, on__gte=today, on__lte=today + timedelta(days=1))
        .exclude(project__step__in=[Step.WITHDRAWN, Step.COMPLETED])
        .select_related("coach", "project__practice", "project__lead_coach", "project__co_coach")
        .order_by("on", "starts_at", "pk")
    )
    champions = champions_of(Project.objects.filter(pk__in=sessions.values("project_id")))
    drafts = []
    for session in sessions:
        project = session.project
        coaches = _active([session.coach, project.lead_coach, project.co_coach])
        when = f"{days_until(session.on, today)} at {session.starts_at:%H:%M}"
        for person in _active([*coaches, champions.get(project.pk)]):
            drafts.append(
                Draft(
                    key=f"session:{session.pk}:{session.on.isoformat()}:day-before:user-{person.pk}",
                    kind=Kind.SESSION_TOMORROW,
                    recipient=person,
                    subject=f"Coaching session {when}: {project.title}",
                    template="session",
                    link=session.get_absolute_url(),
                    context={
                        "session": session,
                        "project": project,
                        "when": when,
                        "on": day(session.on),
                        "is_coach": person in coaches,
                    },
                )
            )
    return new_only(drafts)


# Refreshers


def refreshers_due(today: date) -> list[Notification]:
    """A coach whose refresher falls due within a month either side of today (a year after their last training)."""
    trained_since = today - REFRESHER_AFTER - REFRESHER_NOTICE
    coaches = (
        CoachProfile.objects.filter(is_active=True, user__is_active=True)
        .annotate(last_training=Max("training__completed_on"))
        .filter(Q(trained_on__gte=trained_since) | Q(last_training__gte=trained_since))
        .select_related("user")
    )
    drafts = []
    for coach in coaches:
        due = refresher_due(last_trained(coach.trained_on, coach.last_training))  # type: ignore[attr-defined]
        if due is None or not today - REFRESHER_NOTICE <= due <= today + REFRESHER_NOTICE:
            continue
        drafts.append(
            Draft(
                key=f"refresher:{coach.user_id}:{due.isoformat()}",
                kind=Kind.REFRESHER_DUE,
                recipient=coach.user,
                subject=f"Your coaching refresher is due {days_until(due, today)}, on {day(due)}"
                if due >= today
                else f"Your coaching refresher was due on {day(due)}",
                template="refresher",
                link=reverse("coaching:coach", args=[coach.pk]),
                context={"coach": coach, "due": day(due), "overdue": due < today},
            )
        )
    return new_only(drafts)
