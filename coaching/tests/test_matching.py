"""Coach matching: the pure ranking (order and reasons) and the loader that feeds it."""

from datetime import date

import pytest

from coaching.matching import CoachFacts, ProjectFacts, Reason, matching_inputs, rank_coaches
from coaching.models import Mentoring
from coaching.tests.factories import CoachProfileFactory
from microsystems.tests.factories import UserFactory
from practices.models import ProgrammeRoleKind
from practices.tests.factories import PcnFactory, PracticeFactory, ProgrammeRoleFactory
from projects.models import ClinicalArea, Step, Typology
from projects.tests.factories import ProjectFactory

PROCESS = Typology.PROCESS_DRIVEN
HEALTH = Typology.HEALTH_OUTPUTS
PRACTICE, PCN = 10, 20
TODAY = date(2025, 6, 2)


def project_facts(**kwargs):
    facts = {
        "practice_id": PRACTICE,
        "practice_name": "Amherst Medical Practice",
        "pcn_id": PCN,
        "pcn_name": "Sevenoaks PCN",
        "typology": PROCESS,
        "clinical_area": "",
    }
    return ProjectFacts(**(facts | kwargs))


_ids = iter(range(1, 10_000))


def coach(name, **kwargs):
    facts = {"user_id": next(_ids), "name": name, "is_active": True, "max_projects": 3, "open_projects": 0}
    return CoachFacts(**(facts | kwargs))


def names(matches):
    return [m.coach.name for m in matches]


def texts(match):
    return [r.text for r in match.reasons]


# The order


def test_a_conflict_of_interest_goes_last_with_the_reason_in_plain_words():
    conflicted = coach("Ada", commissioned_areas=frozenset({"diabetes"}), completed_by_typology={PROCESS: 5})
    plain = coach("Zoe")
    ranked = rank_coaches(project_facts(clinical_area=ClinicalArea.DIABETES), [conflicted, plain])
    assert names(ranked) == ["Zoe", "Ada"]
    assert ranked[1].has_conflict
    assert Reason("Commissions diabetes services for this practice", False) in ranked[1].reasons
    assert Reason("No conflict of interest", True) in ranked[0].reasons


def test_commissioning_another_area_is_no_conflict():
    ranked = rank_coaches(
        project_facts(clinical_area=ClinicalArea.DIABETES),
        [coach("Ada", commissioned_areas=frozenset({"respiratory", "mental_health"}))],
    )
    assert not ranked[0].has_conflict


def test_a_project_that_is_not_clinical_conflicts_with_no_one():
    ranked = rank_coaches(project_facts(), [coach("Ada", commissioned_areas=frozenset({"diabetes"}))])
    assert not ranked[0].has_conflict


def test_a_conflicted_coach_is_below_one_without_capacity():
    ranked = rank_coaches(
        project_facts(clinical_area=ClinicalArea.RESPIRATORY),
        [coach("Ada", commissioned_areas=frozenset({"respiratory"})), coach("Zoe", open_projects=3)],
    )
    assert names(ranked) == ["Zoe", "Ada"]


def test_free_capacity_comes_before_none_whatever_the_experience():
    full = coach("Ada", open_projects=3, completed_by_typology={PROCESS: 3}, practices_coached=frozenset({PRACTICE}))
    free = coach("Zoe", open_projects=2)
    ranked = rank_coaches(project_facts(), [full, free])
    assert names(ranked) == ["Zoe", "Ada"]
    assert ranked[0].has_capacity and not ranked[1].has_capacity
    assert "Has capacity: holds 2 of 3 projects" in texts(ranked[0])
    assert "No free capacity: holds 3 of 3 projects" in texts(ranked[1])


def test_completed_projects_of_the_same_typology_count():
    same = coach("Zoe", completed_by_typology={PROCESS: 2})
    other = coach("Ada", completed_by_typology={HEALTH: 2})
    ranked = rank_coaches(project_facts(), [other, same])
    assert names(ranked) == ["Zoe", "Ada"]
    assert "Has completed 2 process-driven projects" in texts(ranked[0])
    assert "Has completed 2 projects, none process-driven" in texts(ranked[1])


def test_some_experience_beats_none():
    ranked = rank_coaches(project_facts(), [coach("Ada"), coach("Zoe", completed_by_typology={HEALTH: 1})])
    assert names(ranked) == ["Zoe", "Ada"]
    assert "Has completed one project, none process-driven" in texts(ranked[0])
    assert "Has not completed a project yet: needs a co-coach or a mentor" in texts(ranked[1])


def test_a_new_coach_with_a_mentor_is_told_so():
    ranked = rank_coaches(project_facts(), [coach("Ada", has_active_mentor=True)])
    assert "Has not completed a project yet, and has a mentor" in texts(ranked[0])


def test_same_typology_experience_counts_up_to_three_projects():
    ranked = rank_coaches(
        project_facts(),
        [coach("Ada", completed_by_typology={PROCESS: 9}), coach("Zoe", completed_by_typology={PROCESS: 3})],
    )
    assert ranked[0].score == ranked[1].score
    assert names(ranked) == ["Ada", "Zoe"]


def test_a_clinical_background_counts_for_a_clinical_project():
    nurse = coach("Zoe", clinical_background="nurse")
    manager = coach("Ada")
    ranked = rank_coaches(project_facts(clinical_area=ClinicalArea.DIABETES), [manager, nurse])
    assert names(ranked) == ["Zoe", "Ada"]
    assert "Clinical background (Nurse) for a clinical project" in texts(ranked[0])
    assert "No clinical background, and the project is clinical" in texts(ranked[1])


def test_a_clinical_background_does_not_count_for_a_project_that_is_not_clinical():
    ranked = rank_coaches(project_facts(), [coach("Zoe", clinical_background="gp"), coach("Ada")])
    assert names(ranked) == ["Ada", "Zoe"]  # a tie, broken by name
    assert not any("clinical background" in t.lower() for t in texts(ranked[1]))


def test_an_existing_relationship_with_the_practice_counts():
    ranked = rank_coaches(project_facts(), [coach("Ada"), coach("Zoe", practices_coached=frozenset({PRACTICE}))])
    assert names(ranked) == ["Zoe", "Ada"]
    assert "Has coached at Amherst Medical Practice before" in texts(ranked[0])


def test_the_same_pcn_counts():
    ranked = rank_coaches(
        project_facts(), [coach("Ada", pcns_coached=frozenset({99})), coach("Zoe", pcns_coached=frozenset({PCN}))]
    )
    assert names(ranked) == ["Zoe", "Ada"]
    assert "Has coached in Sevenoaks PCN" in texts(ranked[0])
    assert not any("PCN" in t for t in texts(ranked[1]))


def test_a_practice_without_a_pcn_matches_no_pcn():
    ranked = rank_coaches(project_facts(pcn_id=None, pcn_name=""), [coach("Ada", pcns_coached=frozenset({PCN}))])
    assert ranked[0].score == 0


def test_ties_are_broken_by_name_whatever_the_input_order():
    coaches = [coach("zoe Brown"), coach("Ada Smith"), coach("ben Clark")]
    assert names(rank_coaches(project_facts(), coaches)) == ["Ada Smith", "ben Clark", "zoe Brown"]
    assert names(rank_coaches(project_facts(), coaches[::-1])) == ["Ada Smith", "ben Clark", "zoe Brown"]


def test_inactive_coaches_are_not_offered():
    ranked = rank_coaches(project_facts(), [coach("Ada", is_active=False), coach("Zoe")])
    assert names(ranked) == ["Zoe"]


def test_the_full_order_is_conflict_then_capacity_then_score_then_name():
    project = project_facts(clinical_area=ClinicalArea.DIABETES)
    coaches = [
        coach("Conflicted", commissioned_areas=frozenset({"diabetes"}), completed_by_typology={PROCESS: 3}),
        coach("Full", open_projects=3, completed_by_typology={PROCESS: 3}),
        coach("Beginner"),
        coach("Local", practices_coached=frozenset({PRACTICE}), pcns_coached=frozenset({PCN})),
        coach("Expert", completed_by_typology={PROCESS: 3}, clinical_background="gp"),
        coach("Another beginner"),
    ]
    assert names(rank_coaches(project, coaches)) == [
        "Expert", "Local", "Another beginner", "Beginner", "Full", "Conflicted"
    ]  # fmt: skip


def test_no_coaches_rank_as_an_empty_list():
    assert rank_coaches(project_facts(), []) == []


# The loader


def make_coach(commissioner, name, **profile):
    user = UserFactory(full_name=name)
    ProgrammeRoleFactory(user=user, commissioner=commissioner, role=ProgrammeRoleKind.COACH)
    CoachProfileFactory(user=user, commissioner=commissioner, **profile)
    return user


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice, typology=HEALTH, process_subtheme="", clinical_area="diabetes")


def test_the_loader_derives_experience_load_and_links_from_projects(programme, project):
    sam = make_coach(
        programme.commissioner, "Sam Jones", commissioned_areas=["respiratory"], clinical_background="nurse"
    )
    neighbour = PracticeFactory(commissioner=programme.commissioner, pcn=programme.practice.pcn)
    ProjectFactory(
        practice=neighbour, lead_coach=sam, typology=HEALTH, step=Step.COMPLETED, completed_on=date(2025, 1, 1)
    )
    ProjectFactory(practice=programme.practice, co_coach=sam, step=Step.FOLLOW_UP, completed_on=date(2025, 3, 1))
    ProjectFactory(practice=programme.sibling_practice, lead_coach=sam, step=Step.TREAT)
    ProjectFactory(practice=programme.sibling_practice, lead_coach=sam, step=Step.WITHDRAWN)

    facts, coaches = matching_inputs(project, today=TODAY)

    assert facts == ProjectFacts(
        practice_id=programme.practice.pk,
        practice_name=programme.practice.name,
        pcn_id=programme.practice.pcn_id,
        pcn_name=programme.practice.pcn.name,
        typology=HEALTH,
        clinical_area="diabetes",
    )
    [loaded] = coaches
    assert loaded.name == "Sam Jones"
    assert loaded.open_projects == 2  # Follow-up and Treat
    assert dict(loaded.completed_by_typology) == {HEALTH: 1, PROCESS: 1}
    # of the practices and PCNs, the loader gives those the ranking asks about: the project's own
    assert loaded.practices_coached == {programme.practice.pk}
    assert loaded.pcns_coached == {programme.practice.pcn_id}
    assert loaded.commissioned_areas == {"respiratory"}
    assert loaded.clinical_background == "nurse"
    assert not loaded.has_active_mentor


def test_the_loader_credits_the_pcn_but_not_the_practice_for_a_neighbouring_project(programme, project):
    sam = make_coach(programme.commissioner, "Sam Jones")
    neighbour = PracticeFactory(commissioner=programme.commissioner, pcn=programme.practice.pcn)
    ProjectFactory(practice=neighbour, lead_coach=sam, step=Step.TREAT)
    _, [loaded] = matching_inputs(project, today=TODAY)
    assert loaded.practices_coached == frozenset() and loaded.pcns_coached == {programme.practice.pcn_id}


def test_the_loader_leaves_out_the_project_itself(programme):
    sam = make_coach(programme.commissioner, "Sam Jones")
    project = ProjectFactory(practice=programme.practice, lead_coach=sam, step=Step.ASSESS)
    _, [loaded] = matching_inputs(project, today=TODAY)
    assert loaded.open_projects == 0 and loaded.practices_coached == frozenset()


def test_the_loader_offers_only_coaches_of_the_practices_commissioner_with_the_coach_role(programme, project):
    make_coach(programme.commissioner, "Sam Jones")
    make_coach(programme.other_commissioner, "Robin Hale")
    former = make_coach(programme.commissioner, "Former Coach")
    former.programme_roles.all().delete()
    CoachProfileFactory(commissioner=programme.commissioner)  # a profile without the role
    _, coaches = matching_inputs(project, today=TODAY)
    assert [c.name for c in coaches] == ["Sam Jones"]


def test_the_loader_knows_who_has_an_active_mentor(programme, project):
    sam = make_coach(programme.commissioner, "Sam Jones")
    alex = make_coach(programme.commissioner, "Alex Patel", level="mentor")
    ended = make_coach(programme.commissioner, "Chris Ended")
    Mentoring.objects.create(mentor=alex.coach_profile, mentee=sam.coach_profile, starts_on=date(2025, 1, 1))
    Mentoring.objects.create(
        mentor=alex.coach_profile, mentee=ended.coach_profile, starts_on=date(2025, 1, 1), ends_on=date(2025, 5, 1)
    )
    _, coaches = matching_inputs(project, today=TODAY)
    assert {c.name: c.has_active_mentor for c in coaches} == {
        "Sam Jones": True,
        "Alex Patel": False,
        "Chris Ended": False,
    }


def test_the_loader_costs_the_same_queries_for_many_coaches(programme, project, django_assert_num_queries):
    def load():
        with django_assert_num_queries(3) as captured:
            matching_inputs(project, today=TODAY)
        return len(captured)

    make_coach(programme.commissioner, "Sam Jones")
    one = load()
    pcn = PcnFactory(commissioner=programme.commissioner)
    for n in range(12):
        user = make_coach(programme.commissioner, f"Coach {n}", commissioned_areas=["diabetes"])
        practice = PracticeFactory(commissioner=programme.commissioner, pcn=pcn)
        ProjectFactory(practice=practice, lead_coach=user, step=Step.COMPLETED, completed_on=date(2025, 1, 1))
    assert load() == one
