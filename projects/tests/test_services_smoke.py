"""The core project services, end to end: create, build a team, pass each guard."""

from datetime import date

import pytest

from coaching.tests.factories import AgreementFactory
from projects.models import MemberKind, Step
from projects.services import (
    MemberDetails,
    ProjectDetails,
    ProjectError,
    SectionConflict,
    add_team_member,
    create_project,
    make_champion,
    move_to_next_step,
    save_section,
)
from projects.workbook import FIVE_PS


def test_a_project_moves_through_organise_assess_and_diagnose(programme):
    details = ProjectDetails(
        title="Results",
        scope="Lab results",
        starts_on=date(2025, 1, 6),
        planned_end_on=None,
        typology="process_driven",
        process_subtheme="administrative",
    )
    project = create_project(practice=programme.practice, details=details, by=programme.manager)
    assert project.planned_end_on == date(2025, 4, 7)

    with pytest.raises(ProjectError, match="Name a champion"):
        move_to_next_step(project=project, by=programme.lead)
    AgreementFactory(project=project)

    manager = add_team_member(
        project=project,
        by=programme.manager,
        details=MemberDetails(kind=MemberKind.STAFF, user=programme.manager, team_role="Lead"),
    )
    add_team_member(
        project=project,
        by=programme.manager,
        details=MemberDetails(kind=MemberKind.STAFF, user=programme.nurse, team_role="Nurse"),
    )
    add_team_member(
        project=project,
        by=programme.manager,
        details=MemberDetails(
            kind=MemberKind.PATIENT,
            name="Pat Rep",
            contact="via the PPG",
            consent_to_be_listed=True,
            team_role="Patient voice",
        ),
    )
    make_champion(member=manager, by=programme.manager)
    move_to_next_step(project=project, by=programme.lead)
    assert project.step == Step.ASSESS

    for section in project.sections.filter(key__in=FIVE_PS):
        save_section(
            section=section, data=section.data, base_version=section.version, by=programme.nurse, complete=True
        )
    move_to_next_step(project=project, by=programme.lead)
    assert project.step == Step.DIAGNOSE

    theme = project.sections.get(key="theme")
    save_section(section=theme, data={"theme": "Results"}, base_version=0, by=programme.nurse)
    with pytest.raises(SectionConflict):
        save_section(section=theme, data={"theme": "Other"}, base_version=0, by=programme.manager)
    with pytest.raises(ProjectError, match="global aim"):
        move_to_next_step(project=project, by=programme.lead)
    move_to_next_step(project=project, by=programme.lead, override_reason="Agreed at the meeting", may_override=True)
    assert project.step == Step.TREAT
    assert project.step_changes.first().unmet == ["Write every part of the global aim."]
