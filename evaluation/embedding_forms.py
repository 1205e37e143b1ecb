"""The self-assessment form: what the team typed, checked for shape; the rules are in ``embedding``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crispy_forms.bootstrap import InlineRadios
from crispy_forms.layout import Layout
from django import forms
from django.utils.dateparse import parse_datetime

from microsystems.forms import CrispyForm, date_field, required

from .embedding import DESCRIPTIONS, NOTES_LIMIT, AssessmentDetails
from .models import CHARACTERISTICS, SCORE_MAX, SCORE_MIN, EmbeddingAssessment

SCORES = [(str(n), str(n)) for n in range(SCORE_MIN, SCORE_MAX + 1)]


class AssessmentForm(CrispyForm):
    assessed_on = date_field("Date assessed", error_messages=required("Enter the date the team scored itself."))
    notes = forms.CharField(
        max_length=NOTES_LIMIT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the team said about its scores. No patient names, dates of birth or NHS numbers.",
    )
    confirm_not_patient_data = forms.BooleanField(
        required=False, label="I have checked: these notes do not identify a patient"
    )
    base = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, assessment: EmbeddingAssessment | None = None, **kwargs: Any) -> None:
        if assessment is not None:
            kwargs.setdefault("initial", {}).update(
                {
                    "assessed_on": assessment.assessed_on,
                    "notes": assessment.notes,
                    "base": assessment.recorded_at.isoformat(),
                    **{name: str(score) for name, score in assessment.scores().items()},
                }
            )
        super().__init__(*args, **kwargs)
        for name, label in CHARACTERISTICS:
            self.fields[name] = forms.TypedChoiceField(
                label=label,
                choices=SCORES,
                coerce=int,
                widget=forms.RadioSelect,
                help_text=f"{DESCRIPTIONS[name]} 1 is weak, 5 is strong.",
                error_messages=required(f"Score {label.lower()} from {SCORE_MIN} to {SCORE_MAX}.")
                | {"invalid_choice": f"Score {label.lower()} from {SCORE_MIN} to {SCORE_MAX}."},
            )
        order = ["assessed_on", *(name for name, _ in CHARACTERISTICS), "notes", "confirm_not_patient_data", "base"]
        self.order_fields(order)
        self.helper.layout = Layout(
            "assessed_on",
            *(InlineRadios(name) for name, _ in CHARACTERISTICS),
            "notes",
            "confirm_not_patient_data",
            "base",
        )

    def details(self) -> AssessmentDetails:
        data = self.cleaned_data
        return AssessmentDetails(
            assessed_on=data["assessed_on"],
            scores={name: data[name] for name, _ in CHARACTERISTICS},
            notes=data["notes"],
        )

    def base_version(self) -> datetime | None:
        """The ``recorded_at`` of the assessment the page showed, or None when it showed a blank form."""
        return parse_datetime(self.cleaned_data.get("base") or "")
