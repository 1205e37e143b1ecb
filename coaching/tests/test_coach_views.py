"""The coach pages: who sees and who changes what, what each page shows, and queries that stay constant."""

from datetime import date

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from coaching.models import CoachProfile, Mentoring, TrainingRecord
from coaching.tests.factories import CoachProfileFactory, TrainingRecordFactory
from microsystems.models import AuditEntry
from microsystems.tests.factories import UserFactory
from practices.models import ProgrammeRoleKind
from practices.tests.factories import PracticeFactory, ProgrammeRoleFactory
from projects.models import Step, Typology
from projects.tests.factories import ProjectFactory

OUTSIDERS = ["finance", "manager", "nurse", "sibling_nurse", "other_lead", "other_nurse", "admin"]
NOT_LEADS = ["coach", "finance", "manager", "nurse", "other_nurse"]


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel("2025-06-02 10:00 +0000", tick=False):
        yield date(2025, 6, 2)


@pytest.fixture
def as_(client, programme):
    def sign_in(who):
        client.force_login(getattr(programme, who))
        return client

    return sign_in


def url(name, *args):
    return reverse(f"coaching:{name}", args=args)


def make_coach(commissioner, name, **profile):
    user = UserFactory(full_name=name)
    ProgrammeRoleFactory(user=user, commissioner=commissioner, role=ProgrammeRoleKind.COACH)
    return CoachProfileFactory(user=user, commissioner=commissioner, **profile)


@pytest.fixture
def coach(programme):
    """The programme's coach, with a profile."""
    return CoachProfileFactory(
        user=programme.coach, commissioner=programme.commissioner, level="in_training", trained_on=date(2024, 3, 1)
    )


@pytest.fixture
def mentor(programme):
    return make_coach(programme.commissioner, "Alex Patel", level="mentor")


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice, clinical_area="diabetes")


def completed(coach, practice, typology=Typology.PROCESS_DRIVEN):
    return ProjectFactory(
        practice=practice,
        lead_coach=coach.user,
        typology=typology,
        process_subtheme="administrative" if typology == Typology.PROCESS_DRIVEN else "",
        step=Step.COMPLETED,
        completed_on=date(2025, 1, 31),
    )


PROFILE = {
    "commissioning_role": "Planned care commissioning manager",
    "commissioned_areas": ["diabetes", "respiratory"],
    "clinical_background": "pharmacist",
    "trained_on": "2024-09-01",
    "level": "coach",
    "protected_hours": "3.5",
    "max_projects": "4",
    "is_active": "on",
}


def assert_error(response, field_id, message):
    """The message is in the error summary, linked to the field, and shown at the field; nothing was saved."""
    assert response.status_code == 200
    html, shown = response.text, escape(message)
    assert "There is a problem" in html
    assert f'<a href="#{field_id}">{shown}</a>' in html
    assert html.count(shown) >= 2


# The directory


def test_the_lead_sees_the_directory_with_load_experience_and_refresher(as_, programme, coach, mentor):
    completed(mentor, programme.practice)
    completed(mentor, programme.sibling_practice)
    completed(mentor, programme.practice, Typology.HEALTH_OUTPUTS)
    ProjectFactory(practice=programme.practice, lead_coach=coach.user, step=Step.ASSESS)
    ProjectFactory(practice=programme.practice, co_coach=coach.user, step=Step.TREAT)
    TrainingRecordFactory(coach=mentor, completed_on=date(2024, 9, 1), is_refresher=True)
    response = as_("lead").get(url("coaches"))
    assert response.status_code == 200
    html = response.text
    assert "2 of 3" in html and "0 of 3" in html
    assert "3 completed (2 process-driven, 1 health outputs)" in html
    assert "1 September 2025" in html  # Alex's refresher: a year after the last training
    assert "1 March 2025" in html and "Overdue" in html  # the coach's: a year after they trained
    assert "In training" in html and "Mentor" in html


def test_the_directory_lists_coaches_without_a_profile_and_offers_to_add_one(as_, programme):
    html = as_("lead").get(url("coaches")).text
    assert "Coaches without a profile" in html and "coach@west.example" in html
    assert url("coach_new") in html


def test_the_directory_filters_by_level_and_active(as_, programme, coach, mentor):
    make_coach(programme.commissioner, "Resting Coach", is_active=False)
    html = as_("lead").get(url("coaches"), {"level": "mentor"}).text
    assert "Alex Patel" in html and programme.coach.get_full_name() not in html
    html = as_("lead").get(url("coaches"), {"active": "no"}).text
    assert "Resting Coach" in html and "Alex Patel" not in html


def test_another_commissioners_lead_sees_only_their_own_coaches(as_, programme, coach):
    make_coach(programme.other_commissioner, "Robin Hale")
    html = as_("other_lead").get(url("coaches")).text
    assert "Robin Hale" in html and programme.coach.get_full_name() not in html


@pytest.mark.parametrize("who", NOT_LEADS + ["admin"])
def test_only_leads_see_the_directory(as_, coach, who):
    assert as_(who).get(url("coaches")).status_code == 404


def test_the_directory_costs_the_same_queries_for_1_coach_as_for_30(as_, programme, client):
    def count():
        with CaptureQueriesContext(connection) as captured:
            assert as_("lead").get(url("coaches")).status_code == 200
        return len(captured)

    make_coach(programme.commissioner, "First Coach")
    as_("lead").get(url("coaches"))  # warm the session
    one = count()
    for n in range(30):
        profile = make_coach(programme.commissioner, f"Coach {n}", level=["coach", "mentor", "in_training"][n % 3])
        TrainingRecordFactory(coach=profile)
        completed(profile, programme.practice)
        ProjectFactory(practice=programme.sibling_practice, lead_coach=profile.user, step=Step.TREAT)
        ProgrammeRoleFactory(role=ProgrammeRoleKind.COACH, commissioner=programme.commissioner)  # without profile
    assert count() == one


# A coach's profile


def test_the_profile_shows_details_training_mentoring_projects_and_experience(as_, programme, coach, mentor):
    TrainingRecordFactory(coach=coach, course="Microsystems coaching, two days", completed_on=date(2024, 3, 1))
    TrainingRecordFactory(coach=coach, course="Refresher", completed_on=date(2025, 3, 4), is_refresher=True)
    Mentoring.objects.create(mentor=mentor, mentee=coach, starts_on=date(2025, 1, 6))
    Mentoring.objects.create(mentor=mentor, mentee=coach, starts_on=date(2024, 1, 6), ends_on=date(2024, 12, 31))
    ProjectFactory(practice=programme.practice, title="Diabetes recall", co_coach=coach.user, step=Step.TREAT)
    ProjectFactory(
        practice=programme.practice,
        title="Test results",
        lead_coach=coach.user,
        step=Step.FOLLOW_UP,
        completed_on=date(2025, 2, 3),
    )
    html = as_("lead").get(url("coach", coach.pk)).text
    assert "Microsystems coaching, two days" in html and "Refresher" in html
    assert "4 March 2026" in html  # refresher due
    assert "Alex Patel" in html and "6 January 2025" in html and "Active" in html and "Ended" in html
    assert "Diabetes recall" in html and "Co-coach" in html and "Treat" in html
    assert "Test results" in html and "Lead coach" in html and "Follow-up" in html
    assert "1 completed (1 process-driven)" in html
    assert "2 of 3" in html
    assert url("coach_edit", coach.pk) in html and url("training_new", coach.pk) in html


def test_a_coach_sees_their_own_profile_without_ways_to_change_it(as_, coach):
    response = as_("coach").get(url("coach", coach.pk))
    assert response.status_code == 200
    assert url("coach_edit", coach.pk) not in response.text
    assert url("training_new", coach.pk) not in response.text


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_on_a_profile(as_, coach, who):
    assert as_(who).get(url("coach", coach.pk)).status_code == 404


def test_a_coach_cannot_see_a_colleagues_profile(as_, coach, mentor):
    assert as_("coach").get(url("coach", mentor.pk)).status_code == 404


def test_the_profile_page_costs_a_constant_number_of_queries(as_, programme, coach, mentor):
    def count():
        with CaptureQueriesContext(connection) as captured:
            assert as_("lead").get(url("coach", coach.pk)).status_code == 200
        return len(captured)

    as_("lead").get(url("coach", coach.pk))
    one = count()
    for n in range(10):
        TrainingRecordFactory(coach=coach)
        ProjectFactory(practice=programme.practice, co_coach=coach.user, step=Step.ASSESS)
        other = make_coach(programme.commissioner, f"Mentor {n}", level="mentor")
        Mentoring.objects.create(mentor=other, mentee=coach, starts_on=date(2024, 1, n + 1), ends_on=date(2024, 2, 1))
        Mentoring.objects.create(mentor=coach, mentee=other, starts_on=date(2024, 3, n + 1), ends_on=date(2024, 4, 1))
    assert count() == one


# Adding and changing a profile


def test_the_lead_adds_a_profile(as_, programme):
    role = programme.coach.programme_roles.get()
    client = as_("lead")
    assert client.get(url("coach_new")).status_code == 200
    response = client.post(url("coach_new"), PROFILE | {"user": role.pk})
    coach = CoachProfile.objects.get(user=programme.coach)
    assert response.status_code == 302 and response["Location"] == coach.get_absolute_url()
    assert coach.commissioned_areas == ["diabetes", "respiratory"] and coach.max_projects == 4
    assert AuditEntry.objects.filter(action="coach.created").exists()


def test_another_lead_cannot_add_a_profile_for_someone_elses_coach(as_, programme):
    role = programme.coach.programme_roles.get()
    response = as_("other_lead").post(url("coach_new"), PROFILE | {"user": role.pk})
    assert_error(response, "id_user", "Choose a coach from the list.")
    assert not CoachProfile.objects.exists()


@pytest.mark.parametrize("who", NOT_LEADS)
def test_only_leads_add_profiles(as_, programme, who):
    role = programme.coach.programme_roles.get()
    assert as_(who).get(url("coach_new")).status_code == 404
    assert as_(who).post(url("coach_new"), PROFILE | {"user": role.pk}).status_code == 404
    assert not CoachProfile.objects.exists()


def test_the_lead_changes_a_profile(as_, coach):
    response = as_("lead").post(url("coach_edit", coach.pk), PROFILE)
    assert response.status_code == 302
    coach.refresh_from_db()
    assert coach.level == "coach" and coach.protected_hours == 3.5 and coach.clinical_background == "pharmacist"


@pytest.mark.parametrize(
    ("change", "field_id", "message"),
    [
        ({"protected_hours": "40"}, "id_protected_hours", "Protected hours must be between 0 and 37.5 a week."),
        ({"max_projects": "11"}, "id_max_projects", "The most projects at once must be between 1 and 10."),
        ({"trained_on": "2025-07-01"}, "id_trained_on", "The date trained cannot be in the future."),
        ({"commissioning_role": ""}, "id_commissioning_role", "Enter their job at the commissioner."),
        ({"max_projects": "lots"}, "id_max_projects", "Enter a number."),
    ],
)
def test_bad_profile_input_is_shown_at_its_field_and_nothing_is_saved(as_, coach, change, field_id, message):
    response = as_("lead").post(url("coach_edit", coach.pk), PROFILE | change)
    assert_error(response, field_id, message)
    coach.refresh_from_db()
    assert coach.level == "in_training"


def test_an_unknown_clinical_area_is_refused(as_, coach):
    response = as_("lead").post(url("coach_edit", coach.pk), PROFILE | {"commissioned_areas": ["dentistry"]})
    assert response.status_code == 200 and "There is a problem" in response.text
    coach.refresh_from_db()
    assert coach.commissioned_areas == []


@pytest.mark.parametrize("who", ["coach", *OUTSIDERS])
def test_only_the_lead_changes_a_profile_or_adds_its_records(as_, coach, mentor, who):
    client = as_(who)
    for name in ("coach_edit", "training_new", "mentoring_new"):
        assert client.get(url(name, coach.pk)).status_code == 404
    assert client.post(url("coach_edit", coach.pk), PROFILE).status_code == 404
    training = {"course": "Refresher", "completed_on": "2025-05-01", "hours": "7"}
    assert client.post(url("training_new", coach.pk), training).status_code == 404
    mentoring = {"mentor": mentor.pk, "starts_on": "2025-06-02"}
    assert client.post(url("mentoring_new", coach.pk), mentoring).status_code == 404
    coach.refresh_from_db()
    assert coach.level == "in_training" and not TrainingRecord.objects.exists() and not Mentoring.objects.exists()


# Training


def test_the_lead_adds_training(as_, coach):
    client = as_("lead")
    assert client.get(url("training_new", coach.pk)).status_code == 200
    data = {"course": "Refresher day", "completed_on": "2025-05-01", "hours": "7.5", "is_refresher": "on"}
    response = client.post(url("training_new", coach.pk), data)
    assert response.status_code == 302
    record = coach.training.get()
    assert record.is_refresher and record.completed_on == date(2025, 5, 1)
    assert "1 May 2026" in client.get(url("coach", coach.pk)).text  # the next refresher


@pytest.mark.parametrize(
    ("change", "field_id", "message"),
    [
        ({"completed_on": "2025-06-03"}, "id_completed_on", "The date completed cannot be in the future."),
        ({"hours": "0"}, "id_hours", "Hours must be more than 0 and no more than 100."),
        ({"hours": "120"}, "id_hours", "Hours must be more than 0 and no more than 100."),
        ({"course": ""}, "id_course", "Enter the course's name."),
    ],
)
def test_bad_training_is_shown_at_its_field(as_, coach, change, field_id, message):
    data = {"course": "Refresher day", "completed_on": "2025-05-01", "hours": "7"} | change
    assert_error(as_("lead").post(url("training_new", coach.pk), data), field_id, message)
    assert not TrainingRecord.objects.exists()


# Mentoring


def test_the_lead_gives_a_coach_a_mentor_and_ends_it(as_, coach, mentor):
    client = as_("lead")
    assert client.get(url("mentoring_new", coach.pk)).status_code == 200
    response = client.post(url("mentoring_new", coach.pk), {"mentor": mentor.pk, "starts_on": "2025-05-01"})
    assert response.status_code == 302
    mentoring = Mentoring.objects.get()
    assert (mentoring.mentor, mentoring.mentee, mentoring.ends_on) == (mentor, coach, None)
    html = client.get(url("coach", coach.pk)).text
    assert url("mentoring_end", mentoring.pk) in html
    response = client.post(url("mentoring_end", mentoring.pk))
    assert response.status_code == 302 and response["Location"] == coach.get_absolute_url()
    mentoring.refresh_from_db()
    assert mentoring.ends_on == date(2025, 6, 2)


def test_a_mentor_who_may_not_mentor_is_refused_at_the_field(as_, programme, coach):
    novice = make_coach(programme.commissioner, "Nat Novice", level="coach")
    response = as_("lead").post(url("mentoring_new", coach.pk), {"mentor": novice.pk, "starts_on": "2025-05-01"})
    assert_error(
        response,
        "id_mentor",
        "Nat Novice cannot mentor yet: a mentor is an active coach at level mentor, "
        "or a coach who has completed a project.",
    )
    assert not Mentoring.objects.exists()


def test_a_coach_is_not_offered_as_their_own_mentor(as_, coach, mentor):
    response = as_("lead").post(url("mentoring_new", coach.pk), {"mentor": coach.pk, "starts_on": "2025-05-01"})
    assert_error(response, "id_mentor", "Choose a mentor from the list.")


def test_a_mentoring_that_ends_before_it_starts_is_refused(as_, coach, mentor):
    data = {"mentor": mentor.pk, "starts_on": "2025-05-01", "ends_on": "2025-04-01"}
    assert_error(
        as_("lead").post(url("mentoring_new", coach.pk), data),
        "id_ends_on",
        "The end date must be after the start date.",
    )


@pytest.mark.parametrize("who", ["coach", *OUTSIDERS])
def test_only_the_lead_ends_a_mentoring(as_, coach, mentor, who):
    mentoring = Mentoring.objects.create(mentor=mentor, mentee=coach, starts_on=date(2025, 1, 1))
    assert as_(who).post(url("mentoring_end", mentoring.pk)).status_code == 404
    mentoring.refresh_from_db()
    assert mentoring.ends_on is None


def test_ending_a_mentoring_needs_a_post(as_, coach, mentor):
    mentoring = Mentoring.objects.create(mentor=mentor, mentee=coach, starts_on=date(2025, 1, 1))
    assert as_("lead").get(url("mentoring_end", mentoring.pk)).status_code == 405


def test_ending_an_ended_mentoring_says_so(as_, coach, mentor):
    mentoring = Mentoring.objects.create(
        mentor=mentor, mentee=coach, starts_on=date(2025, 1, 1), ends_on=date(2025, 3, 1)
    )
    response = as_("lead").post(url("mentoring_end", mentoring.pk), follow=True)
    assert "This mentoring already ended on 1 March 2025." in response.text


# Matching


def test_the_lead_sees_coaches_ranked_with_reasons_and_a_way_to_choose(as_, programme, project, mentor):
    conflicted = make_coach(
        programme.commissioner, "Cara Commissioner", commissioned_areas=["diabetes"], level="mentor"
    )
    completed(conflicted, programme.practice)
    local = make_coach(programme.commissioner, "Lee Local", clinical_background="gp")
    completed(local, programme.practice)
    make_coach(programme.commissioner, "Ina Inactive", is_active=False)
    response = as_("lead").get(url("matching", project.pk))
    assert response.status_code == 200
    html = response.text
    assert html.index("Lee Local") < html.index("Alex Patel") < html.index("Cara Commissioner")
    assert "Commissions diabetes services for this practice" in html
    assert "Has coached at Amherst Medical Practice before" in html
    assert "Clinical background (GP) for a clinical project" in html
    assert "Ina Inactive" not in html and "Not listed: 1 coach who is not active." in html
    choose = reverse("projects:coaches", args=[project.pk]) + f"?lead_coach={local.user_id}"
    assert choose in html


@pytest.mark.parametrize("who", ["coach", "manager", "nurse", "finance", "sibling_nurse", "other_lead", "other_nurse"])
def test_only_the_lead_sees_matching(as_, programme, project, who):
    project.lead_coach = programme.coach  # the project's own coach sees the project, not the matching
    project.save()
    assert as_(who).get(url("matching", project.pk)).status_code == 404


def test_matching_costs_the_same_queries_for_many_coaches(as_, programme, project):
    def count():
        with CaptureQueriesContext(connection) as captured:
            assert as_("lead").get(url("matching", project.pk)).status_code == 200
        return len(captured)

    make_coach(programme.commissioner, "First Coach")
    as_("lead").get(url("matching", project.pk))
    one = count()
    for n in range(15):
        profile = make_coach(programme.commissioner, f"Coach {n}", commissioned_areas=["diabetes"] if n % 2 else [])
        completed(profile, PracticeFactory(commissioner=programme.commissioner))
    assert count() == one
