"""The session pages: who sees and who logs, the log form and its autosave, reflections, ticking actions, the home."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from coaching.models import Action, ActionStatus, Mentoring, Reflection, Session, SessionStatus
from coaching.tests.factories import ActionFactory, CoachProfileFactory, SessionFactory, TrainingRecordFactory
from microsystems.tests.factories import UserFactory
from practices.models import ProgrammeRoleKind
from practices.tests.factories import ProgrammeRoleFactory
from projects.models import MemberKind, Step
from projects.tests.factories import ProjectFactory, TeamMemberFactory

HTMX = {"HX-Request": "true"}
OUTSIDERS = ["sibling_nurse", "other_lead", "other_nurse", "finance"]
READERS = ["coach", "nurse", "manager", "lead"]


def today():
    return timezone.localdate()


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice, lead_coach=programme.coach, step=Step.ASSESS)


@pytest.fixture
def team(project, programme):
    return {
        "nurse": TeamMemberFactory(
            project=project, kind=MemberKind.STAFF, user=programme.nurse, name="", team_role="Nurse"
        ),
        "manager": TeamMemberFactory(
            project=project, kind=MemberKind.STAFF, user=programme.manager, name="", team_role="Practice manager"
        ),
    }


@pytest.fixture
def held(project, programme, team):
    session = SessionFactory(
        project=project, coach=programme.coach, on=today() - timedelta(days=7), actual_minutes=80, agenda="The 5Ps"
    )
    ActionFactory(raised_in=session, owner=team["nurse"], description="Audit the inbox", due_on=today())
    return session


@pytest.fixture
def draft(project, programme, team):
    return SessionFactory(
        project=project, coach=programme.coach, status=SessionStatus.DRAFT, on=today(), actual_minutes=None
    )


@pytest.fixture
def as_(client, programme):
    def sign_in(who):
        user = who if not isinstance(who, str) else getattr(programme, who)
        client.force_login(user)
        return client

    return sign_in


def url(name, *args):
    return reverse(f"coaching:{name}", args=args)


def log_data(session, **overrides):
    data = {
        "version": session.version,
        "on": session.on.isoformat(),
        "starts_at": "13:00",
        "planned_minutes": "60",
        "actual_minutes": "70",
        "format": "in_person",
        "step": "assess",
        "agenda": "",
        "notes": "",
        "decisions": "",
        "next_on": "",
        "next_starts_at": "",
    }
    for i in range(3):
        data |= {f"actions-{i}-{c}": "" for c in ("id", "description", "owner", "due_on", "status", "was")}
    return data | overrides


def assert_message_at(response, field_id, message):
    """The message is in the error summary, linked to the field, and again at the field."""
    html, shown = response.text, escape(message)
    assert "There is a problem" in html
    assert f'<li><a href="#{field_id}">{shown}</a></li>' in html, html
    assert html.count(shown) >= 2


# Who sees and who logs


@pytest.mark.parametrize("who", READERS)
def test_everyone_who_sees_the_project_sees_its_sessions(as_, project, held, who):
    response = as_(who).get(url("project_sessions", project.pk))
    assert response.status_code == 200
    assert "Audit the inbox" in response.text
    assert "80 of 60 minutes" in response.text and "Overran by 20 min" in response.text
    assert as_(who).get(url("session", held.pk)).status_code == 200


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_on_every_session_page(as_, project, held, draft, who):
    client = as_(who)
    action = held.actions_raised.get()
    for path in (
        url("project_sessions", project.pk),
        url("session", held.pk),
        url("session_log", draft.pk),
        url("reflection", held.pk),
        url("session_new", project.pk),
    ):
        assert client.get(path).status_code == 404, path
    assert client.post(url("session_new", project.pk)).status_code == 404
    assert client.post(url("session_autosave", draft.pk), log_data(draft), headers=HTMX).status_code == 404
    assert client.post(url("action_tick", action.pk), {"status": "done"}).status_code == 404
    assert not Session.objects.filter(project=project).exclude(pk__in=[held.pk, draft.pk]).exists()
    assert Action.objects.get().status == ActionStatus.OPEN


@pytest.mark.parametrize("who", ["lead", "nurse", "manager"])
def test_only_the_projects_coaches_log_sessions(as_, project, draft, who):
    client = as_(who)
    assert client.get(url("session_log", draft.pk)).status_code == 404
    assert client.post(url("session_log", draft.pk), log_data(draft, notes="Mine")).status_code == 404
    assert client.post(url("session_autosave", draft.pk), log_data(draft), headers=HTMX).status_code == 404
    assert client.post(url("session_new", project.pk)).status_code == 404
    draft.refresh_from_db()
    assert (draft.notes, draft.version) == ("", 0)


def test_the_coach_pages_are_for_coaches(as_, programme):
    for who in ("lead", "nurse", "finance", "other_lead"):
        assert as_(who).get(url("home")).status_code == 404
        assert as_(who).get(url("my_sessions")).status_code == 404
        assert as_(who).post(url("calendar_new_link")).status_code == 404


def test_signed_out_users_are_sent_to_sign_in(client, project, held):
    response = client.get(url("session", held.pk))
    assert response.status_code == 302 and "/account/login/" in response["Location"]


# Starting and logging


def test_log_a_session_starts_a_draft_and_opens_it_again(as_, project, programme):
    client = as_("coach")
    assert client.get(url("session_new", project.pk)).status_code == 200
    response = client.post(url("session_new", project.pk))
    session = Session.objects.get(project=project)
    assert response["Location"] == url("session_log", session.pk)
    assert (session.status, session.coach) == (SessionStatus.DRAFT, programme.coach)
    client.post(url("session_new", project.pk))
    assert Session.objects.filter(project=project).count() == 1


def test_the_log_page_shows_the_team_roles_carried_actions_and_three_blank_rows(as_, project, held, draft, team):
    response = as_("coach").get(url("session_log", draft.pk))
    assert response.status_code == 200
    html = response.text
    nurse = team["nurse"]
    assert f'for="id_attendance_{nurse.pk}_0">{escape(nurse.display_name)}: Attended</label>' in html
    for role in ("Leader", "Facilitator", "Timekeeper", "Recorder"):
        assert f">{role}</label>" in html or f">{role}\n" in html or role in html
    assert "Audit the inbox: Done" in html  # the carried-over action's review
    for i in range(3):
        assert f'name="actions-{i}-description"' in html
    assert 'name="actions-3-description"' not in html
    assert 'hx-post="' + url("session_autosave", draft.pk) + '"' in html
    assert 'maxlength="5000"' in html  # counters


def test_saving_as_held_with_a_next_date_plans_the_next_session(as_, project, draft, team):
    next_on = today() + timedelta(days=14)
    data = log_data(
        draft,
        hold="yes",
        notes="Agreed the buddy list",
        next_on=next_on.isoformat(),
        **{f"attendance_{team['nurse'].pk}": "present", "role_leader": str(team["manager"].pk)},
        **{
            "actions-0-description": "Draft it",
            "actions-0-owner": str(team["nurse"].pk),
            "actions-0-due_on": next_on.isoformat(),
            "actions-0-status": "open",
        },
    )
    response = as_("coach").post(url("session_log", draft.pk), data)
    assert response.status_code == 302 and response["Location"] == url("session", draft.pk)
    draft.refresh_from_db()
    assert (draft.status, draft.notes, draft.overrun_minutes) == (SessionStatus.HELD, "Agreed the buddy list", 10)
    planned = Session.objects.get(status=SessionStatus.PLANNED)
    assert planned.on == next_on
    page = as_("coach").get(url("session", draft.pk)).text
    assert "Overran by 10 minutes" in page and "Draft it" in page


def test_a_refused_log_says_why_at_the_field_and_keeps_the_text(as_, draft, team):
    stranger = TeamMemberFactory()
    data = log_data(draft, hold="yes", notes="Keep me", on=(today() + timedelta(days=1)).isoformat())
    response = as_("coach").post(url("session_log", draft.pk), data)
    assert response.status_code == 422
    assert_message_at(
        response, "id_on", "A held session cannot be in the future: check the date, or save it as a draft."
    )
    assert "Keep me" in response.text

    data = log_data(draft, hold="yes", actual_minutes="0")
    response = as_("coach").post(url("session_log", draft.pk), data)
    assert_message_at(
        response,
        "id_actual_minutes",
        "The session cannot end before it starts: enter how long it lasted, in minutes (more than 0).",
    )

    data = log_data(
        draft,
        hold="yes",
        **{
            "actions-1-description": "Fix it",
            "actions-1-owner": str(stranger.pk),
            "actions-1-due_on": today().isoformat(),
        },
    )
    response = as_("coach").post(url("session_log", draft.pk), data)
    assert_message_at(response, "id_actions-1-owner", "Choose a member of the improvement team from the list.")
    draft.refresh_from_db()
    assert (draft.version, draft.status) == (0, SessionStatus.DRAFT)
    assert not Action.objects.exists()


def test_a_stale_page_save_is_refused_and_shows_the_typed_text_again(as_, draft):
    as_("coach").post(url("session_autosave", draft.pk), log_data(draft, notes="Tab one"), headers=HTMX)
    response = as_("coach").post(url("session_log", draft.pk), log_data(draft, notes="Tab two", hold="no"))
    assert response.status_code == 409
    assert "saved somewhere else" in response.text and "Tab two" in response.text
    assert 'data-sl-paused="conflict"' in response.text  # autosave waits for a deliberate save
    assert re.search(r'name="version" value="1"', response.text)
    draft.refresh_from_db()
    assert draft.notes == "Tab one"
    # Saving again, knowingly, replaces it.
    response = as_("coach").post(url("session_log", draft.pk), log_data(draft, notes="Tab two", hold="no"))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.notes, draft.version) == ("Tab two", 2)


# Autosave


def test_autosave_saves_a_draft_and_hands_back_the_version_and_new_action_ids(as_, draft, team):
    data = log_data(
        draft,
        notes="Typing",
        actual_minutes="",
        **{
            "actions-2-description": "Book room",
            "actions-2-owner": str(team["manager"].pk),
            "actions-2-due_on": today().isoformat(),
            "actions-2-status": "open",
        },
    )
    response = as_("coach").post(url("session_autosave", draft.pk), data, headers=HTMX)
    assert response.status_code == 200
    action = Action.objects.get()
    html = response.text
    assert 'id="autosave-status"' in html and "Draft saved at" in html
    assert '<input type="hidden" name="version" value="1" id="id_version" hx-swap-oob="true">' in html
    assert f'name="actions-2-id" value="{action.pk}" id="id_actions-2-id" hx-swap-oob="true"' in html
    assert 'name="notes"' not in html  # never the fields being typed in
    draft.refresh_from_db()
    assert (draft.notes, draft.status, draft.version) == ("Typing", SessionStatus.DRAFT, 1)
    # The next save names the action, so it is changed, not added again.
    again = log_data(
        draft,
        notes="Typing more",
        actual_minutes="",
        **{
            "actions-2-id": str(action.pk),
            "actions-2-description": "Book the room",
            "actions-2-owner": str(team["manager"].pk),
            "actions-2-due_on": today().isoformat(),
            "actions-2-status": "open",
            "actions-2-was": "open",
        },
    )
    assert as_("coach").post(url("session_autosave", draft.pk), again, headers=HTMX).status_code == 200
    assert list(Action.objects.values_list("description", flat=True)) == ["Book the room"]


def test_a_stale_autosave_is_refused_and_the_page_says_so(as_, draft):
    stale = log_data(draft, notes="Second tab")
    as_("coach").post(url("session_autosave", draft.pk), log_data(draft, notes="First tab"), headers=HTMX)
    response = as_("coach").post(url("session_autosave", draft.pk), stale, headers=HTMX)
    assert response.status_code == 409
    assert "Not saved." in response.text and "saved somewhere else" in response.text
    assert 'id="id_version"' not in response.text
    draft.refresh_from_db()
    assert (draft.notes, draft.version) == ("First tab", 1)


def test_a_refused_autosave_says_why(as_, draft):
    response = as_("coach").post(url("session_autosave", draft.pk), log_data(draft, actual_minutes="-5"), headers=HTMX)
    assert response.status_code == 422
    assert "Not saved" in response.text and "cannot end before it starts" in response.text
    draft.refresh_from_db()
    assert draft.version == 0


def test_carried_over_actions_are_reviewed_in_the_next_log(as_, project, held, draft):
    action = held.actions_raised.get()
    data = log_data(draft, **{f"review_{action.pk}": "done", f"review_{action.pk}_was": "open"})
    response = as_("coach").post(url("session_autosave", draft.pk), data, headers=HTMX)
    assert response.status_code == 200
    assert f'name="review_{action.pk}_was" value="done"' in response.text
    action.refresh_from_db()
    assert (action.status, action.closed_on) == (ActionStatus.DONE, draft.on)


# Ticking actions off


def test_a_practice_member_ticks_off_their_own_action_but_not_anothers(as_, project, held, team):
    own = held.actions_raised.get()
    other = ActionFactory(raised_in=held, owner=team["manager"], description="Order badges")
    page = as_("nurse").get(url("project_sessions", project.pk)).text
    assert f'action="{url("action_tick", own.pk)}"' in page
    assert f'action="{url("action_tick", other.pk)}"' not in page
    response = as_("nurse").post(url("action_tick", own.pk), {"status": "done", "next": url("session", held.pk)})
    assert response["Location"] == url("session", held.pk)
    assert as_("nurse").post(url("action_tick", other.pk), {"status": "done"}).status_code == 404
    own.refresh_from_db()
    other.refresh_from_db()
    assert (own.status, own.closed_by, other.status) == ("done", team["nurse"].user, "open")


def test_the_coach_ticks_any_action_and_the_lead_none(as_, held, programme):
    action = held.actions_raised.get()
    assert as_("lead").post(url("action_tick", action.pk), {"status": "dropped"}).status_code == 404
    response = as_("coach").post(url("action_tick", action.pk), {"status": "dropped", "next": "https://evil.example/"})
    assert response["Location"] == url("project_sessions", held.project_id)
    action.refresh_from_db()
    assert action.status == ActionStatus.DROPPED


# Reflections


@pytest.fixture
def mentor(programme):
    user = UserFactory(email="mentor@west.example", full_name="Mo Mentor")
    ProgrammeRoleFactory(user=user, commissioner=programme.commissioner, role=ProgrammeRoleKind.COACH)
    coach_profile = CoachProfileFactory(user=programme.coach, commissioner=programme.commissioner)
    mentor_profile = CoachProfileFactory(user=user, commissioner=programme.commissioner, level="mentor")
    Mentoring.objects.create(mentor=mentor_profile, mentee=coach_profile, starts_on=today() - timedelta(days=30))
    return user


@pytest.fixture
def co_coach(programme, project):
    user = UserFactory(email="co@west.example")
    ProgrammeRoleFactory(user=user, commissioner=programme.commissioner, role=ProgrammeRoleKind.COACH)
    project.co_coach = user
    project.save(update_fields=["co_coach"])
    return user


def test_a_coach_writes_a_private_reflection(as_, held):
    client = as_("coach")
    assert client.get(url("reflection", held.pk)).status_code == 200
    response = client.post(url("reflection", held.pk), {"text": "I talked too much."})
    assert response.status_code == 302
    assert Reflection.objects.get().text == "I talked too much."
    assert "I talked too much." in client.get(url("session", held.pk)).text
    response = client.post(url("reflection", held.pk), {"text": ""})
    assert response.status_code == 422 and "Write your reflection, or leave the page." in response.text


def test_reflections_are_hidden_from_the_lead_practice_staff_and_other_coaches(as_, held, programme, co_coach):
    Reflection.objects.create(session=held, coach=programme.coach, text="SECRET-THOUGHT")
    for who in ("lead", "nurse", "manager", co_coach):
        page = as_(who).get(url("session", held.pk)).text
        assert "SECRET-THOUGHT" not in page and "Private reflections" not in page
        if who != co_coach:
            assert "reflection" not in page.lower()  # not even a link or a count
    for who in ("lead", "nurse"):
        assert as_(who).get(url("reflection", held.pk)).status_code == 404
    page = as_(co_coach).get(url("reflection", held.pk))
    assert page.status_code == 200 and "SECRET-THOUGHT" not in page.text  # they may write their own, not read his


def test_the_active_mentor_reads_the_reflection_and_a_past_mentor_does_not(as_, held, programme, mentor):
    Reflection.objects.create(session=held, coach=programme.coach, text="SECRET-THOUGHT")
    response = as_(mentor).get(url("reflection", held.pk))
    assert response.status_code == 200 and "SECRET-THOUGHT" in response.text
    assert as_(mentor).post(url("reflection", held.pk), {"text": "Mine"}).status_code == 404
    reflection = Reflection.objects.get()
    assert mentor.has_perm("coaching.read_reflection", reflection)
    Mentoring.objects.update(ends_on=today() - timedelta(days=1))
    assert as_(mentor).get(url("reflection", held.pk)).status_code == 404


# The coach's home and lists


def _caseload(programme, n):
    for _ in range(n):
        project = ProjectFactory(practice=programme.practice, lead_coach=programme.coach, step=Step.TREAT)
        member = TeamMemberFactory(project=project)
        session = SessionFactory(project=project, coach=programme.coach, on=today() - timedelta(days=3))
        SessionFactory(project=project, coach=programme.coach, status=SessionStatus.PLANNED, on=today())
        ActionFactory(raised_in=session, owner=member, due_on=today() - timedelta(days=1))
        ActionFactory(raised_in=session, owner=member, due_on=today() + timedelta(days=1))


def test_the_coach_home_shows_the_caseload_week_refresher_and_calendar_link(as_, programme):
    profile = CoachProfileFactory(user=programme.coach, commissioner=programme.commissioner)
    TrainingRecordFactory(coach=profile, completed_on=today() - timedelta(days=400))
    _caseload(programme, 1)
    response = as_("coach").get(url("home"))
    html = response.text
    assert response.status_code == 200
    assert "3 days ago" in html and "Log a session" in html
    assert '<span class="badge text-bg-danger">1</span>' in html  # one overdue action
    assert "Overdue" in html  # the refresher
    assert f"http://testserver/coaching/calendar/{profile.calendar_token}.ics" in html
    assert "Make a new link" in html


def test_a_coach_without_a_profile_is_told_why_there_is_no_calendar_link(as_):
    html = as_("coach").get(url("home")).text
    assert "You do not have a coach profile yet, so there is no calendar link for you." in html


@pytest.mark.parametrize("name", ["home", "my_sessions", "project_sessions"])
def test_the_lists_run_the_same_queries_for_2_and_10_projects(as_, programme, name, django_assert_num_queries):
    CoachProfileFactory(user=programme.coach, commissioner=programme.commissioner)
    client = as_("coach")

    def path():
        project = programme.coach.projects_led.first()
        return url(name, project.pk) if name == "project_sessions" else url(name)

    _caseload(programme, 2)
    if name == "project_sessions":
        project = programme.coach.projects_led.first()
        for _ in range(8):
            SessionFactory(project=project, coach=programme.coach)
    client.get(path())  # warm the role cache in the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get(path()).status_code == 200
    _caseload(programme, 8)
    if name == "project_sessions":
        project = programme.coach.projects_led.first()
        for _ in range(30):
            SessionFactory(project=project, coach=programme.coach)
    with django_assert_num_queries(len(small)):
        assert client.get(path()).status_code == 200


def test_a_new_calendar_link_revokes_the_old_one(as_, client, programme):
    profile = CoachProfileFactory(user=programme.coach, commissioner=programme.commissioner)
    old = profile.calendar_token
    assert client.get(url("calendar", old)).status_code == 200  # no sign-in needed
    response = as_("coach").post(url("calendar_new_link"))
    assert response.status_code == 302
    profile.refresh_from_db()
    client.logout()
    assert client.get(url("calendar", old)).status_code == 404
    feed = client.get(url("calendar", profile.calendar_token))
    assert feed.status_code == 200 and feed["Content-Type"] == "text/calendar; charset=utf-8"


def test_my_sessions_lists_the_coachs_sessions_across_projects_newest_first(as_, programme, held):
    other = ProjectFactory(practice=programme.sibling_practice, lead_coach=programme.coach, title="Flu clinic")
    SessionFactory(project=other, coach=programme.coach, on=today())
    SessionFactory(on=today())  # someone else's
    html = as_("coach").get(url("my_sessions")).text
    assert html.count("<tr>") == 1 + 2
    assert html.index("Flu clinic") < html.index(held.project.title)


def test_a_coach_without_a_profile_cannot_make_a_calendar_link(as_):
    assert as_("coach").post(url("calendar_new_link")).status_code == 404


def test_an_unknown_calendar_token_is_404(client, db):
    assert client.get(url("calendar", "not-a-token")).status_code == 404
