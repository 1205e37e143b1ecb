"""The coaching agreement's pages: who reads, who records, the upload, the download and what bad input leaves."""

import re
from contextlib import contextmanager
from datetime import date

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from coaching.agreements import AgreementDetails, record_agreement
from coaching.models import CoachingAgreement
from coaching.tests.test_agreements import PNG, pdf_bytes, pdf_upload, stored_files
from microsystems.models import AuditEntry
from microsystems.tests.factories import UserFactory
from practices.models import ProgrammeRoleKind
from practices.tests.factories import ProgrammeRoleFactory
from projects.models import MemberKind, Step, TeamMember
from projects.tests.factories import ProjectFactory

RECORDERS = ["coach", "lead", "admin"]
READERS_ONLY = ["manager", "nurse"]
OUTSIDERS = ["sibling_nurse", "other_lead", "other_nurse", "finance", "spare_coach"]
TITLE = "Results handling at Amherst"
FORM = {
    "signed_by_name": "Dr A Shah",
    "signed_by_role": "partner",
    "signed_on": "2025-03-03",
    "meeting_slot": "Tuesdays 1pm",
    "meeting_minutes": "60",
    "staff_released": "The results nurse and a receptionist.",
    "champion": "Jo Patel",
    "patients_involved": "A PPG member joins the team.",
}


@pytest.fixture(autouse=True)
def empty_storage():
    for name in stored_files():
        default_storage.delete(name)
    yield


@pytest.fixture
def people(programme):
    spare = UserFactory(email="spare.coach@west.example", full_name="Sam Spare")
    ProgrammeRoleFactory(user=spare, commissioner=programme.commissioner, role=ProgrammeRoleKind.COACH)
    return {name: getattr(programme, name) for name in programme.__dataclass_fields__} | {"spare_coach": spare}


@pytest.fixture
def project(programme):
    return ProjectFactory(
        practice=programme.practice, lead_coach=programme.coach, title=TITLE, starts_on=date(2025, 3, 1)
    )


@pytest.fixture
def as_(client, people):
    def sign_in(who):
        client.force_login(people[who])
        return client

    return sign_in


def url(name, project):
    return reverse(f"coaching:{name}", kwargs={"project_id": project.pk})


def recorded(project, by, *, signed_copy=None, **changes):
    details = AgreementDetails(
        **{
            **{k: v for k, v in FORM.items() if k not in ("signed_on", "meeting_minutes")},
            "signed_on": date(2025, 3, 3),
            "meeting_minutes": 60,
            **changes,
        }
    )
    return record_agreement(project=project, details=details, signed_copy=signed_copy, by=by)


@contextmanager
def writes_nothing():
    before = (CoachingAgreement.objects.count(), AuditEntry.objects.count(), stored_files())
    yield
    assert (CoachingAgreement.objects.count(), AuditEntry.objects.count(), stored_files()) == before


def assert_error_at(response, field, message):
    """The message is in the error summary, linked to the field, and again at the field."""
    assert response.status_code == 200
    html = response.text
    assert "There is a problem" in html
    assert re.search(rf'<li><a href="#id_{field}">{re.escape(escape(message))}</a></li>', html), html
    assert re.search(rf'id="error_\d+_id_{field}"><strong>{re.escape(escape(message))}</strong>', html), html


# Who sees what


@pytest.mark.parametrize("who", RECORDERS + READERS_ONLY)
def test_everyone_who_sees_the_project_reads_the_agreement(as_, project, programme, who):
    recorded(project, programme.coach, signed_copy=pdf_upload())
    response = as_(who).get(url("agreement", project))
    assert response.status_code == 200
    html = response.text
    assert "Dr A Shah (partner)" in html and "3 March 2025" in html and "Tuesdays 1pm, for 60 minutes" in html
    assert "Download the signed copy" in html
    assert ("Change the agreement" in html) == (who in RECORDERS)
    assert ("Remove the signed copy" in html) == (who in RECORDERS)


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_on_every_view(as_, project, programme, who):
    recorded(project, programme.coach, signed_copy=pdf_upload())
    client = as_(who)
    with writes_nothing():
        assert client.get(url("agreement", project)).status_code == 404
        assert client.get(url("agreement_edit", project)).status_code == 404
        assert client.post(url("agreement_edit", project), FORM).status_code == 404
        assert client.get(url("agreement_copy", project)).status_code == 404
        assert client.post(url("agreement_copy_remove", project)).status_code == 404


@pytest.mark.parametrize("who", READERS_ONLY)
def test_practice_staff_read_but_cannot_record_or_remove(as_, project, programme, who):
    recorded(project, programme.coach, signed_copy=pdf_upload())
    client = as_(who)
    assert client.get(url("agreement_copy", project)).status_code == 200
    with writes_nothing():
        assert client.get(url("agreement_edit", project)).status_code == 404
        assert client.post(url("agreement_edit", project), FORM | {"meeting_minutes": "90"}).status_code == 404
        assert client.post(url("agreement_copy_remove", project)).status_code == 404
    assert CoachingAgreement.objects.get().meeting_minutes == 60


def test_signed_out_visitors_are_sent_to_sign_in(client, project):
    response = client.get(url("agreement", project))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize("who", ["coach", "lead"])
def test_no_one_records_on_a_closed_project(as_, project, programme, who):
    recorded(project, programme.coach)
    project.step = Step.COMPLETED
    project.save()
    with writes_nothing():
        assert as_(who).get(url("agreement_edit", project)).status_code == 404
        assert as_(who).post(url("agreement_edit", project), FORM).status_code == 404
    response = as_(who).get(url("agreement", project))
    assert response.status_code == 200 and "Change the agreement" not in response.text


def test_a_coach_of_another_project_is_an_outsider(as_, programme, people):
    theirs = ProjectFactory(practice=programme.practice, lead_coach=people["spare_coach"])
    assert as_("coach").get(url("agreement", theirs)).status_code == 404


# The empty state


def test_with_no_agreement_the_page_says_what_it_must_contain_and_offers_to_record_it(as_, project):
    html = as_("coach").get(url("agreement", project)).text
    assert "No coaching agreement yet." in html
    assert "the named champion" in html
    assert f'href="{url("agreement_edit", project)}">Record the agreement</a>' in html


def test_practice_staff_see_what_it_must_contain_without_the_button(as_, project):
    html = as_("nurse").get(url("agreement", project)).text
    assert "No coaching agreement yet." in html and "Record the agreement" not in html


def test_without_a_coach_the_lead_is_asked_to_assign_one(as_, programme):
    project = ProjectFactory(practice=programme.practice)
    html = as_("lead").get(url("agreement", project)).text
    assert "Assign a coach before the agreement is signed." in html
    assert reverse("projects:coaches", args=[project.pk]) in html
    with writes_nothing():
        response = as_("lead").post(url("agreement_edit", project), FORM)
    assert response.status_code == 200
    assert "There is a problem" in response.text and "Assign a coach before the agreement is signed." in response.text


# Recording through the form


def test_the_form_starts_with_one_hour_and_the_projects_champion(as_, project, programme):
    TeamMember.objects.create(
        project=project, kind=MemberKind.PARTNER, name="Kim Lee", team_role="DN", is_champion=True
    )
    html = as_("coach").get(url("agreement_edit", project)).text
    assert 'enctype="multipart/form-data"' in html
    assert re.search(r'<input type="number" name="meeting_minutes" value="60"', html)
    assert re.search(r'<input type="text" name="champion" value="Kim Lee" maxlength="150"', html)
    assert 'accept=".pdf,application/pdf"' in html
    assert re.search(r'<textarea name="staff_released"[^>]*maxlength="1000"', html)
    assert "js/counters.js" in html


def test_the_form_shows_what_was_recorded(as_, project, programme):
    recorded(project, programme.coach, meeting_slot="Fridays 8am")
    html = as_("lead").get(url("agreement_edit", project)).text
    assert 'value="Fridays 8am"' in html and 'value="2025-03-03"' in html


def test_a_coach_records_the_agreement_with_its_signed_copy(as_, project, programme):
    content = pdf_bytes()
    response = as_("coach").post(url("agreement_edit", project), FORM | {"signed_copy": pdf_upload(content)})
    assert response.status_code == 302 and response["Location"] == url("agreement", project)
    agreement = CoachingAgreement.objects.get(project=project)
    assert (agreement.signed_by_name, agreement.signed_on, agreement.recorded_by) == (
        "Dr A Shah",
        date(2025, 3, 3),
        programme.coach,
    )
    assert list(agreement.coaches.all()) == [programme.coach]
    with default_storage.open(agreement.signed_copy.name, "rb") as stored:
        assert stored.read() == content
    assert AuditEntry.objects.filter(action="coaching.agreement_recorded", actor=programme.coach).exists()


def test_the_lead_changes_the_agreement_without_touching_the_copy(as_, project, programme):
    name = recorded(project, programme.coach, signed_copy=pdf_upload()).signed_copy.name
    response = as_("lead").post(url("agreement_edit", project), FORM | {"meeting_minutes": "90"})
    assert response.status_code == 302
    agreement = CoachingAgreement.objects.get()
    assert (agreement.meeting_minutes, agreement.signed_copy.name) == (90, name)


def test_uploading_a_new_copy_replaces_the_old_file(as_, project, programme, django_capture_on_commit_callbacks):
    old = recorded(project, programme.coach, signed_copy=pdf_upload()).signed_copy.name
    with django_capture_on_commit_callbacks(execute=True):
        response = as_("coach").post(url("agreement_edit", project), FORM | {"signed_copy": pdf_upload()})
    assert response.status_code == 302
    new = CoachingAgreement.objects.get().signed_copy.name
    assert new != old and stored_files() == [new]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (PNG + b"\x00" * 64, "The signed copy must be a PDF: this file is a PNG image."),
        (b"We agree.\n", "This file is not a PDF."),
        (b"", "The selected file is empty."),
        (b"%PDF-1.4\nbroken", "This PDF is damaged and cannot be opened."),
    ],
)
def test_a_bad_upload_is_shown_at_the_field_saves_nothing_and_keeps_the_typed_text(as_, project, content, message):
    typed = FORM | {"staff_released": "Nurse <b>Ann</b> & reception", "signed_copy": pdf_upload(content)}
    with writes_nothing():
        response = as_("coach").post(url("agreement_edit", project), typed)
    assert_error_at(response, "signed_copy", message)
    assert "Nurse &lt;b&gt;Ann&lt;/b&gt; &amp; reception</textarea>" in response.text
    assert 'value="Dr A Shah"' in response.text and 'value="Tuesdays 1pm"' in response.text
    assert "choose it again" in response.text


def test_an_upload_of_5_mb_and_one_byte_is_refused(as_, project):
    big = pdf_upload(b"%PDF-" + b"0" * (5 * 1024 * 1024 - 4))
    with writes_nothing():
        response = as_("coach").post(url("agreement_edit", project), FORM | {"signed_copy": big})
    assert_error_at(response, "signed_copy", "The signed copy must be 5 MB or smaller: this file is 5.1 MB.")


def test_a_bad_upload_and_a_missing_field_are_reported_together(as_, project):
    with writes_nothing():
        response = as_("coach").post(
            url("agreement_edit", project), FORM | {"champion": "", "signed_copy": pdf_upload(PNG)}
        )
    assert_error_at(response, "signed_copy", "The signed copy must be a PDF: this file is a PNG image.")
    assert_error_at(response, "champion", "Name the project's champion.")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"signed_on": "2999-01-01"}, "signed_on", "The date signed cannot be in the future."),
        (
            {"signed_on": "2025-01-01"},
            "signed_on",
            "The date signed cannot be more than 30 days before the project's start: the earliest is 30 January 2025.",
        ),
        ({"signed_on": "31/02/2025"}, "signed_on", "Enter a real date, for example 3/3/2025."),
        ({"signed_on": ""}, "signed_on", "Enter the date the agreement was signed."),
        ({"meeting_minutes": "300"}, "meeting_minutes", "The meeting length must be between 15 and 240 minutes."),
        (
            {"meeting_minutes": "an hour"},
            "meeting_minutes",
            "Enter the meeting length as a whole number of minutes, for example 60.",
        ),  # noqa: E501
        ({"signed_by_name": "   "}, "signed_by_name", "Enter the name of the person who signed for the practice."),
        ({"meeting_slot": "x" * 101}, "meeting_slot", "The meeting slot must be 100 characters or fewer."),
        ({"patients_involved": ""}, "patients_involved", "Say how patients are involved."),
    ],
)
def test_bad_input_is_shown_at_its_field_and_writes_nothing(as_, project, changes, field, message):
    with writes_nothing():
        response = as_("coach").post(url("agreement_edit", project), FORM | changes)
    assert_error_at(response, field, message)


# The download


def test_the_signed_copy_downloads_as_an_attachment_with_safe_headers(as_, project, programme):
    content = pdf_bytes()
    recorded(project, programme.coach, signed_copy=pdf_upload(content))
    response = as_("nurse").get(url("agreement_copy", project))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert (
        response["Content-Disposition"] == 'attachment; filename="coaching-agreement-results-handling-at-amherst.pdf"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == content


def test_there_is_nothing_to_download_without_a_copy(as_, project, programme):
    assert as_("coach").get(url("agreement_copy", project)).status_code == 404
    recorded(project, programme.coach)
    assert as_("coach").get(url("agreement_copy", project)).status_code == 404


def test_a_copy_missing_from_storage_is_a_404_not_an_error(as_, project, programme):
    agreement = recorded(project, programme.coach, signed_copy=pdf_upload())
    default_storage.delete(agreement.signed_copy.name)
    assert as_("coach").get(url("agreement_copy", project)).status_code == 404


def test_the_download_only_answers_get(as_, project, programme):
    recorded(project, programme.coach, signed_copy=pdf_upload())
    assert as_("coach").post(url("agreement_copy", project)).status_code == 405


# Removing the copy


def test_a_coach_removes_the_signed_copy(as_, project, programme, django_capture_on_commit_callbacks):
    recorded(project, programme.coach, signed_copy=pdf_upload())
    with django_capture_on_commit_callbacks(execute=True):
        response = as_("coach").post(url("agreement_copy_remove", project), follow=True)
    assert "Signed copy removed." in response.text and "No signed copy uploaded." in response.text
    assert not CoachingAgreement.objects.get().signed_copy
    assert stored_files() == []


def test_removing_a_copy_that_is_not_there_says_so(as_, project, programme):
    recorded(project, programme.coach)
    with writes_nothing():
        response = as_("coach").post(url("agreement_copy_remove", project), follow=True)
    assert "There is no signed copy to remove." in response.text


def test_removing_needs_a_post(as_, project, programme):
    recorded(project, programme.coach, signed_copy=pdf_upload())
    assert as_("coach").get(url("agreement_copy_remove", project)).status_code == 405
    assert len(stored_files()) == 1


def test_removing_before_any_agreement_is_a_404(as_, project):
    assert as_("coach").post(url("agreement_copy_remove", project)).status_code == 404


# What is shown, escaped


HOSTILE = '<script>alert("x")</script>'


def test_user_text_is_escaped_on_the_page_and_in_the_summary(as_, project, programme):
    agreement = recorded(
        project, programme.coach, signed_by_name=HOSTILE, meeting_slot=HOSTILE, staff_released=HOSTILE, champion=HOSTILE
    )
    html = as_("nurse").get(url("agreement", project)).text
    assert HOSTILE not in html and escape(HOSTILE) in html
    summary = render_to_string("coaching/agreements/_summary.html", {"agreement": agreement, "project": project})
    assert HOSTILE not in summary and escape(HOSTILE) in summary


def test_the_summary_says_who_signed_when_and_the_meetings(project, programme):
    agreement = recorded(project, programme.coach)
    summary = render_to_string("coaching/agreements/_summary.html", {"agreement": agreement, "project": project})
    assert "Signed on 3 March 2025 by Dr A Shah (partner); meets Tuesdays 1pm for 60 minutes" in summary
    assert url("agreement", project) in summary


def test_the_summary_without_an_agreement_links_to_the_page(project):
    summary = render_to_string("coaching/agreements/_summary.html", {"agreement": None, "project": project})
    assert "No coaching agreement yet" in summary and url("agreement", project) in summary


def test_the_page_warns_when_the_coaches_changed_since_it_was_recorded(as_, project, programme, people):
    recorded(project, programme.coach)
    project.co_coach = people["spare_coach"]
    project.save()
    assert "coaches have changed since this agreement was recorded" in as_("lead").get(url("agreement", project)).text


def test_the_pages_have_no_inline_script_or_style(as_, project, programme):
    recorded(project, programme.coach, signed_copy=pdf_upload())
    for name in ("agreement", "agreement_edit"):
        html = as_("coach").get(url(name, project)).text
        assert not re.search(r"\sstyle=", html)
        assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))


def test_the_reading_page_costs_the_same_queries_with_more_coaches(as_, project, programme, people):
    recorded(project, programme.coach)
    client = as_("nurse")
    client.get(url("agreement", project))
    with CaptureQueriesContext(connection) as one:
        client.get(url("agreement", project))
    project.co_coach = people["spare_coach"]
    project.save()
    recorded(project, programme.coach)
    with CaptureQueriesContext(connection) as two:
        client.get(url("agreement", project))
    assert len(two) == len(one)
