"""The practice team's self-assessment of the ten characteristics of effective microsystems.

A project has at most one assessment per occasion: the baseline when it starts and one at
each follow-up (6 and 12 months after completion), so the change shows per practice and
across the programme. The practice's staff and the project's coaches record and edit them;
the programme lead reads them. Saving is refused when someone else saved the same assessment
since the page was loaded (``base``: the ``recorded_at`` the page showed), never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from microsystems.audit import audit
from microsystems.models import User
from practices.permissions import roles_of
from projects.models import Project, Step
from projects.permissions import is_lead_for_project, is_practice_staff, is_project_coach
from projects.pii import patient_data_warnings
from projects.services import PossiblePatientData, ProjectError

from .models import CHARACTERISTICS, SCORE_MAX, SCORE_MIN, EmbeddingAssessment, EmbeddingOccasion

NOTES_LIMIT = 2000
FOLLOW_UP_OCCASIONS = (EmbeddingOccasion.SIX_MONTHS, EmbeddingOccasion.TWELVE_MONTHS)

# What each characteristic means, in a line (from the evaluation's Table 2), for the form and the page.
DESCRIPTIONS: dict[str, str] = {
    "leadership": "Constancy of purpose, clear goals and expectations, a positive culture; the leader advocates "
    "for the team in the wider organisation.",
    "organisational_support": "The wider organisation provides information, resources and support, and helps "
    "the team's work.",
    "staff_focus": "The team's vision meets staff needs in recruitment, training and retention; roles match skills.",
    "education_and_training": "High expectations of staff for performance, education and training.",
    "interdependence": "Trust, collaboration and respect for each other's roles; a shared purpose.",
    "patient_focus": "Meeting all patients' needs with a smooth service, linked to community resources.",
    "community_and_market_focus": "Working with groups outside the practice, for example to reduce risks "
    "to the population.",
    "performance_results": "Outcomes are measured routinely, the data is fed back and changes follow from it.",
    "process_improvement": "Learning and redesign are supported by monitoring care, benchmarking and innovation.",
    "information_technology": "Information connects staff and patients; technology gets everyone the right "
    "information at the right time.",
}


class EmbeddingError(ProjectError):
    """A self-assessment the rules refuse; ``field`` names the form field the message belongs to."""


# Who may


def may_record(user: User | AnonymousUser, project: Project) -> bool:
    """Practice staff of the project's practice and its coaches record; nobody adds to a withdrawn project."""
    if not user.is_authenticated or project.step == Step.WITHDRAWN:
        return False
    return bool(is_practice_staff(user, project) or is_project_coach(user, project))


def may_read(user: User | AnonymousUser, project: Project) -> bool:
    """Those who record, and the lead of the project's commissioner (a staff admin too)."""
    if not user.is_authenticated:
        return False
    if roles_of(user).is_admin:
        return True
    return bool(
        is_practice_staff(user, project) or is_project_coach(user, project) or is_lead_for_project(user, project)
    )


def occasions_open(project: Project) -> list[str]:
    """The occasions that may be recorded now: the baseline always, the follow-ups once the project has completed."""
    if project.completed_on is None:
        return [EmbeddingOccasion.BASELINE]
    return [EmbeddingOccasion.BASELINE, *FOLLOW_UP_OCCASIONS]


# Reads


@dataclass(frozen=True)
class AssessmentRow:
    """One characteristic across the occasions, for the project's page: scores in occasion order and the change."""

    name: str
    label: str
    description: str
    scores: tuple[int | None, ...]
    change: int | None


@dataclass(frozen=True)
class ProjectAssessments:
    assessments: dict[str, EmbeddingAssessment]  # occasion → assessment
    rows: list[AssessmentRow]
    means: tuple[float | None, ...]
    mean_change: float | None
    latest_label: str  # the follow-up the change is measured to: "12-month follow-up", or ""


def project_assessments(project: Project) -> ProjectAssessments:
    """The project's assessments by occasion, each characteristic's scores and the change from the baseline
    to the latest follow-up: one query."""
    found = {a.occasion: a for a in project.embedding_assessments.select_related("recorded_by")}
    ordered = [found.get(o) for o in EmbeddingOccasion.values]
    baseline = found.get(EmbeddingOccasion.BASELINE)
    latest = next((found[o] for o in reversed(FOLLOW_UP_OCCASIONS) if o in found), None)
    rows = []
    for name, label in CHARACTERISTICS:
        scores = tuple(getattr(a, name) if a else None for a in ordered)
        change = getattr(latest, name) - getattr(baseline, name) if baseline and latest else None
        rows.append(AssessmentRow(name, label, DESCRIPTIONS[name], scores, change))
    means = tuple(round(a.mean(), 1) if a else None for a in ordered)
    mean_change = round(latest.mean() - baseline.mean(), 1) if baseline and latest else None
    return ProjectAssessments(
        assessments=found,
        rows=rows,
        means=means,
        mean_change=mean_change,
        latest_label=latest.get_occasion_display() if latest else "",
    )


# The write


@dataclass(frozen=True)
class AssessmentDetails:
    assessed_on: date
    scores: dict[str, int] = field(default_factory=dict)  # characteristic field name → 1 to 5
    notes: str = ""


def _check(project: Project, occasion: str, details: AssessmentDetails, *, today: date, confirmed: bool) -> None:
    if occasion not in EmbeddingOccasion.values:
        raise EmbeddingError("Choose the baseline, the 6-month or the 12-month follow-up.")
    if project.step == Step.WITHDRAWN:
        raise EmbeddingError("The project was withdrawn: its self-assessments can no longer change.")
    if occasion in FOLLOW_UP_OCCASIONS and project.completed_on is None:
        raise EmbeddingError("The follow-up self-assessments open once the project has completed.")
    if details.assessed_on > today:
        raise EmbeddingError("The date assessed cannot be in the future.", field="assessed_on")
    if details.assessed_on < project.starts_on:
        raise EmbeddingError(
            f"The date assessed cannot be before the project started ({project.starts_on:%-d %B %Y}).",
            field="assessed_on",
        )
    if occasion in FOLLOW_UP_OCCASIONS and project.completed_on and details.assessed_on < project.completed_on:
        raise EmbeddingError(
            f"A follow-up self-assessment cannot be before the project completed ({project.completed_on:%-d %B %Y}).",
            field="assessed_on",
        )
    for name, label in CHARACTERISTICS:
        score = details.scores.get(name)
        if not isinstance(score, int) or isinstance(score, bool) or not SCORE_MIN <= score <= SCORE_MAX:
            raise EmbeddingError(f"Score {label.lower()} from {SCORE_MIN} to {SCORE_MAX}.", field=name)
    if len(details.notes.strip()) > NOTES_LIMIT:
        raise EmbeddingError(f"The notes can be up to {NOTES_LIMIT} characters.", field="notes")
    if not confirmed and (warnings := patient_data_warnings(details.notes)):
        raise PossiblePatientData(warnings)


def _conflict(current: EmbeddingAssessment) -> EmbeddingError:
    who = current.recorded_by.get_full_name() if current.recorded_by else "Someone"
    return EmbeddingError(
        f"{who} saved this self-assessment while you were filling it in. Reload the page to see their scores."
    )


def record_assessment(
    *,
    project: Project,
    occasion: str,
    details: AssessmentDetails,
    by: User,
    base: datetime | None = None,
    confirmed_not_patient_data: bool = False,
    today: date | None = None,
) -> EmbeddingAssessment:
    """Record the occasion's self-assessment, or change it; ``base`` is the version the user edited (None: new)."""
    _check(project, occasion, details, today=today or timezone.localdate(), confirmed=confirmed_not_patient_data)
    values = {"assessed_on": details.assessed_on, "notes": details.notes.strip(), **details.scores}
    with transaction.atomic():
        current = (
            EmbeddingAssessment.objects.select_for_update(of=("self",))
            .select_related("recorded_by")
            .filter(project=project, occasion=occasion)
            .first()
        )
        if current is not None and (base is None or current.recorded_at != base):
            raise _conflict(current)
        if current is None and base is not None:
            raise EmbeddingError("This self-assessment was removed while you were filling it in. Reload the page.")
        if current is None:
            try:
                with transaction.atomic():
                    assessment = EmbeddingAssessment.objects.create(
                        project=project, occasion=occasion, recorded_by=by, recorded_at=timezone.now(), **values
                    )
            except IntegrityError:
                raise EmbeddingError("Someone has just recorded this self-assessment. Reload the page.") from None
            action, changes = (
                "embedding.recorded",
                {k: _plain(v) for k, v in values.items() if k != "notes"},
            )  # notes: never logged
        else:
            changes = {
                k: [_plain(getattr(current, k)), _plain(v)]
                for k, v in values.items()
                if k != "notes" and getattr(current, k) != v
            } | ({"notes": "changed"} if current.notes != values["notes"] else {})
            for name, value in values.items():
                setattr(current, name, value)
            current.recorded_by, current.recorded_at = by, timezone.now()
            current.save(update_fields=[*values, "recorded_by", "recorded_at"])
            assessment, action = current, "embedding.updated"
        audit(
            project,
            action,
            by=by,
            summary=f"{assessment.get_occasion_display()} self-assessment: mean {assessment.mean():.1f} of 5",
            changes={"occasion": occasion, **changes},
        )
    return assessment


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value
