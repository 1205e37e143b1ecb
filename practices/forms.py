"""Forms for the practice pages: they validate input; services decide what the rules allow."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.utils import timezone

from .models import Cohort, Engagement, EngagementReason, StaffRole


class EngagementForm(forms.Form):
    engagement = forms.ChoiceField(choices=Engagement.choices, label="Engagement")
    cohort = forms.ChoiceField(choices=Cohort.choices, label="Adoption cohort", required=False)
    effective_on = forms.DateField(
        label="Date of the change",
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text="For example, the day the practice told you.",
    )
    reason = forms.ChoiceField(
        choices=[("", "Choose a reason")] + EngagementReason.choices,
        required=False,
        label="Reason (if the practice declined or withdrew)",
    )
    reason_detail = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="More about the reason or the change"
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["effective_on"].initial = timezone.localdate()
        self.helper = FormHelper()
        self.helper.form_tag = False


class InviteStaffForm(forms.Form):
    full_name = forms.CharField(max_length=150, label="Full name")
    email = forms.EmailField(label="E-mail address", help_text="Their NHS.net address, if they have one.")
    role = forms.ChoiceField(choices=StaffRole.choices, label="Role in the practice")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.helper = FormHelper()
        self.helper.form_tag = False
