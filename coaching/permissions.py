"""Who may see or change coaching records: the one place these rules live.

A coach profile is seen by its coach and by the leads of the coach's commissioner, who
also keep it up to date. A project's sessions and actions are seen by everyone who sees
the project (``projects.selectors.projects_for``); the project's coaches log them, and a
practice member may tick off an action they own. A private reflection is read only by the
coach who wrote it and by that coach's mentor while the mentoring is active.
"""

from __future__ import annotations

import rules
from django.utils import timezone

from microsystems.models import User
from practices.models import ProgrammeRoleKind
from practices.permissions import roles_of
from projects.models import Project
from projects.permissions import is_lead_for_project, is_project_coach, is_project_open

from .models import Action, CoachProfile, Mentoring, Reflection


@rules.predicate
def leads_coach(user: User, coach: CoachProfile) -> bool:
    return coach.commissioner_id in roles_of(user).commissioners_with(ProgrammeRoleKind.LEAD)


@rules.predicate
def is_the_coach(user: User, coach: CoachProfile) -> bool:
    return user.is_authenticated and coach.user_id == user.pk


@rules.predicate
def owns_action(user: User, action: Action) -> bool:
    return user.is_authenticated and action.owner.user_id == user.pk and action.project.is_active


@rules.predicate
def coaches_action_project(user: User, action: Action) -> bool:
    project: Project = action.project
    return user.is_authenticated and user.pk in {project.lead_coach_id, project.co_coach_id} and project.is_active


def mentors(user: User, coach_user_id: int) -> bool:
    """Whether ``user`` mentors the coach (by user id) today."""
    today = timezone.localdate()
    return (
        Mentoring.objects.filter(mentor__user=user, mentee__user_id=coach_user_id, starts_on__lte=today)
        .exclude(ends_on__lt=today)
        .exists()
    )


@rules.predicate
def may_read_reflection(user: User, reflection: Reflection) -> bool:
    if not user.is_authenticated:
        return False
    return reflection.coach_id == user.pk or mentors(user, reflection.coach_id)


rules.add_perm("coaching.view_coach", leads_coach | is_the_coach)
rules.add_perm("coaching.manage_coach", leads_coach)
rules.add_perm("coaching.log_session", is_project_coach & is_project_open)
rules.add_perm("coaching.record_agreement", (is_project_coach | is_lead_for_project) & is_project_open)
rules.add_perm("coaching.match_coaches", is_lead_for_project)
rules.add_perm("coaching.tick_action", owns_action | coaches_action_project)
rules.add_perm("coaching.read_reflection", may_read_reflection)
