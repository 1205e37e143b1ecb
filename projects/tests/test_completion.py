"""Completing a project (Treat → Follow-up): the guard, the lead's override, the recorded outcome, the page."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from microsystems.models import AuditEntry
from projects import permissions  # noqa: F401  (registers the rules)
from projects.models import ActDecision, Project, SpecificAim, Step, StepChange
from projects.services import (
    Outcome,
    PossiblePatientData,
    ProjectError,
    complete_project,
    missing_to_complete,
    missing_to_leave,
)
from projects.tests.factories import ProjectFactory
from projects.tests.improvement_factories import MeasureFactory, MeasureValueFactory, PdsaCycleFactory

NO_CYCLE = "Study at least one PDSA cycle and record what the team decided (adopt, adapt or abandon)."
NO_DATA = "Enter data for at least one measure."


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice, lead_coach=programme.coach, step=Step.TREAT)


@pytest.fixture
def aim(project):
    return SpecificAim.objects.create(
        project=project, measure="Days to action a result", baseline="5", target="2", target_date=date(2025, 6, 30)
    )


def learnt_and_measured(project):
    PdsaCycleFactory(change_idea__project=project, results="Two GPs used it.", decision=ActDecision.ADOPT)
    MeasureValueFactory(measure=MeasureFactory(project=project))


def outcome(aims_met=None, **overrides):
    values = {
        "completed_on": date(2025, 5, 1),
        "staff_benefits": "Fewer interruptions for the duty doctor.",
        "patient_benefits": "Results acted on within two days.",
        "aims_met": aims_met or {},
    }
    return Outcome(**(values | overrides))


def test_the_guard_names_what_is_missing_in_plain_words(project):
    assert missing_to_complete(project) == [NO_CYCLE, NO_DATA]
    assert missing_to_leave(project) == [NO_CYCLE, NO_DATA]


def test_a_cycle_studied_but_not_acted_on_does_not_count(project):
    PdsaCycleFactory(change_idea__project=project, results="Two GPs used it.")
    PdsaCycleFactory(change_idea__project=project, decision=ActDecision.ADAPT)
    MeasureFactory(project=project)  # a measure with no data does not count either
    assert missing_to_complete(project) == [NO_CYCLE, NO_DATA]


def test_with_a_cycle_acted_on_and_data_the_coach_completes_and_the_outcome_is_recorded(programme, project, aim):
    learnt_and_measured(project)
    assert missing_to_complete(project) == []
    complete_project(project=project, outcome=outcome({aim.pk: True}), by=programme.coach)
    assert project.step == Step.FOLLOW_UP
    assert project.completed_on == date(2025, 5, 1)
    assert project.staff_benefits == "Fewer interruptions for the duty doctor."
    aim.refresh_from_db()
    assert aim.met is True
    change = StepChange.objects.get(project=project)
    assert (change.from_step, change.to_step, change.changed_by) == (Step.TREAT, Step.FOLLOW_UP, programme.coach)
    assert AuditEntry.objects.filter(action="project.completed", object_id=str(project.pk)).exists()


def test_the_guard_refuses_the_coach_and_writes_nothing(programme, project):
    with pytest.raises(ProjectError) as refused:
        complete_project(project=project, outcome=outcome(), by=programme.coach, override_reason="We are done")
    assert "Only the programme lead" in str(refused.value)
    project.refresh_from_db()
    assert project.step == Step.TREAT and project.completed_on is None and not StepChange.objects.exists()


def test_the_lead_overrides_with_a_reason_that_is_kept_with_what_was_missing(programme, project):
    with pytest.raises(ProjectError) as refused:
        complete_project(project=project, outcome=outcome(), by=programme.lead, may_override=True)
    assert refused.value.field == "override_reason"
    complete_project(
        project=project, outcome=outcome(), by=programme.lead, may_override=True, override_reason="Data kept on paper"
    )
    change = StepChange.objects.get(project=project)
    assert change.override_reason == "Data kept on paper" and change.unmet == [NO_CYCLE, NO_DATA]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"staff_benefits": "  "}, "staff_benefits"),
        ({"patient_benefits": ""}, "patient_benefits"),
        ({"completed_on": date(2024, 12, 1)}, "completed_on"),
        ({"completed_on": timezone.localdate() + timedelta(days=1)}, "completed_on"),
    ],
)
def test_bad_outcomes_are_refused_at_the_field(programme, project, overrides, field):
    learnt_and_measured(project)
    with pytest.raises(ProjectError) as refused:
        complete_project(project=project, outcome=outcome(**overrides), by=programme.coach)
    assert refused.value.field == field
    project.refresh_from_db()
    assert project.step == Step.TREAT


def test_every_specific_aim_must_be_judged(programme, project, aim):
    learnt_and_measured(project)
    with pytest.raises(ProjectError) as refused:
        complete_project(project=project, outcome=outcome(), by=programme.coach)
    assert refused.value.field == f"aim_{aim.pk}" and "Days to action a result" in str(refused.value)


def test_benefits_that_look_like_patient_data_need_confirming(programme, project):
    learnt_and_measured(project)
    text = "Mrs Jones (NHS number 943 476 5919) got her result the same day."
    with pytest.raises(PossiblePatientData):
        complete_project(project=project, outcome=outcome(patient_benefits=text), by=programme.coach)
    project.refresh_from_db()
    assert project.step == Step.TREAT
    complete_project(
        project=project, outcome=outcome(patient_benefits=text), by=programme.coach, confirmed_not_patient_data=True
    )
    assert project.step == Step.FOLLOW_UP


def test_only_a_project_in_treat_completes(programme, project):
    Project.objects.filter(pk=project.pk).update(step=Step.DIAGNOSE)
    with pytest.raises(ProjectError, match="Only a project in Treat"):
        complete_project(project=project, outcome=outcome(), by=programme.lead, may_override=True, override_reason="x")


# The page


def url(name, project):
    return reverse(f"projects:{name}", args=[project.pk])


def test_the_completion_page_lists_what_is_missing_and_the_coach_cannot_submit(client, programme, project):
    client.force_login(programme.coach)
    page = client.get(url("complete", project)).text
    assert NO_CYCLE in page and NO_DATA in page and "Complete the project</button>" not in page


def test_the_coach_completes_through_the_page(client, programme, project, aim):
    learnt_and_measured(project)
    client.force_login(programme.coach)
    page = client.get(url("complete", project)).text
    assert f'name="aim_{aim.pk}"' in page and "Days to action a result" in page
    data = {
        "completed_on": "2025-05-01",
        "staff_benefits": "Less chasing.",
        "patient_benefits": "Quicker results.",
        f"aim_{aim.pk}": "no",
    }
    response = client.post(url("complete", project), data)
    assert response.status_code == 302
    project.refresh_from_db()
    aim.refresh_from_db()
    assert project.step == Step.FOLLOW_UP and aim.met is False
    overview = client.get(url("overview", project)).text
    assert "Less chasing." in overview and "Not met" in overview


def test_a_missing_answer_is_shown_at_the_field_and_nothing_changes(client, programme, project, aim):
    learnt_and_measured(project)
    client.force_login(programme.coach)
    response = client.post(url("complete", project), {"completed_on": "2025-05-01", "staff_benefits": "Less chasing."})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "patient_benefits" in errors and f"aim_{aim.pk}" in errors
    project.refresh_from_db()
    assert project.step == Step.TREAT


def test_patient_data_is_flagged_on_the_page_and_confirming_saves(client, programme, project):
    learnt_and_measured(project)
    client.force_login(programme.coach)
    data = {"completed_on": "2025-05-01", "staff_benefits": "Less chasing.", "patient_benefits": "NHS 9434765919"}
    response = client.post(url("complete", project), data)
    assert response.status_code == 200 and 'type="checkbox" name="confirm_not_patient_data"' in response.text
    response = client.post(url("complete", project), data | {"confirm_not_patient_data": "on"})
    assert response.status_code == 302


@pytest.mark.parametrize("who", ["nurse", "manager"])
def test_practice_staff_cannot_complete(client, programme, project, who):
    client.force_login(getattr(programme, who))
    assert client.get(url("complete", project)).status_code == 404
    assert client.post(url("complete", project), {}).status_code == 404


@pytest.mark.parametrize("who", ["sibling_nurse", "other_lead", "other_nurse"])
def test_outsiders_get_404(client, programme, project, who):
    client.force_login(getattr(programme, who))
    assert client.get(url("complete", project)).status_code == 404
    assert client.post(url("complete", project), {}).status_code == 404
