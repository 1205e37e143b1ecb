"""Change ideas and PDSA cycles: the method's rules, numbering, ramps, editing together and removal."""

import threading
from datetime import date, timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from microsystems.models import AuditEntry
from projects import cycles as cycle_services
from projects.cycles import (
    CycleConflict,
    CycleDetails,
    IdeaDetails,
    Ramp,
    add_change_idea,
    add_cycle,
    clean_tasks,
    fishbone_causes,
    ideas_with_ramps,
    ramps_for,
    remove_change_idea,
    remove_cycle,
    update_change_idea,
    update_cycle,
)
from projects.models import ActDecision, ChangeIdea, PdsaCycle, SpecificAim, WorkbookSection
from projects.services import ProjectError
from projects.tests.factories import ProjectFactory
from projects.tests.improvement_factories import ChangeIdeaFactory, MeasureFactory

PLAN = {
    "objective": "Test a buddy list for one week",
    "planned_start": date(2025, 3, 3),
    "planned_end": date(2025, 3, 7),
}


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice, lead_coach=programme.coach)


@pytest.fixture
def idea(project, programme):
    return add_change_idea(project=project, details=IdeaDetails(title="Buddy GP for results"), by=programme.nurse)


def details(idea, **changes):
    return CycleDetails(change_idea=idea, **(PLAN | changes))


def plan(project, idea, by, **changes):
    return add_cycle(project=project, details=details(idea, **changes), by=by)


def save(cycle, by, **changes):
    """Save the cycle as loaded, with ``changes`` on top of what it holds."""
    fields = {name: getattr(cycle, name) for name in CycleDetails.__dataclass_fields__ if name != "measures"}
    fields |= {"change_idea": cycle.change_idea, "follows": cycle.follows, "measures": list(cycle.measures.all())}
    return update_cycle(cycle=cycle, details=CycleDetails(**(fields | changes)), base_version=cycle.version, by=by)


def refused(call, **kwargs):
    with pytest.raises(ProjectError) as error:
        call(**kwargs)
    return error.value


def actions():
    return list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))


# Change ideas


def test_the_fishbone_causes_are_offered_with_their_heading(project):
    WorkbookSection.objects.filter(project=project, key="fishbone").update(
        data={
            "fishbone": {
                "problem": "Results wait too long",
                "categories": [
                    {"id": "c1", "name": "People", "causes": [{"id": "x1", "text": "Part-time GPs"}]},
                    {"id": "c2", "name": "Processes", "causes": [{"id": "x2", "text": "No buddy system"}]},
                    {"id": "c3", "name": "Again", "causes": [{"id": "x3", "text": "Part-time GPs"}, {"text": " "}]},
                ],
            }
        }
    )
    assert fishbone_causes(project) == [
        ("Part-time GPs", "People: Part-time GPs"),
        ("No buddy system", "Processes: No buddy system"),
    ]


def test_a_fishbone_with_no_causes_offers_none(project):
    assert fishbone_causes(project) == []
    WorkbookSection.objects.filter(project=project, key="fishbone").update(data={"fishbone": "garbled"})
    assert fishbone_causes(project) == []


def test_a_change_idea_is_added_linked_to_a_cause_and_an_aim_and_audited(project, programme):
    aim = SpecificAim.objects.create(
        project=project, measure="M", baseline="1", target="2", target_date=date(2025, 4, 1)
    )
    idea = add_change_idea(
        project=project,
        details=IdeaDetails(
            title="  Buddy GP  ", description="Cover", fishbone_cause="Part-time GPs", specific_aim=aim
        ),
        by=programme.nurse,
    )
    idea.refresh_from_db()
    assert (idea.title, idea.fishbone_cause, idea.specific_aim, idea.created_by) == (
        "Buddy GP",
        "Part-time GPs",
        aim,
        programme.nurse,
    )
    entry = AuditEntry.objects.get(action="project.change_idea_added")
    assert (entry.actor, entry.summary, entry.object_id) == (programme.nurse, "Buddy GP", str(project.pk))


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": "  "}, "title", "Give the change idea a name."),
        ({"title": "x" * 201}, "title", "Title must be 200 characters or fewer (it has 201)."),
        ({"description": "x" * 2001}, "description", "Description must be 2,000 characters or fewer (it has 2,001)."),
        ({"fishbone_cause": "x" * 201}, "fishbone_cause", "Fishbone cause must be 200 characters or fewer"),
    ],
)
def test_a_change_idea_needs_a_name_and_texts_within_their_limits(project, programme, change, field, message):
    error = refused(add_change_idea, project=project, details=IdeaDetails(**({"title": "Idea"} | change)), by=None)
    assert error.field == field
    assert str(error).startswith(message)
    assert not ChangeIdea.objects.exists()


def test_a_change_idea_serves_only_its_own_projects_aim(project, programme):
    other = ProjectFactory(practice=programme.practice)
    aim = SpecificAim.objects.create(project=other, measure="M", baseline="1", target="2", target_date=date(2025, 4, 1))
    error = refused(
        add_change_idea, project=project, details=IdeaDetails(title="Idea", specific_aim=aim), by=programme.nurse
    )
    assert (error.field, str(error)) == ("specific_aim", "Choose one of this project's specific aims.")


def test_changing_an_idea_is_audited_with_what_changed(idea, programme):
    update_change_idea(idea=idea, details=IdeaDetails(title="Buddy GP", description="New"), by=programme.coach)
    idea.refresh_from_db()
    assert (idea.title, idea.description) == ("Buddy GP", "New")
    entry = AuditEntry.objects.get(action="project.change_idea_updated")
    assert entry.actor == programme.coach
    assert entry.changes == {"change_idea": idea.pk, "fields": ["title", "description"]}


def test_an_untested_idea_can_be_removed_and_the_removal_is_audited(idea, programme):
    remove_change_idea(idea=idea, by=programme.nurse)
    assert not ChangeIdea.objects.exists()
    entry = AuditEntry.objects.get(action="project.change_idea_removed")
    assert (entry.actor, entry.summary) == (programme.nurse, "Buddy GP for results")


def test_an_idea_with_cycles_cannot_be_removed(project, idea, programme):
    plan(project, idea, programme.nurse)
    plan(project, idea, programme.nurse)
    error = refused(remove_change_idea, idea=idea, by=programme.nurse)
    assert str(error).startswith("This change idea has been tested in PDSA 1 and PDSA 2.")
    assert ChangeIdea.objects.filter(pk=idea.pk).exists()
    assert "project.change_idea_removed" not in actions()


# Planning a cycle


def test_a_cycle_is_planned_with_its_tasks_and_measures_and_audited(project, idea, programme):
    measure = MeasureFactory(project=project)
    tasks = [{"who": " Dr Shah ", "what": "File results", "when": "Mon–Fri", "where": "Inbox"}, {"who": ""}]
    cycle = plan(project, idea, programme.nurse, tasks=tasks, measures=[measure], questions="Will it work?")
    cycle.refresh_from_db()
    assert cycle.number == 1
    assert cycle.tasks == [{"who": "Dr Shah", "what": "File results", "when": "Mon–Fri", "where": "Inbox"}]
    assert list(cycle.measures.all()) == [measure]
    assert (cycle.created_by, cycle.version, cycle.stage) == (programme.nurse, 0, "Planned")
    record = cycle.history.get()  # one save, one version, its measures with it
    assert record.history_user == programme.nurse
    assert [m.measure for m in record.measures.all()] == [measure]
    entry = AuditEntry.objects.get(action="project.cycle_added")
    assert (entry.actor, entry.summary) == (programme.nurse, "PDSA 1: Buddy GP for results")
    assert entry.changes == {"cycle": cycle.pk, "number": 1}


def test_cycles_are_numbered_in_turn_within_each_project(project, idea, programme):
    assert [plan(project, idea, programme.nurse).number for _ in range(3)] == [1, 2, 3]
    other = ProjectFactory(practice=programme.practice)
    other_idea = ChangeIdeaFactory(project=other)
    assert plan(other, other_idea, programme.nurse).number == 1
    assert plan(project, idea, programme.nurse).number == 4


def test_a_number_taken_at_the_same_moment_is_tried_again(project, idea, programme, monkeypatch):
    plan(project, idea, programme.nurse)
    real, calls = cycle_services._next_number, []

    def stale_first(p):
        calls.append(1)
        return 1 if len(calls) == 1 else real(p)  # someone else took 1 between reading and writing

    monkeypatch.setattr(cycle_services, "_next_number", stale_first)
    cycle = plan(project, idea, programme.coach)
    assert (cycle.number, len(calls)) == (2, 2)
    assert actions().count("project.cycle_added") == 2


def test_a_number_that_keeps_being_taken_is_a_clear_refusal_not_a_crash(project, idea, programme, monkeypatch):
    plan(project, idea, programme.nurse)
    monkeypatch.setattr(cycle_services, "_next_number", lambda p: 1)
    error = refused(add_cycle, project=project, details=details(idea), by=programme.coach)
    assert str(error) == "Someone else added a cycle at the same moment. Save again."
    assert PdsaCycle.objects.count() == 1
    assert actions().count("project.cycle_added") == 1


@pytest.mark.django_db(transaction=True)
def test_two_people_adding_at_once_get_two_numbers(programme):
    if connection.vendor != "postgresql":
        pytest.skip("Concurrent writers need PostgreSQL (set DATABASE_URL to run this here).")
    project = ProjectFactory(practice=programme.practice)
    idea = ChangeIdeaFactory(project=project)
    numbers, errors, start = [], [], threading.Barrier(4)

    def add(by):
        try:
            start.wait()
            numbers.append(plan(project, idea, by).number)
        except Exception as e:  # noqa: BLE001 - any failure is the test's failure
            errors.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=add, args=(who,)) for who in (programme.nurse, programme.coach) * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(numbers) == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"objective": "  "}, "objective", "Say what this cycle is for: its objective."),
        ({"objective": "x" * 1001}, "objective", "Objective must be 1,000 characters or fewer (it has 1,001)."),
        ({"observations": "x" * 2001}, "observations", "Observations must be 2,000 characters or fewer"),
        ({"planned_end": date(2025, 3, 2)}, "planned_end", "The planned end must be on or after the planned start."),
        (
            {"actual_start": date(2025, 3, 5), "actual_end": date(2025, 3, 4)},
            "actual_end",
            "The actual end must be on or after the actual start.",
        ),
        ({"actual_end": date(2025, 3, 4)}, "actual_start", "Enter the actual start as well as the actual end."),
        ({"decision": ActDecision.ADOPT}, "decision", "Write what you found before deciding"),
        ({"decision": ActDecision.ADOPT, "results": "   "}, "decision", "Write what you found before deciding"),
        ({"decision": "maybe", "results": "Done"}, "decision", "Choose adopt, adapt or abandon."),
        ({"tasks": [{"what": "x" * 301}]}, "tasks", "Task 1: What must be 300 characters or fewer (it has 301)."),
        ({"tasks": [{"who": "Dr Shah"}]}, "tasks", "Task 1: say what is to be done."),
        ({"tasks": [{"what": "Do"}] * 31}, "tasks", "A plan can list up to 30 tasks (it has 31)."),
        ({"tasks": ["nonsense"]}, "tasks", "Each task needs who, what, when and where."),
    ],
)
def test_a_cycle_that_breaks_a_rule_is_refused_at_the_field_and_writes_nothing(
    project, idea, programme, change, field, message
):
    error = refused(add_cycle, project=project, details=details(idea, **change), by=programme.nurse)
    assert error.field == field
    assert str(error).startswith(message)
    assert not PdsaCycle.objects.exists()
    assert "project.cycle_added" not in actions()


def test_a_cycle_cannot_have_started_in_the_future(project, idea, programme):
    tomorrow = timezone.localdate() + timedelta(days=1)
    error = refused(add_cycle, project=project, details=details(idea, actual_start=tomorrow), by=programme.nurse)
    assert (error.field, str(error)) == (
        "actual_start",
        "The actual start cannot be in the future. Leave it empty until it starts.",
    )
    today = timezone.localdate()
    assert plan(project, idea, programme.nurse, actual_start=today).actual_start == today


def test_a_cycle_tests_only_its_own_projects_change_idea(project, programme):
    stranger = ChangeIdeaFactory(project=ProjectFactory(practice=programme.practice))
    error = refused(add_cycle, project=project, details=details(stranger), by=programme.nurse)
    assert (error.field, str(error)) == ("change_idea", "Choose one of this project's change ideas.")


def test_a_cycle_links_only_its_own_projects_measures(project, idea, programme):
    stranger = MeasureFactory(project=ProjectFactory(practice=programme.practice))
    error = refused(add_cycle, project=project, details=details(idea, measures=[stranger]), by=programme.nurse)
    assert (error.field, str(error)) == ("measures", "Link only this project's measures.")


def test_a_decision_is_recorded_once_the_results_are_written(project, idea, programme):
    cycle = plan(project, idea, programme.nurse, results="Fewer waits", decision=ActDecision.ADAPT)
    assert (cycle.studied, cycle.acted, cycle.stage) == (True, True, "Acted on")


def test_clean_tasks_drops_blank_rows_and_trims(project):
    assert clean_tasks([{"who": " ", "what": ""}, {"what": " Call ", "where": None}]) == [
        {"who": "", "what": "Call", "when": "", "where": ""}
    ]


# Ramps


def test_a_cycle_follows_an_earlier_cycle_of_its_project(project, idea, programme):
    first = plan(project, idea, programme.nurse)
    second = plan(project, idea, programme.nurse, follows=first)
    assert second.follows == first
    assert list(first.followed_by.all()) == [second]


def test_a_cycle_cannot_follow_a_cycle_of_another_project(project, idea, programme):
    other = ProjectFactory(practice=programme.practice)
    theirs = plan(other, ChangeIdeaFactory(project=other), programme.nurse)
    error = refused(add_cycle, project=project, details=details(idea, follows=theirs), by=programme.nurse)
    assert (error.field, str(error)) == ("follows", "A cycle can only follow another cycle of the same project.")
    assert not PdsaCycle.objects.filter(project=project).exists()


def test_a_cycle_cannot_follow_itself_or_a_later_cycle_so_a_ramp_never_loops(project, idea, programme):
    first = plan(project, idea, programme.nurse)
    second = plan(project, idea, programme.nurse, follows=first)
    for target in (first, second):
        error = refused(save, cycle=PdsaCycle.objects.get(pk=first.pk), by=programme.nurse, follows=target)
        assert error.field == "follows"
        assert str(error).startswith("PDSA 1 can only follow an earlier cycle")
    first.refresh_from_db()
    assert (first.follows, first.version) == (None, 0)


def test_ramps_are_chains_from_each_first_cycle(project, idea, programme):
    one = plan(project, idea, programme.nurse)
    two = plan(project, idea, programme.nurse, follows=one)
    lone = plan(project, idea, programme.nurse)
    four = plan(project, idea, programme.nurse, follows=two)
    ramps = ramps_for(project)
    assert [[c.number for c in r] for r in ramps] == [[1, 2, 4], [3]]
    assert [r.branch_of for r in ramps] == [None, None]
    assert ramps[0].first == one and list(ramps[1]) == [lone] and len(ramps[0]) == 3
    assert four in ramps[0].cycles


def test_a_cycle_followed_by_two_gives_a_branch_listed_after_its_chain(project, idea, programme):
    one = plan(project, idea, programme.nurse)
    two = plan(project, idea, programme.nurse, follows=one)
    plan(project, idea, programme.nurse, follows=one)  # 3: a second follower of 1
    plan(project, idea, programme.nurse, follows=two)  # 4
    plan(project, idea, programme.nurse)  # 5: a ramp of its own
    ramps = ramps_for(project)
    assert [([c.number for c in r], r.branch_of and r.branch_of.number) for r in ramps] == [
        ([1, 2, 4], None),
        ([3], 1),
        ([5], None),
    ]


def test_ramps_cost_one_query_however_many_cycles(project, idea, programme, django_assert_num_queries):
    previous = None
    for _ in range(12):
        previous = plan(project, idea, programme.nurse, follows=previous)
    with django_assert_num_queries(1):
        ramps = ramps_for(project)
        assert [r.first.change_idea.title for r in ramps] == ["Buddy GP for results"]
        assert [c.stage for c in ramps[0]] == ["Planned"] * 12


def test_each_idea_shows_its_own_cycles_as_ramps_in_two_queries(project, idea, programme, django_assert_num_queries):
    other_idea = add_change_idea(project=project, details=IdeaDetails(title="Text the patient"), by=programme.nurse)
    one = plan(project, idea, programme.nurse)
    plan(project, other_idea, programme.nurse, follows=one)  # an adapted idea carries on the ramp
    add_change_idea(project=project, details=IdeaDetails(title="Untested"), by=programme.nurse)
    with django_assert_num_queries(2):
        rows = ideas_with_ramps(project)
        shown = [(r.idea.title, r.cycle_count, [[c.number for c in ramp] for ramp in r.ramps]) for r in rows]
        branches = [[ramp.branch_of and ramp.branch_of.number for ramp in r.ramps] for r in rows]
        titles = [c.change_idea.title for r in rows for ramp in r.ramps for c in ramp]
    assert shown == [("Buddy GP for results", 1, [[1]]), ("Text the patient", 1, [[2]]), ("Untested", 0, [])]
    assert branches == [[None], [1], []]
    assert titles == ["Buddy GP for results", "Text the patient"]
    assert isinstance(rows[0].ramps[0], Ramp)


# Editing together


def test_a_save_moves_the_version_on_records_who_and_keeps_history(project, idea, programme):
    cycle = plan(project, idea, programme.nurse)
    measure = MeasureFactory(project=project)
    saved = save(cycle, programme.coach, results="Waits fell", measures=[measure], actual_start=date(2025, 3, 3))
    saved.refresh_from_db()
    assert (saved.version, saved.updated_by, saved.stage) == (1, programme.coach, "Studied")
    assert saved.updated_at is not None
    assert list(saved.measures.all()) == [measure]
    records = list(saved.history.order_by("history_id"))
    assert [(h.version, h.history_user) for h in records] == [(0, programme.nurse), (1, programme.coach)]
    assert [[m.measure for m in h.measures.all()] for h in records] == [[], [measure]]
    entry = AuditEntry.objects.get(action="project.cycle_updated")
    assert entry.actor == programme.coach
    assert entry.changes == {
        "cycle": cycle.pk,
        "version": [0, 1],
        "fields": ["results", "actual_start", "measures"],
    }


def test_a_save_against_an_older_version_is_refused_and_writes_nothing(project, idea, programme):
    cycle = plan(project, idea, programme.nurse)
    stale = PdsaCycle.objects.get(pk=cycle.pk)
    save(cycle, programme.coach, observations="Theirs")
    with pytest.raises(CycleConflict) as conflict:
        save(stale, programme.nurse, observations="Mine")
    message = str(conflict.value)
    assert message.startswith(f"{programme.coach.get_full_name()} saved PDSA 1 at ")
    assert "while you were editing it" in message
    assert conflict.value.cycle.version == 1
    cycle.refresh_from_db()
    assert (cycle.observations, cycle.version, cycle.updated_by) == ("Theirs", 1, programme.coach)
    assert cycle.history.count() == 2
    assert actions().count("project.cycle_updated") == 1


def test_a_refused_save_changes_nothing(project, idea, programme):
    cycle = plan(project, idea, programme.nurse)
    refused(save, cycle=cycle, by=programme.coach, objective="Changed", planned_end=date(2025, 1, 1))
    cycle.refresh_from_db()
    assert (cycle.objective, cycle.version) == (PLAN["objective"], 0)


# Removing a cycle


def test_a_cycle_nobody_follows_can_be_removed_and_the_removal_is_audited(project, idea, programme):
    cycle = plan(project, idea, programme.nurse)
    remove_cycle(cycle=cycle, by=programme.coach)
    assert not PdsaCycle.objects.exists()
    entry = AuditEntry.objects.get(action="project.cycle_removed")
    assert (entry.actor, entry.summary) == (programme.coach, "PDSA 1")
    assert PdsaCycle.history.filter(history_type="-").get().history_user == programme.coach


def test_a_cycle_another_follows_cannot_be_removed(project, idea, programme):
    one = plan(project, idea, programme.nurse)
    plan(project, idea, programme.nurse)
    three = plan(project, idea, programme.nurse, follows=one)
    error = refused(remove_cycle, cycle=one, by=programme.nurse)
    assert str(error).startswith("PDSA 3 follows this cycle.")
    plan(project, idea, programme.nurse, follows=one)
    assert str(refused(remove_cycle, cycle=one, by=programme.nurse)).startswith("PDSA 3 and PDSA 4 follow this cycle.")
    three.refresh_from_db()
    assert three.follows == one
    assert "project.cycle_removed" not in actions()


def test_saving_a_cycle_someone_removed_meanwhile_is_a_clear_refusal(project, idea, programme):
    cycle = plan(project, idea, programme.nurse)
    loaded = PdsaCycle.objects.get(pk=cycle.pk)
    remove_cycle(cycle=cycle, by=programme.coach)
    error = refused(save, cycle=loaded, by=programme.nurse, observations="Mine")
    assert str(error) == "Someone removed PDSA 1 while you were editing it. Nothing was saved."
    assert not PdsaCycle.objects.exists()
