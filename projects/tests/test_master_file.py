"""The master file: the blank workbook, the worked example and a project's own workbook, as pages and PDFs."""

import io
import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from coaching.tests.factories import coach_with_mentor
from microsystems.tests.factories import UserFactory
from practices.models import StaffRole
from practices.tests.factories import MembershipFactory
from projects.models import MemberKind, Step, Typology
from projects.services import (
    AimDetails,
    MemberDetails,
    ProjectDetails,
    add_specific_aim,
    add_team_member,
    assign_coaches,
    create_project,
    make_champion,
    save_section,
)
from projects.workbook import SECTIONS, SECTIONS_BY_KEY

STEP_TITLES = ["Step 1: Organise", "Step 2: Assess", "Step 3: Diagnose", "Step 4: Treat", "Step 5: Follow-up"]
READERS = ["lead", "coach", "manager", "nurse", "admin"]
OUTSIDERS = ["sibling_nurse", "other_lead", "other_nurse", "finance"]
TITLE = "Results handling at Amherst"
EVIL = '<script>alert("x")</script> & "quotes"'


def pdf_text(content: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(content))
    text = " ".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), " ".join(text.split())


def assert_pdf_download(response, filename: str) -> str:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    content = b"".join(response.streaming_content)
    assert content.startswith(b"%PDF")
    pages, text = pdf_text(content)
    assert pages >= 5
    return text


def assert_no_inline_style_or_script(html: str) -> None:
    """CSP forbids inline styles and scripts: every script has a src, no element has a style attribute."""
    assert not re.search(r"\sstyle=", html)
    assert "<style" not in html
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))


@pytest.fixture
def project(programme):
    manager = programme.manager
    details = ProjectDetails(
        title=TITLE,
        scope="Blood results, from arrival to the patient knowing the outcome.",
        starts_on=date(2025, 1, 6),
        planned_end_on=None,
        typology=Typology.PROCESS_DRIVEN,
        process_subtheme="administrative",
    )
    project = create_project(practice=programme.practice, details=details, by=manager)
    coach_with_mentor(programme.coach, programme.commissioner)
    assign_coaches(project=project, lead_coach=programme.coach, co_coach=None, by=programme.lead)
    member = add_team_member(
        project=project,
        details=MemberDetails(kind=MemberKind.STAFF, user=programme.nurse, team_role="Results lead"),
        by=manager,
    )
    make_champion(member=member, by=manager)
    add_team_member(
        project=project,
        details=MemberDetails(
            kind=MemberKind.PATIENT,
            name="Margaret Hill",
            contact="Via the PPG",
            consent_to_be_listed=True,
            team_role="Patient representative",
        ),
        by=manager,
    )
    sections = {s.key: s for s in project.sections.all()}
    save_section(
        section=sections["purpose"],
        data={"purpose": "Our system exists to keep Amherst's patients safe."},
        base_version=0,
        by=manager,
        complete=True,
    )
    save_section(
        section=sections["global_aim"],
        data={
            "improve": "results handling",
            "begins": "a result arriving",
            "ends": "the patient knowing",
            "expect": "no result waiting over 2 days",
            "important": "two were missed",
        },
        base_version=0,
        by=manager,
    )
    save_section(
        section=sections["fishbone"],
        data={
            "fishbone": {
                "problem": "Results wait too long",
                "categories": [{"name": "People", "causes": ["Locum GPs"]}],
            }
        },
        base_version=0,
        by=manager,
    )
    add_specific_aim(
        project=project,
        details=AimDetails(
            measure="Results waiting over 2 days", baseline="18%", target="0%", target_date=date(2025, 4, 1)
        ),
        by=manager,
    )
    return project


def url(name, *args, pdf=False):
    return reverse(f"projects:{name}", args=args) + ("?format=pdf" if pdf else "")


# The blank workbook and the worked example


@pytest.mark.django_db
def test_the_blank_workbook_pdf_has_every_step_and_section(client):
    client.force_login(UserFactory())

    text = assert_pdf_download(client.get(url("print_blank", pdf=True)), "microsystems-workbook-blank.pdf")

    for title in STEP_TITLES + [s.title for s in SECTIONS]:
        assert title in text
    for guidance in (SECTIONS_BY_KEY["fishbone"].guidance, SECTIONS_BY_KEY["purpose"].guidance):
        assert guidance in text
    assert "We aim to improve ___. The process begins with ___ and ends with ___." in text
    assert "Specific aims" in text and "PDSA cycle" in text
    assert "The problem" in text and "Equipment and IT" in text  # the blank fishbone's head and headings


@pytest.mark.django_db
def test_the_example_pdf_is_filled_with_the_worked_examples(client):
    client.force_login(UserFactory())

    text = assert_pdf_download(client.get(url("print_example", pdf=True)), "microsystems-workbook-example.pdf")

    for title in STEP_TITLES + [s.title for s in SECTIONS]:
        assert title in text
    assert SECTIONS_BY_KEY["fishbone"].example["fishbone"]["problem"] in text
    assert SECTIONS_BY_KEY["patients"].example["satisfaction"] in text
    assert "We aim to improve the handling of test results." in text
    assert "Northgate Surgery" in text
    assert "Results waiting more than 2 working days for action" in text


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["print_blank", "print_example"])
def test_the_workbook_pages_are_print_styled_without_inline_styles(client, name):
    client.force_login(UserFactory())

    response = client.get(url(name))

    assert response.status_code == 200
    html = response.text
    assert "css/print.css" in html
    assert f'href="{url(name)}?format=pdf"' in html
    for section in SECTIONS:
        assert section.title in html
    assert_no_inline_style_or_script(html)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["print_blank", "print_example"])
def test_the_workbooks_need_a_signed_in_user(client, name):
    for pdf in (False, True):
        response = client.get(url(name, pdf=pdf))
        assert response.status_code == 302
        assert response["Location"].startswith("/account/login/")


# A project's workbook


@pytest.mark.django_db
@pytest.mark.parametrize("who", READERS)
def test_everyone_who_sees_the_project_can_print_its_workbook(client, programme, project, who):
    client.force_login(getattr(programme, who))

    response = client.get(url("print_project", project.pk))

    assert response.status_code == 200
    html = response.text
    assert TITLE in html
    assert "Results lead" in html and "<td>Champion</td>" in html and "Margaret Hill" in html
    assert "Our system exists to keep Amherst&#x27;s patients safe." in html
    assert (
        "We aim to improve results handling. The process begins with a result arriving and ends with the patient"
        in html
    )
    assert_no_inline_style_or_script(html)


@pytest.mark.django_db
@pytest.mark.parametrize("who", OUTSIDERS)
def test_it_rejects_people_outside_the_projects_scope(client, programme, project, who):
    client.force_login(getattr(programme, who))

    assert client.get(url("print_project", project.pk)).status_code == 404
    assert client.get(url("print_project", project.pk, pdf=True)).status_code == 404


@pytest.mark.django_db
def test_the_project_pdf_holds_the_projects_own_text(client, programme, project):
    client.force_login(programme.nurse)

    response = client.get(url("print_project", project.pk, pdf=True))

    text = assert_pdf_download(response, "workbook-G82013-results-handling-at-amherst.pdf")
    for expected in (
        TITLE,
        "Amherst Medical Practice",
        "Results lead",
        "Margaret Hill",
        "Our system exists to keep Amherst's patients safe.",
        "Results wait too long",
        "Locum GPs",
        "We aim to improve results handling.",
        "Results waiting over 2 days",
        "1 April 2025",
    ):
        assert expected in text, expected
    for title in STEP_TITLES[:4] + [s.title for s in SECTIONS]:
        assert title in text


@pytest.mark.django_db
def test_user_text_is_escaped_in_the_page_and_safe_in_the_pdf(client, programme, project):
    project.title = EVIL
    project.save(update_fields=["title"])
    section = project.sections.get(key="theme")
    save_section(section=section, data={"theme": EVIL}, base_version=section.version, by=programme.manager)
    client.force_login(programme.manager)

    html = client.get(url("print_project", project.pk)).text
    response = client.get(url("print_project", project.pk, pdf=True))

    assert EVIL not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;" in html
    assert_no_inline_style_or_script(html)
    assert response["Content-Disposition"] == 'attachment; filename="workbook-G82013-scriptalertxscript-quotes.pdf"'
    assert EVIL in pdf_text(b"".join(response.streaming_content))[1]


@pytest.mark.django_db
def test_an_empty_project_workbook_leaves_room_to_write(client, programme, project):
    fresh = create_project(
        practice=programme.practice,
        details=ProjectDetails(
            title="Care navigation",
            scope="Calls to reception.",
            starts_on=date(2025, 2, 3),
            planned_end_on=None,
            typology=Typology.HEALTH_OUTPUTS,
        ),
        by=programme.manager,
    )
    client.force_login(programme.manager)

    html = client.get(url("print_project", fresh.pk)).text

    assert fresh.step == Step.ORGANISE
    assert html.count('class="write-line"') > 50
    assert "We aim to improve ___." in html


@pytest.mark.django_db
def test_the_project_workbook_runs_the_same_queries_for_a_bigger_team(client, programme, project):
    client.force_login(programme.lead)
    page = url("print_project", project.pk)
    client.get(page)
    with CaptureQueriesContext(connection) as small:
        client.get(page)

    for n in range(6):
        user = UserFactory()
        MembershipFactory(user=user, practice=programme.practice, role=StaffRole.RECEPTIONIST)
        details = MemberDetails(kind=MemberKind.STAFF, user=user, team_role=f"Receptionist {n}")
        add_team_member(project=project, details=details, by=programme.manager)
        aim = AimDetails(measure=f"Measure {n}", baseline="1", target="2", target_date=date(2025, 3, 1))
        add_specific_aim(project=project, details=aim, by=programme.manager)
    with CaptureQueriesContext(connection) as big:
        response = client.get(page)

    assert "Receptionist 5" in response.text
    assert len(big) == len(small)
