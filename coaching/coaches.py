"""Coaches and their development: profiles, training, mentoring, experience and load.

Experience is never typed: it is counted from the projects a coach has led or co-coached
that reached Follow-up (``Project.completed_on`` is set), by typology. Load is the number of
open projects (led or co-coached, not completed or withdrawn) against ``max_projects``.

Who may mentor: a coach at level mentor, or a coach at level coach who has completed at
least one project. A coach in training, or one who has not yet completed a project, needs a
mentor rather than being one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import (
    Count,
    F,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from microsystems.audit import audit
from microsystems.models import User
from practices.models import Commissioner, ProgrammeRole, ProgrammeRoleKind
from practices.permissions import roles_of
from projects.models import ClinicalArea, Project, Step, Typology
from projects.services import ProjectError

from .models import ClinicalBackground, CoachLevel, CoachProfile, Mentoring, TrainingRecord, refresher_due

CLOSED_STEPS = (Step.COMPLETED, Step.WITHDRAWN)
MAX_PROTECTED_HOURS = Decimal("37.5")
MAX_PROJECTS_LIMIT = 10
MAX_TRAINING_HOURS = Decimal("100")


# Experience and load, worked out from projects


def coached_by(user_ids: Iterable[int]) -> Q:
    ids = list(user_ids)
    return Q(lead_coach_id__in=ids) | Q(co_coach_id__in=ids)


def projects_of_coach_ref() -> QuerySet[Project]:
    return Project.objects.filter(Q(lead_coach=OuterRef("user_id")) | Q(co_coach=OuterRef("user_id")))


def count_subquery(projects: QuerySet[Project]) -> Coalesce:
    """A correlated ``COUNT(*)`` of ``projects``: one subquery inside the outer query, no extra round trip."""
    counted = projects.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def with_load_and_experience(coaches: QuerySet[CoachProfile]) -> QuerySet[CoachProfile]:
    """Annotate ``load`` (open projects), ``completed`` and ``completed_<typology>``, and ``last_training``."""
    completed = projects_of_coach_ref().filter(completed_on__isnull=False)
    last_training = TrainingRecord.objects.filter(coach=OuterRef("pk")).order_by("-completed_on")
    return coaches.annotate(
        load=count_subquery(projects_of_coach_ref().exclude(step__in=CLOSED_STEPS)),
        completed=count_subquery(completed),
        last_training=Subquery(last_training.values("completed_on")[:1]),
        **{
            f"completed_{typology}": count_subquery(completed.filter(typology=typology)) for typology in Typology.values
        },
    )


def experience_summary(by_typology: Mapping[str, int]) -> str:
    """ "3 completed (2 process-driven, 1 health outputs)", in the typology's order; "None yet" for a new coach."""
    total = sum(by_typology.values())
    if not total:
        return "None yet"
    parts = [f"{by_typology[t]} {Typology(t).label.lower()}" for t in Typology.values if by_typology.get(t)]
    return f"{total} completed ({', '.join(parts)})"


def experience_of(projects: Iterable[Project]) -> dict[str, int]:
    """Completed projects by typology, from a coach's projects."""
    counts: dict[str, int] = {}
    for project in projects:
        if project.completed_on is not None:
            counts[project.typology] = counts.get(project.typology, 0) + 1
    return counts


def last_trained(trained_on: date | None, last_record: date | None) -> date | None:
    """The latest of the first training and the last training record: a refresher falls due a year after it."""
    dates = [d for d in (trained_on, last_record) if d is not None]
    return max(dates) if dates else None


@dataclass
class CoachingRecord:
    """What a coach's projects say of them: open load, completed projects by typology, and (when asked
    about one) whether they have coached at a practice or in a PCN."""

    open_projects: int = 0
    completed_by_typology: dict[str, int] = field(default_factory=dict)
    at_practice: bool = False
    in_pcn: bool = False


def coaching_records(
    user_ids: Iterable[int], *, exclude: int | None = None, practice_id: int | None = None, pcn_id: int | None = None
) -> dict[int, CoachingRecord]:
    """Each coach's record from one aggregate query: their projects counted by pair of coaches and typology,
    not row by row (``Count("completed_on")`` counts the completed ones).

    A project counts once for each of its coaches (lead and co-coach); ``exclude`` leaves one project out.
    """
    records = {user_id: CoachingRecord() for user_id in user_ids}
    if not records:
        return records
    counts: dict[str, Any] = {"open": Count("pk", filter=~Q(step__in=CLOSED_STEPS)), "completed": Count("completed_on")}
    if practice_id is not None:
        counts["at_practice"] = Count("pk", filter=Q(practice_id=practice_id))
    if pcn_id is not None:
        counts["in_pcn"] = Count("pk", filter=Q(practice__pcn_id=pcn_id))
    projects = Project.objects.filter(coached_by(list(records))).order_by()
    if exclude is not None:
        projects = projects.exclude(pk=exclude)
    for row in projects.values("lead_coach_id", "co_coach_id", "typology").annotate(**counts):
        for user_id in {row["lead_coach_id"], row["co_coach_id"]}.intersection(records):
            record = records[user_id]
            record.open_projects += row["open"]
            if row["completed"]:
                by_typology, typology = record.completed_by_typology, row["typology"]
                by_typology[typology] = by_typology.get(typology, 0) + row["completed"]
            record.at_practice = record.at_practice or bool(row.get("at_practice"))
            record.in_pcn = record.in_pcn or bool(row.get("in_pcn"))
    return records


# Selectors


def lead_commissioner_ids(user: User | AnonymousUser) -> set[int]:
    return roles_of(user).commissioners_with(ProgrammeRoleKind.LEAD)


def coaches_for(user: User | AnonymousUser) -> QuerySet[CoachProfile]:
    """Profiles the user may see: every coach of a commissioner they lead, and their own."""
    if not user.is_authenticated:
        return CoachProfile.objects.none()
    return CoachProfile.objects.filter(
        Q(commissioner_id__in=lead_commissioner_ids(user)) | Q(user_id=user.pk)
    ).select_related("user", "commissioner")


@dataclass(frozen=True)
class DirectoryRow:
    coach: CoachProfile  # with only the fields of ``DIRECTORY_FIELDS`` loaded
    load: int
    by_typology: dict[str, int]
    last_training: date | None
    refresher_due: date | None
    refresher_overdue: bool

    @property
    def completed(self) -> int:
        return sum(self.by_typology.values())

    @property
    def experience(self) -> str:
        return experience_summary(self.by_typology)

    @property
    def over_capacity(self) -> bool:
        return self.load > self.coach.max_projects


# What the directory shows of a profile (``coaching.tables.directory_rows_html``): the rest is not loaded.
DIRECTORY_FIELDS = (
    "user__full_name",
    "user__email",
    "commissioning_role",
    "level",
    "clinical_background",
    "trained_on",
    "protected_hours",
    "max_projects",
    "is_active",
)


def coach_directory(
    user: User | AnonymousUser, *, today: date, level: str = "", active: bool | None = None
) -> list[DirectoryRow]:
    """The coaches of the commissioners the user leads, with load, experience and refresher due: two queries,
    the profiles and their projects' counts (``coaching_records``)."""
    coaches = CoachProfile.objects.filter(commissioner_id__in=lead_commissioner_ids(user))
    if level:
        coaches = coaches.filter(level=level)
    if active is not None:
        coaches = coaches.filter(is_active=active)
    last_training = TrainingRecord.objects.filter(coach=OuterRef("pk")).order_by("-completed_on")
    profiles = list(
        coaches.select_related("user")
        .only(*DIRECTORY_FIELDS)
        .annotate(last_training=Subquery(last_training.values("completed_on")[:1]))
    )
    records = coaching_records(coach.user_id for coach in profiles)
    rows = []
    for coach in profiles:
        due = refresher_due(last_trained(coach.trained_on, coach.last_training))  # type: ignore[attr-defined]
        record = records[coach.user_id]
        rows.append(
            DirectoryRow(
                coach=coach,
                load=record.open_projects,
                by_typology={t: record.completed_by_typology.get(t, 0) for t in Typology.values},
                last_training=coach.last_training,  # type: ignore[attr-defined]
                refresher_due=due,
                refresher_overdue=due is not None and due < today,
            )
        )
    return rows


def coach_roles_without_profile(user: User | AnonymousUser) -> QuerySet[ProgrammeRole]:
    """Coach roles at the commissioners the user leads whose holder has no coach profile yet."""
    return (
        ProgrammeRole.objects.filter(commissioner_id__in=lead_commissioner_ids(user), role=ProgrammeRoleKind.COACH)
        .filter(user__coach_profile__isnull=True)  # a join, cheaper to build than a NOT EXISTS
        .select_related("user", "commissioner")
        .order_by("user__full_name", "user__email", "commissioner__name")
    )


def coach_for_page(user: User | AnonymousUser) -> QuerySet[CoachProfile]:
    """A profile with its training records and mentoring pairs, for the profile page."""
    return coaches_for(user).prefetch_related(
        "training",
        Prefetch("mentors", queryset=Mentoring.objects.select_related("mentor__user")),
        Prefetch("mentees", queryset=Mentoring.objects.select_related("mentee__user")),
    )


def projects_coached_by(user: User) -> QuerySet[Project]:
    return (
        Project.objects.filter(coached_by([user.pk]))
        .select_related("practice", "lead_coach", "co_coach")
        .order_by("-starts_on", "-id")
    )


def mentor_choices(mentee: CoachProfile) -> QuerySet[CoachProfile]:
    """Active coaches of the mentee's commissioner who could be asked to mentor them (the service decides)."""
    return (
        CoachProfile.objects.filter(commissioner_id=mentee.commissioner_id, is_active=True)
        .exclude(pk=mentee.pk)
        .select_related("user")
    )


def mentorings_for(user: User | AnonymousUser) -> QuerySet[Mentoring]:
    """Mentoring pairs the user manages: those of coaches at commissioners they lead."""
    return Mentoring.objects.filter(mentee__commissioner_id__in=lead_commissioner_ids(user)).select_related(
        "mentor__user", "mentee__user"
    )


def completed_count(user_id: int) -> int:
    return Project.objects.filter(coached_by([user_id]), completed_on__isnull=False).count()


# Services: profiles


@dataclass(frozen=True)
class ProfileDetails:
    commissioning_role: str
    clinical_background: str
    trained_on: date | None
    level: str
    protected_hours: Decimal
    max_projects: int
    is_active: bool = True
    commissioned_areas: tuple[str, ...] = field(default_factory=tuple)


def _check_profile(details: ProfileDetails, today: date) -> ProfileDetails:
    if not details.commissioning_role.strip():
        raise ProjectError("Enter their job at the commissioner.", field="commissioning_role")
    areas = [area for area in details.commissioned_areas if area]
    unknown = [area for area in areas if area not in ClinicalArea.values]
    if unknown:
        raise ProjectError("Choose the clinical areas they commission from the list.", field="commissioned_areas")
    if details.clinical_background not in ClinicalBackground.values:
        raise ProjectError("Choose a clinical background from the list.", field="clinical_background")
    if details.level not in CoachLevel.values:
        raise ProjectError("Choose a level from the list.", field="level")
    if details.trained_on is not None and details.trained_on > today:
        raise ProjectError("The date trained cannot be in the future.", field="trained_on")
    if details.protected_hours is None or not 0 <= details.protected_hours <= MAX_PROTECTED_HOURS:
        raise ProjectError("Protected hours must be between 0 and 37.5 a week.", field="protected_hours")
    if details.max_projects is None or not 1 <= details.max_projects <= MAX_PROJECTS_LIMIT:
        raise ProjectError(
            f"The most projects at once must be between 1 and {MAX_PROJECTS_LIMIT}.", field="max_projects"
        )
    ordered = tuple(area for area in ClinicalArea.values if area in areas)  # the list's order, no repeats
    return ProfileDetails(
        **{**details.__dict__, "commissioning_role": details.commissioning_role.strip(), "commissioned_areas": ordered}
    )


def _profile_fields(details: ProfileDetails) -> dict[str, Any]:
    values = dict(details.__dict__)
    values["commissioned_areas"] = list(details.commissioned_areas)
    return values


def create_coach_profile(
    *, user: User, commissioner: Commissioner, details: ProfileDetails, by: User, today: date
) -> CoachProfile:
    """Give a user who holds the coach role at the commissioner their coaching profile."""
    if not ProgrammeRole.objects.filter(user=user, commissioner=commissioner, role=ProgrammeRoleKind.COACH).exists():
        raise ProjectError(
            f"{user.get_full_name()} is not a coach at {commissioner.name}: give them the coach role first.",
            field="user",
        )
    if CoachProfile.objects.filter(user=user).exists():
        raise ProjectError(f"{user.get_full_name()} already has a coach profile.", field="user")
    details = _check_profile(details, today)
    try:
        with transaction.atomic():
            coach = CoachProfile.objects.create(user=user, commissioner=commissioner, **_profile_fields(details))
            audit(coach, "coach.created", by=by, summary=user.get_full_name(), changes=_profile_fields(details))
    except IntegrityError:
        raise ProjectError(f"{user.get_full_name()} already has a coach profile.", field="user") from None
    return coach


def update_coach_profile(*, coach: CoachProfile, details: ProfileDetails, by: User, today: date) -> CoachProfile:
    details = _check_profile(details, today)
    values = _profile_fields(details)
    changes = {name: [getattr(coach, name), value] for name, value in values.items() if getattr(coach, name) != value}
    with transaction.atomic():
        for name, value in values.items():
            setattr(coach, name, value)
        coach.save(update_fields=list(values))
        audit(coach, "coach.updated", by=by, summary=str(coach), changes=changes)
    return coach


# Services: training


@dataclass(frozen=True)
class TrainingDetails:
    course: str
    completed_on: date
    hours: Decimal
    is_refresher: bool = False


def add_training_record(*, coach: CoachProfile, details: TrainingDetails, by: User, today: date) -> TrainingRecord:
    if not details.course.strip():
        raise ProjectError("Enter the course's name.", field="course")
    if details.completed_on > today:
        raise ProjectError("The date completed cannot be in the future.", field="completed_on")
    if details.hours is None or not 0 < details.hours <= MAX_TRAINING_HOURS:
        raise ProjectError("Hours must be more than 0 and no more than 100.", field="hours")
    with transaction.atomic():
        record = TrainingRecord.objects.create(
            coach=coach,
            course=details.course.strip(),
            completed_on=details.completed_on,
            hours=details.hours,
            is_refresher=details.is_refresher,
        )
        audit(
            coach,
            "coach.training_added",
            by=by,
            summary=f"{record.course}, {details.completed_on:%-d %B %Y}",
            changes={"training_record": record.pk, "hours": str(details.hours), "refresher": details.is_refresher},
        )
    return record


# Services: mentoring


def may_mentor(mentor: CoachProfile) -> bool:
    """A mentor is at level mentor, or at level coach with at least one completed project."""
    if not mentor.is_active:
        return False
    if mentor.level == CoachLevel.MENTOR:
        return True
    return mentor.level == CoachLevel.COACH and completed_count(mentor.user_id) > 0


def _overlapping(mentor: CoachProfile, mentee: CoachProfile, starts_on: date, ends_on: date | None) -> Mentoring | None:
    pair = Q(mentor=mentor, mentee=mentee) | Q(mentor=mentee, mentee=mentor)
    overlapping = Mentoring.objects.filter(pair).filter(Q(ends_on__isnull=True) | Q(ends_on__gte=starts_on))
    if ends_on is not None:
        overlapping = overlapping.filter(starts_on__lte=ends_on)
    return overlapping.select_related("mentor__user", "mentee__user").first()


def start_mentoring(
    *, mentor: CoachProfile, mentee: CoachProfile, starts_on: date, ends_on: date | None, by: User
) -> Mentoring:
    """Pair a mentor with a mentee from one date to (optionally) another."""
    if mentor.pk == mentee.pk:
        raise ProjectError("A coach cannot mentor themself: choose someone else.", field="mentor")
    if mentor.commissioner_id != mentee.commissioner_id:
        raise ProjectError(f"{mentor} coaches for another commissioner: choose a mentor from yours.", field="mentor")
    if not may_mentor(mentor):
        raise ProjectError(
            f"{mentor} cannot mentor yet: a mentor is an active coach at level mentor, "
            "or a coach who has completed a project.",
            field="mentor",
        )
    if ends_on is not None and ends_on <= starts_on:
        raise ProjectError("The end date must be after the start date.", field="ends_on")
    existing = _overlapping(mentor, mentee, starts_on, ends_on)
    if existing is not None:
        raise ProjectError(
            f"{existing.mentor} already mentors {existing.mentee} from {existing.starts_on:%-d %B %Y}"
            f"{f' to {existing.ends_on:%-d %B %Y}' if existing.ends_on else ''}: the dates overlap.",
            field="starts_on",
        )
    with transaction.atomic():
        mentoring = Mentoring.objects.create(mentor=mentor, mentee=mentee, starts_on=starts_on, ends_on=ends_on)
        audit(
            mentoring,
            "mentoring.started",
            by=by,
            summary=str(mentoring),
            changes={"starts_on": str(starts_on), "ends_on": str(ends_on) if ends_on else None},
        )
    return mentoring


def end_mentoring(*, mentoring: Mentoring, on: date, by: User) -> Mentoring:
    """End a mentoring pair: ``on`` is its last day."""
    if mentoring.ends_on is not None and mentoring.ends_on <= on:
        raise ProjectError(f"This mentoring already ended on {mentoring.ends_on:%-d %B %Y}.")
    if mentoring.starts_on > on:
        raise ProjectError(f"This mentoring starts on {mentoring.starts_on:%-d %B %Y}: it cannot end before it starts.")
    with transaction.atomic():
        previous = mentoring.ends_on
        mentoring.ends_on = on
        mentoring.save(update_fields=["ends_on"])
        audit(
            mentoring,
            "mentoring.ended",
            by=by,
            summary=str(mentoring),
            changes={"ends_on": [str(previous) if previous else None, str(on)]},
        )
    return mentoring
