"""The rules for putting coaches on a project, as one plain function the assigning service calls.

- Each coach named must have an active coach profile and hold the coach role at the
  practice's commissioner.
- A coach who has not completed a project cannot be a project's only coach: they need a
  co-coach, or a mentor whose mentoring is active on the day.
- Going over a coach's limit (open projects against ``max_projects``) is allowed, but only
  when the lead confirms it with a reason: those are returned as ``needs_confirmation``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Exists, OuterRef, Q

from microsystems.models import User
from practices.models import ProgrammeRole, ProgrammeRoleKind
from projects.models import Project

from .coaches import CLOSED_STEPS, coached_by, count_subquery, projects_of_coach_ref
from .models import CoachProfile, Mentoring


@dataclass
class AssignmentCheck:
    """What stops an assignment (``errors``: field and message) and what the lead must confirm first."""

    errors: list[tuple[str, str]] = field(default_factory=list)
    needs_confirmation: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def coach_load(users: Iterable[User | int]) -> dict[int, int]:
    """Each coach's open projects (led or co-coached, not completed or withdrawn), by user id: one query."""
    ids = [u if isinstance(u, int) else u.pk for u in users]
    load = dict.fromkeys(ids, 0)
    if not ids:
        return load
    rows = (
        Project.objects.filter(coached_by(ids))
        .exclude(step__in=CLOSED_STEPS)
        .values_list("lead_coach_id", "co_coach_id")
    )
    for lead_id, co_id in rows:
        for user_id in {lead_id, co_id}:
            if user_id in load:
                load[user_id] += 1
    return load


def _profiles(project: Project, users: list[User], today: date) -> dict[int, CoachProfile]:
    commissioner_id = project.practice.commissioner_id
    active_mentor = Mentoring.objects.filter(
        mentee=OuterRef("pk"), mentor__is_active=True, starts_on__lte=today
    ).filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
    holds_role = ProgrammeRole.objects.filter(
        user_id=OuterRef("user_id"), commissioner_id=commissioner_id, role=ProgrammeRoleKind.COACH
    )
    profiles = CoachProfile.objects.filter(user__in=users).annotate(
        completed=count_subquery(projects_of_coach_ref().filter(completed_on__isnull=False)),
        has_active_mentor=Exists(active_mentor),
        holds_role=Exists(holds_role),
    )
    return {profile.user_id: profile for profile in profiles}


def _name(user: User) -> str:
    return user.get_full_name()


def check_assignment(
    *, project: Project, lead_coach: User | None, co_coach: User | None, today: date
) -> AssignmentCheck:
    """Whether these coaches may take the project, and which of them the lead must confirm going over their limit."""
    check = AssignmentCheck()
    named = [(f, u) for f, u in (("lead_coach", lead_coach), ("co_coach", co_coach)) if u is not None]
    if not named:
        return check
    if lead_coach is not None and co_coach is not None and lead_coach.pk == co_coach.pk:
        check.errors.append(("co_coach", "The co-coach must be someone other than the lead coach."))
        return check
    profiles = _profiles(project, [u for _, u in named], today)
    commissioner = project.practice.commissioner
    for field_name, user in named:
        profile = profiles.get(user.pk)
        if profile is None:
            check.errors.append((field_name, f"{_name(user)} has no coach profile yet: add one on the coaches page."))
        elif not profile.is_active:
            check.errors.append((field_name, f"{_name(user)} is not an active coach."))
        elif profile.commissioner_id != commissioner.pk or not profile.holds_role:  # type: ignore[attr-defined]
            check.errors.append((field_name, f"{_name(user)} is not a coach at {commissioner.name}."))
    if check.errors:
        return check
    _check_new_coach_alone(check, named, profiles)
    _check_capacity(check, project, named, profiles)
    return check


def _check_new_coach_alone(
    check: AssignmentCheck, named: list[tuple[str, User]], profiles: dict[int, CoachProfile]
) -> None:
    if len(named) != 1:
        return  # two coaches: neither is alone
    field_name, user = named[0]
    profile = profiles[user.pk]
    if not profile.completed and not profile.has_active_mentor:  # type: ignore[attr-defined]
        name = _name(user)
        check.errors.append(
            (field_name, f"{name} has not completed a project yet: add a co-coach, or give {name} a mentor first.")
        )


def _check_capacity(
    check: AssignmentCheck, project: Project, named: list[tuple[str, User]], profiles: dict[int, CoachProfile]
) -> None:
    if not project.is_active:
        return  # a closed project adds to no one's load
    load = coach_load([user for _, user in named])
    already = {project.lead_coach_id, project.co_coach_id} if project.pk else set()
    for _, user in named:
        would_hold = load[user.pk] + (0 if user.pk in already else 1)
        limit = profiles[user.pk].max_projects
        if would_hold > limit:
            check.needs_confirmation.append(f"{_name(user)} would hold {would_hold} projects; their limit is {limit}.")
