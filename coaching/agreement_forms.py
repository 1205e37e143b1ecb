"""The coaching agreement's form: it checks the shape of input; ``coaching.agreements`` decides what is allowed.

Every text field carries the model's length limit as ``maxlength``, which ``static/js/counters.js``
turns into a counter beside the field.
"""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.core.files.uploadedfile import UploadedFile

from projects.models import Project
from projects.services import ProjectError

from .agreements import (
    MAX_MEETING_MINUTES,
    MIN_MEETING_MINUTES,
    TEXTS,
    AgreementDetails,
    check_pdf,
    current_champion_name,
    max_length_of,
)
from .models import CoachingAgreement


def _text(name: str, label: str, required: str, *, rows: int = 0, help_text: str = "") -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": rows}) if rows else forms.TextInput()
    return forms.CharField(
        label=label,
        max_length=max_length_of(name),
        widget=widget,
        help_text=help_text,
        error_messages={"required": required, "max_length": _too_long(name)},
    )


def _too_long(name: str) -> str:
    label = next(label for field, _, label in TEXTS if field == name)
    return f"{label} must be {max_length_of(name)} characters or fewer."


class AgreementForm(forms.Form):
    signed_by_name = _text(
        "signed_by_name",
        "Signed for the practice by",
        "Enter the name of the person who signed for the practice.",
        help_text="A partner or the practice manager, for example Dr A Shah.",
    )
    signed_by_role = _text(
        "signed_by_role",
        "Their role",
        "Enter their role, for example partner or practice manager.",
        help_text="For example partner or practice manager.",
    )
    signed_on = forms.DateField(
        label="Date signed",
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        error_messages={
            "required": "Enter the date the agreement was signed.",
            "invalid": "Enter a real date, for example 3/3/2025.",
        },
    )
    meeting_slot = _text(
        "meeting_slot",
        "Regular meeting slot",
        "Enter the regular meeting slot, for example Tuesdays at 1pm.",
        help_text="For example, Tuesdays at 1pm, every week.",
    )
    meeting_minutes = forms.IntegerField(
        label="Meeting length in minutes",
        initial=60,
        help_text=f"One hour unless agreed otherwise; between {MIN_MEETING_MINUTES} and {MAX_MEETING_MINUTES}.",
        widget=forms.NumberInput(attrs={"min": MIN_MEETING_MINUTES, "max": MAX_MEETING_MINUTES, "step": 5}),
        error_messages={
            "required": "Enter the meeting length in minutes.",
            "invalid": "Enter the meeting length as a whole number of minutes, for example 60.",
        },
    )
    staff_released = _text(
        "staff_released",
        "Staff released to attend",
        "Say which staff are released to attend.",
        rows=3,
        help_text="Who the practice frees from clinics or duties to come to the meetings.",
    )
    champion = _text(
        "champion",
        "Named champion",
        "Name the project's champion.",
        help_text="The person in the practice who keeps the project going between meetings.",
    )
    patients_involved = _text(
        "patients_involved",
        "How patients are involved",
        "Say how patients are involved.",
        rows=3,
        help_text="For example, a member of the patient participation group joins the team. No patient's details.",
    )
    signed_copy = forms.FileField(
        label="Signed copy (optional)",
        required=False,
        help_text="A PDF of 5 MB or smaller, for example a scan of the signed paper copy.",
        widget=forms.FileInput(attrs={"accept": ".pdf,application/pdf"}),
        error_messages={
            "empty": "The selected file is empty.",
            "invalid": "Choose the file again: it did not arrive.",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False

    @classmethod
    def initial_for(cls, project: Project, agreement: CoachingAgreement | None) -> dict[str, Any]:
        """The recorded agreement, or a new one's defaults: one hour, and the project's champion."""
        if agreement is None:
            return {"meeting_minutes": 60, "champion": current_champion_name(project)}
        return {name: getattr(agreement, name) for name in AgreementDetails.__dataclass_fields__}

    def clean_signed_copy(self) -> UploadedFile | None:
        """The PDF check here too, so a bad file is reported with any other problem on the form."""
        upload: UploadedFile | None = self.cleaned_data.get("signed_copy") or None
        if upload is not None:
            try:
                check_pdf(upload)
            except ProjectError as e:
                raise forms.ValidationError(str(e)) from None
        return upload

    def details(self) -> AgreementDetails:
        data = self.cleaned_data
        return AgreementDetails(**{name: data[name] for name in AgreementDetails.__dataclass_fields__})

    def upload(self) -> UploadedFile | None:
        upload: UploadedFile | None = self.cleaned_data.get("signed_copy") or None
        return upload
