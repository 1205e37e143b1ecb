"""The online workbook in a real browser: counting, saving as people type, and two people editing one section."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from microsystems.tests.factories import PASSWORD
from projects.models import Step, WorkbookSection
from projects.tests.factories import ProjectFactory

SAVED_BY = r"Saved \d\d:\d\d by {}"


@pytest.fixture
def prog(transactional_db, programme):
    return programme


@pytest.fixture
def project(prog):
    return ProjectFactory(practice=prog.practice, lead_coach=prog.coach, step=Step.ASSESS)


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/account/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_attached()


def open_workbook(page: Page, base_url: str, project, step: str = "assess") -> None:
    page.goto(f"{base_url}/projects/{project.pk}/workbook/{step}/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()


def leaving_warns(page: Page) -> bool:
    """Whether leaving the page now would ask the user first (the page cancels ``beforeunload``)."""
    return page.evaluate(
        "() => { const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); "
        "return e.defaultPrevented; }"
    )


def saved(project, key: str) -> WorkbookSection:
    return WorkbookSection.objects.get(project=project, key=key)


def test_typing_shows_the_count_and_saves_without_pressing_a_button(page: Page, live_server, prog, project):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, live_server.url, prog.nurse.email)
    open_workbook(page, live_server.url, project)

    purpose = page.get_by_label("Our system exists to…")
    expect(page.locator("#purpose-purpose-count")).to_have_text("0 of 2,000 characters")
    purpose.press_sequentially("Care close to home.")
    expect(page.locator("#purpose-purpose-count")).to_have_text("19 of 2,000 characters")

    status = page.locator("#purpose-status")
    expect(status).to_have_text(re.compile(SAVED_BY.format(prog.nurse.get_short_name())))
    row = saved(project, "purpose")
    assert (row.version, row.data["purpose"], row.updated_by) == (1, "Care close to home.", prog.nurse)
    assert problems == []


def test_two_people_editing_one_section_merge_their_texts(
    page: Page, browser: Browser, live_server, prog, project
) -> None:
    nurse = page
    manager_context = browser.new_context()
    manager = manager_context.new_page()
    sign_in(nurse, live_server.url, prog.nurse.email)
    sign_in(manager, live_server.url, prog.manager.email)
    open_workbook(nurse, live_server.url, project)
    open_workbook(manager, live_server.url, project)  # both pages hold version 0

    nurse.locator("#purpose-purpose").press_sequentially("Safe, timely care.")
    expect(nurse.locator("#purpose-status")).to_have_text(re.compile(SAVED_BY.format(prog.nurse.get_short_name())))
    assert saved(project, "purpose").version == 1

    manager.locator("#purpose-purpose").press_sequentially("Care close to home.")
    section = manager.locator("#section-purpose")
    expect(section.get_by_role("heading", name="Their version")).to_be_visible()
    expect(section.get_by_role("heading", name="Your version")).to_be_visible()
    expect(manager.locator("#purpose-theirs")).to_contain_text("Safe, timely care.")
    who = re.escape(prog.nurse.get_full_name())
    expect(section).to_contain_text(re.compile(rf"Saved \d\d:\d\d by {who} \(version 1\)"))
    yours = manager.locator("#purpose-purpose")
    expect(yours).to_have_value("Care close to home.")
    expect(manager.locator("#purpose-version")).to_have_value("1")

    yours.fill("Safe, timely care close to home.")
    manager.wait_for_timeout(2500)  # longer than the autosave delay: a section in conflict waits for the merge
    row = saved(project, "purpose")
    assert (row.version, row.data["purpose"]) == (1, "Safe, timely care.")

    manager.get_by_role("button", name="Save your merged version").click()
    expect(manager.locator("#purpose-status")).to_have_text(re.compile(SAVED_BY.format(prog.manager.get_short_name())))
    expect(section.get_by_role("heading", name="Their version")).to_have_count(0)
    row = saved(project, "purpose")
    assert (row.version, row.data["purpose"], row.updated_by) == (2, "Safe, timely care close to home.", prog.manager)
    manager_context.close()


def test_losing_the_connection_keeps_the_text_and_saves_it_when_back(page: Page, live_server, prog, project):
    sign_in(page, live_server.url, prog.nurse.email)
    open_workbook(page, live_server.url, project)
    page.context.set_offline(True)
    page.locator("#patterns-costs").press_sequentially("Locum spend rises")
    status = page.locator("#patterns-status")
    expect(status).to_have_text("Not saved: you are offline. Retrying…")
    assert leaving_warns(page)
    page.locator("#patterns-costs").press_sequentially(" every winter")
    page.context.set_offline(False)
    expect(status).to_have_text(re.compile(SAVED_BY.format(prog.nurse.get_short_name())), timeout=15_000)
    assert saved(project, "patterns").data["costs"] == "Locum spend rises every winter"
    assert not leaving_warns(page)


def test_rows_headings_and_causes_are_added_and_removed_inline(page: Page, live_server, prog, project):
    sign_in(page, live_server.url, prog.nurse.email)
    open_workbook(page, live_server.url, project)
    page.locator("#professionals-staff-0-role").fill("GP partner")
    page.get_by_role("button", name="Add a row").first.click()
    page.keyboard.type("Pharmacist")  # the new row's first cell has the focus
    page.locator("#professionals-staff-0-role").locator("xpath=ancestor::tr").get_by_role("button").click()
    expect(page.locator("#professionals-status")).to_have_text(re.compile(SAVED_BY.format(".+")))
    assert [r["role"] for r in saved(project, "professionals").data["staff"]] == ["Pharmacist"]

    open_workbook(page, live_server.url, project, "diagnose")
    page.get_by_role("button", name="Add a heading").click()
    page.keyboard.type("Patients")
    heading = page.locator("[data-wb-heading]").last
    heading.get_by_label("Cause", exact=True).first.fill("Do not know when to ring")
    heading.get_by_role("button", name="Add a cause").click()
    page.keyboard.type("Phone lines busy")
    page.locator("[data-wb-heading]").first.get_by_role("button", name="Remove this heading").click()
    expect(page.locator("#fishbone-status")).to_have_text(re.compile(SAVED_BY.format(".+")))
    categories = saved(project, "fishbone").data["fishbone"]["categories"]
    assert [c["name"] for c in categories] == [
        "Processes",
        "Equipment and IT",
        "Environment",
        "Communication",
        "Patients",
    ]
    assert [x["text"] for x in categories[-1]["causes"]] == ["Do not know when to ring", "Phone lines busy"]
