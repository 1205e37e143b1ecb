"""Demo evaluation data for the demo projects: follow-up reviews, embedding self-assessments and benefits.

Built through the services like the rest of the demo: the reviews of follow-ups already due are
held (a mix of sustained, partly and not sustained, with reasons), each project past Organise
has the team's baseline self-assessment, and a project whose follow-up was held has the
self-assessment of that occasion, its scores moving the way the review found. Safe to run again:
only a follow-up still scheduled is held, only a missing assessment is recorded, only empty
benefits are filled.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from microsystems.models import User
from practices.models import PracticeMembership, ProgrammeRole, ProgrammeRoleKind, StaffRole
from projects.demo import PLANS, TOPICS, demo_practices
from projects.models import MemberKind, Project, Step

from .embedding import AssessmentDetails, record_assessment
from .models import (
    CHARACTERISTICS,
    SCORE_MAX,
    SCORE_MIN,
    EmbeddingAssessment,
    EmbeddingOccasion,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    NotSustainedReason,
    Sustained,
)
from .services import ReviewDetails, record_review

# In turn, the reviews of the demo's due follow-ups find these, so every outcome appears.
REVIEWS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (Sustained.SUSTAINED, (), "The new routine is part of the day; the champion checks it monthly."),
    (Sustained.PARTLY, (NotSustainedReason.LACK_OF_TIME,), "It slips in busy weeks when the huddle is missed."),
    (
        Sustained.NOT_SUSTAINED,
        (NotSustainedReason.STAFF_TURNOVER, NotSustainedReason.REVERTED),
        "The champion left and the team went back to the old way.",
    ),
)
# How a follow-up self-assessment moves from the baseline, by what the review found.
DRIFT = {Sustained.SUSTAINED: (1, 2), Sustained.PARTLY: (0, 1), Sustained.NOT_SUSTAINED: (-1, 0)}
OCCASION_OF = {
    FollowUpKind.SIX_MONTHS: EmbeddingOccasion.SIX_MONTHS,
    FollowUpKind.TWELVE_MONTHS: EmbeddingOccasion.TWELVE_MONTHS,
}
STAFF_BENEFITS = "Less chasing and fewer interruptions: the work now has an owner every day."
PATIENT_BENEFITS = "Patients hear back sooner and ring the practice less to chase."


def demo_projects() -> list[Project]:
    """The projects the demo built, found by practice and title like the other demo seeders."""
    found = []
    for code in sorted({plan.commissioner for plan in PLANS}):
        practices = demo_practices(code)
        for plan in (p for p in PLANS if p.commissioner == code and p.practice < len(practices)):
            project = Project.objects.filter(practice=practices[plan.practice], title=TOPICS[plan.topic].title).first()
            if project is not None:
                found.append(project)
    return found


def seed_evaluation() -> int:
    """Top up the demo's reviews, self-assessments and benefits; the number of rows added or filled."""
    projects = demo_projects()
    with transaction.atomic():
        changed = _fill_benefits(projects)
        changed += _hold_due_reviews(projects)
        changed += _assess(projects)
    return changed


def _fill_benefits(projects: list[Project]) -> int:
    completed = Project.objects.filter(pk__in=[p.pk for p in projects], completed_on__isnull=False)
    return completed.filter(staff_benefits="").update(staff_benefits=STAFF_BENEFITS) + completed.filter(
        patient_benefits=""
    ).update(patient_benefits=PATIENT_BENEFITS)


def _recorder(project: Project) -> User | None:
    """Who records for the demo: the lead coach, else the commissioner's first lead."""
    if project.lead_coach is not None:
        return project.lead_coach
    role = (
        ProgrammeRole.objects.filter(commissioner_id=project.practice.commissioner_id, role=ProgrammeRoleKind.LEAD)
        .select_related("user")
        .order_by("user__email")
        .first()
    )
    return role.user if role else None


def _hold_due_reviews(projects: list[Project]) -> int:
    """Hold the reviews of the follow-ups already due, in date order, each finding the next outcome in turn."""
    today = timezone.localdate()
    due = FollowUp.objects.filter(
        project__in=[p.pk for p in projects], status=FollowUpStatus.SCHEDULED, due_on__lte=today
    ).select_related("project__practice", "project__lead_coach", "assigned_to")
    held = FollowUp.objects.filter(project__in=[p.pk for p in projects], status=FollowUpStatus.HELD).count()
    count = 0
    for follow_up in due.order_by("due_on", "pk"):
        by = follow_up.assigned_to or _recorder(follow_up.project)
        if by is None:
            continue
        sustained, reasons, notes = REVIEWS[(held + count) % len(REVIEWS)]
        staff = list(follow_up.project.team.filter(kind=MemberKind.STAFF))
        details = ReviewDetails(
            held_on=min(today, follow_up.due_on + timedelta(days=3)),
            sustained=sustained,
            attendees=staff,
            other_attendees="" if staff else "The practice manager",
            reasons=list(reasons),
            plans_another_project=sustained == Sustained.SUSTAINED,
            next_project_idea="Home visit requests" if sustained == Sustained.SUSTAINED else "",
            notes=notes,
        )
        record_review(follow_up=follow_up, details=details, by=by)
        count += 1
    return count


def _assess(projects: list[Project]) -> int:
    """The baseline of every project past Organise, and the self-assessment of each follow-up held."""
    existing = set(
        EmbeddingAssessment.objects.filter(project__in=[p.pk for p in projects]).values_list("project_id", "occasion")
    )
    count = 0
    for project in projects:
        project.refresh_from_db()
        if project.step in (Step.ORGANISE, Step.WITHDRAWN):
            continue
        by = _practice_manager(project) or _recorder(project)
        if by is None:
            continue
        rng = random.Random(f"{project.title}{project.practice.ods_code}")  # noqa: S311  (demo data)
        baseline = {name: rng.randint(2, 3) for name, _ in CHARACTERISTICS}
        if (project.pk, EmbeddingOccasion.BASELINE) not in existing:
            on = min(timezone.localdate(), project.starts_on + timedelta(days=7))
            _record(project, EmbeddingOccasion.BASELINE, baseline, on, by, "Scored together at the first meeting.")
            count += 1
        held = FollowUp.objects.filter(project=project, status=FollowUpStatus.HELD).select_related("review")
        for follow_up in held.order_by("due_on"):
            occasion = OCCASION_OF[FollowUpKind(follow_up.kind)]
            if (project.pk, occasion) in existing:
                continue
            low, high = DRIFT[Sustained(follow_up.review.sustained)]
            scores = {
                name: max(SCORE_MIN, min(SCORE_MAX, score + rng.randint(low, high))) for name, score in baseline.items()
            }
            _record(project, occasion, scores, follow_up.review.held_on, by, "Scored at the follow-up review.")
            count += 1
    return count


def _record(project: Project, occasion: str, scores: dict[str, int], on, by: User, notes: str) -> None:  # type: ignore[no-untyped-def]
    details = AssessmentDetails(assessed_on=on, scores=scores, notes=notes)
    record_assessment(project=project, occasion=occasion, details=details, by=by)


def _practice_manager(project: Project) -> User | None:
    membership = (
        PracticeMembership.objects.filter(practice=project.practice, role=StaffRole.PRACTICE_MANAGER)
        .select_related("user")
        .first()
    )
    return membership.user if membership else None
