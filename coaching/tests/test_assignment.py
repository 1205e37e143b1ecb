"""The assignment rules: who may coach a project, who needs a partner, and who would go over their limit."""

from datetime import date

import pytest

from coaching.assignment import check_assignment, coach_load
from coaching.models import Mentoring
from coaching.tests.factories import CoachProfileFactory
from microsystems.tests.factories import UserFactory
from practices.models import ProgrammeRoleKind
from practices.tests.factories import ProgrammeRoleFactory
from projects.models import Step
from projects.tests.factories import ProjectFactory

TODAY = date(2025, 6, 2)


def make_coach(commissioner, name, **profile):
    user = UserFactory(full_name=name)
    ProgrammeRoleFactory(user=user, commissioner=commissioner, role=ProgrammeRoleKind.COACH)
    CoachProfileFactory(user=user, commissioner=commissioner, **profile)
    return user


def completed_project(coach, practice, step=Step.COMPLETED, **kwargs):
    return ProjectFactory(practice=practice, lead_coach=coach, step=step, completed_on=date(2025, 1, 31), **kwargs)


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice)


@pytest.fixture
def sam(programme):
    return make_coach(programme.commissioner, "Sam Jones")


@pytest.fixture
def alex(programme):
    alex = make_coach(programme.commissioner, "Alex Patel", level="mentor")
    completed_project(alex, programme.sibling_practice)
    return alex


def check(project, lead=None, co=None):
    return check_assignment(project=project, lead_coach=lead, co_coach=co, today=TODAY)


def mentor(mentor_user, mentee_user, starts_on, ends_on=None):
    return Mentoring.objects.create(
        mentor=mentor_user.coach_profile, mentee=mentee_user.coach_profile, starts_on=starts_on, ends_on=ends_on
    )


def test_an_experienced_coach_may_coach_alone(project, alex):
    result = check(project, alex)
    assert result.ok and result.errors == [] and result.needs_confirmation == []


def test_no_coach_at_all_is_no_concern_of_these_rules(project):
    assert check(project).ok


def test_a_new_coach_alone_is_refused_with_what_to_do(project, sam):
    result = check(project, sam)
    assert result.errors == [
        ("lead_coach", "Sam Jones has not completed a project yet: add a co-coach, or give Sam Jones a mentor first.")
    ]


def test_a_new_coach_with_a_co_coach_is_allowed(project, sam, alex):
    assert check(project, sam, alex).ok
    assert check(project, alex, sam).ok


def test_a_new_coach_with_an_active_mentor_is_allowed(project, sam, alex):
    mentor(alex, sam, date(2025, 5, 1))
    assert check(project, sam).ok


def test_a_mentoring_that_ends_today_still_counts(project, sam, alex):
    mentor(alex, sam, date(2025, 5, 1), ends_on=TODAY)
    assert check(project, sam).ok


def test_a_new_coach_whose_mentoring_has_ended_is_refused(project, sam, alex):
    mentor(alex, sam, date(2025, 1, 1), ends_on=date(2025, 5, 31))
    result = check(project, sam)
    assert [field for field, _ in result.errors] == ["lead_coach"]
    assert "has not completed a project yet" in result.errors[0][1]


def test_a_mentoring_that_has_not_started_does_not_count(project, sam, alex):
    mentor(alex, sam, date(2025, 7, 1))
    assert not check(project, sam).ok


def test_a_mentor_who_is_no_longer_active_does_not_count(project, sam, alex):
    mentor(alex, sam, date(2025, 5, 1))
    alex.coach_profile.is_active = False
    alex.coach_profile.save()
    assert not check(project, sam).ok


def test_an_open_project_is_not_experience(programme, project, sam):
    ProjectFactory(practice=programme.sibling_practice, lead_coach=sam, step=Step.TREAT)
    assert not check(project, sam).ok


def test_co_coaching_a_completed_project_is_experience(programme, project, sam, alex):
    completed_project(alex, programme.sibling_practice, co_coach=sam)
    assert check(project, sam).ok


def test_a_project_in_follow_up_is_experience(programme, project, sam):
    completed_project(sam, programme.sibling_practice, step=Step.FOLLOW_UP)
    assert check(project, sam).ok


def test_an_inactive_coach_is_refused(project, alex):
    alex.coach_profile.is_active = False
    alex.coach_profile.save()
    assert check(project, alex).errors == [("lead_coach", "Alex Patel is not an active coach.")]


def test_an_inactive_co_coach_is_refused_at_the_co_coach(project, sam, alex):
    sam.coach_profile.is_active = False
    sam.coach_profile.save()
    assert check(project, alex, sam).errors == [("co_coach", "Sam Jones is not an active coach.")]


def test_someone_without_a_profile_is_refused(programme, project):
    result = check(project, programme.coach)
    assert result.errors[0][0] == "lead_coach"
    assert "has no coach profile yet" in result.errors[0][1]


def test_another_commissioners_coach_is_refused(programme, project):
    outsider = make_coach(programme.other_commissioner, "Robin Hale")
    assert check(project, outsider).errors == [("lead_coach", "Robin Hale is not a coach at NHS West Kent.")]


def test_a_profile_whose_coach_role_was_removed_is_refused(project, alex):
    alex.programme_roles.all().delete()
    assert check(project, alex).errors == [("lead_coach", "Alex Patel is not a coach at NHS West Kent.")]


def test_the_same_person_cannot_be_lead_and_co_coach(project, alex):
    assert check(project, alex, alex).errors == [
        ("co_coach", "The co-coach must be someone other than the lead coach.")
    ]


def test_going_over_the_limit_needs_confirmation(programme, project, alex):
    for _ in range(3):
        ProjectFactory(practice=programme.sibling_practice, lead_coach=alex, step=Step.TREAT)
    result = check(project, alex)
    assert result.ok
    assert result.needs_confirmation == ["Alex Patel would hold 4 projects; their limit is 3."]


def test_reaching_the_limit_needs_no_confirmation(programme, project, alex):
    for _ in range(2):
        ProjectFactory(practice=programme.sibling_practice, co_coach=alex, step=Step.ASSESS)
    assert check(project, alex).needs_confirmation == []


def test_each_coach_over_their_limit_is_named(programme, project, sam, alex):
    sam.coach_profile.max_projects = 1
    sam.coach_profile.save()
    ProjectFactory(practice=programme.sibling_practice, lead_coach=alex, co_coach=sam, step=Step.ORGANISE)
    alex.coach_profile.max_projects = 1
    alex.coach_profile.save()
    assert check(project, alex, sam).needs_confirmation == [
        "Alex Patel would hold 2 projects; their limit is 1.",
        "Sam Jones would hold 2 projects; their limit is 1.",
    ]


def test_a_coach_already_on_the_project_is_not_counted_twice(programme, alex):
    project = ProjectFactory(practice=programme.practice, lead_coach=alex, step=Step.ASSESS)
    for _ in range(2):
        ProjectFactory(practice=programme.sibling_practice, lead_coach=alex, step=Step.TREAT)
    assert check(project, alex).needs_confirmation == []


def test_closed_projects_do_not_count_towards_the_limit(programme, project, alex):
    ProjectFactory(practice=programme.sibling_practice, lead_coach=alex, step=Step.COMPLETED)
    ProjectFactory(practice=programme.sibling_practice, lead_coach=alex, step=Step.WITHDRAWN)
    ProjectFactory(practice=programme.sibling_practice, lead_coach=alex, step=Step.TREAT)
    assert check(project, alex).needs_confirmation == []


def test_load_counts_open_projects_led_or_co_coached_in_one_query(programme, sam, alex, django_assert_num_queries):
    ProjectFactory(practice=programme.practice, lead_coach=sam, co_coach=alex, step=Step.TREAT)
    ProjectFactory(practice=programme.practice, co_coach=sam, step=Step.FOLLOW_UP)
    ProjectFactory(practice=programme.practice, lead_coach=sam, step=Step.WITHDRAWN)
    nobody = UserFactory()
    with django_assert_num_queries(1):
        load = coach_load([sam, alex, nobody.pk])
    # A project in Follow-up is still open (its follow-up year); a completed one is not.
    assert load == {sam.pk: 2, alex.pk: 1, nobody.pk: 0}


def test_load_of_no_one_asks_nothing(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        assert coach_load([]) == {}


def test_the_check_costs_a_constant_number_of_queries(programme, project, sam, alex, django_assert_max_num_queries):
    project = type(project).objects.select_related("practice__commissioner").get(pk=project.pk)
    with django_assert_max_num_queries(2):
        check(project, sam, alex)
