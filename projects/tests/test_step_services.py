"""Moving a project through the method's steps: each guard, the lead's override, withdrawal, the audit trail."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from coaching.tests.factories import AgreementFactory
from microsystems.models import AuditEntry
from projects import permissions  # noqa: F401  (registers the rules)
from projects.models import MemberKind, Project, Step, StepChange, WorkbookSection
from projects.services import (
    MemberDetails,
    ProjectError,
    add_team_member,
    make_champion,
    missing_to_leave,
    move_to_next_step,
    record_no_patient_rep,
    withdraw_project,
)
from projects.tests.factories import ProjectFactory, TeamMemberFactory
from projects.workbook import FIVE_PS, SECTIONS_BY_KEY


@pytest.fixture
def project(programme):
    """A project whose coaching agreement is signed, so each test looks at the other guards."""
    project = ProjectFactory(practice=programme.practice, lead_coach=programme.coach)
    AgreementFactory(project=project)
    return project


def staff(project, user, role="Member", by=None):
    details = MemberDetails(kind=MemberKind.STAFF, user=user, team_role=role)
    return add_team_member(project=project, details=details, by=by or user)


def patient(project, by):
    details = MemberDetails(
        kind=MemberKind.PATIENT, name="Pat Doe", contact="Through the PPG", consent_to_be_listed=True, team_role="Voice"
    )
    return add_team_member(project=project, details=details, by=by)


def full_team(project, programme):
    """A team that meets every Organise guard: manager (champion), nurse (clinical), patient representative."""
    champion = staff(project, programme.manager, "Lead")
    staff(project, programme.nurse, "Nurse")
    patient(project, programme.manager)
    make_champion(member=champion, by=programme.manager)
    return champion


def at_step(project, step):
    Project.objects.filter(pk=project.pk).update(step=step)
    project.refresh_from_db()
    return project


def refuse_to_move(project, by, **kwargs):
    with pytest.raises(ProjectError) as refused:
        move_to_next_step(project=project, by=by, **kwargs)
    project.refresh_from_db()
    return refused.value


# Organise


def test_a_team_that_meets_every_guard_leaves_organise_with_nothing_overridden(programme, project):
    full_team(project, programme)
    assert missing_to_leave(project) == []
    move_to_next_step(project=project, by=programme.coach)
    assert project.step == Step.ASSESS
    change = project.step_changes.get()
    assert (change.from_step, change.to_step, change.changed_by) == (Step.ORGANISE, Step.ASSESS, programme.coach)
    assert change.override_reason == "" and change.unmet == []


def test_organise_needs_a_champion(programme, project):
    staff(project, programme.manager)
    staff(project, programme.nurse)
    patient(project, programme.manager)
    assert missing_to_leave(project) == ["Name a champion."]
    error = refuse_to_move(project, programme.coach)
    assert "Name a champion." in str(error) and error.field == "override_reason"
    assert project.step == Step.ORGANISE and not project.step_changes.exists()


def test_organise_needs_a_team_of_at_least_three(programme, project):
    champion = staff(project, programme.manager)
    staff(project, programme.nurse)
    make_champion(member=champion, by=programme.manager)
    record_no_patient_rep(project=project, reason="The PPG has not met this year.", by=programme.manager)
    assert missing_to_leave(project) == ["Build a team of at least three (it has 2)."]
    refuse_to_move(project, programme.coach)
    TeamMemberFactory(project=project)
    assert missing_to_leave(project) == []


def test_organise_needs_clinical_and_non_clinical_members(programme, project):
    champion = staff(project, programme.manager)  # a practice manager is not clinical
    TeamMemberFactory(project=project, is_clinical=False, team_role="Care navigator")
    patient(project, programme.manager)
    make_champion(member=champion, by=programme.manager)
    assert missing_to_leave(project) == ["Include both clinical and non-clinical members."]
    refuse_to_move(project, programme.coach)
    staff(project, programme.nurse)  # a nurse is clinical
    assert missing_to_leave(project) == []


def test_organise_needs_only_clinical_members_to_be_balanced_too(programme, project):
    champion = staff(project, programme.nurse)
    TeamMemberFactory.create_batch(2, project=project, is_clinical=True)
    make_champion(member=champion, by=programme.nurse)
    record_no_patient_rep(project=project, reason="Recruiting through the PPG.", by=programme.nurse)
    assert missing_to_leave(project) == ["Include both clinical and non-clinical members."]


def test_organise_needs_a_patient_representative_or_a_reason_for_none(programme, project):
    champion = staff(project, programme.manager)
    staff(project, programme.nurse)
    TeamMemberFactory(project=project)
    make_champion(member=champion, by=programme.manager)
    assert missing_to_leave(project) == ["Add a patient representative, or record why the team has none."]
    refuse_to_move(project, programme.coach)
    record_no_patient_rep(project=project, reason="   ", by=programme.manager)
    assert missing_to_leave(project) == ["Add a patient representative, or record why the team has none."]
    record_no_patient_rep(project=project, reason="No one volunteered at the PPG meeting.", by=programme.manager)
    move_to_next_step(project=project, by=programme.coach)
    assert project.step == Step.ASSESS


def test_a_cross_boundary_project_needs_a_senior_sponsor_to_leave_organise(programme, project):
    Project.objects.filter(pk=project.pk).update(crosses_boundaries=True, other_organisations="Kent Community Health")
    project.refresh_from_db()
    full_team(project, programme)
    assert missing_to_leave(project) == ["Name a senior sponsor: the project crosses organisational boundaries."]
    refuse_to_move(project, programme.coach)
    Project.objects.filter(pk=project.pk).update(senior_sponsor="Director of community nursing")
    project.refresh_from_db()
    move_to_next_step(project=project, by=programme.coach)
    assert project.step == Step.ASSESS


def test_organise_needs_the_signed_coaching_agreement(programme, project):
    full_team(project, programme)
    project.agreement.delete()
    project = Project.objects.get(pk=project.pk)
    assert missing_to_leave(project) == ["Record the signed coaching agreement between the practice and its coach."]
    refuse_to_move(project, programme.coach)
    assert project.step == Step.ORGANISE
    AgreementFactory(project=project)
    move_to_next_step(project=Project.objects.get(pk=project.pk), by=programme.coach)


def test_every_unmet_organise_guard_is_listed_together(programme, project):
    Project.objects.filter(pk=project.pk).update(crosses_boundaries=True, other_organisations="Care home")
    project.refresh_from_db()
    assert missing_to_leave(project) == [
        "Name a champion.",
        "Build a team of at least three (it has 0).",
        "Include both clinical and non-clinical members.",
        "Add a patient representative, or record why the team has none.",
        "Name a senior sponsor: the project crosses organisational boundaries.",
    ]


# Assess


def complete(project, *keys):
    WorkbookSection.objects.filter(project=project, key__in=keys).update(complete=True)


@pytest.mark.parametrize("left_out", FIVE_PS)
def test_assess_needs_each_of_the_5ps_marked_complete(programme, project, left_out):
    at_step(project, Step.ASSESS)
    complete(project, *(key for key in FIVE_PS if key != left_out))
    title = SECTIONS_BY_KEY[left_out].title
    assert missing_to_leave(project) == [f"Mark {title} complete."]
    error = refuse_to_move(project, programme.coach)
    assert f"Mark {title} complete." in str(error)
    assert project.step == Step.ASSESS
    complete(project, left_out)
    move_to_next_step(project=project, by=programme.coach)
    assert project.step == Step.DIAGNOSE


def test_a_written_but_unfinished_section_does_not_count(programme, project):
    at_step(project, Step.ASSESS)
    complete(project, *FIVE_PS[1:])
    WorkbookSection.objects.filter(project=project, key="purpose").update(data={"purpose": "Our system exists to…"})
    assert missing_to_leave(project) == ["Mark Purpose complete."]


# Diagnose


GLOBAL_AIM = {
    "improve": "the handling of test results",
    "begins": "a result arriving",
    "ends": "the patient knowing the outcome",
    "expect": "no result to wait more than 2 days",
    "important": "two results were missed last year",
}


def write(project, key, data):
    WorkbookSection.objects.filter(project=project, key=key).update(data=data)


def test_diagnose_needs_a_theme_and_every_part_of_the_global_aim(programme, project):
    at_step(project, Step.DIAGNOSE)
    assert missing_to_leave(project) == ["Write the theme.", "Write every part of the global aim."]
    write(project, "theme", {"theme": "  "})
    write(project, "global_aim", GLOBAL_AIM | {"important": ""})
    assert missing_to_leave(project) == ["Write the theme.", "Write every part of the global aim."]
    write(project, "theme", {"theme": "Test results handling"})
    assert missing_to_leave(project) == ["Write every part of the global aim."]
    refuse_to_move(project, programme.coach)
    write(project, "global_aim", GLOBAL_AIM)
    move_to_next_step(project=project, by=programme.coach)
    assert project.step == Step.TREAT


def test_treat_is_left_by_completing_the_project_not_by_moving_on(programme, project):
    at_step(project, Step.TREAT)
    error = refuse_to_move(project, programme.lead, override_reason="Done", may_override=True)
    assert "leaves Treat by completing it" in str(error)
    assert project.step == Step.TREAT


def test_follow_up_moves_on_to_completed_and_completed_has_no_next_step(programme, project):
    at_step(project, Step.FOLLOW_UP)
    move_to_next_step(project=project, by=programme.coach)
    assert project.step == Step.COMPLETED
    assert "has no next step" in str(refuse_to_move(project, programme.lead))


# The lead's override


def test_the_lead_moves_on_with_a_reason_and_what_was_unmet_is_recorded(programme, project):
    staff(project, programme.manager)
    move_to_next_step(
        project=project, by=programme.lead, override_reason="  Agreed with the partners  ", may_override=True
    )
    assert project.step == Step.ASSESS
    change = StepChange.objects.get(project=project)
    assert change.changed_by == programme.lead
    assert change.override_reason == "Agreed with the partners"
    assert change.unmet == [
        "Name a champion.",
        "Build a team of at least three (it has 1).",
        "Include both clinical and non-clinical members.",
        "Add a patient representative, or record why the team has none.",
    ]
    entry = AuditEntry.objects.get(action="project.step_changed", object_id=str(project.pk))
    assert entry.actor == programme.lead
    assert entry.changes["step"] == [Step.ORGANISE, Step.ASSESS]
    assert entry.changes["override_reason"] == "Agreed with the partners"
    assert entry.changes["unmet"] == change.unmet


def test_even_the_lead_must_give_a_reason_to_override(programme, project):
    error = refuse_to_move(project, programme.lead, override_reason="   ", may_override=True)
    assert error.field == "override_reason"
    assert project.step == Step.ORGANISE and not StepChange.objects.exists()


def test_an_override_reason_is_not_recorded_when_nothing_was_missing(programme, project):
    full_team(project, programme)
    move_to_next_step(project=project, by=programme.lead, override_reason="Just because", may_override=True)
    change = project.step_changes.get()
    assert change.override_reason == "" and change.unmet == []


def test_a_coach_cannot_override_a_guard(programme, project):
    assert programme.lead.has_perm("projects.override_guard", project)
    assert not programme.coach.has_perm("projects.override_guard", project)
    may_override = programme.coach.has_perm("projects.override_guard", project)
    error = refuse_to_move(project, programme.coach, override_reason="We are ready", may_override=may_override)
    assert "Only the programme lead" in str(error) and error.field == "override_reason"
    assert project.step == Step.ORGANISE
    assert not StepChange.objects.exists()
    assert not AuditEntry.objects.filter(action="project.step_changed").exists()


def test_practice_staff_cannot_move_steps_and_nobody_can_on_a_closed_project(programme, project):
    assert programme.coach.has_perm("projects.change_step", project)
    assert programme.lead.has_perm("projects.change_step", project)
    assert not programme.manager.has_perm("projects.change_step", project)
    at_step(project, Step.WITHDRAWN)
    assert not programme.lead.has_perm("projects.change_step", project)


# Withdrawal


@pytest.mark.parametrize("step", [Step.ORGANISE, Step.ASSESS, Step.DIAGNOSE, Step.TREAT, Step.FOLLOW_UP])
def test_a_project_can_be_withdrawn_from_any_step_with_a_date_and_reason(programme, project, step):
    at_step(project, step)
    on = date(2025, 2, 3)
    withdraw_project(project=project, on=on, reason="  The practice manager left.  ", by=programme.coach)
    assert project.step == Step.WITHDRAWN
    assert project.withdrawn_on == on and project.withdrawal_reason == "The practice manager left."
    change = project.step_changes.get()
    assert (change.from_step, change.to_step, change.changed_by) == (step, Step.WITHDRAWN, programme.coach)
    entry = AuditEntry.objects.get(action="project.step_changed", object_id=str(project.pk))
    assert entry.changes["step"] == [step, Step.WITHDRAWN] and entry.actor == programme.coach


@pytest.mark.parametrize(
    ("on", "reason", "field"),
    [
        (date(2025, 2, 3), "   ", "reason"),
        (timezone.localdate() + timedelta(days=1), "Staff left", "on"),
        (date(2025, 1, 5), "Staff left", "on"),
    ],
)
def test_withdrawal_needs_a_reason_and_a_date_between_the_start_and_today(programme, project, on, reason, field):
    with pytest.raises(ProjectError) as refused:
        withdraw_project(project=project, on=on, reason=reason, by=programme.lead)
    assert refused.value.field == field
    project.refresh_from_db()
    assert project.step == Step.ORGANISE and project.withdrawn_on is None
    assert not StepChange.objects.exists() and not AuditEntry.objects.filter(action="project.step_changed").exists()


@pytest.mark.parametrize("step", [Step.WITHDRAWN, Step.COMPLETED])
def test_a_closed_project_cannot_be_withdrawn(programme, project, step):
    at_step(project, step)
    with pytest.raises(ProjectError, match="already"):
        withdraw_project(project=project, on=date(2025, 2, 3), reason="Again", by=programme.lead)
    assert not StepChange.objects.exists()


def test_a_withdrawn_project_has_no_next_step(programme, project):
    withdraw_project(project=project, on=date(2025, 2, 3), reason="Merger", by=programme.lead)
    error = refuse_to_move(project, programme.lead, override_reason="Restart", may_override=True)
    assert "no next step" in str(error)


def test_every_step_change_writes_one_audit_entry(programme, project):
    full_team(project, programme)
    move_to_next_step(project=project, by=programme.coach)
    complete(project, *FIVE_PS)
    move_to_next_step(project=project, by=programme.coach)
    withdraw_project(project=project, on=date(2025, 3, 3), reason="Other priorities", by=programme.lead)
    entries = AuditEntry.objects.filter(action="project.step_changed", object_id=str(project.pk)).order_by("at", "pk")
    assert [e.summary for e in entries] == ["organise → assess", "assess → diagnose", "diagnose → withdrawn"]
    assert [e.actor for e in entries] == [programme.coach, programme.coach, programme.lead]
    assert project.step_changes.count() == 3
