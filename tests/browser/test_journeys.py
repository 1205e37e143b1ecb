"""Journeys a person takes in a real browser, on the demo programme."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from practices.demo import DEMO_PASSWORD, seed_demo
from practices.models import Practice


@pytest.fixture
def demo(transactional_db):
    return seed_demo()


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/account/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize(
    ("role", "heading"),
    [
        ("lead", "Your programme"),
        ("coach", "Your caseload"),
        ("finance", "Finance"),
        ("practice", "Your practice"),
        ("admin", "Site administration"),
    ],
)
def test_each_role_signs_in_and_reaches_their_home_page(page: Page, live_server, demo, role, heading):
    login = next(login for login in demo if login.role == role)
    sign_in(page, live_server.url, login.email)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_wrong_password_shows_an_error_and_keeps_the_user_out(page: Page, live_server, demo):
    page.goto(f"{live_server.url}/account/login/")
    page.get_by_label("E-mail address").fill(demo[0].email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/account/login/"))


def test_the_lead_filters_the_directory_and_records_a_withdrawal(page: Page, live_server, demo):
    lead = next(login for login in demo if login.role == "lead" and login.commissioner == "99J")
    sign_in(page, live_server.url, lead.email)
    page.get_by_role("link", name="Practices", exact=True).click()
    expect(page.get_by_role("heading", name="Practices")).to_be_visible()

    page.get_by_label("Engagement").select_option("engaged")
    page.get_by_label("PCN").select_option(label="Sevenoaks PCN")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("table tbody tr")
    expect(rows.first).to_be_visible()
    engaged = Practice.objects.filter(engagement="engaged", pcn__name="Sevenoaks PCN").order_by("name")
    assert rows.count() == engaged.count()
    practice = engaged.first()

    page.get_by_role("link", name=practice.name).click()
    expect(page.get_by_role("heading", name=practice.name)).to_be_visible()
    page.get_by_role("link", name="Change engagement").click()

    page.get_by_label("Engagement").select_option("withdrew")
    page.get_by_role("button", name="Save the change").click()
    expect(page.get_by_text("Say why the practice withdrew.").first).to_be_visible()

    page.get_by_label("Reason (if the practice declined or withdrew)").select_option("staffing")
    page.get_by_label("More about the reason or the change").fill("Two GPs retired this spring.")
    page.get_by_role("button", name="Save the change").click()

    expect(page.get_by_text(f"Engagement for {practice.name} changed to withdrew.")).to_be_visible()
    expect(page.get_by_text("Two GPs retired this spring.")).to_be_visible()
    practice.refresh_from_db()
    assert practice.engagement == "withdrew"


def test_keyboard_users_can_skip_to_the_main_content(page: Page, live_server, demo):
    page.goto(f"{live_server.url}/account/password-reset/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
