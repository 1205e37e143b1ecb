"""Which coaches suit a project, best first, with the reasons spelt out.

``rank_coaches`` is a pure function: plain facts in, a ranked list out, no database. The
order is lexicographic:

1. no conflict of interest first (a coach who commissions the project's clinical area for
   the practice goes to the bottom, with the reason in plain words, never hidden);
2. then coaches with free capacity (open projects below their limit);
3. then a higher score, the sum of:
   - 2 points per completed project of the project's typology, counting up to 3 (at most 6),
   - 1 point for having completed any project at all,
   - 2 points for a clinical background, when the project is clinical,
   - 3 points for an existing relationship (has coached a project at the practice before),
   - 1 point for having coached a project in the practice's PCN;
4. then by name (case-insensitive), then user id, so ties always come out the same way.

Inactive coaches are not offered. ``matching_inputs`` loads the facts for a project with a
constant number of queries, whatever the number of coaches and projects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet

from practices.models import Practice, ProgrammeRole, ProgrammeRoleKind
from projects.models import ClinicalArea, Project, Typology

from .coaches import coaching_records
from .models import ClinicalBackground, CoachProfile, Mentoring

POINTS_PER_SAME_TYPOLOGY = 2
SAME_TYPOLOGY_COUNTED = 3
POINTS_FOR_ANY_COMPLETED = 1
POINTS_FOR_CLINICAL_BACKGROUND = 2
POINTS_FOR_RELATIONSHIP = 3
POINTS_FOR_SAME_PCN = 1


@dataclass(frozen=True)
class ProjectFacts:
    practice_id: int
    practice_name: str
    pcn_id: int | None
    pcn_name: str
    typology: str
    clinical_area: str = ""


@dataclass(frozen=True)
class CoachFacts:
    user_id: int
    name: str
    is_active: bool
    max_projects: int
    open_projects: int = 0
    commissioned_areas: frozenset[str] = frozenset()
    clinical_background: str = ""
    completed_by_typology: Mapping[str, int] = field(default_factory=dict)
    practices_coached: frozenset[int] = frozenset()
    pcns_coached: frozenset[int] = frozenset()
    has_active_mentor: bool = False
    profile_id: int | None = None
    level: str = ""

    @property
    def completed(self) -> int:
        return sum(self.completed_by_typology.values())


@dataclass(frozen=True)
class Reason:
    text: str
    in_favour: bool


@dataclass(frozen=True)
class Match:
    coach: CoachFacts
    has_conflict: bool
    has_capacity: bool
    score: int
    reasons: tuple[Reason, ...]

    @property
    def sort_key(self) -> tuple[bool, bool, int, str, int]:
        return (self.has_conflict, not self.has_capacity, -self.score, self.coach.name.casefold(), self.coach.user_id)


def rank_coaches(project: ProjectFacts, coaches: Iterable[CoachFacts]) -> list[Match]:
    """The active coaches for the project, best first (see the module's docstring for the order)."""
    matches = [assess(project, coach) for coach in coaches if coach.is_active]
    return sorted(matches, key=lambda match: match.sort_key)


def assess(project: ProjectFacts, coach: CoachFacts) -> Match:
    """One coach against one project: conflict, capacity, score and every reason in plain words."""
    reasons: list[Reason] = []
    conflict = bool(project.clinical_area) and project.clinical_area in coach.commissioned_areas
    if conflict:
        area = ClinicalArea(project.clinical_area).label.lower()
        reasons.append(Reason(f"Commissions {area} services for this practice", False))
    else:
        reasons.append(Reason("No conflict of interest", True))
    has_capacity = coach.open_projects < coach.max_projects
    held = f"holds {coach.open_projects} of {coach.max_projects} projects"
    reasons.append(Reason(f"Has capacity: {held}" if has_capacity else f"No free capacity: {held}", has_capacity))
    score = _experience(project, coach, reasons) + _connections(project, coach, reasons)
    return Match(coach=coach, has_conflict=conflict, has_capacity=has_capacity, score=score, reasons=tuple(reasons))


def _experience(project: ProjectFacts, coach: CoachFacts, reasons: list[Reason]) -> int:
    score = 0
    same = coach.completed_by_typology.get(project.typology, 0)
    kind = Typology(project.typology).label.lower()
    if same:
        score += POINTS_PER_SAME_TYPOLOGY * min(same, SAME_TYPOLOGY_COUNTED) + POINTS_FOR_ANY_COMPLETED
        reasons.append(Reason(f"Has completed {_projects(same)} {kind} {_plural(same)}", True))
    elif coach.completed:
        score += POINTS_FOR_ANY_COMPLETED
        done = coach.completed
        reasons.append(Reason(f"Has completed {_projects(done)} {_plural(done)}, none {kind}", True))
    elif coach.has_active_mentor:
        reasons.append(Reason("Has not completed a project yet, and has a mentor", False))
    else:
        reasons.append(Reason("Has not completed a project yet: needs a co-coach or a mentor", False))
    if project.clinical_area:
        if coach.clinical_background:
            background = ClinicalBackground(coach.clinical_background).label
            reasons.append(Reason(f"Clinical background ({background}) for a clinical project", True))
            score += POINTS_FOR_CLINICAL_BACKGROUND
        else:
            reasons.append(Reason("No clinical background, and the project is clinical", False))
    return score


def _connections(project: ProjectFacts, coach: CoachFacts, reasons: list[Reason]) -> int:
    score = 0
    if project.practice_id in coach.practices_coached:
        reasons.append(Reason(f"Has coached at {project.practice_name} before", True))
        score += POINTS_FOR_RELATIONSHIP
    if project.pcn_id is not None and project.pcn_id in coach.pcns_coached:
        reasons.append(Reason(f"Has coached in {project.pcn_name}", True))
        score += POINTS_FOR_SAME_PCN
    return score


def _projects(count: int) -> str:
    return "one" if count == 1 else str(count)


def _plural(count: int) -> str:
    return "project" if count == 1 else "projects"


# Loading the facts: a constant number of queries, whatever the size of the programme


def matching_inputs(project: Project, *, today: date) -> tuple[ProjectFacts, list[CoachFacts]]:
    """The project's facts and those of every coach (with a profile and the coach role) at its commissioner.

    Three queries: the practice, the coaches (with whether each has an active mentor), and their projects
    counted by pair of coaches (``coaches.coaching_records``). A coach's ``practices_coached`` and
    ``pcns_coached`` hold this project's practice and PCN when they have coached there: the only ones
    the ranking asks about.
    """
    practice_name, pcn_id, pcn_name, commissioner_id = (
        Practice.objects.filter(pk=project.practice_id)
        .values_list("name", "pcn_id", "pcn__name", "commissioner_id")
        .get()
    )
    facts = ProjectFacts(
        practice_id=project.practice_id,
        practice_name=practice_name,
        pcn_id=pcn_id,
        pcn_name=pcn_name or "",
        typology=project.typology,
        clinical_area=project.clinical_area,
    )
    holds_role = ProgrammeRole.objects.filter(
        user_id=OuterRef("user_id"), commissioner_id=commissioner_id, role=ProgrammeRoleKind.COACH
    )
    profiles = list(
        CoachProfile.objects.filter(commissioner_id=commissioner_id)
        .filter(Exists(holds_role))
        .annotate(has_active_mentor=Exists(_active_mentorings(today)))
        .values_list(
            "user_id",
            "pk",
            "user__full_name",
            "user__email",
            "level",
            "is_active",
            "max_projects",
            "commissioned_areas",
            "clinical_background",
            "has_active_mentor",
        )
    )
    records = coaching_records(
        [p[0] for p in profiles], exclude=project.pk, practice_id=project.practice_id, pcn_id=pcn_id
    )
    coaches = []
    for user_id, pk, full_name, email, level, is_active, most, areas, background, mentored in profiles:
        record = records[user_id]
        coaches.append(
            CoachFacts(
                user_id=user_id,
                profile_id=pk,
                name=full_name or email,  # as ``User.get_full_name``
                level=level,
                is_active=is_active,
                max_projects=most,
                commissioned_areas=frozenset(areas or []),
                clinical_background=background,
                has_active_mentor=mentored,
                open_projects=record.open_projects,
                completed_by_typology=record.completed_by_typology,
                practices_coached=frozenset([project.practice_id] if record.at_practice else []),
                pcns_coached=frozenset([pcn_id] if record.in_pcn and pcn_id is not None else []),
            )
        )
    return facts, coaches


def _active_mentorings(today: date) -> QuerySet[Mentoring]:
    """A coach's mentoring active today with an active mentor (for ``Exists``, on the mentee's profile)."""
    return Mentoring.objects.filter(mentee_id=OuterRef("pk"), mentor__is_active=True, starts_on__lte=today).filter(
        Q(ends_on__isnull=True) | Q(ends_on__gte=today)
    )
