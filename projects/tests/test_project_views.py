"""Project and team pages: who sees what, who may change what, and what bad input leaves behind."""

import re
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from coaching.tests.factories import AgreementFactory, coach_with_mentor
from microsystems.models import AuditEntry, User
from microsystems.tests.factories import UserFactory
from practices.models import ProgrammeRoleKind, StaffRole
from practices.tests.factories import MembershipFactory, PcnFactory, PracticeFactory, ProgrammeRoleFactory
from projects.models import (
    FundingRoute,
    MeetingRole,
    MemberKind,
    Milestone,
    Payment,
    Project,
    SpecificAim,
    Step,
    StepChange,
    TeamMember,
    Typology,
    WorkbookSection,
)
from projects.selectors import projects_for, sees_project
from projects.tests.factories import ProjectFactory, TeamMemberFactory

READERS = ["lead", "coach", "manager", "nurse", "admin"]
OUTSIDERS = ["sibling_nurse", "other_lead", "other_nurse", "finance", "spare_coach"]
TITLE = "Results handling at Amherst"


@pytest.fixture
def people(programme):
    spare = UserFactory(email="spare.coach@west.example", full_name="Sam Spare")
    ProgrammeRoleFactory(user=spare, commissioner=programme.commissioner, role=ProgrammeRoleKind.COACH)
    for coach in (programme.coach, spare):
        coach_with_mentor(coach, programme.commissioner)
    return {name: getattr(programme, name) for name in programme.__dataclass_fields__} | {"spare_coach": spare}


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice, lead_coach=programme.coach, title=TITLE)


@pytest.fixture
def as_(client, people):
    def sign_in(who):
        client.force_login(people[who])
        return client

    return sign_in


def counts():
    return [m.objects.count() for m in (Project, TeamMember, SpecificAim, StepChange, AuditEntry)]


@contextmanager
def writes_nothing():
    before = counts()
    yield
    assert counts() == before


def assert_error_at(response, field, message):
    """The message is in the error summary, linked to the field, and again at the field."""
    assert response.status_code == 200
    html = response.text
    assert "There is a problem" in html
    assert re.search(rf'<li><a href="#id_{field}(_0)?">{re.escape(escape(message))}</a></li>', html), html
    assert re.search(rf'id="error_\d+_id_{field}"><strong>{re.escape(escape(message))}</strong>', html), html


def url(name, *args):
    return reverse(f"projects:{name}", args=args)


def full_team(project, programme):
    """A team and a signed coaching agreement: everything Organise asks for."""
    AgreementFactory(project=project)
    manager = TeamMember.objects.create(
        project=project, kind=MemberKind.STAFF, user=programme.manager, team_role="Practice lead", is_champion=True
    )
    TeamMember.objects.create(
        project=project,
        kind=MemberKind.STAFF,
        user=programme.nurse,
        team_role="Results nurse",
        is_clinical=True,
        meeting_role=MeetingRole.LEADER,
    )
    TeamMember.objects.create(
        project=project,
        kind=MemberKind.PATIENT,
        name="Pat Doe",
        contact="Through the PPG",
        consent_to_be_listed=True,
        team_role="Patient voice",
    )
    return manager


# Every page: readers, editors and outsiders


def project_pages(project, member, aim):
    pk = project.pk
    return {
        "overview": url("overview", pk),
        "edit": url("edit", pk),
        "coaches": url("coaches", pk),
        "step": url("step", pk),
        "withdraw": url("withdraw", pk),
        "aims": url("aims", pk),
        "aim_edit": url("aim_edit", pk, aim.pk),
        "team": url("team", pk),
        "team_add": url("team_add", pk),
        "team_add_staff": url("team_add", pk) + "?kind=staff",
        "team_edit": url("team_edit", pk, member.pk),
    }


# Who may open each page (everyone else in the programme fixture gets a 404).
MAY_OPEN = {
    "overview": READERS,
    "team": READERS,
    "aims": READERS,
    "edit": ["lead", "coach", "manager", "nurse", "admin"],
    "coaches": ["lead", "admin"],
    "step": ["lead", "coach", "admin"],
    "withdraw": ["lead", "coach", "admin"],
    "aim_edit": ["coach", "manager", "nurse", "admin"],
    "team_add": ["lead", "coach", "manager", "nurse", "admin"],
    "team_add_staff": ["lead", "coach", "manager", "nurse", "admin"],
    "team_edit": ["lead", "coach", "manager", "nurse", "admin"],
}


@pytest.fixture
def pages(programme, project):
    member = full_team(project, programme)
    aim = SpecificAim.objects.create(
        project=project,
        measure="Results actioned in 2 days",
        baseline="62%",
        target="90%",
        target_date=date(2025, 4, 1),
    )
    return project_pages(project, member, aim)


@pytest.mark.parametrize("page", list(MAY_OPEN))
@pytest.mark.parametrize("who", READERS + OUTSIDERS)
def test_each_page_opens_for_those_who_may_and_is_a_404_that_shows_nothing_to_anyone_else(as_, pages, page, who):
    response = as_(who).get(pages[page])
    if who in MAY_OPEN[page]:
        assert response.status_code == 200
        assert TITLE in response.text
    else:
        assert response.status_code == 404
        assert TITLE not in response.text
        assert "Pat Doe" not in response.text


@pytest.mark.parametrize("page", list(MAY_OPEN))
def test_every_page_asks_an_anonymous_visitor_to_sign_in(client, pages, page):
    response = client.get(pages[page])
    assert response.status_code == 302 and reverse("login") in response["Location"]


def post_actions(project, programme):
    """Every change a page makes, with valid input: (url, data)."""
    member = TeamMember.objects.get(project=project, user=programme.nurse)
    other = TeamMember.objects.get(project=project, kind=MemberKind.PATIENT)
    aim = SpecificAim.objects.get(project=project)
    pk = project.pk
    details = {
        "title": "Changed",
        "scope": "Changed scope",
        "starts_on": "2025-01-06",
        "typology": "health_outputs",
        "needs_ongoing_resources": "no",
        "crosses_boundaries": "no",
    }
    aim_data = {"measure": "Changed", "baseline": "1", "target": "2", "target_date": "2025-03-01"}
    return {
        "edit": (url("edit", pk), details),
        "coaches": (url("coaches", pk), {"lead_coach": programme.coach.pk}),
        "step": (url("step", pk), {"override_reason": "Agreed"}),
        "withdraw": (url("withdraw", pk), {"on": "2025-02-03", "reason": "Staff left"}),
        "aims": (url("aims", pk), aim_data),
        "aim_edit": (url("aim_edit", pk, aim.pk), aim_data),
        "aim_remove": (url("aim_remove", pk, aim.pk), {}),
        "team_add": (url("team_add", pk) + "?kind=partner", PARTNER),
        "team_edit": (url("team_edit", pk, member.pk), {"user": programme.nurse.pk, "team_role": "Changed"}),
        "team_remove": (url("team_remove", pk, other.pk), {}),
        "team_champion": (url("team_champion", pk, member.pk), {}),
        "team_meeting_role": (url("team_meeting_role", pk, other.pk), {"meeting_role": "leader"}),
        "team_no_patient_rep": (url("team_no_patient_rep", pk), {"reason": "Changed"}),
    }


PARTNER = {
    "name": "Sam Lee",
    "organisation": "Kent Community Health",
    "team_role": "District nurse",
    "is_clinical": "yes",
}
MAY_CHANGE = {
    "edit": ["lead", "coach", "manager", "nurse"],
    "coaches": ["lead"],
    "step": ["lead", "coach"],
    "withdraw": ["lead", "coach"],
    "aims": ["coach", "manager", "nurse"],
    "aim_edit": ["coach", "manager", "nurse"],
    "aim_remove": ["coach", "manager", "nurse"],
    "team_add": ["lead", "coach", "manager", "nurse"],
    "team_edit": ["lead", "coach", "manager", "nurse"],
    "team_remove": ["lead", "coach", "manager", "nurse"],
    "team_champion": ["lead", "coach", "manager", "nurse"],
    "team_meeting_role": ["lead", "coach", "manager", "nurse"],
    "team_no_patient_rep": ["lead", "coach", "manager", "nurse"],
}


@pytest.mark.parametrize("action", list(MAY_CHANGE))
@pytest.mark.parametrize("who", ["lead", "coach", "manager", "nurse"] + OUTSIDERS)
def test_each_change_is_made_by_those_who_may_and_refused_with_a_404_for_everyone_else(
    as_, programme, pages, project, action, who
):
    path, data = post_actions(project, programme)[action]
    before = AuditEntry.objects.count()
    if who in MAY_CHANGE[action]:
        response = as_(who).post(path, data)
        assert response.status_code == 302
        assert AuditEntry.objects.count() > before
    else:
        with writes_nothing():
            response = as_(who).post(path, data)
        assert response.status_code == 404
        assert TITLE not in response.text


@pytest.mark.parametrize("action", ["aim_remove", "team_remove", "team_champion", "team_meeting_role"])
def test_changes_that_have_no_page_answer_only_a_post(as_, programme, pages, project, action):
    path, _ = post_actions(project, programme)[action]
    with writes_nothing():
        assert as_("lead").get(path).status_code == 405


def test_a_closed_project_can_be_read_but_not_changed(as_, programme, pages, project):
    Project.objects.filter(pk=project.pk).update(step=Step.WITHDRAWN, withdrawn_on=date(2025, 2, 3))
    assert as_("lead").get(pages["overview"]).status_code == 200
    for page in ("edit", "step", "withdraw", "team_add"):
        assert as_("lead").get(pages[page]).status_code == 404
    assert as_("nurse").get(pages["aim_edit"]).status_code == 404


def test_a_member_or_aim_of_another_project_is_a_404_through_this_one(as_, programme, pages, project):
    other = ProjectFactory(practice=programme.practice)
    stranger = TeamMemberFactory(project=other)
    aim = SpecificAim.objects.create(project=other, measure="M", baseline="1", target="2", target_date=date(2025, 5, 1))
    client = as_("nurse")
    assert client.get(url("team_edit", project.pk, stranger.pk)).status_code == 404
    assert client.get(url("aim_edit", project.pk, aim.pk)).status_code == 404
    with writes_nothing():
        assert client.post(url("team_remove", project.pk, stranger.pk)).status_code == 404
        assert client.post(url("aim_remove", project.pk, aim.pk)).status_code == 404


# The list


def listing(client, **params):
    return client.get(url("list"), params)


@pytest.mark.parametrize("who", READERS)
def test_people_who_read_the_project_find_it_in_the_list(as_, project, who):
    response = listing(as_(who))
    assert response.status_code == 200
    assert TITLE in response.text


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_do_not_see_the_project_in_the_list(as_, project, who):
    response = listing(as_(who))
    assert response.status_code == 200
    assert TITLE not in response.text
    assert "No projects yet." in response.text


def test_a_coach_lists_only_the_projects_they_coach(as_, programme, people, project):
    ProjectFactory(practice=programme.practice, title="Someone else's", lead_coach=people["spare_coach"])
    ProjectFactory(practice=programme.sibling_practice, title="Co-coached", co_coach=programme.coach)
    page = listing(as_("coach")).text
    assert TITLE in page and "Co-coached" in page and "Someone else&#x27;s" not in page


def test_practice_staff_list_only_their_practices_projects(as_, programme, project):
    ProjectFactory(practice=programme.sibling_practice, title="Kingswood flow")
    page = listing(as_("nurse")).text
    assert TITLE in page and "Kingswood flow" not in page
    assert "Kingswood flow" in listing(as_("lead")).text


def test_the_list_shows_practice_step_category_champion_coaches_and_first_project(as_, programme, project):
    full_team(project, programme)
    later = ProjectFactory(
        practice=programme.practice,
        title="Diabetes reviews",
        starts_on=date(2025, 6, 2),
        typology=Typology.HEALTH_OUTPUTS,
        process_subtheme="",
        planned_end_on=date(2025, 9, 1),
    )
    Project.objects.filter(pk=later.pk).update(step=Step.ASSESS)
    page = listing(as_("lead")).text
    rows = {title: page[page.index(title) :].split("</tr>")[0] for title in (TITLE, "Diabetes reviews")}
    first, second = rows[TITLE], rows["Diabetes reviews"]
    assert "Amherst Medical Practice" in first and "Organise" in first and "Process-driven" in first
    assert programme.manager.get_full_name() in first and programme.coach.get_full_name() in first
    assert "<td>Yes</td>" in first
    assert "No champion" in second and "Assess" in second and "Health outputs" in second and "None yet" in second
    assert "<td>No</td>" in second


def test_the_list_filters_by_step_category_pcn_and_coach(as_, programme, people, project):
    kingswood = ProjectFactory(
        practice=programme.sibling_practice,
        title="Kingswood flow",
        typology=Typology.PATIENT_CENTRED,
        process_subtheme="",
        co_coach=people["spare_coach"],
    )
    Project.objects.filter(pk=kingswood.pk).update(step=Step.TREAT)
    client = as_("lead")

    def titles(**params):
        page = listing(client, **params).text
        return {t for t in (TITLE, "Kingswood flow") if t in page}

    assert titles() == {TITLE, "Kingswood flow"}
    assert titles(step="treat") == {"Kingswood flow"}
    assert titles(typology="process_driven") == {TITLE}
    assert titles(pcn=programme.practice.pcn_id) == {TITLE}
    assert titles(coach=people["spare_coach"].pk) == {"Kingswood flow"}
    assert titles(coach=programme.coach.pk) == {TITLE}
    assert titles(q="kingswood") == {"Kingswood flow"}
    nothing = listing(client, step="completed").text
    assert "No projects match" in nothing


def test_the_list_refuses_a_pcn_or_coach_from_outside_the_users_scope(as_, programme, project):
    response = listing(as_("lead"), pcn=programme.other_practice.pcn_id)
    assert "Select a valid choice" in response.text
    assert programme.other_practice.pcn.name not in response.text


def test_the_list_sorts_by_the_methods_order_and_pages(as_, programme, project):
    for n, step in enumerate([Step.TREAT, Step.ASSESS, Step.DIAGNOSE] * 10):
        p = ProjectFactory(practice=programme.practice, title=f"Project {n:02d}")
        Project.objects.filter(pk=p.pk).update(step=step)
    client = as_("lead")
    first_page = listing(client, sort="step").text
    assert "31 projects" in first_page and "Page 1 of 2" in first_page
    assert first_page.index(TITLE) < first_page.index("<td>Assess</td>") < first_page.index("<td>Diagnose</td>")
    last_page = listing(client, sort="-step", page=2).text
    assert TITLE in last_page
    assert listing(client, sort="practice").status_code == 200
    assert listing(client, sort="coaches").status_code == 200


def test_the_list_runs_the_same_number_of_queries_with_1_and_30_projects(as_, programme, people, project):
    full_team(project, programme)
    client = as_("lead")
    listing(client)
    with CaptureQueriesContext(connection) as few:
        assert listing(client).status_code == 200
    for n in range(29):
        practice = PracticeFactory(
            commissioner=programme.commissioner, pcn=PcnFactory(commissioner=programme.commissioner)
        )
        p = ProjectFactory(practice=practice, lead_coach=programme.coach, co_coach=people["spare_coach"])
        champion = TeamMemberFactory(project=p, is_champion=True)
        TeamMemberFactory.create_batch(2, project=p)
        assert champion.is_champion and n >= 0
    with CaptureQueriesContext(connection) as many:
        page = listing(client)
    assert "30 projects" in page.text
    assert len(few) == len(many)


def test_the_list_says_what_to_do_when_there_are_no_projects(as_, programme):
    assert "Start the first one" in listing(as_("manager")).text
    coach_page = listing(as_("coach")).text
    assert "makes you its coach" in coach_page and "Start a project" not in coach_page


def test_user_text_is_escaped_on_the_list_and_the_overview(as_, programme):
    p = ProjectFactory(practice=programme.practice, title="<script>alert(1)</script>")
    for page in (listing(as_("lead")), as_("lead").get(url("overview", p.pk))):
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


# Starting a project


NEW = {
    "practice": "G82013",
    "title": "Test results handling",
    "scope": "From a result arriving to the patient knowing the outcome.",
    "starts_on": "2025-01-06",
    "typology": "process_driven",
    "process_subtheme": "administrative",
    "needs_ongoing_resources": "no",
    "crosses_boundaries": "no",
}


def test_practice_staff_start_a_project_at_their_practice_with_a_13_week_default(as_, programme):
    client = as_("manager")
    page = client.get(url("create") + "?practice=G82013")
    assert page.status_code == 200
    assert '<option value="G82013" selected>' in page.text
    response = client.post(url("create"), NEW)
    project = Project.objects.get()
    assert response.status_code == 302 and response["Location"] == project.get_absolute_url()
    assert project.practice == programme.practice and project.step == Step.ORGANISE
    assert project.planned_end_on == date(2025, 4, 7)
    assert project.created_by == programme.manager
    assert not project.needs_ongoing_resources
    assert project.sections.count() == WorkbookSection.objects.count() > 0
    assert AuditEntry.objects.filter(action="project.created", actor=programme.manager).exists()


def test_the_ongoing_resources_question_is_asked_at_the_outset_and_kept(as_, programme):
    client = as_("lead")
    data = NEW | {"needs_ongoing_resources": "yes", "ongoing_resources": "A weekly admin session, from core budget."}
    assert client.post(url("create"), data).status_code == 302
    project = Project.objects.get()
    assert project.needs_ongoing_resources and project.ongoing_resources.startswith("A weekly admin session")


def test_the_practice_choice_offers_only_practices_the_user_may_start_projects_at(as_, programme):
    manager_page = as_("manager").get(url("create")).text
    assert "Amherst Medical Practice" in manager_page and "Kingswood Surgery" not in manager_page
    lead_page = as_("lead").get(url("create")).text
    assert "Amherst Medical Practice" in lead_page and "Kingswood Surgery" in lead_page
    assert "Crowborough Surgery" not in lead_page


@pytest.mark.parametrize("who", ["coach", "finance", "spare_coach"])
def test_people_who_cannot_start_projects_get_a_404(as_, who):
    with writes_nothing():
        assert as_(who).get(url("create")).status_code == 404
        assert as_(who).post(url("create"), NEW).status_code == 404


@pytest.mark.parametrize("who", ["sibling_nurse", "other_lead", "other_nurse"])
def test_outsiders_cannot_start_a_project_at_the_practice(as_, who):
    client = as_(who)
    assert client.get(url("create") + "?practice=G82013").status_code == 404
    with writes_nothing():
        response = client.post(url("create"), NEW)
    assert_error_at(response, "practice", "Choose a practice from the list.")
    assert "Amherst Medical Practice" not in response.text


PROJECT_ERRORS = [
    ({"title": ""}, "title", "Give the project a title."),
    ({"typology": ""}, "typology", "Choose the project's primary category."),
    (
        {"process_subtheme": ""},
        "process_subtheme",
        "Choose the kind of process: administrative systems, patient flow or communication.",
    ),
    (
        {"typology": "health_outputs"},
        "process_subtheme",
        "Only a process-driven project has a process sub-theme.",
    ),
    (
        {"secondary_typology": "process_driven"},
        "secondary_typology",
        "The overlapping category must differ from the primary one.",
    ),
    ({"planned_end_on": "2025-01-06"}, "planned_end_on", "The planned end must be after the start date."),
    ({"planned_end_on": "2024-12-01"}, "planned_end_on", "The planned end must be after the start date."),
    ({"starts_on": "6th of Jan"}, "starts_on", "Enter a valid date."),
    (
        {"needs_ongoing_resources": ""},
        "needs_ongoing_resources",
        "Answer yes or no: will the change need ongoing resources after the project ends?",
    ),
    (
        {"needs_ongoing_resources": "yes"},
        "ongoing_resources",
        "Say what ongoing resources the change will need and how they will be met.",
    ),
    ({"crosses_boundaries": "yes"}, "other_organisations", "Name the other organisations involved."),
    ({"title": "x" * 121}, "title", "Ensure this value has at most 120 characters (it has 121)."),
]


@pytest.mark.parametrize(("change", "field", "message"), PROJECT_ERRORS)
def test_bad_input_when_starting_a_project_is_shown_at_the_field_and_writes_nothing(as_, change, field, message):
    with writes_nothing():
        response = as_("manager").post(url("create"), NEW | change)
    assert_error_at(response, field, message)


def test_every_text_field_shows_its_limit_with_a_counter(as_, project):
    page = as_("manager").get(url("create")).text
    for name, limit in [("title", 120), ("scope", 1000), ("other_organisations", 300), ("senior_sponsor", 200)]:
        assert re.search(rf'name="{name}"[^>]*maxlength="{limit}"|maxlength="{limit}"[^>]*name="{name}"', page), name
    assert '<script src="/static/js/counters.js" defer></script>' in page
    assert "style=" not in page.split('<main id="main"')[1]
    for page_url in (
        url("aims", project.pk),
        url("team_add", project.pk) + "?kind=patient",
        url("withdraw", project.pk),
    ):
        assert "js/counters.js" in as_("coach").get(page_url).text


# Changing the details


def edit_data(project, **change):
    data = {
        "title": project.title,
        "scope": project.scope,
        "starts_on": project.starts_on.isoformat(),
        "planned_end_on": project.planned_end_on.isoformat(),
        "typology": project.typology,
        "process_subtheme": project.process_subtheme,
        "needs_ongoing_resources": "no",
        "crosses_boundaries": "no",
    }
    return data | change


def test_editing_the_details_shows_the_current_values_and_saves_changes(as_, programme, project):
    client = as_("nurse")
    page = client.get(url("edit", project.pk)).text
    assert f'value="{TITLE}"' in page and 'value="2025-04-07"' in page
    response = client.post(url("edit", project.pk), edit_data(project, title="Results in two days"))
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.title == "Results in two days"
    assert AuditEntry.objects.filter(action="project.updated", actor=programme.nurse).exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"planned_end_on": "2025-01-01"}, "planned_end_on", "The planned end must be after the start date."),
        ({"starts_on": "2025-05-01"}, "planned_end_on", "The planned end must be after the start date."),
        ({"scope": ""}, "scope", "Describe the project's scope."),
        (
            {"crosses_boundaries": "maybe"},
            "crosses_boundaries",
            "Select a valid choice. maybe is not one of the available choices.",
        ),
    ],
)
def test_bad_input_when_editing_is_shown_at_the_field_and_writes_nothing(as_, project, change, field, message):
    with writes_nothing():
        response = as_("coach").post(url("edit", project.pk), edit_data(project, **change))
    assert_error_at(response, field, message)
    project.refresh_from_db()
    assert project.starts_on == date(2025, 1, 6) and project.planned_end_on == date(2025, 4, 7)


def test_a_cross_boundary_project_past_organise_keeps_its_senior_sponsor(as_, project):
    Project.objects.filter(pk=project.pk).update(step=Step.ASSESS)
    data = edit_data(project, crosses_boundaries="yes", other_organisations="Kent Community Health")
    with writes_nothing():
        response = as_("lead").post(url("edit", project.pk), data)
    assert_error_at(response, "senior_sponsor", "A cross-boundary project past Organise needs a senior sponsor.")


# The overview


def test_the_overview_shows_team_progress_whats_missing_workbook_coaches_and_history(as_, programme, project):
    full_team(project, programme)
    Project.objects.filter(pk=project.pk).update(co_coach=UserFactory(full_name="Carol Co"))
    WorkbookSection.objects.filter(project=project, key__in=["purpose", "patients"]).update(complete=True)
    StepChange.objects.create(
        project=project,
        changed_by=programme.lead,
        from_step=Step.ORGANISE,
        to_step=Step.ASSESS,
        override_reason="Agreed with the partners",
        unmet=["Name a senior sponsor: the project crosses organisational boundaries."],
    )
    Project.objects.filter(pk=project.pk).update(step=Step.ASSESS)
    page = as_("lead").get(url("overview", project.pk)).text
    assert f"Champion: <strong>{programme.manager.get_full_name()}</strong>" in page
    assert "Results nurse" in page and "Leader" in page and "Pat Doe" in page
    assert '<progress id="step-progress" class="w-100 mb-2" value="1" max="5">' in page
    assert 'aria-current="step"' in page
    assert "Mark Professionals complete." in page and "Mark Purpose complete." not in page
    assert url("workbook", project.pk, "assess") in page and url("workbook", project.pk, "diagnose") in page
    assert "2 of 5 sections complete" in page
    assert url("aims", project.pk) in page
    assert "The practice's first project" in page
    assert programme.coach.get_full_name() in page and "Carol Co" in page
    assert "Agreed with the partners" in page and "Name a senior sponsor" in page
    assert url("step", project.pk) in page and url("coaches", project.pk) in page


def test_the_overview_flags_a_missing_champion_and_a_later_project(as_, programme, project):
    later = ProjectFactory(practice=programme.practice, starts_on=date(2025, 6, 2), planned_end_on=date(2025, 9, 1))
    page = as_("nurse").get(url("overview", later.pk)).text
    assert "No champion" in page
    assert "Not the practice's first project" in page
    assert url("step", later.pk) not in page and url("coaches", later.pk) not in page
    assert url("edit", later.pk) in page


def test_the_overview_runs_the_same_number_of_queries_with_a_bigger_team_and_history(as_, programme, project):
    client = as_("lead")
    client.get(url("overview", project.pk))
    with CaptureQueriesContext(connection) as few:
        client.get(url("overview", project.pk))
    full_team(project, programme)
    TeamMemberFactory.create_batch(5, project=project)
    for n in range(4):
        StepChange.objects.create(project=project, changed_by=programme.lead, from_step="organise", to_step="assess")
        SpecificAim.objects.create(
            project=project, measure=f"M{n}", baseline="1", target="2", target_date=date(2025, 5, 1)
        )
    with CaptureQueriesContext(connection) as many:
        client.get(url("overview", project.pk))
    assert len(few) == len(many)


def test_a_withdrawn_project_shows_when_why_and_the_step_it_stopped_at(as_, programme, project):
    Project.objects.filter(pk=project.pk).update(
        step=Step.WITHDRAWN, withdrawn_on=date(2025, 2, 3), withdrawal_reason="The practice merged."
    )
    StepChange.objects.create(project=project, changed_by=programme.lead, from_step="diagnose", to_step="withdrawn")
    page = as_("manager").get(url("overview", project.pk)).text
    assert "Withdrawn on 3 February 2025." in page and "The practice merged." in page
    stepper = page[page.index('<ol class="list-group') :]
    assert stepper.index("Assess") < stepper.index("Done", stepper.index("Assess"))
    assert stepper.index("Diagnose") < stepper.index("Withdrawn here") < stepper.index("Treat")
    assert url("withdraw", project.pk) not in page and url("step", project.pk) not in page


# Coaches


def test_the_lead_chooses_a_lead_coach_and_co_coach_from_the_commissioners_coaches(as_, programme, people, project):
    other_coach = UserFactory(full_name="Olive Other")
    ProgrammeRoleFactory(user=other_coach, commissioner=programme.other_commissioner, role=ProgrammeRoleKind.COACH)
    client = as_("lead")
    page = client.get(url("coaches", project.pk)).text
    assert "Sam Spare" in page and programme.coach.get_full_name() in page and "Olive Other" not in page
    assert programme.manager.get_full_name() not in page
    response = client.post(
        url("coaches", project.pk), {"lead_coach": people["spare_coach"].pk, "co_coach": programme.coach.pk}
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.lead_coach, project.co_coach) == (people["spare_coach"], programme.coach)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ("same", "co_coach", "The co-coach must be someone other than the lead coach."),
        ("co_only", "lead_coach", "Choose a lead coach before a co-coach."),
        ("outsider", "lead_coach", "Choose a coach from the list."),
    ],
)
def test_bad_coach_choices_are_shown_at_the_field_and_write_nothing(
    as_, programme, people, project, data, field, message
):
    payload = {
        "same": {"lead_coach": programme.coach.pk, "co_coach": programme.coach.pk},
        "co_only": {"lead_coach": "", "co_coach": programme.coach.pk},
        "outsider": {"lead_coach": programme.manager.pk},
    }[data]
    with writes_nothing():
        response = as_("lead").post(url("coaches", project.pk), payload)
    assert_error_at(response, field, message)
    project.refresh_from_db()
    assert project.lead_coach == programme.coach


# Moving on a step


def test_a_coach_sees_whats_missing_and_cannot_override(as_, programme, project):
    client = as_("coach")
    page = client.get(url("step", project.pk)).text
    assert "Move Results handling at Amherst to Assess" in page
    assert "Name a champion." in page and "Only the programme lead can move a project on" in page
    assert 'name="override_reason"' not in page and "Move to Assess</button>" not in page
    with writes_nothing():
        response = client.post(url("step", project.pk), {"override_reason": "We are ready"})
    assert response.status_code == 200 and "Before moving on: Name a champion." in response.text
    project.refresh_from_db()
    assert project.step == Step.ORGANISE


def test_a_coach_moves_a_project_on_when_its_step_is_done(as_, programme, project):
    full_team(project, programme)
    client = as_("coach")
    page = client.get(url("step", project.pk)).text
    assert "Everything Organise asks for is done." in page and "Move to Assess</button>" in page
    assert client.post(url("step", project.pk)).status_code == 302
    project.refresh_from_db()
    assert project.step == Step.ASSESS
    assert project.step_changes.get().changed_by == programme.coach


def test_the_lead_must_give_a_reason_to_override_and_it_is_recorded(as_, programme, project):
    client = as_("lead")
    page = client.get(url("step", project.pk)).text
    assert 'name="override_reason"' in page and "Name a champion." in page
    with writes_nothing():
        response = client.post(url("step", project.pk), {"override_reason": ""})
    assert_error_at(response, "override_reason", response.context["form"].errors["override_reason"][0])
    assert "Before moving on: Name a champion." in response.text
    response = client.post(url("step", project.pk), {"override_reason": "Agreed at the practice meeting"})
    assert response.status_code == 302
    change = StepChange.objects.get(project=project)
    assert change.override_reason == "Agreed at the practice meeting" and "Name a champion." in change.unmet
    overview = client.get(url("overview", project.pk)).text
    assert "Agreed at the practice meeting" in overview


def test_treat_offers_no_move_on(as_, project):
    Project.objects.filter(pk=project.pk).update(step=Step.TREAT)
    page = as_("lead").get(url("step", project.pk)).text
    assert "It moves on by completing" in page and "<button" not in page.split('<main id="main"')[1].split("</main>")[0]


# Withdrawing


def test_the_coach_withdraws_a_project_with_a_date_and_reason(as_, programme, project):
    response = as_("coach").post(url("withdraw", project.pk), {"on": "2025-02-03", "reason": "The manager left."})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.step == Step.WITHDRAWN and project.withdrawn_on == date(2025, 2, 3)
    assert project.withdrawal_reason == "The manager left."


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"on": "2025-02-03", "reason": ""}, "reason", "Say why the project was withdrawn."),
        ({"on": "", "reason": "Left"}, "on", "Enter the date the project was withdrawn."),
        ({"on": "2025-01-01", "reason": "Left"}, "on", "The project cannot be withdrawn before it started."),
        ({"reason": "Left"}, "on", "The date cannot be in the future."),
    ],
)
def test_bad_withdrawals_are_shown_at_the_field_and_write_nothing(as_, project, data, field, message):
    data = {"on": (timezone.localdate() + timedelta(days=2)).isoformat()} | data
    with writes_nothing():
        response = as_("lead").post(url("withdraw", project.pk), data)
    assert_error_at(response, field, message)
    project.refresh_from_db()
    assert project.step == Step.ORGANISE


# Specific aims


AIM = {
    "measure": "Results actioned within 2 working days",
    "baseline": "62%",
    "target": "90%",
    "target_date": "2025-04-01",
}


def test_practice_staff_add_change_and_remove_specific_aims(as_, programme, project):
    client = as_("nurse")
    assert client.post(url("aims", project.pk), AIM).status_code == 302
    aim = SpecificAim.objects.get(project=project)
    page = client.get(url("aims", project.pk)).text
    assert "Results actioned within 2 working days" in page and "62%" in page and "1 April 2025" in page
    assert client.post(url("aim_edit", project.pk, aim.pk), AIM | {"target": "95%"}).status_code == 302
    aim.refresh_from_db()
    assert aim.target == "95%"
    assert client.post(url("aim_remove", project.pk, aim.pk)).status_code == 302
    assert not SpecificAim.objects.exists()
    actions = set(AuditEntry.objects.filter(actor=programme.nurse).values_list("action", flat=True))
    assert {"project.specific_aim_added", "project.specific_aim_updated", "project.specific_aim_removed"} <= actions


def test_the_lead_reads_the_aims_without_a_form_to_add_one(as_, pages, project):
    page = as_("lead").get(url("aims", project.pk)).text
    assert "Results actioned in 2 days" in page
    assert "Add a specific aim" not in page and 'name="measure"' not in page


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"measure": ""}, "measure", "Say what you will measure."),
        ({"target": "62%"}, "target", "The target must differ from the baseline."),
        ({"target_date": "2025-01-06"}, "target_date", "The target date must be after the project's start."),
        ({"target_date": "2024-12-31"}, "target_date", "The target date must be after the project's start."),
        ({"baseline": "x" * 61}, "baseline", "Ensure this value has at most 60 characters (it has 61)."),
    ],
)
def test_bad_aims_are_shown_at_the_field_and_write_nothing(as_, pages, project, change, field, message):
    aim = SpecificAim.objects.get(project=project)
    client = as_("coach")
    with writes_nothing():
        added = client.post(url("aims", project.pk), AIM | change)
        changed = client.post(url("aim_edit", project.pk, aim.pk), AIM | change)
    assert_error_at(added, field, message)
    assert_error_at(changed, field, message)
    aim.refresh_from_db()
    assert aim.measure == "Results actioned in 2 days"


# The team


def test_the_team_page_shows_members_champion_and_meeting_roles(as_, programme, project):
    full_team(project, programme)
    page = as_("lead").get(url("team", project.pk)).text
    assert f"Champion: <strong>{programme.manager.get_full_name()}</strong>" in page
    assert "Results nurse" in page and "Pat Doe" in page and "Patient representative" in page
    assert '<option value="leader" selected>Leader</option>' in page
    assert "The team has a patient representative." in page
    assert url("team_add", project.pk) + "?kind=staff" in page


def test_readers_see_the_team_without_the_means_to_change_it(as_, programme, people, project):
    full_team(project, programme)
    Project.objects.filter(pk=project.pk).update(step=Step.COMPLETED)
    page = as_("nurse").get(url("team", project.pk)).text
    assert "Pat Doe" in page and "Leader" in page
    assert url("team_add", project.pk) not in page and "Make champion" not in page


def test_adding_a_member_starts_by_asking_who_they_are(as_, project):
    page = as_("manager").get(url("team_add", project.pk)).text
    assert (
        'name="kind" id="kind_staff" value="staff"' in page and 'value="patient"' in page and 'value="partner"' in page
    )


def test_only_practice_staff_not_yet_on_the_team_are_offered(as_, programme, project):
    gp = UserFactory(full_name="Grace GP")
    MembershipFactory(user=gp, practice=programme.practice, role=StaffRole.GP)
    TeamMember.objects.create(project=project, kind=MemberKind.STAFF, user=programme.manager, team_role="Lead")
    client = as_("nurse")
    page = client.get(url("team_add", project.pk) + "?kind=staff").text
    assert "Grace GP (GP)" in page and programme.nurse.get_full_name() in page
    assert f'value="{programme.manager.pk}"' not in page
    assert programme.sibling_nurse.get_full_name() not in page
    response = client.post(url("team_add", project.pk) + "?kind=staff", {"user": gp.pk, "team_role": "Results GP"})
    assert response.status_code == 302
    member = TeamMember.objects.get(user=gp)
    assert member.is_clinical and member.team_role == "Results GP"


@pytest.mark.parametrize(
    ("kind", "data", "field", "message"),
    [
        ("staff", {"user": "sibling", "team_role": "Nurse"}, "user", "Choose someone from the list."),
        ("staff", {"user": "nurse", "team_role": ""}, "team_role", "Give their role in the team."),
        ("staff", {"team_role": "Nurse"}, "user", "Choose someone on the practice's staff."),
        (
            "patient",
            {"name": "Pat Doe", "contact": "PPG", "team_role": "Voice"},
            "consent_to_be_listed",
            "A patient representative is listed only with their consent.",
        ),
        (
            "patient",
            {"name": "Pat Doe", "team_role": "Voice", "consent_to_be_listed": "on"},
            "contact",
            "Say how to contact them.",
        ),
        ("patient", {"contact": "PPG", "team_role": "Voice", "consent_to_be_listed": "on"}, "name", "Give their name."),
        ("partner", PARTNER | {"organisation": ""}, "organisation", "Give their organisation."),
        ("partner", PARTNER | {"is_clinical": ""}, "is_clinical", "Answer yes or no: are they clinical?"),
        (
            "partner",
            PARTNER | {"name": "x" * 151},
            "name",
            "Ensure this value has at most 150 characters (it has 151).",
        ),
    ],
)
def test_bad_member_details_are_shown_at_the_field_and_write_nothing(
    as_, programme, project, kind, data, field, message
):
    data = dict(data)
    if data.get("user") in ("sibling", "nurse"):
        data["user"] = getattr(programme, "sibling_nurse" if data["user"] == "sibling" else "nurse").pk
    with writes_nothing():
        response = as_("manager").post(url("team_add", project.pk) + f"?kind={kind}", data)
    assert_error_at(response, field, message)


def test_a_patient_representative_is_added_with_consent_and_a_partner_with_an_organisation(as_, programme, project):
    client = as_("coach")
    patient = {
        "name": "Pat <b>Doe</b>",
        "contact": "Through the PPG",
        "team_role": "Voice",
        "consent_to_be_listed": "on",
    }
    assert client.post(url("team_add", project.pk) + "?kind=patient", patient).status_code == 302
    assert client.post(url("team_add", project.pk) + "?kind=partner", PARTNER).status_code == 302
    rep, partner = TeamMember.objects.get(kind=MemberKind.PATIENT), TeamMember.objects.get(kind=MemberKind.PARTNER)
    assert rep.consent_to_be_listed and not rep.is_clinical
    assert partner.organisation == "Kent Community Health" and partner.is_clinical
    page = client.get(url("team", project.pk)).text
    assert "Pat &lt;b&gt;Doe&lt;/b&gt;" in page and "<b>Doe</b>" not in page


def test_a_members_details_are_changed_from_the_team_page(as_, programme, project):
    full_team(project, programme)
    rep = TeamMember.objects.get(kind=MemberKind.PATIENT)
    client = as_("manager")
    page = client.get(url("team_edit", project.pk, rep.pk)).text
    assert 'value="Pat Doe"' in page and 'value="Through the PPG"' in page
    data = {"name": "Pat Doe", "contact": "pat@example.org", "team_role": "Voice", "consent_to_be_listed": "on"}
    assert client.post(url("team_edit", project.pk, rep.pk), data).status_code == 302
    rep.refresh_from_db()
    assert rep.contact == "pat@example.org"
    nurse = TeamMember.objects.get(user=programme.nurse)
    page = client.get(url("team_edit", project.pk, nurse.pk)).text
    assert f'<option value="{programme.nurse.pk}" selected>' in page
    with writes_nothing():
        response = client.post(url("team_edit", project.pk, nurse.pk), {"user": programme.manager.pk, "team_role": "X"})
    assert_error_at(response, "user", "Choose someone from the list.")


def test_naming_a_champion_moves_it_from_the_previous_one(as_, programme, project):
    manager = full_team(project, programme)
    nurse = TeamMember.objects.get(user=programme.nurse)
    response = as_("coach").post(url("team_champion", project.pk, nurse.pk), follow=True)
    assert f"{programme.nurse.get_full_name()} is now the project&#x27;s champion." in response.text
    assert list(TeamMember.objects.filter(is_champion=True)) == [nurse]
    manager.refresh_from_db()
    assert not manager.is_champion


def test_removing_the_champion_past_organise_is_refused_with_a_message(as_, programme, project):
    champion = full_team(project, programme)
    Project.objects.filter(pk=project.pk).update(step=Step.ASSESS)
    with writes_nothing():
        response = as_("manager").post(url("team_remove", project.pk, champion.pk), follow=True)
    assert "Name another champion before removing this one" in response.text
    assert TeamMember.objects.filter(pk=champion.pk).exists()


def test_removing_a_member_takes_them_off_the_team(as_, programme, project):
    full_team(project, programme)
    rep = TeamMember.objects.get(kind=MemberKind.PATIENT)
    response = as_("manager").post(url("team_remove", project.pk, rep.pk), follow=True)
    assert "Pat Doe removed from the team." in response.text
    assert not TeamMember.objects.filter(pk=rep.pk).exists()


def test_meeting_roles_are_assigned_and_rotate(as_, programme, project):
    full_team(project, programme)
    manager, nurse = TeamMember.objects.get(user=programme.manager), TeamMember.objects.get(user=programme.nurse)
    client = as_("nurse")
    response = client.post(url("team_meeting_role", project.pk, manager.pk), {"meeting_role": "leader"}, follow=True)
    assert f"{programme.manager.get_full_name()} is now the leader." in response.text
    nurse.refresh_from_db()
    manager.refresh_from_db()
    assert manager.meeting_role == MeetingRole.LEADER and nurse.meeting_role == ""
    with writes_nothing():
        response = client.post(url("team_meeting_role", project.pk, manager.pk), {"meeting_role": "chair"}, follow=True)
    assert "Choose a meeting role from the list." in response.text
    manager.refresh_from_db()
    assert manager.meeting_role == MeetingRole.LEADER


def test_the_reason_for_no_patient_representative_is_recorded(as_, programme, project):
    client = as_("manager")
    page = client.get(url("team", project.pk)).text
    assert 'name="reason"' in page and 'maxlength="1000"' in page
    response = client.post(url("team_no_patient_rep", project.pk), {"reason": "The PPG meets in March."})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.no_patient_rep_reason == "The PPG meets in March."
    with writes_nothing():
        response = client.post(url("team_no_patient_rep", project.pk), {"reason": "x" * 1001})
    assert_error_at(response, "reason", "Ensure this value has at most 1000 characters (it has 1001).")
    project.refresh_from_db()
    assert project.no_patient_rep_reason == "The PPG meets in March."


# The practice page and the navigation


def test_the_practice_page_lists_its_projects_with_a_start_link_for_those_who_may(as_, programme, project):
    ProjectFactory(practice=programme.sibling_practice, title="Kingswood flow")
    detail = reverse("practices:detail", args=["G82013"])
    for who in ("manager", "lead"):
        page = as_(who).get(detail).text
        assert TITLE in page and "Kingswood flow" not in page
        assert url("create") + "?practice=G82013" in page
    coach_page = as_("coach").get(detail).text
    assert TITLE in coach_page and url("create") not in coach_page
    finance_page = as_("finance").get(detail).text
    assert TITLE not in finance_page and "No projects yet." in finance_page


@pytest.mark.parametrize(("who", "sees"), [("lead", True), ("coach", True), ("nurse", True), ("finance", False)])
def test_the_navigation_links_to_projects_for_those_who_have_them(as_, who, sees):
    page = as_(who).get(reverse("home")).text
    assert (f'href="{url("list")}">Projects</a>' in page) is sees


def test_the_overviews_scope_check_agrees_with_the_project_lists_scope(programme, people):
    """``sees_project`` (the overview's check, on a project already read) is ``projects_for``'s rule."""
    coached = ProjectFactory(practice=programme.practice, lead_coach=programme.coach)
    co_coached = ProjectFactory(practice=programme.sibling_practice, co_coach=people["spare_coach"])
    elsewhere = ProjectFactory(practice=programme.other_practice, lead_coach=programme.coach)
    not_a_coach_now = ProjectFactory(practice=programme.other_practice, lead_coach=programme.finance)
    for user in [u for u in people.values() if isinstance(u, User)]:
        for p in Project.objects.filter(pk__in=[coached.pk, co_coached.pk, elsewhere.pk, not_a_coach_now.pk]):
            assert sees_project(user, p) == projects_for(user).filter(pk=p.pk).exists(), (user.email, p.title)


def test_the_overview_says_first_project_by_the_same_rule_as_the_list_and_funding(as_, programme, project):
    """The project already paid as the practice's first stays its first, even beside an earlier start."""
    earlier = ProjectFactory(practice=programme.practice, starts_on=project.starts_on - timedelta(days=90))
    Payment.objects.create(
        project=project,
        route=FundingRoute.FIRST_PROJECT,
        milestone=Milestone.AGREEMENT,
        amount="1000.00",
        due_on=project.starts_on,
        financial_year=2024,
    )
    client = as_("lead")
    assert "The practice's first project" in client.get(url("overview", project.pk)).content.decode()
    assert "Not the practice's first project" in client.get(url("overview", earlier.pk)).content.decode()
    practice_page = client.get(reverse("practices:detail", args=[programme.practice.ods_code])).content.decode()
    lines = dict(re.findall(r">([^<]+)</a>\s*<div[^>]*>([^<]*)", practice_page))
    assert "first project" in lines[project.title] and "first project" not in lines[earlier.title]
