"""The programme lead in a real browser: opens the dashboard, follows a number to its list, makes the programme report.

The report's task runs eagerly here (the test settings), in the web process that asked for it;
``tests/test_programme_report_worker.py`` covers the real worker.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from microsystems.tests.factories import PASSWORD
from projects.models import MemberKind, Step, financial_year_label, financial_year_of
from projects.tests.factories import ProjectFactory, TeamMemberFactory


@pytest.fixture
def prog(transactional_db, programme):
    return programme


@pytest.fixture
def projects(prog):
    """Two active projects without a champion, one with, and one of the other commissioner without."""
    started = timezone.localdate() - timedelta(days=20)
    dates = {"starts_on": started, "planned_end_on": started + timedelta(weeks=13)}
    lacking = [
        ProjectFactory(practice=prog.practice, title="Test results handling", step=Step.ORGANISE, **dates),
        ProjectFactory(practice=prog.sibling_practice, title="Repeat prescriptions", step=Step.ASSESS, **dates),
    ]
    with_champion = ProjectFactory(practice=prog.practice, title="Frailty huddle", step=Step.TREAT, **dates)
    TeamMemberFactory(project=with_champion, kind=MemberKind.STAFF, user=prog.nurse, name="", is_champion=True)
    ProjectFactory(practice=prog.other_practice, title="Crowborough recalls", step=Step.ORGANISE, **dates)
    return lacking


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/account/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_attached()


def test_the_lead_follows_a_dashboard_number_to_its_list_and_makes_the_programme_report(
    page: Page, live_server, prog, projects
):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    sign_in(page, live_server.url, prog.lead.email)

    page.get_by_role("link", name="Programme", exact=True).first.click()
    expect(page.get_by_role("heading", level=1, name="Programme dashboard")).to_be_visible()
    expect(page.get_by_text(prog.commissioner.name).first).to_be_visible()

    number = page.get_by_role("link", name=re.compile("Active projects with no champion, show the list"))
    expect(number).to_have_text(re.compile(r"^2\b"))
    number.click()
    expect(page).to_have_url(re.compile(r"/projects/\?"))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    for project in projects:
        expect(page.get_by_role("link", name=project.title)).to_be_visible()
    expect(page.get_by_text("Frailty huddle")).to_have_count(0)
    expect(page.get_by_text("Crowborough recalls")).to_have_count(0)

    page.go_back()
    page.get_by_role("link", name=re.compile("programme report", re.IGNORECASE)).first.click()
    expect(page.get_by_role("heading", level=1, name="Programme report")).to_be_visible()
    year = financial_year_of(timezone.localdate())
    page.get_by_label("Financial year").select_option(str(year))
    page.get_by_role("button", name="Make the programme report").click()

    download_link = page.get_by_role("link", name=re.compile("Download the PDF"))
    expect(download_link.first).to_be_visible(timeout=60_000)
    with page.expect_download() as pdf_download:
        download_link.first.click()
    pdf = pdf_download.value
    content = io.BytesIO(pdf.path().read_bytes())
    text = "\n".join(p.extract_text() or "" for p in PdfReader(content).pages)
    assert prog.commissioner.name in text
    assert financial_year_label(year) in text
    for chapter in ("Typology", "Adoption", "Sustainability", "Outcomes", "Embedding", "Coaching"):
        assert chapter in text

    # Asking again for the same, unchanged data gives back the same report.
    page.get_by_role("button", name="Make the programme report").click()
    expect(page.get_by_text(re.compile("reused", re.IGNORECASE)).first).to_be_visible()
    assert problems == []
