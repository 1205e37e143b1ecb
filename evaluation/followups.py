"""Scheduling follow-ups: created with the project's completion, and repaired by the sweep.

``schedule_follow_ups`` runs inside the transaction that completes a project, so a project
never completes without its follow-ups; ``ensure_follow_ups`` (run by every sweep) creates
any that are still missing, for example for a project completed before this existed. The
database allows one follow-up per project and kind, so both can run any number of times.
"""

from __future__ import annotations

from datetime import date

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from django.db.models import Count

from projects.models import Project, Step

from .models import MONTHS_AFTER, FollowUp, FollowUpKind, FollowUpStatus


def due_dates(completed_on: date) -> dict[str, date]:
    """6 and 12 months after completion (31 August + 6 months is 28 or 29 February)."""
    return {kind: completed_on + relativedelta(months=months) for kind, months in MONTHS_AFTER.items()}


def _missing_for(project: Project) -> list[FollowUp]:
    assert project.completed_on is not None
    return [
        FollowUp(project=project, kind=kind, due_on=due_on, assigned_to_id=project.lead_coach_id)
        for kind, due_on in due_dates(project.completed_on).items()
    ]


def schedule_follow_ups(project: Project) -> None:
    """Create the project's 6- and 12-month follow-ups, assigned to its lead coach (those already there are kept)."""
    FollowUp.objects.bulk_create(_missing_for(project), ignore_conflicts=True)


def ensure_follow_ups() -> int:
    """Create the follow-ups any completed project is missing; how many projects needed them."""
    lacking = (
        Project.objects.filter(completed_on__isnull=False, step__in=[Step.FOLLOW_UP, Step.COMPLETED])
        .annotate(follow_up_count=Count("follow_ups"))
        .filter(follow_up_count__lt=len(FollowUpKind))
        .only("pk", "completed_on", "lead_coach_id")
    )
    projects = list(lacking)
    missing = [follow_up for project in projects for follow_up in _missing_for(project)]
    FollowUp.objects.bulk_create(missing, ignore_conflicts=True, batch_size=500)
    return len(projects)


def cancel_follow_ups(project: Project) -> int:
    """Cancel the project's follow-ups still to be held (it was withdrawn); those held keep their reviews."""
    return FollowUp.objects.filter(project=project, status=FollowUpStatus.SCHEDULED).update(
        status=FollowUpStatus.CANCELLED
    )
