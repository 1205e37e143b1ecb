"""The coaching agreement: recording it, checking the signed copy, and removing that copy.

Rules decided here (the issue left them open):

- The date signed is not in the future, and not more than ``EARLIEST_BEFORE_START`` (30 days)
  before the project's start: an agreement is often signed in the weeks before the first
  session, but one signed months earlier is almost certainly a typo or a different project.
- A signed copy is a PDF of at most 5 MB (5 × 1024 × 1024 bytes) that opens and has a page.
  Encrypted PDFs are refused, even those that open without a password: the programme must be
  able to read and keep the copy whatever happens to the password, and a PDF that cannot be
  opened cannot be checked. The message says how to get an unprotected copy.
- The champion defaults to the name of the project's current champion when left blank.

The stored file is named by the model's ``upload_to``, never by the uploaded name. Storage is
not transactional: a new file is written inside the transaction and removed again if the
transaction fails; an old file is deleted only once the change is committed.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

from django.core.files.storage import Storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import date_format
from pypdf import PdfReader

from microsystems.audit import audit
from microsystems.models import User
from projects.models import Milestone, Project
from projects.payments.milestones import milestone_reached
from projects.services import ProjectError

from .models import CoachingAgreement

log = logging.getLogger(__name__)

MAX_COPY_BYTES = 5 * 1024 * 1024
EARLIEST_BEFORE_START = timedelta(days=30)
MIN_MEETING_MINUTES, MAX_MEETING_MINUTES = 15, 240

# What a file that is not a PDF most likely is, from its first bytes.
_SIGNATURES: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"PK\x03\x04", "a zip file (such as a Word document)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an older Office file (such as a Word .doc)"),
    (b"{\\rtf", "a rich text (RTF) document"),
]

# Each text: its field, what a blank one says, and how the length message names it.
TEXTS: list[tuple[str, str, str]] = [
    ("signed_by_name", "Enter the name of the person who signed for the practice.", "The name"),
    ("signed_by_role", "Enter their role, for example partner or practice manager.", "The role"),
    ("meeting_slot", "Enter the regular meeting slot, for example Tuesdays at 1pm.", "The meeting slot"),
    ("staff_released", "Say which staff are released to attend.", "The staff released"),
    ("champion", "Name the project's champion.", "The champion's name"),
    ("patients_involved", "Say how patients are involved.", "How patients are involved"),
]


def max_length_of(name: str) -> int:
    """The model's length limit for one of the agreement's texts."""
    field = CoachingAgreement._meta.get_field(name)
    return int(getattr(field, "max_length", 0) or 0)


@dataclass(frozen=True)
class AgreementDetails:
    signed_by_name: str
    signed_by_role: str
    signed_on: date
    meeting_slot: str
    staff_released: str
    champion: str
    patients_involved: str
    meeting_minutes: int = 60


def current_champion_name(project: Project) -> str:
    """The name of the project's champion today, or an empty string."""
    champion = project.team.filter(is_champion=True).select_related("user").first()
    return champion.display_name if champion is not None else ""


def _check_details(project: Project, details: AgreementDetails) -> AgreementDetails:
    cleaned: dict[str, Any] = {
        name: value.strip() if isinstance(value, str) else value for name, value in asdict(details).items()
    }
    if not cleaned["champion"]:
        cleaned["champion"] = current_champion_name(project)
    for name, blank_message, label in TEXTS:
        if not cleaned[name]:
            raise ProjectError(blank_message, field=name)
        if len(cleaned[name]) > max_length_of(name):
            raise ProjectError(f"{label} must be {max_length_of(name)} characters or fewer.", field=name)
    _check_signed_on(project, cleaned["signed_on"])
    minutes = cleaned["meeting_minutes"]
    if minutes is None or not MIN_MEETING_MINUTES <= minutes <= MAX_MEETING_MINUTES:
        raise ProjectError(
            f"The meeting length must be between {MIN_MEETING_MINUTES} and {MAX_MEETING_MINUTES} minutes.",
            field="meeting_minutes",
        )
    return AgreementDetails(**cleaned)


def _check_signed_on(project: Project, signed_on: date | None) -> None:
    if signed_on is None:
        raise ProjectError("Enter the date the agreement was signed.", field="signed_on")
    if signed_on > timezone.localdate():
        raise ProjectError("The date signed cannot be in the future.", field="signed_on")
    earliest = project.starts_on - EARLIEST_BEFORE_START
    if signed_on < earliest:
        raise ProjectError(
            f"The date signed cannot be more than 30 days before the project's start: "
            f"the earliest is {date_format(earliest)}.",
            field="signed_on",
        )


def _what_it_is(head: bytes) -> str:
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    return ""


def check_pdf(upload: UploadedFile) -> None:
    """Refuse anything but a readable, unencrypted PDF of at most 5 MB with at least one page."""
    if upload.size is None or upload.size == 0:
        raise ProjectError("The selected file is empty.", field="signed_copy")
    if upload.size > MAX_COPY_BYTES:
        megabytes = math.ceil(upload.size * 10 / (1024 * 1024)) / 10  # rounded up: 5 MB and a byte is over
        raise ProjectError(
            f"The signed copy must be 5 MB or smaller: this file is {megabytes:.1f} MB.", field="signed_copy"
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not head.startswith(b"%PDF-"):
        kind = _what_it_is(head)
        message = f"The signed copy must be a PDF: this file is {kind}." if kind else "This file is not a PDF."
        raise ProjectError(message, field="signed_copy")
    try:
        reader = PdfReader(upload, strict=False)
        encrypted = reader.is_encrypted
        pages = 0 if encrypted else len(reader.pages)
    except Exception:  # pypdf raises many kinds of error on a damaged file; all mean the same here
        log.info("An uploaded signed copy could not be read as a PDF.", exc_info=True)
        raise ProjectError("This PDF is damaged and cannot be opened.", field="signed_copy") from None
    finally:
        upload.seek(0)
    if encrypted:
        raise ProjectError(
            "This PDF is protected with a password or encryption. Upload a copy without protection, "
            "for example a scan of the signed paper copy.",
            field="signed_copy",
        )
    if pages < 1:
        raise ProjectError("This PDF has no pages.", field="signed_copy")


def _on_commit_delete(storage: Storage, name: str) -> None:
    def delete() -> None:
        try:
            storage.delete(name)
        except OSError:  # the row no longer points at it: a leftover file is harmless
            log.warning("Could not delete the old signed copy %s.", name, exc_info=True)

    transaction.on_commit(delete)


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {name: [str(before.get(name, "")), str(value)] for name, value in after.items() if before.get(name) != value}


def record_agreement(
    *, project: Project, details: AgreementDetails, signed_copy: UploadedFile | None, by: User
) -> CoachingAgreement:
    """Create or update the project's one agreement; its coaches are the project's coaches now."""
    if not project.is_active:
        raise ProjectError("This project is closed: its coaching agreement can no longer be changed.")
    coaches = project.coaches()
    if project.lead_coach_id is None or not coaches:
        raise ProjectError("Assign a coach before the agreement is signed.")
    details = _check_details(project, details)
    if signed_copy is not None:
        check_pdf(signed_copy)
    try:
        return _save_agreement(project=project, details=details, signed_copy=signed_copy, coaches=coaches, by=by)
    except IntegrityError:  # two people recorded the first agreement at the same moment
        raise ProjectError("Someone else recorded this agreement just now. Check it and try again.") from None


def _save_agreement(
    *, project: Project, details: AgreementDetails, signed_copy: UploadedFile | None, coaches: list[User], by: User
) -> CoachingAgreement:
    new_file = ""
    try:
        with transaction.atomic():
            agreement = CoachingAgreement.objects.select_for_update().filter(project=project).first()
            created = agreement is None
            if agreement is None:
                agreement = CoachingAgreement(project=project)
            before = {name: getattr(agreement, name) for name in asdict(details)} if not created else {}
            old_file = agreement.signed_copy.name or ""
            for name, value in asdict(details).items():
                setattr(agreement, name, value)
            agreement.recorded_by, agreement.recorded_at = by, timezone.now()
            if signed_copy is not None:
                agreement.signed_copy.save("signed.pdf", signed_copy, save=False)
                new_file = agreement.signed_copy.name
            agreement.save()
            agreement.coaches.set(coaches)
            changes = _changes(before, asdict(details))
            if new_file:
                changes["signed_copy"] = ["replaced" if old_file else "none", "uploaded"]
                if old_file:
                    _on_commit_delete(agreement.signed_copy.storage, old_file)
            action = "coaching.agreement_recorded" if created else "coaching.agreement_updated"
            summary = f"Signed on {date_format(details.signed_on)} by {details.signed_by_name}"
            audit(project, action, by=by, summary=summary, changes=changes)
            if created:
                milestone_reached(project=project, milestone=Milestone.AGREEMENT, on=details.signed_on, by=by)
    except Exception:
        if new_file:
            CoachingAgreement._meta.get_field("signed_copy").storage.delete(new_file)  # type: ignore[attr-defined]
        raise
    return agreement


def remove_signed_copy(*, agreement: CoachingAgreement, by: User) -> CoachingAgreement:
    """Forget the uploaded copy; the file goes once the change is committed."""
    if not agreement.project.is_active:
        raise ProjectError("This project is closed: its coaching agreement can no longer be changed.")
    if not agreement.signed_copy:
        raise ProjectError("There is no signed copy to remove.")
    with transaction.atomic():
        old_file = agreement.signed_copy.name
        storage = agreement.signed_copy.storage
        agreement.signed_copy = ""  # type: ignore[assignment]
        agreement.save(update_fields=["signed_copy"])
        audit(agreement.project, "coaching.agreement_copy_removed", by=by, summary="Signed copy removed")
        _on_commit_delete(storage, old_file)
    return agreement
