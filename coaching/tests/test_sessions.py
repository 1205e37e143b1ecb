"""Logging coaching sessions: what a log may say, drafts and versions, actions carried over, the next session."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from coaching.models import Action, ActionStatus, Attendance, Reflection, Session, SessionStatus
from coaching.session_selectors import carried_actions, caseload_rows
from coaching.sessions import (
    ActionRow,
    Review,
    SessionConflict,
    SessionLog,
    renew_calendar_token,
    save_session_log,
    start_session,
    tick_action,
    write_reflection,
)
from coaching.tests.factories import ActionFactory, CoachProfileFactory, SessionFactory
from microsystems.models import AuditEntry
from projects.models import MemberKind, Step
from projects.services import ProjectError
from projects.tests.factories import ProjectFactory, TeamMemberFactory

TODAY = date(2025, 3, 4)


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice, lead_coach=programme.coach, step=Step.ASSESS)


@pytest.fixture
def team(project, programme):
    nurse = TeamMemberFactory(project=project, kind=MemberKind.STAFF, user=programme.nurse, name="", team_role="Nurse")
    manager = TeamMemberFactory(
        project=project, kind=MemberKind.STAFF, user=programme.manager, name="", team_role="Practice manager"
    )
    patient = TeamMemberFactory(project=project, kind=MemberKind.PATIENT, name="Pat Rep", team_role="Patient")
    return {"nurse": nurse, "manager": manager, "patient": patient}


@pytest.fixture
def draft(project, programme):
    return SessionFactory(
        project=project, coach=programme.coach, status=SessionStatus.DRAFT, on=TODAY, actual_minutes=None
    )


def log(**overrides) -> SessionLog:
    values = {"on": TODAY, "starts_at": time(13, 0), "planned_minutes": 60, "actual_minutes": 60}
    return SessionLog(**(values | overrides))


def row(n: int, owner, *, description="Draft the buddy list", due=TODAY + timedelta(days=14), **kwargs) -> ActionRow:
    return ActionRow(
        prefix=f"actions-{n}",
        id=None,
        description=description,
        owner_id=owner.pk if owner else None,
        due_on=due,
        **kwargs,
    )


def save(session: Session, entry: SessionLog, by, *, hold=False, version=None):
    base = session.version if version is None else version
    return save_session_log(session=session, log=entry, base_version=base, by=by, hold=hold, today=TODAY)


def refused(session, entry, by, *, hold=True) -> ProjectError:
    with pytest.raises(ProjectError) as caught:
        save(session, entry, by, hold=hold)
    return caught.value


# What a log may say


def test_a_held_session_cannot_be_in_the_future(draft, programme):
    error = refused(draft, log(on=TODAY + timedelta(days=1)), programme.coach)
    assert (error.field, str(error)) == (
        "on",
        "A held session cannot be in the future: check the date, or save it as a draft.",
    )
    draft.refresh_from_db()
    assert (draft.status, draft.version) == (SessionStatus.DRAFT, 0)


def test_a_draft_may_be_in_the_future(draft, programme):
    saved = save(draft, log(on=TODAY + timedelta(days=1), actual_minutes=None), programme.coach)
    assert (saved.session.status, saved.session.on) == (SessionStatus.DRAFT, TODAY + timedelta(days=1))


@pytest.mark.parametrize("minutes", [0, -15])
def test_a_session_cannot_end_before_it_starts(draft, programme, minutes):
    for hold in (True, False):
        error = refused(draft, log(actual_minutes=minutes), programme.coach, hold=hold)
        assert error.field == "actual_minutes"
        assert str(error) == (
            "The session cannot end before it starts: enter how long it lasted, in minutes (more than 0)."
        )
    assert Session.objects.get(pk=draft.pk).version == 0


def test_a_held_session_needs_its_length(draft, programme):
    error = refused(draft, log(actual_minutes=None), programme.coach)
    assert (error.field, str(error)) == ("actual_minutes", "Enter how long the session lasted, in minutes.")


def test_an_action_owner_must_be_on_the_team(draft, programme, team):
    stranger = TeamMemberFactory()  # on another project's team
    for hold in (True, False):
        error = refused(draft, log(actions=[row(0, team["nurse"]), row(1, stranger)]), programme.coach, hold=hold)
        assert error.field == "actions-1-owner"
        assert str(error) == "The owner must be a member of the improvement team: choose one from the list."
    assert not Action.objects.exists()


def test_a_meeting_role_must_go_to_a_team_member(draft, programme, team):
    stranger = TeamMemberFactory()
    error = refused(draft, log(meeting_roles={"leader": team["nurse"].pk, "recorder": stranger.pk}), programme.coach)
    assert (error.field, str(error)) == ("role_recorder", "Choose a member of the improvement team as recorder.")


def test_the_next_session_comes_after_this_one(draft, programme):
    error = refused(draft, log(next_on=TODAY), programme.coach)
    assert (error.field, str(error)) == ("next_on", "The next session must be after this one.")


def test_a_held_session_needs_every_action_row_complete(draft, programme, team):
    error = refused(draft, log(actions=[row(0, None)]), programme.coach)
    assert (error.field, str(error)) == ("actions-0-owner", "Choose who owns this action.")
    error = refused(draft, log(actions=[row(0, team["nurse"], due=None)]), programme.coach)
    assert (error.field, str(error)) == ("actions-0-due_on", "Enter the date this action is due.")
    error = refused(draft, log(actions=[row(0, team["nurse"], description="")]), programme.coach)
    assert (error.field, str(error)) == ("actions-0-description", "Say what the action is.")


def test_a_draft_keeps_an_action_row_only_once_it_is_complete(draft, programme, team):
    saved = save(draft, log(actions=[row(0, None), row(1, team["nurse"])]), programme.coach)
    assert list(saved.action_ids) == ["actions-1"]
    assert [a.owner for a in Action.objects.all()] == [team["nurse"]]


# Saving the whole log


def test_a_held_log_records_everything(draft, programme, team):
    entry = log(
        actual_minutes=75,
        format="video",
        step=Step.ASSESS,
        meeting_roles={"leader": team["manager"].pk, "timekeeper": team["nurse"].pk},
        attendance={team["nurse"].pk: Attendance.PRESENT, team["patient"].pk: Attendance.APOLOGIES},
        agenda="Review the 5Ps",
        notes="Good discussion",
        decisions="Start the buddy list",
        actions=[row(0, team["nurse"]), row(1, team["manager"], description="Book the room")],
    )
    saved = save(draft, entry, programme.coach, hold=True)
    session = Session.objects.get(pk=draft.pk)
    assert (session.status, session.version, session.overrun_minutes) == (SessionStatus.HELD, 1, 15)
    assert session.meeting_roles == {"leader": team["manager"].pk, "timekeeper": team["nurse"].pk}
    assert dict(session.attendance.values_list("member", "status")) == {
        team["nurse"].pk: "present",
        team["patient"].pk: "apologies",
    }
    assert sorted(session.actions_raised.values_list("description", flat=True)) == [
        "Book the room",
        "Draft the buddy list",
    ]
    assert set(saved.action_ids) == {"actions-0", "actions-1"}
    assert AuditEntry.objects.filter(action="session.held", object_id=str(session.pk)).exists()


def test_saving_again_changes_and_removes_the_sessions_own_actions(draft, programme, team):
    first = save(draft, log(actions=[row(0, team["nurse"]), row(1, team["manager"])]), programme.coach)
    kept = replace(row(0, team["manager"], description="Draft the buddy list v2"), id=first.action_ids["actions-0"])
    second = save(first.session, log(actions=[kept]), programme.coach)
    assert second.action_ids == {"actions-0": first.action_ids["actions-0"]}
    assert [(a.description, a.owner) for a in Action.objects.all()] == [("Draft the buddy list v2", team["manager"])]


def test_attendance_follows_the_latest_log(draft, programme, team):
    first = save(draft, log(attendance={team["nurse"].pk: "present", team["manager"].pk: "absent"}), programme.coach)
    save(first.session, log(attendance={team["nurse"].pk: "apologies"}), programme.coach)
    assert dict(draft.attendance.values_list("member", "status")) == {team["nurse"].pk: "apologies"}


def test_a_stale_save_is_refused_and_writes_nothing(draft, programme, team):
    save(draft, log(notes="From the first tab", actual_minutes=None), programme.coach)  # version 0 → 1
    with pytest.raises(SessionConflict) as caught:
        save(draft, log(notes="From the second tab", actions=[row(0, team["nurse"])]), programme.coach, version=0)
    assert caught.value.session.version == 1
    assert "saved somewhere else" in str(caught.value)
    session = Session.objects.get(pk=draft.pk)
    assert (session.notes, session.version) == ("From the first tab", 1)
    assert not Action.objects.exists()


def test_a_draft_autosave_turns_a_planned_session_into_a_draft(project, programme):
    planned = SessionFactory(project=project, coach=programme.coach, status=SessionStatus.PLANNED, on=TODAY)
    saved = save(planned, log(actual_minutes=None, notes="Typing"), programme.coach)
    assert saved.session.status == SessionStatus.DRAFT


# Actions carried over


def test_an_open_action_is_carried_into_the_next_session_and_closed_there(project, programme, team):
    first = SessionFactory(project=project, coach=programme.coach, on=TODAY - timedelta(days=14))
    open_one = ActionFactory(raised_in=first, owner=team["nurse"], description="Audit the inbox")
    dropped = ActionFactory(raised_in=first, owner=team["nurse"], description="Old idea")
    tick_action(action=dropped, status=ActionStatus.DROPPED, by=programme.coach, today=TODAY - timedelta(days=10))
    second = SessionFactory(project=project, coach=programme.coach, status=SessionStatus.DRAFT, on=TODAY)
    assert list(carried_actions(second)) == [open_one]

    reviews = {open_one.pk: Review(status=ActionStatus.DONE, was=ActionStatus.OPEN)}
    save(second, log(reviews=reviews), programme.coach, hold=True)
    open_one.refresh_from_db()
    assert (open_one.status, open_one.closed_on, open_one.closed_by) == ("done", TODAY, programme.coach)
    assert list(carried_actions(second)) == [open_one]  # still listed there, closed at that session
    third = SessionFactory(project=project, coach=programme.coach, status=SessionStatus.DRAFT, on=TODAY + timedelta(7))
    assert list(carried_actions(third)) == []


def test_a_review_does_not_undo_a_tick_made_elsewhere_meanwhile(project, programme, team):
    first = SessionFactory(project=project, coach=programme.coach, on=TODAY - timedelta(days=14))
    action = ActionFactory(raised_in=first, owner=team["nurse"])
    second = SessionFactory(project=project, coach=programme.coach, status=SessionStatus.DRAFT, on=TODAY)
    tick_action(action=action, status=ActionStatus.DONE, by=programme.nurse, today=TODAY)  # the page still shows open
    save(
        second,
        log(actual_minutes=None, reviews={action.pk: Review(ActionStatus.OPEN, was=ActionStatus.OPEN)}),
        programme.coach,
    )
    action.refresh_from_db()
    assert (action.status, action.closed_by) == ("done", programme.nurse)


def test_ticking_an_action_records_who_and_when_and_can_be_undone(project, programme, team):
    action = ActionFactory(raised_in=SessionFactory(project=project, coach=programme.coach), owner=team["nurse"])
    tick_action(action=action, status=ActionStatus.DONE, by=programme.nurse, today=TODAY)
    assert (action.status, action.closed_on, action.closed_by) == ("done", TODAY, programme.nurse)
    tick_action(action=action, status=ActionStatus.OPEN, by=programme.coach, today=TODAY)
    action.refresh_from_db()
    assert (action.status, action.closed_on, action.closed_by) == ("open", None, None)
    with pytest.raises(ProjectError):
        tick_action(action=action, status="finished", by=programme.coach)
    assert AuditEntry.objects.filter(action="action.ticked").count() == 2


# The next session


def test_saving_a_held_session_plans_the_next_one_once(draft, programme, team):
    next_on = TODAY + timedelta(days=14)
    entry = log(next_on=next_on, format="phone", meeting_roles={"leader": team["nurse"].pk})
    first = save(draft, entry, programme.coach, hold=True)
    planned = first.next_session
    assert planned is not None
    assert (planned.status, planned.on, planned.starts_at, planned.format) == ("planned", next_on, time(13), "phone")
    assert planned.meeting_roles == {"leader": team["nurse"].pk}
    again = save(first.session, entry, programme.coach, hold=True)
    assert again.next_session is None
    assert Session.objects.filter(status=SessionStatus.PLANNED).count() == 1


def test_a_changed_next_date_moves_the_untouched_plan(draft, programme):
    first = save(draft, log(next_on=TODAY + timedelta(days=14)), programme.coach, hold=True)
    second = save(first.session, log(next_on=TODAY + timedelta(days=21), next_starts_at=time(9, 30)), programme.coach)
    assert second.next_session is not None and second.next_session.pk == first.next_session.pk  # type: ignore[union-attr]
    planned = Session.objects.get(status=SessionStatus.PLANNED)
    assert (planned.on, planned.starts_at) == (TODAY + timedelta(days=21), time(9, 30))


# Starting a session


def test_starting_a_session_opens_a_draft_then_the_next_planned_then_a_new_one(project, programme):
    planned = SessionFactory(project=project, coach=programme.coach, status=SessionStatus.PLANNED, on=TODAY)
    assert start_session(project=project, by=programme.coach) == planned
    draft = SessionFactory(project=project, coach=programme.coach, status=SessionStatus.DRAFT, on=TODAY)
    assert start_session(project=project, by=programme.coach) == draft
    Session.objects.filter(pk__in=[planned.pk, draft.pk]).update(status=SessionStatus.HELD)
    now = timezone.make_aware(datetime(2025, 3, 4, 13, 7))
    new = start_session(project=project, by=programme.coach, now=now)
    assert (new.status, new.on, new.starts_at, new.step, new.coach) == (
        "draft",
        TODAY,
        time(13, 0),
        Step.ASSESS,
        programme.coach,
    )


# Reflections and the calendar link


def test_a_coach_writes_and_rewrites_their_reflection_on_a_held_session(project, programme):
    session = SessionFactory(project=project, coach=programme.coach)
    write_reflection(session=session, by=programme.coach, text="Went well.")
    write_reflection(session=session, by=programme.coach, text="  Went well; overran.  ")
    assert list(Reflection.objects.values_list("text", flat=True)) == ["Went well; overran."]
    with pytest.raises(ProjectError):
        write_reflection(session=session, by=programme.coach, text="   ")
    planned = SessionFactory(project=project, coach=programme.coach, status=SessionStatus.PLANNED)
    with pytest.raises(ProjectError):
        write_reflection(session=planned, by=programme.coach, text="Too early")


def test_a_new_calendar_token_replaces_the_old(programme):
    profile = CoachProfileFactory(user=programme.coach, commissioner=programme.commissioner)
    old = profile.calendar_token
    renew_calendar_token(profile=profile, by=programme.coach)
    profile.refresh_from_db()
    assert profile.calendar_token != old and len(profile.calendar_token) >= 40


# The coach's home: the caseload's figures


def test_the_caseload_reads_the_last_held_and_next_planned_session_and_the_open_and_overdue_actions(programme):
    coach = programme.coach
    project = ProjectFactory(practice=programme.practice, lead_coach=coach, step=Step.TREAT)
    ProjectFactory(practice=programme.practice, lead_coach=coach, step=Step.COMPLETED)  # closed: not listed
    days = lambda n: TODAY + timedelta(days=n)  # noqa: E731
    held = SessionFactory(project=project, coach=coach, on=days(-10))
    SessionFactory(project=project, coach=coach, on=days(-3))  # the last held
    SessionFactory(project=project, coach=coach, on=days(-1), status=SessionStatus.CANCELLED)
    SessionFactory(project=project, coach=coach, on=days(9), status=SessionStatus.PLANNED)
    SessionFactory(project=project, coach=coach, on=days(5), status=SessionStatus.DRAFT)  # the next
    SessionFactory(project=project, coach=coach, on=days(2), status=SessionStatus.CANCELLED)
    ActionFactory(raised_in=held, due_on=days(-1))  # overdue
    ActionFactory(raised_in=held, due_on=days(0))  # due today: open, not overdue
    ActionFactory(raised_in=held, due_on=days(-5), status=ActionStatus.DONE)
    [row] = caseload_rows(coach, TODAY)
    assert (row.project_id, row.last_held, row.next_on) == (project.pk, days(-3), days(5))
    assert (row.open_count, row.overdue_count, row.days_since_contact) == (2, 1, 3)


def test_a_project_with_no_sessions_or_actions_reads_empty(programme):
    project = ProjectFactory(practice=programme.practice, co_coach=programme.coach, step=Step.ORGANISE)
    [row] = caseload_rows(programme.coach, TODAY)
    assert (row.project_id, row.last_held, row.next_on, row.days_since_contact) == (project.pk, None, None, None)
    assert (row.open_count, row.overdue_count) == (0, 0)
