"""Writes to follow-ups: moving one with a reason, and recording its review (each in a transaction, audited).

The review saves the refreshed measure values through ``projects.measures.add_value``, marked
with the follow-up's kind so the run chart shows them as follow-up points. The 12-month review
closes the project (Follow-up → Completed); a 6-month follow-up still scheduled then was missed,
so it is cancelled, and a 6-month review can no longer be recorded after the 12-month one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from microsystems.audit import audit
from microsystems.models import User
from projects.measures import ValueDetails, add_value
from projects.models import Measure, Step, TeamMember
from projects.services import ProjectError, close_project

from .models import (
    FollowUp,
    FollowUpKind,
    FollowUpReschedule,
    FollowUpReview,
    FollowUpStatus,
    NotSustainedReason,
    Sustained,
)

REASON_LIMIT = 1000


class FollowUpError(ProjectError):
    """A change to a follow-up that is not allowed; ``field`` names the form field the message belongs to."""


def _scheduled(follow_up: FollowUp) -> FollowUp:
    """The follow-up locked for the change, refused unless it is still to be held."""
    locked = FollowUp.objects.select_for_update().select_related("project").get(pk=follow_up.pk)
    if locked.status == FollowUpStatus.HELD:
        raise FollowUpError("This follow-up has been held: its review is recorded.")
    if locked.status == FollowUpStatus.CANCELLED:
        raise FollowUpError("This follow-up was cancelled.")
    return locked


# Rescheduling


def reschedule_follow_up(*, follow_up: FollowUp, to_date: date, reason: str, by: User) -> FollowUp:
    """Move the follow-up to a new date, keeping the old date and the reason as its history."""
    reason = reason.strip()
    if not reason:
        raise FollowUpError("Say why the follow-up is moving.", field="reason")
    if len(reason) > REASON_LIMIT:
        raise FollowUpError(f"The reason can be up to {REASON_LIMIT} characters.", field="reason")
    if to_date < timezone.localdate():
        raise FollowUpError("The new date cannot be in the past.", field="to_date")
    with transaction.atomic():
        locked = _scheduled(follow_up)
        if to_date == locked.due_on:
            raise FollowUpError("Choose a date other than the one it is due on now.", field="to_date")
        from_date = locked.due_on
        FollowUpReschedule.objects.create(follow_up=locked, from_date=from_date, to_date=to_date, reason=reason, by=by)
        locked.due_on = to_date
        locked.save(update_fields=["due_on"])
        audit(
            locked,
            "follow_up.rescheduled",
            by=by,
            summary=f"{locked.get_kind_display()} moved from {from_date:%d/%m/%Y} to {to_date:%d/%m/%Y}",
            changes={"due_on": [from_date.isoformat(), to_date.isoformat()], "reason": reason},
        )
    follow_up.refresh_from_db()
    return follow_up


# The review


@dataclass(frozen=True)
class ReviewDetails:
    held_on: date
    sustained: str
    attendees: list[TeamMember] = field(default_factory=list)
    other_attendees: str = ""
    reasons: list[str] = field(default_factory=list)
    other_reason: str = ""
    plans_another_project: bool = False
    next_project_idea: str = ""
    notes: str = ""
    values: dict[int, Decimal] = field(default_factory=dict)  # measure id → the refreshed value for the held date


def value_field(measure_id: int) -> str:
    """The form field a refreshed value of this measure is entered in (where its errors are shown)."""
    return f"value_{measure_id}"


def _check_review(follow_up: FollowUp, details: ReviewDetails) -> None:
    project = follow_up.project
    if details.held_on > timezone.localdate():
        raise FollowUpError("The date held cannot be in the future.", field="held_on")
    if project.completed_on and details.held_on < project.completed_on:
        raise FollowUpError(
            f"The review cannot be held before the project completed ({project.completed_on:%d/%m/%Y}).",
            field="held_on",
        )
    if not details.attendees and not details.other_attendees.strip():
        raise FollowUpError("Say who came: tick the team members who did, or name the others.", field="attendees")
    if any(member.project_id != project.pk for member in details.attendees):
        raise FollowUpError("Tick only members of this project's team.", field="attendees")
    if details.sustained not in Sustained.values:
        raise FollowUpError("Say whether the change is sustained, partly or not.", field="sustained")
    if unknown := set(details.reasons) - set(NotSustainedReason.values):
        raise FollowUpError(f"Choose reasons from the list ({', '.join(sorted(unknown))} is not one).", field="reasons")
    if details.sustained == Sustained.SUSTAINED and details.reasons:
        raise FollowUpError("The change is sustained: untick the reasons, or say it is partly sustained.", "reasons")
    if details.sustained != Sustained.SUSTAINED and not details.reasons:
        raise FollowUpError("Say why the change is not fully sustained: tick every reason that applies.", "reasons")
    if NotSustainedReason.OTHER in details.reasons and not details.other_reason.strip():
        raise FollowUpError("Say what the other reason is.", field="other_reason")
    if details.plans_another_project and not details.next_project_idea.strip():
        raise FollowUpError("Say what the practice's next project could be about.", field="next_project_idea")


def _save_values(follow_up: FollowUp, details: ReviewDetails, by: User) -> int:
    """Add the refreshed values, each dated the day the review was held; a refused one names its field."""
    measures = {m.pk: m for m in Measure.objects.filter(project_id=follow_up.project_id, pk__in=list(details.values))}
    for measure_id, value in details.values.items():
        measure = measures.get(measure_id)
        if measure is None:
            raise FollowUpError("That measure is not one of this project's.", field=value_field(measure_id))
        note = f"{follow_up.get_kind_display()} review"
        point = ValueDetails(on=details.held_on, value=value, note=note, follow_up_kind=follow_up.kind)
        try:
            add_value(measure=measure, details=point, by=by)
        except ProjectError as e:
            raise FollowUpError(f"{measure.name}: {e}", field=value_field(measure_id)) from None
    return len(details.values)


def record_review(*, follow_up: FollowUp, details: ReviewDetails, by: User) -> FollowUpReview:
    """Record what the follow-up found; the follow-up is held, and the 12-month review closes the project.

    Everything is saved or nothing: a refused measure value undoes the review with it.
    """
    with transaction.atomic():
        locked = _scheduled(follow_up)
        _check_review(locked, details)
        other = details.other_reason.strip() if NotSustainedReason.OTHER in details.reasons else ""
        try:
            with transaction.atomic():
                review = FollowUpReview.objects.create(
                    follow_up=locked,
                    held_on=details.held_on,
                    other_attendees=details.other_attendees.strip(),
                    sustained=details.sustained,
                    reasons=[r for r in NotSustainedReason.values if r in details.reasons],  # in the list's order
                    other_reason=other,
                    plans_another_project=details.plans_another_project,
                    next_project_idea=details.next_project_idea.strip() if details.plans_another_project else "",
                    notes=details.notes.strip(),
                    recorded_by=by,
                )
        except IntegrityError:
            raise FollowUpError("Someone has just recorded this review. Reload the page.") from None
        review.attendees.set(details.attendees)
        points = _save_values(locked, details, by)
        locked.status = FollowUpStatus.HELD
        locked.save(update_fields=["status"])
        audit(
            locked,
            "follow_up.review_recorded",
            by=by,
            summary=f"{locked.get_kind_display()} held on {details.held_on:%d/%m/%Y}: {review.get_sustained_display()}",
            changes={"sustained": review.sustained, "reasons": review.reasons, "values": points},
        )
        if locked.kind == FollowUpKind.TWELVE_MONTHS:
            _close(locked, by)
    follow_up.refresh_from_db()
    return review


def _close(follow_up: FollowUp, by: User) -> None:
    """The 12-month review is the last: a 6-month one never held is cancelled, and the project completes."""
    missed = FollowUp.objects.filter(
        project_id=follow_up.project_id, kind=FollowUpKind.SIX_MONTHS, status=FollowUpStatus.SCHEDULED
    )
    for six_months in missed.select_for_update():
        six_months.status = FollowUpStatus.CANCELLED
        six_months.save(update_fields=["status"])
        audit(six_months, "follow_up.cancelled", by=by, summary="Not held before the 12-month review")
    if follow_up.project.step == Step.FOLLOW_UP:
        close_project(project=follow_up.project, by=by)
