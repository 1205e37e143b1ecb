"""Change idea and PDSA cycle pages: who reads and who writes, bad input, conflicts, ramps and query counts."""

import re
from contextlib import contextmanager
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from microsystems.models import AuditEntry
from microsystems.tests.factories import UserFactory
from practices.models import ProgrammeRoleKind
from practices.tests.factories import ProgrammeRoleFactory
from projects.cycles import CycleDetails, IdeaDetails, add_change_idea, add_cycle, update_cycle
from projects.models import ChangeIdea, PdsaCycle, Project, SpecificAim, Step, WorkbookSection
from projects.tests.factories import ProjectFactory
from projects.tests.improvement_factories import MeasureFactory

EDITORS = ["coach", "manager", "nurse"]
READERS = ["lead", *EDITORS, "admin"]
OUTSIDERS = ["sibling_nurse", "other_lead", "other_nurse", "finance", "spare_coach"]
TITLE = "Results handling at Amherst"
IDEA = "Buddy GP for results"
PLAN = {
    "objective": "Test a buddy list for one week",
    "planned_start": "2025-03-03",
    "planned_end": "2025-03-07",
}


@pytest.fixture
def people(programme):
    spare = UserFactory(email="spare.coach@west.example", full_name="Sam Spare")
    ProgrammeRoleFactory(user=spare, commissioner=programme.commissioner, role=ProgrammeRoleKind.COACH)
    return {name: getattr(programme, name) for name in programme.__dataclass_fields__} | {"spare_coach": spare}


@pytest.fixture
def as_(client, people):
    def sign_in(who):
        client.force_login(people[who])
        return client

    return sign_in


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice, lead_coach=programme.coach, title=TITLE, step=Step.TREAT)


@pytest.fixture
def idea(project, programme):
    return add_change_idea(project=project, details=IdeaDetails(title=IDEA), by=programme.nurse)


@pytest.fixture
def cycle(project, idea, programme):
    return plan(project, idea, programme.nurse)


def plan(project, idea, by, **changes):
    details = {"objective": PLAN["objective"], "planned_start": date(2025, 3, 3), "planned_end": date(2025, 3, 7)}
    return add_cycle(project=project, details=CycleDetails(change_idea=idea, **(details | changes)), by=by)


def url(name, *args):
    return reverse(f"projects:{name}", args=args)


def cycle_form(idea, **changes):
    """The cycle form's fields as posted, with ``changes`` on top."""
    return {"change_idea": idea.pk, **PLAN} | changes


def counts():
    return [m.objects.count() for m in (ChangeIdea, PdsaCycle, PdsaCycle.history.model, AuditEntry)]


@contextmanager
def writes_nothing():
    before = counts()
    yield
    assert counts() == before


def assert_error_at(response, field, message):
    """The message is in the error summary, linked to the field, and again at the field."""
    html = response.text
    assert "There is a problem" in html
    assert re.search(rf'<li><a href="#id_{field}(_0)?">{re.escape(escape(message))}', html), html
    assert re.search(rf'id="error_\d+_id_{field}"><strong>{re.escape(escape(message))}', html), html


# Who may do what


def pages(project, idea, cycle):
    pk = project.pk
    return {
        "cycles": url("cycles", pk),
        "cycle": url("cycle", pk, cycle.pk),
        "cycle_history": url("cycle_history", pk, cycle.pk),
        "idea_new": url("idea_new", pk),
        "idea_edit": url("idea_edit", pk, idea.pk),
        "cycle_new": url("cycle_new", pk),
        "cycle_edit": url("cycle_edit", pk, cycle.pk),
    }


MAY_OPEN = {
    "cycles": READERS,
    "cycle": READERS,
    "cycle_history": READERS,
    "idea_new": [*EDITORS, "admin"],
    "idea_edit": [*EDITORS, "admin"],
    "cycle_new": [*EDITORS, "admin"],
    "cycle_edit": [*EDITORS, "admin"],
}


@pytest.mark.parametrize("page", list(MAY_OPEN))
@pytest.mark.parametrize("who", READERS + OUTSIDERS)
def test_each_page_opens_for_those_who_may_and_is_a_404_that_shows_nothing_to_anyone_else(
    as_, project, idea, cycle, page, who
):
    response = as_(who).get(pages(project, idea, cycle)[page])
    if who in MAY_OPEN[page]:
        assert response.status_code == 200
        assert TITLE in response.text
    else:
        assert response.status_code == 404
        assert TITLE not in response.text
        assert IDEA not in response.text


@pytest.mark.parametrize("page", list(MAY_OPEN))
def test_every_page_asks_an_anonymous_visitor_to_sign_in(client, project, idea, cycle, page):
    response = client.get(pages(project, idea, cycle)[page])
    assert response.status_code == 302 and reverse("login") in response["Location"]


def post_actions(project, programme):
    """Every change the pages make, with valid input: (url, data)."""
    pk = project.pk
    idea = ChangeIdea.objects.get(project=project, title=IDEA)
    spare = add_change_idea(project=project, details=IdeaDetails(title="Spare idea"), by=programme.nurse)
    first = PdsaCycle.objects.get(project=project, number=1)
    last = plan(project, idea, programme.nurse)
    return {
        "idea_new": (url("idea_new", pk), {"title": "Text the patient"}),
        "idea_edit": (url("idea_edit", pk, idea.pk), {"title": "Buddy GP, renamed"}),
        "idea_remove": (url("idea_remove", pk, spare.pk), {}),
        "cycle_new": (url("cycle_new", pk), cycle_form(idea)),
        "cycle_edit": (url("cycle_edit", pk, first.pk), cycle_form(idea, version=0, observations="It worked")),
        "cycle_remove": (url("cycle_remove", pk, last.pk), {}),
    }


@pytest.mark.parametrize("action", ["idea_new", "idea_edit", "idea_remove", "cycle_new", "cycle_edit", "cycle_remove"])
@pytest.mark.parametrize("who", EDITORS + ["lead"] + OUTSIDERS)
def test_each_change_is_made_by_editors_and_refused_with_a_404_for_everyone_else(
    as_, programme, project, cycle, action, who
):
    path, data = post_actions(project, programme)[action]
    if who in EDITORS:
        before = AuditEntry.objects.count()
        response = as_(who).post(path, data)
        assert response.status_code == 302, response.text
        assert AuditEntry.objects.filter(actor__email=programme.__dict__[who].email).count() > 0
        assert AuditEntry.objects.count() == before + 1
    else:
        with writes_nothing():
            response = as_(who).post(path, data)
        assert response.status_code == 404
        assert TITLE not in response.text


@pytest.mark.parametrize("action", ["idea_remove", "cycle_remove"])
def test_removals_answer_only_a_post(as_, programme, project, cycle, action):
    path, _ = post_actions(project, programme)[action]
    with writes_nothing():
        assert as_("nurse").get(path).status_code == 405


def test_readers_see_the_cycles_without_the_buttons(as_, project, idea, cycle):
    html = as_("lead").get(url("cycles", project.pk)).text
    assert IDEA in html and "PDSA 1" in html
    for button in ("Add a change idea", "Plan a cycle to test it", "Follow on from this cycle", "Change the idea"):
        assert button not in html
    html = as_("lead").get(url("cycle", project.pk, cycle.pk)).text
    assert "Change PDSA 1" not in html and "Remove PDSA 1" not in html


def test_a_closed_project_is_read_but_not_changed(as_, project, idea, cycle):
    Project.objects.filter(pk=project.pk).update(step=Step.WITHDRAWN, withdrawn_on=date(2025, 2, 3))
    client = as_("nurse")
    assert client.get(url("cycles", project.pk)).status_code == 200
    assert "Add a change idea" not in client.get(url("cycles", project.pk)).text
    assert client.get(url("cycle_edit", project.pk, cycle.pk)).status_code == 404
    with writes_nothing():
        assert client.post(url("cycle_new", project.pk), cycle_form(idea)).status_code == 404


def test_an_idea_or_cycle_of_another_project_is_a_404_through_this_one(as_, programme, project, idea, cycle):
    other = ProjectFactory(practice=programme.practice, lead_coach=programme.coach)
    their_idea = add_change_idea(project=other, details=IdeaDetails(title="Theirs"), by=programme.nurse)
    theirs = plan(other, their_idea, programme.nurse)
    client = as_("nurse")
    for name in ("cycle", "cycle_edit", "cycle_history"):
        assert client.get(url(name, project.pk, theirs.pk)).status_code == 404
    assert client.get(url("idea_edit", project.pk, their_idea.pk)).status_code == 404
    with writes_nothing():
        assert client.post(url("cycle_remove", project.pk, theirs.pk)).status_code == 404
        assert client.post(url("idea_remove", project.pk, their_idea.pk)).status_code == 404
        assert client.post(url("idea_edit", project.pk, their_idea.pk), {"title": "Mine"}).status_code == 404
        response = client.post(
            url("cycle_edit", project.pk, theirs.pk), cycle_form(their_idea, version=0, objective="Mine")
        )
        assert response.status_code == 404


# Change ideas


def test_a_change_idea_offers_the_fishbone_causes_and_the_projects_aims(as_, programme, project):
    WorkbookSection.objects.filter(project=project, key="fishbone").update(
        data={
            "fishbone": {
                "problem": "Results wait",
                "categories": [{"id": "c1", "name": "People", "causes": [{"id": "x1", "text": "Part-time GPs"}]}],
            }
        }
    )
    aim = SpecificAim.objects.create(
        project=project,
        measure="Results actioned in 2 days",
        baseline="62%",
        target="90%",
        target_date=date(2025, 4, 1),
    )
    client = as_("nurse")
    html = client.get(url("idea_new", project.pk)).text
    assert '<option value="Part-time GPs">People: Part-time GPs</option>' in html
    assert "Results actioned in 2 days: from 62% to 90% by 1 April 2025" in html
    data = {"title": "Buddy GP", "fishbone_cause": "Part-time GPs", "specific_aim": aim.pk}
    response = client.post(url("idea_new", project.pk), data)
    idea = ChangeIdea.objects.get()
    assert response["Location"] == url("cycles", project.pk) + f"#idea-{idea.pk}"
    assert (idea.fishbone_cause, idea.specific_aim, idea.created_by) == ("Part-time GPs", aim, programme.nurse)
    html = client.get(url("cycles", project.pk)).text
    assert "Part-time GPs" in html and "Results actioned in 2 days: from 62% to 90% by 1 April 2025" in html


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": ""}, "title", "Give the change idea a name."),
        ({"title": "x" * 201}, "title", "The change idea must be 200 characters or fewer."),
        (
            {"title": "Idea", "fishbone_cause": "Not on the fishbone"},
            "fishbone_cause",
            "Choose a cause from the fishbone.",
        ),
        ({"title": "Idea", "specific_aim": "999999"}, "specific_aim", "Choose one of the project's specific aims."),
    ],
)
def test_bad_idea_input_is_shown_at_the_field_and_writes_nothing(as_, project, data, field, message):
    with writes_nothing():
        response = as_("nurse").post(url("idea_new", project.pk), data)
    assert response.status_code == 200
    assert_error_at(response, field, message)


def test_an_idea_keeps_a_cause_since_taken_off_the_fishbone(as_, programme, project):
    idea = add_change_idea(
        project=project, details=IdeaDetails(title="Old", fishbone_cause="Gone now"), by=programme.nurse
    )
    html = as_("nurse").get(url("idea_edit", project.pk, idea.pk)).text
    assert '<option value="Gone now" selected>Gone now (no longer on the fishbone)</option>' in html


def test_an_idea_with_cycles_is_not_removed_and_says_why(as_, project, idea, cycle):
    with writes_nothing():
        response = as_("nurse").post(url("idea_remove", project.pk, idea.pk), follow=True)
    assert "This change idea has been tested in PDSA 1." in response.text
    assert ChangeIdea.objects.filter(pk=idea.pk).exists()


# Planning and changing a cycle


def test_a_cycle_is_planned_with_its_tasks_and_gets_the_next_number(as_, programme, project, idea, cycle):
    measure = MeasureFactory(project=project, name="Days to action")
    data = cycle_form(
        idea,
        follows=cycle.pk,
        **{"tasks-0-who": "Dr Shah", "tasks-0-what": "File results", "tasks-0-when": "Mon", "tasks-0-where": "Inbox"},
        **{"tasks-1-who": "", "tasks-1-what": "", "tasks-2-what": "Count waits", "measures": [measure.pk]},
    )
    response = as_("coach").post(url("cycle_new", project.pk), data)
    second = PdsaCycle.objects.get(number=2)
    assert response["Location"] == url("cycle", project.pk, second.pk)
    assert second.follows == cycle and second.created_by == programme.coach
    assert second.tasks == [
        {"who": "Dr Shah", "what": "File results", "when": "Mon", "where": "Inbox"},
        {"who": "", "what": "Count waits", "when": "", "where": ""},
    ]
    assert list(second.measures.all()) == [measure]


def test_the_new_cycle_form_has_spare_task_rows_and_counters(as_, project, idea):
    html = as_("nurse").get(url("cycle_new", project.pk)).text
    for i in range(3):
        assert f'name="tasks-{i}-what"' in html
    assert 'name="tasks-3-what"' not in html
    assert 'name="tasks-__row__-what"' in html  # the template the script copies
    assert 'maxlength="1000"' in html and 'maxlength="2000"' in html
    assert "js/counters.js" in html and "js/cycle_tasks.js" in html
    for legend in ("Plan", "Do", "Study", "Act"):
        assert f'<legend class="h3">{legend}</legend>' in html


def test_following_on_from_a_cycle_fills_in_its_idea_and_the_cycle(as_, project, idea, cycle):
    html = as_("nurse").get(url("cycle_new", project.pk) + f"?follows={cycle.pk}").text
    assert re.search(rf'<option value="{cycle.pk}" selected>PDSA 1: {IDEA}</option>', html)
    assert re.search(rf'<option value="{idea.pk}" selected>{IDEA}</option>', html)
    html = as_("nurse").get(url("cycle_new", project.pk) + f"?idea={idea.pk}").text
    assert re.search(rf'<option value="{idea.pk}" selected>{IDEA}</option>', html)
    assert as_("nurse").get(url("cycle_new", project.pk) + "?follows=nonsense&idea=0").status_code == 200


def test_a_project_with_no_ideas_is_asked_for_one_first(as_, project):
    html = as_("nurse").get(url("cycle_new", project.pk)).text
    assert "Add the change idea first" in html


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"objective": ""}, "objective", "Say what this cycle is for: its objective."),
        ({"planned_end": "2025-03-01"}, "planned_end", "The planned end must be on or after the planned start."),
        (
            {"actual_start": "2025-03-05", "actual_end": "2025-03-04"},
            "actual_end",
            "The actual end must be on or after the actual start.",
        ),
        ({"actual_start": "2999-01-01"}, "actual_start", "The actual start cannot be in the future."),
        ({"decision": "adopt"}, "decision", "Write what you found before deciding"),
        ({"planned_start": "soon"}, "planned_start", "Enter the planned start as a date"),
        ({"change_idea": "999999"}, "change_idea", "Choose one of the project's change ideas."),
        ({"measures": ["999999"]}, "measures", "Choose the project's own measures."),
        ({"objective": "x" * 1001}, "objective", "Objective must be 1,000 characters or fewer."),
    ],
)
def test_bad_cycle_input_is_shown_at_the_field_and_writes_nothing(as_, project, idea, changes, field, message):
    MeasureFactory(project=project)
    data = cycle_form(idea, **{"tasks-0-who": "Dr Shah", "tasks-0-what": "Kept"}) | changes
    with writes_nothing():
        response = as_("nurse").post(url("cycle_new", project.pk), data)
    assert response.status_code == 200
    assert_error_at(response, field, message)
    assert 'value="Kept"' in response.text  # what was typed stays


def test_a_bad_task_is_shown_at_the_tasks_table(as_, project, idea):
    with writes_nothing():
        response = as_("nurse").post(url("cycle_new", project.pk), cycle_form(idea, **{"tasks-0-who": "Dr Shah"}))
    assert re.search(r'<li><a href="#id_tasks">Task 1: say what is to be done.</a></li>', response.text)
    assert '<p class="invalid-feedback d-block mb-1" id="id_tasks-error">' in response.text


def test_a_cycle_of_another_project_cannot_be_followed(as_, programme, project, idea):
    other = ProjectFactory(practice=programme.practice, lead_coach=programme.coach)
    theirs = plan(other, add_change_idea(project=other, details=IdeaDetails(title="T"), by=None), programme.nurse)
    with writes_nothing():
        response = as_("nurse").post(url("cycle_new", project.pk), cycle_form(idea, follows=theirs.pk))
    assert_error_at(response, "follows", "Choose an earlier cycle of this project.")


def test_a_cycle_can_only_follow_an_earlier_one(as_, programme, project, idea, cycle):
    later = plan(project, idea, programme.nurse)
    client = as_("nurse")
    html = client.get(url("cycle_edit", project.pk, cycle.pk)).text
    assert "PDSA 2:" not in html  # not offered
    assert f'<option value="{cycle.pk}">PDSA 1:' not in html  # nor itself
    with writes_nothing():
        response = client.post(url("cycle_edit", project.pk, cycle.pk), cycle_form(idea, version=0, follows=later.pk))
    assert_error_at(response, "follows", "Choose an earlier cycle of this project.")


def test_a_cycle_is_studied_and_acted_on_through_its_edit_form(as_, programme, project, idea, cycle):
    measure = MeasureFactory(project=project)
    data = cycle_form(
        idea,
        version=0,
        actual_start="2025-03-03",
        actual_end="2025-03-07",
        as_planned="no",
        observations="One GP forgot",
        results="Waits fell from 5 to 2 days",
        measures=[measure.pk],
        decision="adapt",
        next_steps="Try it with all GPs",
    )
    response = as_("nurse").post(url("cycle_edit", project.pk, cycle.pk), data)
    assert response.status_code == 302
    cycle.refresh_from_db()
    assert (cycle.stage, cycle.as_planned, cycle.decision, cycle.version) == ("Acted on", False, "adapt", 1)
    assert cycle.studied and cycle.acted
    assert cycle.updated_by == programme.nurse


def test_the_edit_form_shows_what_the_cycle_holds(as_, programme, project, idea):
    cycle = plan(
        project,
        idea,
        programme.nurse,
        tasks=[{"who": "Dr Shah", "what": "File", "when": "Mon", "where": "Inbox"}],
        as_planned=True,
        results="Done",
        decision="adopt",
    )
    html = as_("nurse").get(url("cycle_edit", project.pk, cycle.pk)).text
    assert 'name="version" value="0"' in html
    assert 'name="tasks-0-who" id="id_tasks-0-who" value="Dr Shah"' in html
    assert 'name="tasks-3-what"' in html and 'name="tasks-4-what"' not in html  # one written, three spare
    assert re.search(r'value="yes"[^>]*checked', html)
    assert re.search(r'value="adopt"[^>]*checked', html)


# Editing together


def test_a_stale_save_is_refused_shows_who_saved_and_keeps_the_typed_text(as_, programme, project, idea, cycle):
    fresh = PdsaCycle.objects.get(pk=cycle.pk)
    fields = {n: getattr(fresh, n) for n in CycleDetails.__dataclass_fields__ if n not in ("change_idea", "follows")}
    update_cycle(
        cycle=fresh,
        details=CycleDetails(**(fields | {"change_idea": idea, "observations": "Their observation", "measures": []})),
        base_version=0,
        by=programme.coach,
    )
    with writes_nothing():
        response = as_("nurse").post(
            url("cycle_edit", project.pk, cycle.pk), cycle_form(idea, version=0, observations="My observation")
        )
    assert response.status_code == 409
    html = response.text
    assert f"{programme.coach.get_full_name()} saved PDSA 1 at " in html
    assert "Your changes are not saved yet" in html
    assert "Their observation" in html  # their version, to compare
    assert "My observation</textarea>" in html  # what this user typed, kept
    assert 'name="version" value="1"' in html  # the next save is made knowingly onto theirs
    cycle.refresh_from_db()
    assert (cycle.observations, cycle.version) == ("Their observation", 1)


def test_a_garbled_version_is_a_conflict_never_an_overwrite(as_, project, idea, cycle):
    with writes_nothing():
        response = as_("nurse").post(url("cycle_edit", project.pk, cycle.pk), cycle_form(idea, version="x"))
    assert response.status_code == 409


def test_the_history_lists_who_saved_each_version(as_, programme, project, idea, cycle):
    client = as_("coach")
    client.post(url("cycle_edit", project.pk, cycle.pk), cycle_form(idea, version=0, results="Waits fell"))
    html = as_("lead").get(url("cycle_history", project.pk, cycle.pk)).text
    assert "Version 1" in html and "Version 0" in html
    assert programme.coach.get_full_name() in html and programme.nurse.get_full_name() in html
    assert "Changed: results against the predictions" in html


# Removing a cycle


def test_a_cycle_that_another_follows_is_not_removed_and_says_why(as_, programme, project, idea, cycle):
    plan(project, idea, programme.nurse)
    plan(project, idea, programme.nurse, follows=cycle)
    with writes_nothing():
        response = as_("nurse").post(url("cycle_remove", project.pk, cycle.pk), follow=True)
    assert "PDSA 3 follows this cycle." in response.text


# Showing cycles and ramps


def test_the_cycles_page_shows_each_ramp_as_a_chain(as_, programme, project, idea):
    one = plan(project, idea, programme.nurse, results="Better", decision="adapt")
    two = plan(project, idea, programme.nurse, follows=one, actual_start=date(2025, 3, 10))
    plan(project, idea, programme.nurse)
    plan(project, idea, programme.nurse, follows=two)
    html = as_("nurse").get(url("cycles", project.pk)).text
    chain = re.findall(r">PDSA (\d) · ([A-Za-z ]+)</a>", html)
    assert chain == [("1", "Acted on"), ("2", "Doing"), ("4", "Planned"), ("3", "Planned")]
    assert "3 March 2025 to 7 March 2025" in html
    assert "Adapt" in html
    assert f'href="{url("cycle_new", project.pk)}?follows={two.pk}"' in html


def test_the_overview_ramps_draw_each_chain_with_arrows(programme, project, idea):
    from projects.cycles import ramps_for
    from projects.tables import ramps_html

    one = plan(project, idea, programme.nurse)
    plan(project, idea, programme.nurse, follows=one)
    plan(project, idea, programme.nurse, follows=one)
    html = ramps_html(ramps_for(project))
    assert re.findall(r">PDSA (\d) · Planned</a>", html) == ["1", "2", "3"]
    assert html.count("→") == 2  # 1 → 2, and the branch: from 1 → 3
    assert ">From PDSA 1</a>" in html
    assert f'href="{one.get_absolute_url()}">From PDSA 1</a>' in html
    assert 'aria-label="Ramp of 1 cycle, branching from PDSA 1"' in html
    assert ramps_html([]) == ""


def test_a_cycle_shows_its_four_parts_and_its_place_in_the_ramp(as_, programme, project, idea, cycle):
    measure = MeasureFactory(project=project, name="Days to action")
    second = plan(project, idea, programme.nurse, follows=cycle, measures=[measure], results="Fell", decision="adopt")
    html = as_("lead").get(url("cycle", project.pk, second.pk)).text
    for part in ("Plan", "Do", "Study", "Act"):
        assert f">{part}</h2>" in html
    assert "It follows on from" in html and f'href="{url("cycle", project.pk, cycle.pk)}"' in html
    assert 'aria-current="page">PDSA 2 · Acted on</a>' in html
    assert "Days to action" in html and "Adopt" in html
    assert "3 March 2025 to 7 March 2025" in html


def test_user_text_is_escaped_everywhere(as_, programme, project):
    attack = '<script>alert("x")</script>'
    idea = add_change_idea(project=project, details=IdeaDetails(title=attack, description=attack), by=programme.nurse)
    cycle = plan(
        project,
        idea,
        programme.nurse,
        objective=attack,
        tasks=[{"who": attack, "what": attack, "when": "", "where": ""}],
        results=attack,
    )
    client = as_("nurse")
    responses = [
        client.get(url("cycles", project.pk)),
        client.get(url("cycle", project.pk, cycle.pk)),
        client.get(url("cycle_edit", project.pk, cycle.pk)),
        client.get(url("idea_edit", project.pk, idea.pk)),
        client.post(url("cycle_edit", project.pk, cycle.pk), cycle_form(idea, version=7, objective=attack)),
    ]
    for response in responses:
        assert attack not in response.text
        assert escape(attack) in response.text or "&lt;script&gt;" in response.text


def test_the_cycles_page_costs_the_same_queries_with_2_or_12_cycles(as_, programme, project, idea):
    other_idea = add_change_idea(project=project, details=IdeaDetails(title="Text the patient"), by=programme.nurse)
    previous = None
    for i in range(2):
        previous = plan(project, idea if i % 2 else other_idea, programme.nurse, follows=previous)
    client = as_("nurse")
    client.get(url("cycles", project.pk))  # the session and roles settle on the first request
    with CaptureQueriesContext(connection) as few:
        client.get(url("cycles", project.pk))
    for i in range(10):
        previous = plan(project, idea if i % 2 else other_idea, programme.nurse, follows=previous, results="R")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url("cycles", project.pk))
    assert response.text.count("PDSA 12 · Studied") == 1
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


@pytest.mark.parametrize("count", [2, 12])
def test_the_cycle_page_costs_a_constant_number_of_queries(
    as_, programme, project, idea, count, django_assert_max_num_queries
):
    previous = None
    for _ in range(count):
        previous = plan(project, idea, programme.nurse, follows=previous, measures=[MeasureFactory(project=project)])
    client = as_("nurse")
    client.get(url("cycles", project.pk))  # the session and roles settle on the first request
    with django_assert_max_num_queries(12):
        assert client.get(url("cycle", project.pk, previous.pk)).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(url("cycles", project.pk)).status_code == 200
