"""Moving a follow-up, overdue at 30 days, and recording its review: the rules, and the 12-month review closing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from evaluation.models import FollowUp, FollowUpReview, FollowUpStatus
from evaluation.services import FollowUpError, ReviewDetails, record_review, reschedule_follow_up
from microsystems.models import AuditEntry
from projects.models import MeasureValue, Step, StepChange
from projects.tests.factories import TeamMemberFactory

from .conftest import SIX_MONTHS, TWELVE_MONTHS, noon


def refused(call, **kwargs):
    with pytest.raises(FollowUpError) as error:
        call(**kwargs)
    return error.value


def actions(subject):
    return list(AuditEntry.objects.filter(object_id=str(subject.pk), action__startswith="follow_up.").values_list(
        "action", flat=True))  # fmt: skip


# Moving the date


def test_a_follow_up_moves_with_its_reason_kept_as_history(programme, six):
    reschedule_follow_up(follow_up=six, to_date=date(2026, 3, 10), reason="  Manager on leave  ", by=programme.coach)
    assert six.due_on == date(2026, 3, 10)
    moved = six.reschedules.get()
    assert (moved.from_date, moved.to_date, moved.reason, moved.by) == (
        SIX_MONTHS, date(2026, 3, 10), "Manager on leave", programme.coach
    )  # fmt: skip
    assert actions(six) == ["follow_up.rescheduled"]


@pytest.mark.parametrize(
    ("to_date", "reason", "field", "message"),
    [
        (date(2026, 3, 10), "  ", "reason", "Say why the follow-up is moving."),
        (date(2025, 8, 31), "Leave", "to_date", "The new date cannot be in the past."),
        (SIX_MONTHS, "Leave", "to_date", "Choose a date other than the one it is due on now."),
    ],
)
def test_moving_needs_a_reason_and_a_new_date_not_in_the_past(programme, six, to_date, reason, field, message):
    error = refused(reschedule_follow_up, follow_up=six, to_date=to_date, reason=reason, by=programme.coach)
    assert (error.field, str(error)) == (field, message)
    six.refresh_from_db()
    assert six.due_on == SIX_MONTHS and not six.reschedules.exists()


def test_a_held_follow_up_cannot_move(programme, six):
    FollowUp.objects.filter(pk=six.pk).update(status=FollowUpStatus.HELD)
    error = refused(reschedule_follow_up, follow_up=six, to_date=date(2026, 4, 1), reason="Late", by=programme.coach)
    assert "has been held" in str(error)


# Overdue


def test_a_follow_up_is_overdue_only_after_30_days_past_its_date(six, clock):
    clock.move_to(noon(SIX_MONTHS + timedelta(days=30)))
    assert not six.is_overdue()
    clock.move_to(noon(SIX_MONTHS + timedelta(days=31)))
    assert six.is_overdue()
    six.status = FollowUpStatus.HELD
    assert not six.is_overdue()


def test_moving_the_date_clears_overdue(programme, six, clock):
    clock.move_to(noon(SIX_MONTHS + timedelta(days=40)))
    assert six.is_overdue()
    reschedule_follow_up(follow_up=six, to_date=SIX_MONTHS + timedelta(days=50), reason="Flu", by=programme.coach)
    assert not six.is_overdue()


# The review


def details(project, **overrides):
    values = {
        "held_on": SIX_MONTHS,
        "sustained": "partly",
        "attendees": list(project.team.all()),
        "reasons": ["staff_turnover", "other"],
        "other_reason": "The lab changed its system",
        "plans_another_project": True,
        "next_project_idea": "Repeat prescribing",
        "notes": "Good to see the board still up.",
    }
    return ReviewDetails(**(values | overrides))


@pytest.fixture
def at_six_months(clock):
    clock.move_to(noon(SIX_MONTHS + timedelta(days=3)))


def test_the_review_is_recorded_and_the_follow_up_is_held(programme, project, six, at_six_months):
    review = record_review(follow_up=six, details=details(project), by=programme.coach)
    assert six.status == FollowUpStatus.HELD
    assert review.reasons == ["staff_turnover", "other"] and review.other_reason == "The lab changed its system"
    assert set(review.attendees.all()) == set(project.team.all())
    assert review.recorded_by == programme.coach and review.next_project_idea == "Repeat prescribing"
    assert actions(six) == ["follow_up.review_recorded"]
    project.refresh_from_db()
    assert project.step == Step.FOLLOW_UP  # the 6-month review does not close it


def test_refreshed_values_are_saved_as_follow_up_points_dated_the_review(programme, project, six, at_six_months):
    measure = project.measures.get()
    record_review(follow_up=six, details=details(project, values={measure.pk: Decimal("2.5")}), by=programme.coach)
    point = measure.values.get(on=SIX_MONTHS)
    assert (point.value, point.follow_up_kind, point.entered_by) == (Decimal("2.5"), "6m", programme.coach)
    assert AuditEntry.objects.filter(action="measure.value_added", object_id=str(measure.pk)).exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"held_on": SIX_MONTHS + timedelta(days=4)}, "held_on", "The date held cannot be in the future."),
        ({"held_on": date(2025, 8, 28)}, "held_on", "The review cannot be held before the project completed"),
        ({"attendees": [], "other_attendees": " "}, "attendees", "Say who came"),
        ({"sustained": ""}, "sustained", "Say whether the change is sustained"),
        ({"reasons": []}, "reasons", "Say why the change is not fully sustained"),
        ({"sustained": "sustained"}, "reasons", "The change is sustained: untick the reasons"),
        ({"reasons": ["funding_cut"]}, "reasons", "Choose reasons from the list"),
        ({"other_reason": ""}, "other_reason", "Say what the other reason is."),
        ({"next_project_idea": " "}, "next_project_idea", "Say what the practice's next project could be about."),
    ],
)
def test_a_review_with_a_problem_is_refused_at_its_field_and_nothing_is_saved(
    programme, project, six, at_six_months, overrides, field, message
):
    error = refused(record_review, follow_up=six, details=details(project, **overrides), by=programme.coach)
    assert error.field == field and str(error).startswith(message)
    six.refresh_from_db()
    assert six.status == FollowUpStatus.SCHEDULED and not FollowUpReview.objects.exists()


def test_someone_from_another_team_cannot_be_ticked(programme, project, six, at_six_months):
    stranger = TeamMemberFactory()
    error = refused(record_review, follow_up=six, details=details(project, attendees=[stranger]), by=programme.coach)
    assert error.field == "attendees"


def test_a_refused_value_undoes_the_whole_review(programme, project, six, at_six_months):
    measure = project.measures.get()
    MeasureValue.objects.create(measure=measure, on=SIX_MONTHS, period=SIX_MONTHS - timedelta(days=5), value=4)
    error = refused(
        record_review, follow_up=six, details=details(project, values={measure.pk: Decimal("3")}), by=programme.coach
    )
    assert error.field == f"value_{measure.pk}" and "already has a value" in str(error)
    assert not FollowUpReview.objects.exists() and measure.values.filter(follow_up_kind="6m").count() == 0
    six.refresh_from_db()
    assert six.status == FollowUpStatus.SCHEDULED


def test_a_value_out_of_its_unit_is_refused_at_its_field(programme, project, six, at_six_months):
    measure = project.measures.get()
    error = refused(
        record_review, follow_up=six, details=details(project, values={measure.pk: Decimal("-1")}), by=programme.coach
    )
    assert error.field == f"value_{measure.pk}" and str(error).startswith(measure.name)


def test_a_review_is_recorded_once(programme, project, six, at_six_months):
    record_review(follow_up=six, details=details(project), by=programme.coach)
    error = refused(record_review, follow_up=six, details=details(project), by=programme.lead)
    assert "has been held" in str(error) and FollowUpReview.objects.count() == 1


def test_a_sustained_change_needs_no_reasons_and_no_idea_keeps_none(programme, project, six, at_six_months):
    review = record_review(
        follow_up=six,
        details=details(project, sustained="sustained", reasons=[], other_reason="stale", plans_another_project=False),
        by=programme.coach,
    )
    assert (review.reasons, review.other_reason, review.next_project_idea) == ([], "", "")


# The 12-month review closes the project


@pytest.fixture
def at_twelve_months(clock):
    clock.move_to(noon(TWELVE_MONTHS + timedelta(days=1)))


def test_the_12_month_review_completes_the_project_audited(programme, project, six, twelve, at_six_months, clock):
    record_review(follow_up=six, details=details(project), by=programme.coach)
    clock.move_to(noon(TWELVE_MONTHS + timedelta(days=1)))
    record_review(follow_up=twelve, details=details(project, held_on=TWELVE_MONTHS), by=programme.coach)
    project.refresh_from_db()
    assert project.step == Step.COMPLETED and not project.is_active
    change = StepChange.objects.get(project=project, to_step=Step.COMPLETED)
    assert (change.from_step, change.changed_by) == (Step.FOLLOW_UP, programme.coach)
    step_audit = (
        AuditEntry.objects.filter(action="project.step_changed", object_id=str(project.pk)).order_by("pk").last()
    )
    assert step_audit.changes["step"] == [Step.FOLLOW_UP, Step.COMPLETED]
    assert step_audit.actor == programme.coach


def test_the_12_month_review_cancels_a_6_month_one_never_held_which_then_cannot_be_recorded(
    programme, project, six, twelve, at_twelve_months
):
    record_review(follow_up=twelve, details=details(project, held_on=TWELVE_MONTHS), by=programme.lead)
    six.refresh_from_db()
    assert six.status == FollowUpStatus.CANCELLED and actions(six) == ["follow_up.cancelled"]
    error = refused(record_review, follow_up=six, details=details(project), by=programme.coach)
    assert "cancelled" in str(error)


def test_a_project_already_completed_by_hand_is_left_as_it_is(programme, project, twelve, at_twelve_months):
    from projects.services import move_to_next_step

    move_to_next_step(project=project, by=programme.lead)
    record_review(follow_up=twelve, details=details(project, held_on=TWELVE_MONTHS), by=programme.coach)
    project.refresh_from_db()
    assert project.step == Step.COMPLETED
    assert StepChange.objects.filter(project=project, to_step=Step.COMPLETED).count() == 1
