"""Who may see or change a project: the one place these rules live.

The lead reads every project of their commissioner; a coach, the projects they coach;
practice staff, their practice's projects. Practice staff and the project's coaches edit
the workbook and the team; the lead moves steps and may override a guard.
"""

from __future__ import annotations

import rules

from microsystems.models import User
from practices.models import OdsStatus, Practice, ProgrammeRoleKind
from practices.permissions import roles_of

from .models import Project


@rules.predicate
def is_lead_for_project(user: User, project: Project) -> bool:
    commissioner_id = project.practice.commissioner_id
    return commissioner_id in roles_of(user).commissioners_with(ProgrammeRoleKind.LEAD)


@rules.predicate
def is_project_coach(user: User, project: Project) -> bool:
    return user.is_authenticated and user.pk in {project.lead_coach_id, project.co_coach_id}


@rules.predicate
def is_practice_staff(user: User, project: Project) -> bool:
    return project.practice_id in roles_of(user).practices


@rules.predicate
def is_project_open(user: User, project: Project) -> bool:
    return project.is_active


@rules.predicate
def may_start_project_at(user: User, practice: Practice) -> bool:
    """A lead at their commissioner's open practices; practice staff at their own."""
    roles = roles_of(user)
    return practice.ods_status == OdsStatus.ACTIVE and (
        practice.commissioner_id in roles.commissioners_with(ProgrammeRoleKind.LEAD) or practice.pk in roles.practices
    )


rules.add_perm("projects.start_project", may_start_project_at)
rules.add_perm("projects.edit_workbook", (is_practice_staff | is_project_coach) & is_project_open)
rules.add_perm("projects.manage_team", (is_practice_staff | is_project_coach | is_lead_for_project) & is_project_open)
rules.add_perm("projects.change_step", (is_project_coach | is_lead_for_project) & is_project_open)
rules.add_perm("projects.override_guard", is_lead_for_project)
rules.add_perm("projects.edit_project", (is_practice_staff | is_project_coach | is_lead_for_project) & is_project_open)
rules.add_perm("projects.assign_coach", is_lead_for_project)
rules.add_perm("projects.edit_improvement", (is_practice_staff | is_project_coach) & is_project_open)
