"""Coach profiles, training, mentoring, and experience and load worked out from projects."""

from datetime import date
from decimal import Decimal

import pytest

from coaching.coaches import (
    ProfileDetails,
    TrainingDetails,
    add_training_record,
    coach_directory,
    coach_roles_without_profile,
    coaches_for,
    coaching_records,
    create_coach_profile,
    end_mentoring,
    experience_summary,
    last_trained,
    may_mentor,
    start_mentoring,
    update_coach_profile,
)
from coaching.models import CoachProfile, Mentoring, TrainingRecord, refresher_due
from coaching.tests.factories import CoachProfileFactory, TrainingRecordFactory
from microsystems.models import AuditEntry
from microsystems.tests.factories import UserFactory
from practices.models import ProgrammeRoleKind
from practices.tests.factories import ProgrammeRoleFactory
from projects.models import Step, Typology
from projects.services import ProjectError
from projects.tests.factories import ProjectFactory

TODAY = date(2025, 6, 2)


def details(**kwargs):
    values = {
        "commissioning_role": "Primary care commissioning manager",
        "commissioned_areas": ("diabetes",),
        "clinical_background": "nurse",
        "trained_on": date(2024, 3, 1),
        "level": "coach",
        "protected_hours": Decimal("4"),
        "max_projects": 3,
        "is_active": True,
    }
    return ProfileDetails(**(values | kwargs))


def make_coach(commissioner, name, **profile):
    user = UserFactory(full_name=name)
    ProgrammeRoleFactory(user=user, commissioner=commissioner, role=ProgrammeRoleKind.COACH)
    return CoachProfileFactory(user=user, commissioner=commissioner, **profile)


def completed(coach, practice, typology=Typology.PROCESS_DRIVEN, **kwargs):
    subtheme = "administrative" if typology == Typology.PROCESS_DRIVEN else ""
    return ProjectFactory(
        practice=practice,
        lead_coach=coach.user,
        typology=typology,
        process_subtheme=subtheme,
        step=Step.COMPLETED,
        completed_on=date(2025, 1, 31),
        **kwargs,
    )


def refused(call, field, message=None):
    with pytest.raises(ProjectError) as caught:
        call()
    assert caught.value.field == field
    if message is not None:
        assert str(caught.value) == message
    return caught.value


# Profiles


def test_a_lead_creates_a_profile_for_a_coach_and_it_is_audited(programme):
    coach = create_coach_profile(
        user=programme.coach, commissioner=programme.commissioner, details=details(), by=programme.lead, today=TODAY
    )
    assert coach.user == programme.coach and coach.commissioned_areas == ["diabetes"]
    entry = AuditEntry.objects.get(action="coach.created")
    assert entry.actor == programme.lead and entry.object_id == str(coach.pk)


def test_commissioned_areas_are_kept_in_the_lists_order_without_repeats(programme):
    coach = create_coach_profile(
        user=programme.coach,
        commissioner=programme.commissioner,
        details=details(commissioned_areas=("respiratory", "diabetes", "respiratory", "")),
        by=programme.lead,
        today=TODAY,
    )
    assert coach.commissioned_areas == ["diabetes", "respiratory"]


def test_only_someone_with_the_coach_role_at_the_commissioner_gets_a_profile(programme):
    refused(
        lambda: create_coach_profile(
            user=programme.nurse, commissioner=programme.commissioner, details=details(), by=programme.lead, today=TODAY
        ),
        "user",
    )
    assert not CoachProfile.objects.exists()


def test_a_coach_has_one_profile(programme):
    create_coach_profile(
        user=programme.coach, commissioner=programme.commissioner, details=details(), by=programme.lead, today=TODAY
    )
    refused(
        lambda: create_coach_profile(
            user=programme.coach, commissioner=programme.commissioner, details=details(), by=programme.lead, today=TODAY
        ),
        "user",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"commissioning_role": "  "}, "commissioning_role"),
        ({"commissioned_areas": ("diabetes", "dentistry")}, "commissioned_areas"),
        ({"clinical_background": "surgeon"}, "clinical_background"),
        ({"level": "guru"}, "level"),
        ({"trained_on": date(2025, 6, 3)}, "trained_on"),
        ({"protected_hours": Decimal("-0.5")}, "protected_hours"),
        ({"protected_hours": Decimal("37.6")}, "protected_hours"),
        ({"max_projects": 0}, "max_projects"),
        ({"max_projects": 11}, "max_projects"),
    ],
)
def test_bad_profile_details_are_refused_at_their_field_and_nothing_is_written(programme, change, field):
    refused(
        lambda: create_coach_profile(
            user=programme.coach,
            commissioner=programme.commissioner,
            details=details(**change),
            by=programme.lead,
            today=TODAY,
        ),
        field,
    )
    assert not CoachProfile.objects.exists() and not AuditEntry.objects.filter(action__startswith="coach.").exists()


@pytest.mark.parametrize(("hours", "projects"), [(Decimal("0"), 1), (Decimal("37.5"), 10)])
def test_the_limits_themselves_are_allowed(programme, hours, projects):
    coach = create_coach_profile(
        user=programme.coach,
        commissioner=programme.commissioner,
        details=details(protected_hours=hours, max_projects=projects),
        by=programme.lead,
        today=TODAY,
    )
    assert coach.protected_hours == hours and coach.max_projects == projects


def test_updating_a_profile_audits_what_changed(programme):
    coach = make_coach(programme.commissioner, "Sam Jones")
    update_coach_profile(coach=coach, details=details(max_projects=5, level="mentor"), by=programme.lead, today=TODAY)
    coach.refresh_from_db()
    assert coach.max_projects == 5 and coach.level == "mentor"
    entry = AuditEntry.objects.get(action="coach.updated")
    assert entry.changes["max_projects"] == [3, 5] and entry.changes["level"] == ["coach", "mentor"]


def test_a_refused_update_writes_nothing(programme):
    coach = make_coach(programme.commissioner, "Sam Jones")
    refused(
        lambda: update_coach_profile(coach=coach, details=details(max_projects=0), by=programme.lead, today=TODAY),
        "max_projects",
    )
    coach.refresh_from_db()
    assert coach.max_projects == 3 and not AuditEntry.objects.exists()


# Training and refreshers


def test_training_is_recorded_and_audited(programme):
    coach = make_coach(programme.commissioner, "Sam Jones")
    record = add_training_record(
        coach=coach,
        details=TrainingDetails(course=" Refresher day ", completed_on=TODAY, hours=Decimal("7.5"), is_refresher=True),
        by=programme.lead,
        today=TODAY,
    )
    assert record.course == "Refresher day" and record.is_refresher
    assert AuditEntry.objects.filter(action="coach.training_added", object_id=str(coach.pk)).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"course": ""}, "course"),
        ({"completed_on": date(2025, 6, 3)}, "completed_on"),
        ({"hours": Decimal("0")}, "hours"),
        ({"hours": Decimal("100.5")}, "hours"),
    ],
)
def test_bad_training_is_refused(programme, change, field):
    coach = make_coach(programme.commissioner, "Sam Jones")
    values = {"course": "Coaching", "completed_on": TODAY, "hours": Decimal("14")} | change
    refused(
        lambda: add_training_record(coach=coach, details=TrainingDetails(**values), by=programme.lead, today=TODAY),
        field,
    )
    assert not TrainingRecord.objects.exists()


def test_a_refresher_falls_due_twelve_months_after_the_last_training():
    assert refresher_due(date(2024, 6, 3)) == date(2025, 6, 3)
    assert refresher_due(None) is None
    assert last_trained(date(2023, 1, 1), date(2024, 6, 3)) == date(2024, 6, 3)
    assert last_trained(date(2024, 9, 1), None) == date(2024, 9, 1)
    assert last_trained(None, None) is None


def test_the_directory_shows_the_refresher_due_from_the_last_record_and_whether_it_is_overdue(programme):
    fresh = make_coach(programme.commissioner, "Ann Fresh", trained_on=date(2023, 1, 1))
    TrainingRecordFactory(coach=fresh, completed_on=date(2023, 1, 1))
    TrainingRecordFactory(coach=fresh, completed_on=date(2024, 9, 1), is_refresher=True)
    stale = make_coach(programme.commissioner, "Bob Stale", trained_on=date(2024, 5, 1))
    untrained = make_coach(programme.commissioner, "Cat New", trained_on=None)
    rows = {r.coach.pk: r for r in coach_directory(programme.lead, today=TODAY)}
    assert (rows[fresh.pk].refresher_due, rows[fresh.pk].refresher_overdue) == (date(2025, 9, 1), False)
    assert (rows[stale.pk].refresher_due, rows[stale.pk].refresher_overdue) == (date(2025, 5, 1), True)
    assert (rows[untrained.pk].refresher_due, rows[untrained.pk].refresher_overdue) == (None, False)


# Experience and load: derived, never typed


def test_experience_is_counted_from_completed_projects_by_typology(programme):
    coach = make_coach(programme.commissioner, "Sam Jones")
    completed(coach, programme.practice)
    completed(coach, programme.sibling_practice)
    completed(coach, programme.practice, typology=Typology.HEALTH_OUTPUTS)
    ProjectFactory(practice=programme.practice, co_coach=coach.user, step=Step.TREAT)  # open: not experience
    [row] = coach_directory(programme.lead, today=TODAY)
    assert row.completed == 3
    assert row.experience == "3 completed (2 process-driven, 1 health outputs)"
    assert row.load == 1


def test_experience_follows_the_projects_when_they_change(programme):
    coach = make_coach(programme.commissioner, "Sam Jones")
    project = ProjectFactory(practice=programme.practice, lead_coach=coach.user, step=Step.TREAT)
    assert coach_directory(programme.lead, today=TODAY)[0].experience == "None yet"
    project.step, project.completed_on = Step.FOLLOW_UP, TODAY
    project.save()
    [row] = coach_directory(programme.lead, today=TODAY)
    assert row.experience == "1 completed (1 process-driven)"
    assert row.load == 1  # Follow-up is still open


def test_load_counts_led_and_co_coached_open_projects(programme):
    coach = make_coach(programme.commissioner, "Sam Jones", max_projects=1)
    ProjectFactory(practice=programme.practice, lead_coach=coach.user, step=Step.ASSESS)
    ProjectFactory(practice=programme.practice, co_coach=coach.user, step=Step.ORGANISE)
    ProjectFactory(practice=programme.practice, lead_coach=coach.user, step=Step.WITHDRAWN)
    [row] = coach_directory(programme.lead, today=TODAY)
    assert row.load == 2 and row.over_capacity


def test_a_project_counts_once_for_each_of_its_coaches(programme):
    sam = make_coach(programme.commissioner, "Sam Jones")
    alex = make_coach(programme.commissioner, "Alex Patel")
    ProjectFactory(practice=programme.practice, lead_coach=sam.user, co_coach=alex.user, step=Step.TREAT)
    ProjectFactory(practice=programme.practice, lead_coach=sam.user, co_coach=sam.user, step=Step.ASSESS)
    ProjectFactory(practice=programme.practice, lead_coach=alex.user, step=Step.COMPLETED, completed_on=TODAY)
    records = coaching_records([sam.user_id, alex.user_id])
    assert (records[sam.user_id].open_projects, records[alex.user_id].open_projects) == (2, 1)
    assert records[sam.user_id].completed_by_typology == {}
    assert records[alex.user_id].completed_by_typology == {Typology.PROCESS_DRIVEN: 1}


def test_the_directory_reads_two_queries_however_many_coaches(programme, django_assert_num_queries):
    for n in range(3):
        coach = make_coach(programme.commissioner, f"Coach {n}")
        ProjectFactory(practice=programme.practice, lead_coach=coach.user, step=Step.TREAT)
    coach_directory(programme.lead, today=TODAY)  # reads the lead's roles once
    with django_assert_num_queries(2):  # the profiles, and their projects' counts
        rows = coach_directory(programme.lead, today=TODAY)
    assert len(rows) == 3 and all(row.load == 1 for row in rows)


def test_experience_reads_in_plain_words():
    assert experience_summary({}) == "None yet"
    assert experience_summary({Typology.PATIENT_CENTRED: 1, Typology.PROCESS_DRIVEN: 0}) == (
        "1 completed (1 patient-centred care)"
    )


def test_the_directory_filters_by_level_and_active(programme):
    make_coach(programme.commissioner, "Ann Mentor", level="mentor")
    make_coach(programme.commissioner, "Bob Resting", is_active=False)
    make_coach(programme.commissioner, "Cat Trainee", level="in_training")
    names = lambda **kw: [r.coach.user.full_name for r in coach_directory(programme.lead, today=TODAY, **kw)]  # noqa: E731
    assert names() == ["Ann Mentor", "Bob Resting", "Cat Trainee"]
    assert names(level="mentor") == ["Ann Mentor"]
    assert names(active=False) == ["Bob Resting"]
    assert names(active=True, level="in_training") == ["Cat Trainee"]


# Scope


def test_profiles_are_seen_by_their_coach_and_the_leads_of_their_commissioner(programme):
    coach = make_coach(programme.commissioner, "Sam Jones")
    other = make_coach(programme.other_commissioner, "Robin Hale")
    assert list(coaches_for(programme.lead)) == [coach]
    assert list(coaches_for(coach.user)) == [coach]
    assert list(coaches_for(programme.other_lead)) == [other]
    for outsider in (programme.finance, programme.nurse, programme.coach, programme.admin):
        assert list(coaches_for(outsider)) == []


def test_coaches_without_a_profile_are_listed_for_the_lead(programme):
    make_coach(programme.commissioner, "Sam Jones")
    assert [r.user for r in coach_roles_without_profile(programme.lead)] == [programme.coach]
    assert list(coach_roles_without_profile(programme.other_lead)) == []


# Mentoring


@pytest.fixture
def pair(programme):
    mentor = make_coach(programme.commissioner, "Alex Patel", level="mentor")
    mentee = make_coach(programme.commissioner, "Sam Jones", level="in_training")
    return mentor, mentee


def test_a_mentor_is_paired_with_a_mentee_and_it_is_audited(programme, pair):
    mentor, mentee = pair
    mentoring = start_mentoring(mentor=mentor, mentee=mentee, starts_on=TODAY, ends_on=None, by=programme.lead)
    assert mentoring.is_active_on(TODAY)
    assert AuditEntry.objects.filter(action="mentoring.started", object_id=str(mentoring.pk)).exists()


def test_no_one_mentors_themself(programme, pair):
    mentor, _ = pair
    refused(
        lambda: start_mentoring(mentor=mentor, mentee=mentor, starts_on=TODAY, ends_on=None, by=programme.lead),
        "mentor",
        "A coach cannot mentor themself: choose someone else.",
    )


def test_a_coach_who_has_completed_a_project_may_mentor(programme, pair):
    _, mentee = pair
    coach = make_coach(programme.commissioner, "Chris Coach", level="coach")
    assert not may_mentor(coach)
    refused(
        lambda: start_mentoring(mentor=coach, mentee=mentee, starts_on=TODAY, ends_on=None, by=programme.lead), "mentor"
    )
    completed(coach, programme.practice)
    assert may_mentor(coach)
    start_mentoring(mentor=coach, mentee=mentee, starts_on=TODAY, ends_on=None, by=programme.lead)


def test_a_coach_in_training_or_inactive_may_not_mentor(programme, pair):
    mentor, mentee = pair
    trainee = make_coach(programme.commissioner, "Dee Trainee", level="in_training")
    completed(trainee, programme.practice)
    assert not may_mentor(trainee)
    mentor.is_active = False
    mentor.save()
    error = refused(
        lambda: start_mentoring(mentor=mentor, mentee=mentee, starts_on=TODAY, ends_on=None, by=programme.lead),
        "mentor",
    )
    assert str(error).startswith("Alex Patel cannot mentor yet")


def test_the_mentor_comes_from_the_same_commissioner(programme, pair):
    _, mentee = pair
    outsider = make_coach(programme.other_commissioner, "Robin Hale", level="mentor")
    refused(
        lambda: start_mentoring(mentor=outsider, mentee=mentee, starts_on=TODAY, ends_on=None, by=programme.lead),
        "mentor",
    )


@pytest.mark.parametrize("ends_on", [date(2025, 6, 1), TODAY])
def test_a_mentoring_ends_after_it_starts(programme, pair, ends_on):
    mentor, mentee = pair
    refused(
        lambda: start_mentoring(mentor=mentor, mentee=mentee, starts_on=TODAY, ends_on=ends_on, by=programme.lead),
        "ends_on",
        "The end date must be after the start date.",
    )


def test_the_same_two_people_cannot_have_overlapping_pairs(programme, pair):
    mentor, mentee = pair
    start_mentoring(mentor=mentor, mentee=mentee, starts_on=date(2025, 1, 1), ends_on=None, by=programme.lead)
    error = refused(
        lambda: start_mentoring(mentor=mentor, mentee=mentee, starts_on=TODAY, ends_on=None, by=programme.lead),
        "starts_on",
    )
    assert str(error) == "Alex Patel already mentors Sam Jones from 1 January 2025: the dates overlap."
    mentee.level = "mentor"
    mentee.save()
    refused(  # nor the other way round
        lambda: start_mentoring(mentor=mentee, mentee=mentor, starts_on=TODAY, ends_on=None, by=programme.lead),
        "starts_on",
    )
    assert Mentoring.objects.count() == 1


def test_a_new_pair_may_follow_one_that_ended(programme, pair):
    mentor, mentee = pair
    start_mentoring(
        mentor=mentor, mentee=mentee, starts_on=date(2025, 1, 1), ends_on=date(2025, 3, 31), by=programme.lead
    )
    start_mentoring(mentor=mentor, mentee=mentee, starts_on=date(2025, 4, 1), ends_on=None, by=programme.lead)
    refused(  # but not one that reaches back into it
        lambda: start_mentoring(
            mentor=mentor, mentee=mentee, starts_on=date(2024, 6, 1), ends_on=date(2025, 1, 1), by=programme.lead
        ),
        "starts_on",
    )


def test_ending_a_mentoring_sets_its_last_day_and_is_audited(programme, pair):
    mentor, mentee = pair
    mentoring = start_mentoring(
        mentor=mentor, mentee=mentee, starts_on=date(2025, 1, 1), ends_on=None, by=programme.lead
    )
    end_mentoring(mentoring=mentoring, on=TODAY, by=programme.lead)
    mentoring.refresh_from_db()
    assert mentoring.ends_on == TODAY and not mentoring.is_active_on(date(2025, 6, 3))
    assert AuditEntry.objects.filter(action="mentoring.ended").count() == 1


def test_an_ended_mentoring_cannot_end_again(programme, pair):
    mentor, mentee = pair
    mentoring = Mentoring.objects.create(
        mentor=mentor, mentee=mentee, starts_on=date(2025, 1, 1), ends_on=date(2025, 3, 1)
    )
    with pytest.raises(ProjectError, match="already ended on 1 March 2025"):
        end_mentoring(mentoring=mentoring, on=TODAY, by=programme.lead)


def test_a_mentoring_cannot_end_before_it_starts(programme, pair):
    mentor, mentee = pair
    mentoring = Mentoring.objects.create(mentor=mentor, mentee=mentee, starts_on=date(2025, 7, 1))
    with pytest.raises(ProjectError, match="cannot end before it starts"):
        end_mentoring(mentoring=mentoring, on=TODAY, by=programme.lead)
    mentoring.refresh_from_db()
    assert mentoring.ends_on is None
