"""Recording a coaching agreement: its rules, the signed copy's PDF check, and what happens to stored files."""

import io
from dataclasses import replace
from datetime import date, timedelta
from unittest import mock

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.utils import timezone
from pypdf import PdfWriter

from coaching.agreements import MAX_COPY_BYTES, AgreementDetails, check_pdf, record_agreement, remove_signed_copy
from coaching.models import CoachingAgreement
from microsystems.models import AuditEntry
from microsystems.tests.factories import UserFactory
from projects.models import MemberKind, Step, TeamMember
from projects.services import ProjectError
from projects.tests.factories import ProjectFactory

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"


def pdf_bytes(pages: int = 1, *, password: str = "") -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password:
        writer.encrypt(user_password="", owner_password=password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_upload(content: bytes | None = None, name: str = "agreement.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes() if content is None else content, content_type="application/pdf")


def stored_files() -> list[str]:
    """Every file under agreements/ in the (in-memory) storage."""
    found = []
    folders, _ = default_storage.listdir("agreements") if default_storage.exists("agreements") else ([], [])
    for folder in folders:
        found += [f"agreements/{folder}/{name}" for name in default_storage.listdir(f"agreements/{folder}")[1]]
    return found


@pytest.fixture(autouse=True)
def empty_storage():
    for name in stored_files():
        default_storage.delete(name)
    yield


@pytest.fixture
def project(programme):
    return ProjectFactory(
        practice=programme.practice, lead_coach=programme.coach, title="Results handling", starts_on=date(2025, 1, 6)
    )


def details(**changes) -> AgreementDetails:
    base = AgreementDetails(
        signed_by_name="Dr A Shah",
        signed_by_role="partner",
        signed_on=date(2025, 1, 3),
        meeting_slot="Tuesdays 1pm",
        staff_released="The results nurse and one receptionist, every week.",
        champion="Jo Patel",
        patients_involved="A member of the patient participation group joins the team.",
    )
    return replace(base, **changes)


def record(project, by, signed_copy=None, **changes):
    return record_agreement(project=project, details=details(**changes), signed_copy=signed_copy, by=by)


def refused(field, message, project, by, **kwargs):
    with pytest.raises(ProjectError) as e:
        record(project, by, **kwargs)
    assert (e.value.field, str(e.value)) == (field, message)
    assert not CoachingAgreement.objects.exists()


# Recording


def test_it_records_the_agreement_with_the_projects_coaches_and_an_audit_entry(project, programme):
    co_coach = UserFactory(full_name="Cat Co")
    project.co_coach = co_coach
    project.save()
    agreement = record(project, programme.coach)
    assert agreement.project == project
    assert set(agreement.coaches.all()) == {programme.coach, co_coach}
    assert (agreement.signed_by_name, agreement.meeting_minutes) == ("Dr A Shah", 60)
    assert agreement.recorded_by == programme.coach
    entry = AuditEntry.objects.get(action="coaching.agreement_recorded")
    assert entry.actor == programme.coach and entry.object_id == str(project.pk)
    assert entry.summary == "Signed on 3 January 2025 by Dr A Shah"


def test_recording_again_updates_the_one_agreement_and_audits_what_changed(project, programme):
    first = record(project, programme.coach)
    second = record(project, programme.lead, meeting_minutes=90, meeting_slot="Thursdays 8am")
    assert second.pk == first.pk and CoachingAgreement.objects.count() == 1
    second.refresh_from_db()
    assert (second.meeting_minutes, second.meeting_slot, second.recorded_by) == (90, "Thursdays 8am", programme.lead)
    entry = AuditEntry.objects.get(action="coaching.agreement_updated")
    assert entry.changes == {"meeting_slot": ["Tuesdays 1pm", "Thursdays 8am"], "meeting_minutes": ["60", "90"]}


def test_the_coaches_follow_the_project_when_it_is_recorded_again(project, programme):
    record(project, programme.coach)
    new_coach = UserFactory()
    project.lead_coach = new_coach
    project.save()
    agreement = record(project, programme.lead)
    assert list(agreement.coaches.all()) == [new_coach]


def test_it_refuses_a_project_without_a_coach(programme):
    project = ProjectFactory(practice=programme.practice, starts_on=date(2025, 1, 6))
    refused(None, "Assign a coach before the agreement is signed.", project, programme.lead)


@pytest.mark.parametrize("step", [Step.COMPLETED, Step.WITHDRAWN])
def test_it_refuses_a_closed_project(project, programme, step):
    project.step = step
    project.save()
    refused(None, "This project is closed: its coaching agreement can no longer be changed.", project, programme.coach)


def test_texts_are_trimmed(project, programme):
    agreement = record(project, programme.coach, signed_by_name="  Dr A Shah  ", champion=" Jo Patel\n")
    assert (agreement.signed_by_name, agreement.champion) == ("Dr A Shah", "Jo Patel")


# The date signed


def test_the_date_signed_may_be_today(project, programme):
    assert record(project, programme.coach, signed_on=timezone.localdate()).signed_on == timezone.localdate()


def test_the_date_signed_cannot_be_in_the_future(project, programme):
    tomorrow = timezone.localdate() + timedelta(days=1)
    refused("signed_on", "The date signed cannot be in the future.", project, programme.coach, signed_on=tomorrow)


def test_the_date_signed_may_be_up_to_30_days_before_the_start(project, programme):
    assert record(project, programme.coach, signed_on=date(2024, 12, 7)).signed_on == date(2024, 12, 7)


def test_the_date_signed_cannot_be_more_than_30_days_before_the_start(project, programme):
    message = "The date signed cannot be more than 30 days before the project's start: the earliest is 7 December 2024."
    refused("signed_on", message, project, programme.coach, signed_on=date(2024, 12, 6))


def test_the_date_signed_is_required(project, programme):
    refused("signed_on", "Enter the date the agreement was signed.", project, programme.coach, signed_on=None)


# The meeting length


@pytest.mark.parametrize("minutes", [15, 60, 240])
def test_a_meeting_lasts_15_to_240_minutes(project, programme, minutes):
    assert record(project, programme.coach, meeting_minutes=minutes).meeting_minutes == minutes


@pytest.mark.parametrize("minutes", [0, 14, 241, None])
def test_a_meeting_length_outside_15_to_240_minutes_is_refused(project, programme, minutes):
    message = "The meeting length must be between 15 and 240 minutes."
    refused("meeting_minutes", message, project, programme.coach, meeting_minutes=minutes)


def test_the_meeting_length_defaults_to_one_hour():
    assert details().meeting_minutes == 60


# Required texts and their lengths


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("signed_by_name", "Enter the name of the person who signed for the practice."),
        ("signed_by_role", "Enter their role, for example partner or practice manager."),
        ("meeting_slot", "Enter the regular meeting slot, for example Tuesdays at 1pm."),
        ("staff_released", "Say which staff are released to attend."),
        ("champion", "Name the project's champion."),
        ("patients_involved", "Say how patients are involved."),
    ],
)
@pytest.mark.parametrize("blank", ["", "   \n"])
def test_every_text_is_required(project, programme, field, message, blank):
    refused(field, message, project, programme.coach, **{field: blank})


@pytest.mark.parametrize(
    ("field", "limit", "message"),
    [
        ("signed_by_name", 150, "The name must be 150 characters or fewer."),
        ("signed_by_role", 100, "The role must be 100 characters or fewer."),
        ("meeting_slot", 100, "The meeting slot must be 100 characters or fewer."),
        ("staff_released", 1000, "The staff released must be 1000 characters or fewer."),
        ("champion", 150, "The champion's name must be 150 characters or fewer."),
        ("patients_involved", 1000, "How patients are involved must be 1000 characters or fewer."),
    ],
)
def test_every_text_has_a_length_limit(project, programme, field, limit, message):
    assert getattr(record(project, programme.coach, **{field: "x" * limit}), field) == "x" * limit
    CoachingAgreement.objects.all().delete()
    refused(field, message, project, programme.coach, **{field: "x" * (limit + 1)})


# The champion


def test_a_blank_champion_is_the_projects_current_champion(project, programme):
    TeamMember.objects.create(
        project=project, kind=MemberKind.STAFF, user=programme.manager, team_role="Lead", is_champion=True
    )
    assert record(project, programme.coach, champion="").champion == programme.manager.get_full_name()


def test_a_named_champion_is_kept_even_when_the_team_has_another(project, programme):
    TeamMember.objects.create(
        project=project, kind=MemberKind.PARTNER, name="Kim Lee", team_role="DN", is_champion=True
    )
    assert record(project, programme.coach, champion="Jo Patel").champion == "Jo Patel"


# The PDF check


def test_a_small_real_pdf_passes():
    check_pdf(pdf_upload())


def test_a_pdf_of_exactly_5_mb_passes_the_size_check():
    content = pdf_bytes()
    content += b"%" * (MAX_COPY_BYTES - len(content))  # a PDF comment after the end: still a PDF
    check_pdf(pdf_upload(content))


def pdf_refused(upload, message):
    with pytest.raises(ProjectError) as e:
        check_pdf(upload)
    assert (e.value.field, str(e.value)) == ("signed_copy", message)


def test_a_png_renamed_pdf_is_refused_by_what_it_is():
    pdf_refused(
        pdf_upload(PNG + b"\x00" * 100, name="scan.pdf"), "The signed copy must be a PDF: this file is a PNG image."
    )


def test_a_jpeg_is_named():
    pdf_refused(
        pdf_upload(b"\xff\xd8\xff\xe0" + b"\x00" * 100), "The signed copy must be a PDF: this file is a JPEG image."
    )


def test_a_word_document_is_named():
    message = "The signed copy must be a PDF: this file is a zip file (such as a Word document)."
    pdf_refused(pdf_upload(b"PK\x03\x04" + b"\x00" * 100, name="agreement.docx"), message)


def test_a_text_file_is_not_a_pdf():
    pdf_refused(pdf_upload(b"We agree to meet on Tuesdays.\n", name="agreement.txt"), "This file is not a PDF.")


def test_a_file_of_5_mb_and_one_byte_is_refused():
    pdf_refused(
        pdf_upload(b"%PDF-" + b"0" * (MAX_COPY_BYTES - 4)),
        "The signed copy must be 5 MB or smaller: this file is 5.1 MB.",
    )


def test_the_size_is_checked_before_the_file_is_read():
    unreadable = mock.Mock(spec=io.BytesIO)
    unreadable.read.side_effect = unreadable.seek.side_effect = AssertionError("the file was read")
    upload = UploadedFile(unreadable, name="huge.pdf", content_type="application/pdf", size=50 * MAX_COPY_BYTES)
    pdf_refused(upload, "The signed copy must be 5 MB or smaller: this file is 250.0 MB.")


def test_an_empty_file_is_refused():
    pdf_refused(pdf_upload(b""), "The selected file is empty.")


def test_a_damaged_pdf_is_refused():
    pdf_refused(pdf_upload(b"%PDF-1.4\nthis is not really a PDF"), "This PDF is damaged and cannot be opened.")


def test_a_pdf_without_pages_is_refused():
    pdf_refused(pdf_upload(pdf_bytes(pages=0)), "This PDF has no pages.")


def test_an_encrypted_pdf_is_refused_even_without_a_password_to_open_it():
    message = (
        "This PDF is protected with a password or encryption. Upload a copy without protection, "
        "for example a scan of the signed paper copy."
    )
    pdf_refused(pdf_upload(pdf_bytes(password="owner")), message)


def test_the_check_leaves_the_file_ready_to_save():
    upload = pdf_upload()
    check_pdf(upload)
    assert upload.read(5) == b"%PDF-"


# The signed copy in storage


def test_the_signed_copy_is_saved_under_a_name_the_upload_does_not_choose(project, programme):
    content = pdf_bytes()
    agreement = record(project, programme.coach, signed_copy=pdf_upload(content, name="../../etc/passwd.pdf"))
    name = agreement.signed_copy.name
    assert name.startswith(f"agreements/{project.pk}/") and name.endswith(".pdf") and "passwd" not in name
    with default_storage.open(name, "rb") as stored:
        assert stored.read() == content
    assert AuditEntry.objects.get(action="coaching.agreement_recorded").changes["signed_copy"] == ["none", "uploaded"]


def test_a_bad_copy_saves_nothing(project, programme):
    with pytest.raises(ProjectError):
        record(project, programme.coach, signed_copy=pdf_upload(PNG))
    assert not CoachingAgreement.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="coaching.").exists()
    assert stored_files() == []


def test_recording_without_a_copy_keeps_the_one_uploaded(project, programme):
    name = record(project, programme.coach, signed_copy=pdf_upload()).signed_copy.name
    assert record(project, programme.coach, meeting_minutes=45).signed_copy.name == name
    assert stored_files() == [name]


def test_replacing_the_copy_deletes_the_old_file_once_committed(project, programme, django_capture_on_commit_callbacks):
    old = record(project, programme.coach, signed_copy=pdf_upload()).signed_copy.name
    with django_capture_on_commit_callbacks() as callbacks:
        new = record(project, programme.coach, signed_copy=pdf_upload(pdf_bytes(pages=2))).signed_copy.name
    assert new != old
    assert default_storage.exists(old)  # nothing removed before the commit
    for callback in callbacks:
        callback()
    assert stored_files() == [new]
    assert AuditEntry.objects.get(action="coaching.agreement_updated").changes == {
        "signed_copy": ["replaced", "uploaded"]
    }


def test_a_failed_save_removes_the_new_file_and_keeps_the_old(project, programme, django_capture_on_commit_callbacks):
    old = record(project, programme.coach, signed_copy=pdf_upload()).signed_copy.name
    with (
        django_capture_on_commit_callbacks(execute=True),
        mock.patch("coaching.agreements.audit", side_effect=RuntimeError("database gone")),
        pytest.raises(RuntimeError),
    ):
        record(project, programme.coach, signed_copy=pdf_upload(pdf_bytes(pages=2)), meeting_minutes=30)
    assert stored_files() == [old]
    assert CoachingAgreement.objects.get().meeting_minutes == 60


def test_removing_the_copy_deletes_the_file_once_committed(project, programme, django_capture_on_commit_callbacks):
    agreement = record(project, programme.coach, signed_copy=pdf_upload())
    with django_capture_on_commit_callbacks(execute=True):
        remove_signed_copy(agreement=agreement, by=programme.lead)
    agreement.refresh_from_db()
    assert not agreement.signed_copy
    assert stored_files() == []
    assert AuditEntry.objects.filter(action="coaching.agreement_copy_removed", actor=programme.lead).exists()


def test_removing_a_copy_that_is_not_there_is_refused(project, programme):
    agreement = record(project, programme.coach)
    with pytest.raises(ProjectError, match="There is no signed copy to remove."):
        remove_signed_copy(agreement=agreement, by=programme.lead)


def test_removing_the_copy_of_a_closed_project_is_refused(project, programme):
    agreement = record(project, programme.coach, signed_copy=pdf_upload())
    project.step = Step.COMPLETED
    project.save()
    with pytest.raises(ProjectError, match="closed"):
        remove_signed_copy(agreement=agreement, by=programme.lead)
    assert len(stored_files()) == 1
