"""Writes for coaching sessions and their actions: each in a transaction, each audited.

A session's log is saved whole, naming the ``version`` the page showed: a save against an
older version is refused (``SessionConflict``), never a silent overwrite. While the session
is a draft the log saves as the coach types; an action row is kept only once it says what,
who and by when. Saving it as held applies the stricter rules (not in the future, a length
of more than 0 minutes, every action row complete) and plans the next session.

The open actions carried into a session are reviewed there: a review, like an action row's
status, names the status the page showed (``was``), so a tick made elsewhere meanwhile (by
the action's owner) is kept rather than overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone

from microsystems.audit import audit
from microsystems.models import User
from projects.models import Project, Step
from projects.services import ProjectError

from .models import (
    Action,
    ActionStatus,
    Attendance,
    CoachProfile,
    Reflection,
    Session,
    SessionAttendance,
    SessionFormat,
    SessionStatus,
    new_calendar_token,
)
from .session_selectors import carried_actions

MEETING_ROLES = ("leader", "facilitator", "timekeeper", "recorder")
WORKING_STEPS = (Step.ORGANISE, Step.ASSESS, Step.DIAGNOSE, Step.TREAT, Step.FOLLOW_UP)
LONGEST_SESSION = 600  # minutes
DEFAULT_MINUTES = 60


class SessionConflict(ProjectError):
    """The session was saved elsewhere (another tab or the co-coach) since this page loaded: nothing was written."""

    def __init__(self, session: Session) -> None:
        when = timezone.localtime(session.updated_at).strftime("%H:%M")
        super().__init__(
            f"This session was saved somewhere else at {when} (another tab or another coach) while you were "
            "editing it. Nothing you typed here has been saved, and it is still on this page."
        )
        self.session = session


@dataclass(frozen=True)
class ActionRow:
    """One row of the log's actions table; ``prefix`` names its fields (``actions-3``) for messages."""

    prefix: str
    id: int | None
    description: str
    owner_id: int | None
    due_on: date | None
    status: str = ActionStatus.OPEN
    was: str = ""

    @property
    def is_blank(self) -> bool:
        return not self.description and self.owner_id is None and self.due_on is None

    @property
    def is_complete(self) -> bool:
        return bool(self.description) and self.owner_id is not None and self.due_on is not None


@dataclass(frozen=True)
class Review:
    """The status given to a carried-over action in this session, and the status the page showed."""

    status: str
    was: str = ""


@dataclass(frozen=True)
class SessionLog:
    on: date
    starts_at: time
    planned_minutes: int
    actual_minutes: int | None = None
    format: str = SessionFormat.IN_PERSON
    step: str = ""
    meeting_roles: dict[str, int] = field(default_factory=dict)
    attendance: dict[int, str] = field(default_factory=dict)
    agenda: str = ""
    notes: str = ""
    decisions: str = ""
    next_on: date | None = None
    next_starts_at: time | None = None
    actions: list[ActionRow] = field(default_factory=list)
    reviews: dict[int, Review] = field(default_factory=dict)


@dataclass(frozen=True)
class SavedLog:
    session: Session
    action_ids: dict[str, int]  # row prefix → the action saved from it
    next_session: Session | None = None


# Starting a session


def start_session(*, project: Project, by: User, now: datetime | None = None) -> Session:
    """The session to log now: a draft being written, else the next planned session, else a new draft."""
    with transaction.atomic():
        waiting = Session.objects.select_for_update().filter(project=project).order_by("on", "starts_at", "pk")
        draft = waiting.filter(status=SessionStatus.DRAFT).first()
        planned = draft or waiting.filter(status=SessionStatus.PLANNED).first()
        if planned is not None:
            return planned
        local = timezone.localtime(now)
        agreement = getattr(project, "agreement", None)
        session = Session.objects.create(
            project=project,
            coach=by,
            status=SessionStatus.DRAFT,
            on=local.date(),
            starts_at=time(local.hour, local.minute - local.minute % 15),
            planned_minutes=agreement.meeting_minutes if agreement else DEFAULT_MINUTES,
            step=project.step if project.step in WORKING_STEPS else "",
        )
        audit(session, "session.started", by=by, summary=f"Started logging a session of {project.title}")
    return session


# Checking a log


def _check_times(log: SessionLog, *, hold: bool, today: date) -> None:
    if not 0 < log.planned_minutes <= LONGEST_SESSION:
        raise ProjectError(
            f"Enter the planned length in minutes, from 1 to {LONGEST_SESSION}.", field="planned_minutes"
        )
    if log.actual_minutes is not None and log.actual_minutes <= 0:
        raise ProjectError(
            "The session cannot end before it starts: enter how long it lasted, in minutes (more than 0).",
            field="actual_minutes",
        )
    if log.actual_minutes is not None and log.actual_minutes > LONGEST_SESSION:
        raise ProjectError(f"A session lasts at most {LONGEST_SESSION} minutes (10 hours).", field="actual_minutes")
    if hold and log.on > today:
        raise ProjectError("A held session cannot be in the future: check the date, or save it as a draft.", field="on")
    if hold and log.actual_minutes is None:
        raise ProjectError("Enter how long the session lasted, in minutes.", field="actual_minutes")
    if log.next_starts_at is not None and log.next_on is None:
        raise ProjectError("Enter the date of the next session, or clear its start time.", field="next_on")
    if log.next_on is not None and log.next_on <= log.on:
        raise ProjectError("The next session must be after this one.", field="next_on")


def _check_choices(log: SessionLog, team: set[int]) -> None:
    if log.format not in SessionFormat.values:
        raise ProjectError("Choose how the session was held.", field="format")
    if log.step and log.step not in WORKING_STEPS:
        raise ProjectError("Choose the step the session worked on.", field="step")
    for role, member_id in log.meeting_roles.items():
        if role not in MEETING_ROLES:
            raise ProjectError("That is not a meeting role.")
        if member_id not in team:
            raise ProjectError(f"Choose a member of the improvement team as {role}.", field=f"role_{role}")
    for member_id, status in log.attendance.items():
        if member_id not in team:
            raise ProjectError("Only members of the improvement team can be marked as attending.")
        if status not in Attendance.values:
            raise ProjectError("Choose attended, sent apologies or did not attend.", field=f"attendance_{member_id}")


def _check_actions(log: SessionLog, team: set[int], *, hold: bool) -> None:
    for row in log.actions:
        if row.is_blank:
            continue
        if row.owner_id is not None and row.owner_id not in team:
            raise ProjectError(
                "The owner must be a member of the improvement team: choose one from the list.",
                field=f"{row.prefix}-owner",
            )
        if row.status not in ActionStatus.values:
            raise ProjectError("Choose open, done or dropped.", field=f"{row.prefix}-status")
        if hold or row.id is not None:
            if not row.description:
                raise ProjectError("Say what the action is.", field=f"{row.prefix}-description")
            if row.owner_id is None:
                raise ProjectError("Choose who owns this action.", field=f"{row.prefix}-owner")
            if row.due_on is None:
                raise ProjectError("Enter the date this action is due.", field=f"{row.prefix}-due_on")


def check_log(*, session: Session, log: SessionLog, hold: bool, today: date, team: set[int]) -> None:
    """Raise a ``ProjectError`` at the first field the rules refuse."""
    _check_times(log, hold=hold, today=today)
    _check_choices(log, team)
    _check_actions(log, team, hold=hold)


# Saving a log


def save_session_log(
    *, session: Session, log: SessionLog, base_version: int, by: User, hold: bool = False, today: date | None = None
) -> SavedLog:
    """Save the whole log; ``hold`` marks the session held (or keeps it held) and plans the next one.

    The returned ``SavedLog.session`` is the saved row (the ``session`` passed in is left as it was).
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        current = Session.objects.select_for_update(of=("self",)).select_related("project").get(pk=session.pk)
        if current.version != base_version:
            raise SessionConflict(current)
        if current.status == SessionStatus.CANCELLED:
            raise ProjectError("This session was cancelled: it cannot be logged.")
        was_held, previous_next_on = current.status == SessionStatus.HELD, current.next_on
        hold = hold or was_held
        team = set(current.project.team.values_list("pk", flat=True))
        check_log(session=current, log=log, hold=hold, today=today, team=team)
        _write_session(current, log, hold=hold)
        _write_attendance(current, log.attendance)
        action_ids = _write_actions(current, log.actions, by=by)
        _write_reviews(current, log.reviews, by=by)
        next_session = _plan_next(current, previous_next_on=previous_next_on, by=by) if hold else None
        if hold:  # a draft autosaves every few seconds: the audit trail records the log once it is held
            audit(
                current,
                "session.saved" if was_held else "session.held",
                by=by,
                summary=f"{current.project.title}: session on {current.on:%d/%m/%Y} v{current.version}",
                changes={"status": current.status, "version": current.version},
            )
    return SavedLog(session=current, action_ids=action_ids, next_session=next_session)


def _write_session(session: Session, log: SessionLog, *, hold: bool) -> None:
    session.on, session.starts_at = log.on, log.starts_at
    session.planned_minutes, session.actual_minutes = log.planned_minutes, log.actual_minutes
    session.format, session.step = log.format, log.step
    session.meeting_roles = {role: log.meeting_roles[role] for role in MEETING_ROLES if role in log.meeting_roles}
    session.agenda, session.notes, session.decisions = log.agenda, log.notes, log.decisions
    session.next_on, session.next_starts_at = log.next_on, log.next_starts_at
    session.status = SessionStatus.HELD if hold else SessionStatus.DRAFT
    session.version += 1
    session.updated_at = timezone.now()
    session.save()


def _write_attendance(session: Session, attendance: dict[int, str]) -> None:
    session.attendance.exclude(member_id__in=list(attendance)).delete()
    existing = {a.member_id: a for a in session.attendance.all()}
    for member_id, status in attendance.items():
        row = existing.get(member_id)
        if row is None:
            SessionAttendance.objects.create(session=session, member_id=member_id, status=status)
        elif row.status != status:
            row.status = status
            row.save(update_fields=["status"])


def _close(action: Action, status: str, *, on: date | None, by: User) -> None:
    action.status = status
    action.closed_on = None if status == ActionStatus.OPEN else on
    action.closed_by = None if status == ActionStatus.OPEN else by


def _write_actions(session: Session, rows: list[ActionRow], *, by: User) -> dict[str, int]:
    """Create, change and remove the actions raised in this session; rows still being typed wait (drafts only)."""
    existing = {a.pk: a for a in session.actions_raised.all()}
    kept_ids = {row.id for row in rows if row.id in existing and not row.is_blank}
    removed = [pk for pk in existing if pk not in kept_ids]
    if removed:
        Action.objects.filter(pk__in=removed).delete()
    saved: dict[str, int] = {}
    for row in rows:
        if row.is_blank:
            continue
        action = existing.get(row.id) if row.id is not None else None
        if action is None and not row.is_complete:
            continue  # a draft's new row is kept once it says what, who and by when
        if action is None:
            action = Action(project=session.project, raised_in=session, created_at=timezone.now())
        assert row.description and row.owner_id is not None and row.due_on is not None
        action.description, action.owner_id, action.due_on = row.description, row.owner_id, row.due_on
        if row.status != action.status and (not row.was or row.was == action.status or action.pk is None):
            _close(action, row.status, on=session.on, by=by)
        action.save()
        saved[row.prefix] = action.pk
    return saved


def _write_reviews(session: Session, reviews: dict[int, Review], *, by: User) -> None:
    """Apply the statuses given to carried-over actions; one changed elsewhere since the page loaded keeps that."""
    if not reviews:
        return
    carried = {a.pk: a for a in carried_actions(session).filter(pk__in=list(reviews))}
    for pk, review in reviews.items():
        action = carried.get(pk)
        if action is None or review.status not in ActionStatus.values or review.status == action.status:
            continue
        if review.was and review.was != action.status:
            continue
        _close(action, review.status, on=session.on, by=by)
        action.save(update_fields=["status", "closed_on", "closed_by"])


def _plan_next(session: Session, *, previous_next_on: date | None, by: User) -> Session | None:
    """The next session, planned for the date and time the log gives, unless one is already there.

    When the log's next date changes, the session planned from the old date (if nobody has
    touched it since) moves to the new one rather than leaving a stray plan behind.
    """
    if session.next_on is None:
        return None
    siblings = Session.objects.filter(project_id=session.project_id).exclude(pk=session.pk)
    if siblings.filter(on=session.next_on).exclude(status=SessionStatus.CANCELLED).exists():
        return None
    starts_at = session.next_starts_at or session.starts_at
    stale = None
    if previous_next_on is not None and previous_next_on != session.next_on:
        stale = siblings.filter(on=previous_next_on, status=SessionStatus.PLANNED, version=0).first()
    if stale is not None:
        stale.on, stale.starts_at, stale.updated_at = session.next_on, starts_at, timezone.now()
        stale.save(update_fields=["on", "starts_at", "updated_at"])
        audit(stale, "session.moved", by=by, summary=f"Next session moved to {stale.on:%d/%m/%Y}")
        return stale
    planned = Session.objects.create(
        project_id=session.project_id,
        coach=by,
        status=SessionStatus.PLANNED,
        on=session.next_on,
        starts_at=starts_at,
        planned_minutes=session.planned_minutes,
        format=session.format,
        step=session.step,
        meeting_roles=dict(session.meeting_roles),
    )
    audit(planned, "session.planned", by=by, summary=f"Next session planned for {planned.on:%d/%m/%Y}")
    return planned


# Actions outside a session


def tick_action(*, action: Action, status: str, by: User, today: date | None = None) -> Action:
    """Mark an action done or dropped, or open it again."""
    if status not in ActionStatus.values:
        raise ProjectError("Choose done, dropped or open.", field="status")
    if status == action.status:
        return action
    with transaction.atomic():
        before = action.status
        _close(action, status, on=today or timezone.localdate(), by=by)
        action.save(update_fields=["status", "closed_on", "closed_by"])
        audit(action, "action.ticked", by=by, summary=action.description, changes={"status": [before, status]})
    return action


# Reflections and the calendar link


def write_reflection(*, session: Session, by: User, text: str) -> Reflection:
    """The coach's own private reflection on a held session, written or rewritten."""
    text = text.strip()
    if session.status != SessionStatus.HELD:
        raise ProjectError("You can write a reflection once the session is saved as held.")
    if not text:
        raise ProjectError("Write your reflection, or leave the page.", field="text")
    with transaction.atomic():
        reflection = Reflection.objects.filter(session=session, coach=by).first()
        if reflection is None:
            reflection = Reflection.objects.create(session=session, coach=by, text=text)
        else:
            reflection.text, reflection.written_at = text, timezone.now()
            reflection.save(update_fields=["text", "written_at"])
        audit(reflection, "reflection.written", by=by, summary=f"Reflection on session {session.pk}")
    return reflection


def renew_calendar_token(*, profile: CoachProfile, by: User) -> CoachProfile:
    """A new secret link for the coach's calendar feed: the old link stops working at once."""
    with transaction.atomic():
        profile.calendar_token = new_calendar_token()
        profile.save(update_fields=["calendar_token"])
        audit(profile, "coach.calendar_link_renewed", by=by, summary="Calendar feed link replaced")
    return profile
