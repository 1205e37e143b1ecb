"""A measure in a real browser: the practice nurse adds one, pastes its data and sees the shift on the run chart."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from microsystems.tests.factories import PASSWORD
from projects.models import Measure, MeasureValue, Step
from projects.tests.factories import ProjectFactory

BEFORE = [6.5, 7, 6, 7.5, 6.5, 6, 7, 7.5]  # the baseline: 8 weeks around 6 to 7 days
AFTER = [3.5, 4, 3, 4, 3.5, 3, 4, 3.5, 3, 4, 3.5, 3]  # the buddy system: 12 weeks around 3 to 4 days
FIRST_WEEK = date(2025, 1, 6)


@pytest.fixture
def prog(transactional_db, programme):
    return programme


@pytest.fixture
def project(prog):
    return ProjectFactory(practice=prog.practice, lead_coach=prog.coach, step=Step.TREAT)


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/account/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_attached()


def pasted_weeks() -> str:
    rows = [f"{(FIRST_WEEK + timedelta(weeks=i)):%d/%m/%Y},{v}" for i, v in enumerate(BEFORE + AFTER)]
    return "date,value,note\n" + "\n".join(rows) + "\n"


def test_the_nurse_adds_a_measure_pastes_its_data_and_sees_the_shift(page: Page, live_server, prog, project):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, live_server.url, prog.nurse.email)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(project.title)

    page.goto(f"{live_server.url}/projects/{project.pk}/measures/")
    page.get_by_role("link", name="Add a measure").click()
    page.get_by_role("textbox", name="Name").fill("Days from result to action")
    page.get_by_role("radio", name="Outcome").check()
    page.locator("#id_definition").fill("Working days from a result arriving to a GP filing it, averaged weekly.")
    page.locator("#id_unit").select_option(label="Days")
    page.get_by_role("radio", name="Down is better").check()
    page.get_by_role("radio", name="Weekly").check()
    page.get_by_role("radio", name="The first points").check()
    page.get_by_label("Number of points in the baseline").fill("8")
    page.get_by_role("button", name="Add the measure").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Days from result to action")

    page.get_by_label("Paste the data").fill(pasted_weeks())
    page.get_by_role("button", name="Add the data").click()
    expect(page.get_by_text("20 values added.")).to_be_visible()

    measure = Measure.objects.get(project=project)
    run_chart = page.locator(f"#chart-{measure.pk}-run img")
    expect(run_chart).to_have_attribute("alt", re.compile(r"A shift of 12 points below the median"), timeout=15_000)
    expect(page.locator("#run-summary")).to_contain_text(
        "A shift of 12 points below the median from 3 March 2025: a sign of improvement."
    )
    expect(page.locator("#run-summary")).to_contain_text("Median 6.75 days (baseline: first 8 weeks).")

    # One row changed in place: the row becomes a form, then a row again, and the summary follows.
    last = MeasureValue.objects.filter(measure=measure).order_by("-period").first()
    row = page.locator(f"#value-{last.pk}")
    row.get_by_role("link", name="Change").click()
    expect(row.get_by_label("Date")).to_be_focused()
    row.get_by_label("Value").fill("9")
    row.get_by_role("button", name="Save").click()
    expect(page.locator(f"#value-{last.pk}")).to_contain_text("9")
    expect(page.locator("#run-summary")).to_contain_text("A shift of 11 points below the median")

    # A value added in the row at the foot of the table joins the rows; the row is empty and ready for the next.
    adding = page.locator("#add-value-body")
    adding.get_by_label("Date").fill("2025-05-26")
    adding.get_by_label("Value").fill("3")
    adding.get_by_role("button", name="Add the value").click()
    expect(page.locator("#values-body tr")).to_have_count(21)
    expect(page.locator("#add-value-body").get_by_label("Date")).to_be_focused()
    expect(page.locator("#add-value-body").get_by_label("Value")).to_have_value("")
    expect(page.locator("#run-summary")).to_contain_text("Runs: 9 of 21 useful points")
    assert problems == []
