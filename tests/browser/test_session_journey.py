"""A coach logs a session in a real browser, with actions and the next date, then reviews those actions next time."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from coaching.models import Action, ActionStatus, Session, SessionStatus
from microsystems.tests.factories import PASSWORD
from projects.models import MemberKind, Step
from projects.tests.factories import ProjectFactory, TeamMemberFactory


@pytest.fixture
def prog(transactional_db, programme):
    return programme


@pytest.fixture
def project(prog):
    return ProjectFactory(practice=prog.practice, lead_coach=prog.coach, step=Step.ASSESS, title="Results handling")


@pytest.fixture
def team(project, prog):
    nurse = TeamMemberFactory(project=project, kind=MemberKind.STAFF, user=prog.nurse, name="", team_role="Nurse")
    manager = TeamMemberFactory(project=project, kind=MemberKind.STAFF, user=prog.manager, name="", team_role="Manager")
    return nurse, manager


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/account/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_attached()


def test_a_coach_logs_a_session_and_reviews_its_actions_at_the_next(page: Page, live_server, prog, project, team):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    nurse, manager = team
    today = timezone.localdate()
    next_on = today + timedelta(days=14)
    sign_in(page, live_server.url, prog.coach.email)

    page.goto(f"{live_server.url}/coaching/home/")
    page.get_by_role("button", name="Log a session: Results handling").click()
    expect(page.get_by_role("heading", name="Log the session")).to_be_visible()

    page.get_by_label("Actual length (minutes)").fill("75")
    page.get_by_label(f"{nurse.display_name}: Attended").check()
    page.get_by_label(f"{manager.display_name}: Sent apologies").check()
    page.get_by_label("Notes").fill("Went through the 5Ps.")
    page.get_by_label("What, action 1").fill("Audit the results inbox")
    page.get_by_label("Owner, action 1").select_option(str(nurse.pk))
    page.get_by_label("Due, action 1").fill(next_on.isoformat())
    expect(page.locator("#autosave-status")).to_have_text(re.compile(r"Draft saved at \d\d:\d\d"))  # as they type
    page.get_by_role("button", name="Add an action").click()  # a fourth row, added in the page
    page.get_by_label("What, action 4").fill("Book the meeting room")
    page.get_by_label("Owner, action 4").select_option(str(manager.pk))
    page.get_by_label("Due, action 4").fill(next_on.isoformat())
    page.get_by_label("Date of the next session").fill(next_on.isoformat())
    page.get_by_role("button", name="Save as held").click()

    expect(page.get_by_text(f"The next session is planned for {next_on.day} {next_on:%B %Y}.")).to_be_visible()
    expect(page.get_by_text("Overran by 15 minutes")).to_be_visible()
    held = Session.objects.get(status=SessionStatus.HELD)
    assert sorted(held.actions_raised.values_list("description", flat=True)) == [
        "Audit the results inbox",
        "Book the meeting room",
    ]
    assert Action.objects.count() == 2  # autosave and the final save made each action once

    page.goto(f"{live_server.url}/coaching/home/")
    page.get_by_role("button", name="Log a session: Results handling").click()
    review = page.locator("#review")
    expect(review.get_by_role("row")).to_have_count(3)  # the header and the two actions
    expect(review.get_by_label("Audit the results inbox: Still open")).to_be_checked()
    expect(review.get_by_label("Book the meeting room: Still open")).to_be_checked()
    assert Session.objects.get(status=SessionStatus.PLANNED).on == next_on

    review.get_by_label("Audit the results inbox: Done").check()
    expect(page.locator("#autosave-status")).to_have_text(re.compile(r"Draft saved at \d\d:\d\d"))
    assert Action.objects.get(description="Audit the results inbox").status == ActionStatus.DONE
    assert problems == []
