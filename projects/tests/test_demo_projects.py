"""The demo projects: every step of the method, mostly process-driven, complete teams, safe to build twice."""

import pytest

from practices.demo import seed_demo
from projects.demo import PLANS, TOPICS, seed_projects
from projects.models import (
    MemberKind,
    Project,
    SpecificAim,
    Step,
    StepChange,
    TeamMember,
    Typology,
    WorkbookSection,
)
from projects.services import missing_to_leave
from projects.workbook import FIVE_PS

COACH = "coach.westkent@demo.microsystems.example"


@pytest.fixture
def demo(db):
    seed_demo()
    seed_projects()
    return Project.objects.select_related("practice", "lead_coach")


def counts():
    return [m.objects.count() for m in (Project, TeamMember, WorkbookSection, SpecificAim, StepChange)]


def test_it_builds_every_planned_project_at_every_step(demo):
    assert demo.count() == len(PLANS)
    steps = set(demo.values_list("step", flat=True))
    assert steps == {Step.ORGANISE, Step.ASSESS, Step.DIAGNOSE, Step.TREAT, Step.FOLLOW_UP, Step.WITHDRAWN}


def test_most_projects_are_process_driven_as_in_the_evaluation(demo):
    by_typology = {t: demo.filter(typology=t).count() for t in Typology}

    assert by_typology[Typology.PROCESS_DRIVEN] > demo.count() / 2
    assert 0 < by_typology[Typology.HEALTH_OUTPUTS] < by_typology[Typology.PROCESS_DRIVEN]
    assert 0 < by_typology[Typology.PATIENT_CENTRED] < by_typology[Typology.PROCESS_DRIVEN]
    subthemes = set(demo.filter(typology=Typology.PROCESS_DRIVEN).values_list("process_subtheme", flat=True))
    assert subthemes == {"administrative", "patient_flow", "communication"}


def test_seeding_twice_never_duplicates(demo):
    before = counts()

    assert seed_projects() == 0
    seed_demo()
    seed_projects()

    assert counts() == before
    assert demo.values("practice", "title").distinct().count() == demo.count()


def test_every_project_has_a_champion_and_a_patient_representative(demo):
    for project in demo.prefetch_related("team"):
        team = list(project.team.all())
        assert sum(m.is_champion for m in team) == 1, project.title
        assert any(m.kind == MemberKind.PATIENT for m in team), project.title
        assert len(team) >= 5, project.title


def test_the_west_kent_coach_has_a_caseload(demo):
    caseload = demo.filter(lead_coach__email=COACH)

    assert caseload.count() >= 4
    assert len(set(caseload.values_list("step", flat=True))) >= 3
    assert all(p.lead_coach_id for p in demo)


def test_workbooks_are_filled_for_the_steps_passed(demo):
    for project in demo.filter(step__in=[Step.TREAT, Step.FOLLOW_UP]).prefetch_related("sections"):
        sections = {s.key: s for s in project.sections.all()}
        assert all(s.complete and s.version == 1 for s in sections.values()), project.title
        assert sections["global_aim"].data["improve"], project.title
        assert project.specific_aims.count() >= 1, project.title
    for project in demo.filter(step=Step.ORGANISE):
        assert not project.sections.filter(complete=True).exists()
        assert not project.specific_aims.exists()
    for project in demo.filter(step=Step.ASSESS):
        assert missing_to_leave(project), "a project in Assess is still working on its 5Ps"
        assert project.sections.filter(key__in=FIVE_PS, complete=True).exists()


def test_history_runs_forward_through_the_steps(demo):
    for project in demo.prefetch_related("step_changes"):
        changes = sorted(project.step_changes.all(), key=lambda c: c.changed_at)
        if project.step == Step.ORGANISE:
            assert changes == []
            continue
        assert changes[-1].to_step == project.step, project.title
        assert all(a.changed_at <= b.changed_at for a, b in zip(changes, changes[1:], strict=False))
        assert changes[0].changed_at.date() > project.starts_on
    follow_up = demo.filter(step=Step.FOLLOW_UP).first()
    assert follow_up.step_changes.filter(from_step=Step.TREAT, to_step=Step.FOLLOW_UP).exists()


def test_withdrawn_projects_say_why(demo):
    for project in demo.filter(step=Step.WITHDRAWN):
        assert project.withdrawal_reason
        assert project.starts_on <= project.withdrawn_on


def test_every_topic_is_believable_and_used():
    used = {plan.topic for plan in PLANS}
    assert used == set(TOPICS)
    for topic in TOPICS.values():
        assert len(topic.aim) == 5 and all(topic.aim)
        assert topic.specific_aims and topic.process_map
