"""Forms for the coach pages: they check the shape of input; ``coaching.coaches`` decides what is allowed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from microsystems.forms import CrispyForm as _Form
from microsystems.forms import date_field as _date
from microsystems.forms import required as _required
from practices.models import ProgrammeRole
from projects.models import ClinicalArea

from .coaches import ProfileDetails, TrainingDetails
from .models import ClinicalBackground, CoachLevel, CoachProfile


class ProfileForm(_Form):
    commissioning_role = forms.CharField(
        max_length=150,
        label="Job at the commissioner",
        help_text="For example, primary care commissioning manager.",
        error_messages=_required("Enter their job at the commissioner."),
    )
    commissioned_areas = forms.MultipleChoiceField(
        label="Clinical areas they commission",
        choices=ClinicalArea.choices[1:],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="To spot conflicts of interest: they will not be suggested for a project in these areas.",
        error_messages={"invalid_choice": "Choose the clinical areas they commission from the list."},
    )
    clinical_background = forms.ChoiceField(
        label="Clinical background",
        choices=ClinicalBackground.choices,
        required=False,
        error_messages={"invalid_choice": "Choose a clinical background from the list."},
    )
    trained_on = _date("Date trained", required=False, help_text="When they completed their coach training.")
    level = forms.ChoiceField(
        label="Level",
        choices=CoachLevel.choices,
        error_messages={"required": "Choose a level.", "invalid_choice": "Choose a level from the list."},
    )
    protected_hours = forms.DecimalField(
        label="Protected hours a week",
        max_digits=4,
        decimal_places=1,
        help_text="Time set aside for coaching, from 0 to 37.5.",
        error_messages={"required": "Enter the protected hours a week.", "invalid": "Enter a number of hours."},
    )
    max_projects = forms.IntegerField(
        label="Most projects at once",
        help_text="From 1 to 10. Going over it needs your confirmation when you assign them.",
        error_messages={"required": "Enter the most projects they can hold at once.", "invalid": "Enter a number."},
    )
    is_active = forms.BooleanField(label="Active: offered for new projects", required=False, initial=True)

    @classmethod
    def initial_for(cls, coach: CoachProfile) -> dict[str, Any]:
        return {name: getattr(coach, name) for name in cls.base_fields}

    def details(self) -> ProfileDetails:
        data = self.cleaned_data
        return ProfileDetails(
            commissioning_role=data["commissioning_role"],
            commissioned_areas=tuple(data["commissioned_areas"]),
            clinical_background=data["clinical_background"] or "",
            trained_on=data["trained_on"],
            level=data["level"],
            protected_hours=data["protected_hours"],
            max_projects=data["max_projects"],
            is_active=data["is_active"],
        )


class CoachRoleField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ProgrammeRole) -> str:  # type: ignore[override]
        return f"{obj.user.get_full_name()} ({obj.user.email}), {obj.commissioner.name}"


class NewProfileForm(ProfileForm):
    user = CoachRoleField(
        queryset=ProgrammeRole.objects.none(),
        label="Coach",
        empty_label="Choose a coach",
        help_text="People with the coach role at your commissioner who have no profile yet.",
        error_messages={"required": "Choose the coach.", "invalid_choice": "Choose a coach from the list."},
    )
    field_order = ["user"]

    def __init__(self, *args: Any, roles: QuerySet[ProgrammeRole], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = roles  # type: ignore[attr-defined]
        self.fields["level"].initial = CoachLevel.IN_TRAINING
        self.fields["protected_hours"].initial = Decimal("2")
        self.fields["max_projects"].initial = 3


class TrainingForm(_Form):
    course = forms.CharField(
        max_length=200,
        label="Course",
        help_text="For example, clinical microsystems coaching, two days.",
        error_messages=_required("Enter the course's name."),
    )
    is_refresher = forms.BooleanField(label="This was a refresher", required=False)
    completed_on = _date("Date completed", error_messages=_required("Enter the date they completed it."))
    hours = forms.DecimalField(
        label="Hours",
        max_digits=5,
        decimal_places=1,
        help_text="More than 0 and no more than 100.",
        error_messages={"required": "Enter the hours of training.", "invalid": "Enter a number of hours."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["completed_on"].initial = timezone.localdate()

    def details(self) -> TrainingDetails:
        data = self.cleaned_data
        return TrainingDetails(
            course=data["course"],
            completed_on=data["completed_on"],
            hours=data["hours"],
            is_refresher=data["is_refresher"],
        )


class MentorField(forms.ModelChoiceField):
    def label_from_instance(self, obj: CoachProfile) -> str:  # type: ignore[override]
        return f"{obj.user.get_full_name()} ({obj.get_level_display().lower()})"


class MentoringForm(_Form):
    mentor = MentorField(
        queryset=CoachProfile.objects.none(),
        label="Mentor",
        empty_label="Choose a mentor",
        help_text="An active coach at level mentor, or a coach who has completed a project.",
        error_messages={"required": "Choose the mentor.", "invalid_choice": "Choose a mentor from the list."},
    )
    starts_on = _date("Start date", error_messages=_required("Enter the date the mentoring starts."))
    ends_on = _date("End date", required=False, help_text="Leave blank if it has no end date yet.")

    def __init__(self, *args: Any, mentors: QuerySet[CoachProfile], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mentor"].queryset = mentors  # type: ignore[attr-defined]
        self.fields["starts_on"].initial = timezone.localdate()
