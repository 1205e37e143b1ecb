"""The improvement team: who may join, the one champion, meeting roles that rotate, patient representatives."""

import pytest
from django.db import IntegrityError, transaction

from microsystems.models import AuditEntry
from projects.models import MeetingRole, MemberKind, Project, Step, TeamMember
from projects.services import (
    MemberDetails,
    ProjectError,
    add_team_member,
    assign_meeting_role,
    make_champion,
    missing_to_leave,
    record_no_patient_rep,
    remove_team_member,
    update_team_member,
)
from projects.tests.factories import ProjectFactory, TeamMemberFactory


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice, lead_coach=programme.coach)


def add(project, by, **details):
    return add_team_member(project=project, details=MemberDetails(**details), by=by)


def add_staff(project, user, by=None):
    return add(project, by or user, kind=MemberKind.STAFF, user=user, team_role="Member")


def refused(call, **kwargs):
    with pytest.raises(ProjectError) as error:
        call(**kwargs)
    return error.value


# The champion


def test_a_project_has_one_champion_and_naming_another_moves_it(programme, project):
    manager, nurse = add_staff(project, programme.manager), add_staff(project, programme.nurse)
    make_champion(member=manager, by=programme.manager)
    make_champion(member=nurse, by=programme.coach)
    manager.refresh_from_db()
    nurse.refresh_from_db()
    assert not manager.is_champion and nurse.is_champion
    assert list(project.team.filter(is_champion=True)) == [nurse]
    entries = AuditEntry.objects.filter(action="project.champion_named").order_by("pk")
    assert [(e.actor, e.summary) for e in entries] == [
        (programme.manager, programme.manager.get_full_name()),
        (programme.coach, programme.nurse.get_full_name()),
    ]


def test_naming_the_champion_again_changes_nothing(programme, project):
    manager = add_staff(project, programme.manager)
    make_champion(member=manager, by=programme.manager)
    make_champion(member=manager, by=programme.manager)
    assert project.team.filter(is_champion=True).count() == 1


def test_the_database_refuses_a_second_champion(programme, project):
    make_champion(member=add_staff(project, programme.manager), by=programme.manager)
    nurse = add_staff(project, programme.nurse)
    nurse.is_champion = True
    with pytest.raises(IntegrityError), transaction.atomic():
        nurse.save(update_fields=["is_champion"])


def test_a_champion_is_always_on_the_team(programme, project):
    """The champion is a member of the team: there is no champion outside it to leave behind."""
    champion = add_staff(project, programme.manager)
    make_champion(member=champion, by=programme.manager)
    assert "Name a champion." not in missing_to_leave(project)
    remove_team_member(member=champion, by=programme.manager)
    assert not TeamMember.objects.filter(project=project, is_champion=True).exists()
    assert "Name a champion." in missing_to_leave(project)


def test_naming_a_champion_on_another_project_leaves_this_one_alone(programme, project):
    mine = add_staff(project, programme.manager)
    make_champion(member=mine, by=programme.manager)
    other = TeamMemberFactory(project=ProjectFactory(practice=programme.practice))
    make_champion(member=other, by=programme.manager)
    mine.refresh_from_db()
    assert mine.is_champion and other.is_champion


def test_the_champion_cannot_be_removed_past_organise(programme, project):
    champion = add_staff(project, programme.manager)
    other = add_staff(project, programme.nurse)
    make_champion(member=champion, by=programme.manager)
    Project.objects.filter(pk=project.pk).update(step=Step.ASSESS)
    champion.refresh_from_db()
    error = refused(remove_team_member, member=champion, by=programme.coach)
    assert "Name another champion" in str(error)
    assert TeamMember.objects.filter(pk=champion.pk, is_champion=True).exists()
    assert not AuditEntry.objects.filter(action="project.team_member_removed").exists()
    other.refresh_from_db()
    remove_team_member(member=other, by=programme.coach)
    assert not TeamMember.objects.filter(pk=other.pk).exists()


def test_the_champion_can_step_down_past_organise_once_another_is_named(programme, project):
    champion, nurse = add_staff(project, programme.manager), add_staff(project, programme.nurse)
    make_champion(member=champion, by=programme.manager)
    Project.objects.filter(pk=project.pk).update(step=Step.DIAGNOSE)
    make_champion(member=nurse, by=programme.manager)
    champion.refresh_from_db()
    remove_team_member(member=champion, by=programme.manager)
    assert list(TeamMember.objects.filter(project=project)) == [nurse]


def test_the_champion_can_be_removed_in_organise(programme, project):
    champion = add_staff(project, programme.manager)
    make_champion(member=champion, by=programme.manager)
    champion.refresh_from_db()
    remove_team_member(member=champion, by=programme.manager)
    assert not project.team.exists()
    assert AuditEntry.objects.filter(action="project.team_member_removed", actor=programme.manager).exists()


# Staff


def test_a_staff_member_must_be_on_the_practices_staff(programme, project):
    error = refused(
        add_team_member,
        project=project,
        by=programme.manager,
        details=MemberDetails(kind=MemberKind.STAFF, user=programme.sibling_nurse, team_role="Nurse"),
    )
    assert error.field == "user"
    for outsider in (programme.coach, programme.lead, programme.other_nurse, None):
        details = MemberDetails(kind=MemberKind.STAFF, user=outsider, team_role="Helper")
        assert refused(add_team_member, project=project, by=programme.manager, details=details).field == "user"
    assert not project.team.exists()


def test_clinical_or_not_comes_from_the_practice_role_not_from_the_form(programme, project):
    nurse = add(project, programme.nurse, kind=MemberKind.STAFF, user=programme.nurse, team_role="N", is_clinical=False)
    manager = add(
        project, programme.manager, kind=MemberKind.STAFF, user=programme.manager, team_role="M", is_clinical=True
    )
    assert nurse.is_clinical and not manager.is_clinical


def test_a_member_of_staff_joins_the_team_once(programme, project):
    add_staff(project, programme.nurse)
    error = refused(
        add_team_member,
        project=project,
        by=programme.manager,
        details=MemberDetails(kind=MemberKind.STAFF, user=programme.nurse, team_role="Again"),
    )
    assert error.field == "user" and "already on the team" in str(error)
    manager = add_staff(project, programme.manager)
    error = refused(
        update_team_member,
        member=manager,
        by=programme.manager,
        details=MemberDetails(kind=MemberKind.STAFF, user=programme.nurse, team_role="Swap"),
    )
    assert error.field == "user"


def test_every_member_needs_a_role_in_the_team(programme, project):
    error = refused(
        add_team_member,
        project=project,
        by=programme.manager,
        details=MemberDetails(kind=MemberKind.STAFF, user=programme.nurse, team_role="  "),
    )
    assert error.field == "team_role"


# Patient representatives and partners


PATIENT = {"kind": MemberKind.PATIENT, "name": "Pat Doe", "contact": "Through the PPG", "team_role": "Patient voice"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"consent_to_be_listed": False}, "consent_to_be_listed"),
        ({"contact": "  "}, "contact"),
        ({"name": ""}, "name"),
    ],
)
def test_a_patient_representative_needs_a_name_contact_and_consent(programme, project, change, field):
    details = MemberDetails(**(PATIENT | {"consent_to_be_listed": True} | change))
    error = refused(add_team_member, project=project, by=programme.manager, details=details)
    assert error.field == field
    assert not project.team.exists()


def test_a_patient_representative_with_consent_joins_as_a_non_clinical_member(programme, project):
    member = add(project, programme.manager, **PATIENT, consent_to_be_listed=True, is_clinical=True)
    assert member.kind == MemberKind.PATIENT and member.user is None
    assert member.consent_to_be_listed and not member.is_clinical
    assert "Add a patient representative" not in " ".join(missing_to_leave(project))


def test_a_partner_needs_an_organisation(programme, project):
    details = MemberDetails(kind=MemberKind.PARTNER, name="Sam Lee", team_role="District nurse")
    assert refused(add_team_member, project=project, by=programme.manager, details=details).field == "organisation"
    member = add(
        project,
        programme.manager,
        kind=MemberKind.PARTNER,
        name="Sam Lee",
        organisation="Kent Community Health",
        team_role="District nurse",
        is_clinical=True,
    )
    assert member.is_clinical and member.organisation == "Kent Community Health"


def test_recording_why_there_is_no_patient_representative_is_audited(programme, project):
    record_no_patient_rep(project=project, reason="  The PPG meets in March.  ", by=programme.manager)
    project.refresh_from_db()
    assert project.no_patient_rep_reason == "The PPG meets in March."
    assert AuditEntry.objects.filter(action="project.no_patient_rep_reason", actor=programme.manager).exists()


# Meeting roles


def test_meeting_roles_rotate_one_person_to_each_role(programme, project):
    manager, nurse = add_staff(project, programme.manager), add_staff(project, programme.nurse)
    assign_meeting_role(member=manager, role=MeetingRole.LEADER, by=programme.manager)
    assign_meeting_role(member=nurse, role=MeetingRole.TIMEKEEPER, by=programme.manager)
    # Next meeting: the roles move on.
    assign_meeting_role(member=nurse, role=MeetingRole.LEADER, by=programme.manager)
    assign_meeting_role(member=manager, role=MeetingRole.TIMEKEEPER, by=programme.manager)
    roles = dict(project.team.values_list("user", "meeting_role"))
    assert roles == {programme.nurse.pk: MeetingRole.LEADER, programme.manager.pk: MeetingRole.TIMEKEEPER}
    assert AuditEntry.objects.filter(action="project.meeting_role_assigned").count() == 4


def test_giving_a_role_hands_it_over_from_whoever_held_it(programme, project):
    manager, nurse = add_staff(project, programme.manager), add_staff(project, programme.nurse)
    assign_meeting_role(member=manager, role=MeetingRole.RECORDER, by=programme.manager)
    assign_meeting_role(member=nurse, role=MeetingRole.RECORDER, by=programme.manager)
    manager.refresh_from_db()
    assert manager.meeting_role == "" and project.team.filter(meeting_role=MeetingRole.RECORDER).get() == nurse


def test_a_meeting_role_can_be_cleared_and_must_come_from_the_list(programme, project):
    manager = add_staff(project, programme.manager)
    assign_meeting_role(member=manager, role=MeetingRole.FACILITATOR, by=programme.manager)
    assert refused(assign_meeting_role, member=manager, role="chair", by=programme.manager).field == "meeting_role"
    manager.refresh_from_db()
    assert manager.meeting_role == MeetingRole.FACILITATOR
    assign_meeting_role(member=manager, role="", by=programme.manager)
    manager.refresh_from_db()
    assert manager.meeting_role == ""
