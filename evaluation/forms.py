"""The follow-up forms: what the user typed, checked for shape; the rules are in ``services``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet

from microsystems.forms import CrispyForm, date_field, required
from projects.models import Measure, TeamMember

from .models import NotSustainedReason, Sustained
from .services import REASON_LIMIT, ReviewDetails, value_field

YES_NO = [("yes", "Yes"), ("no", "No")]


class RescheduleForm(CrispyForm):
    to_date = date_field("New date", error_messages=required("Enter the new date for the follow-up."))
    reason = forms.CharField(
        label="Why is it moving?",
        max_length=REASON_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example, the practice manager is on leave that week. It is kept in the follow-up's history.",
        error_messages=required("Say why the follow-up is moving."),
    )


class TeamChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name}, {obj.team_role}"


class ReviewForm(CrispyForm):
    held_on = date_field("Date held", error_messages=required("Enter the date the review was held."))
    attendees = TeamChoiceField(
        label="Who came from the team",
        queryset=TeamMember.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Tick only members of this project's team."},
    )
    other_attendees = forms.CharField(
        label="Others who came", max_length=300, required=False, help_text="For example, the practice's new GP partner."
    )
    sustained = forms.ChoiceField(
        label="Is the change sustained?",
        choices=Sustained.choices,
        widget=forms.RadioSelect,
        error_messages=required("Say whether the change is sustained, partly sustained or not sustained."),
    )
    reasons = forms.MultipleChoiceField(
        label="Why is it not (fully) sustained?",
        choices=NotSustainedReason.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick every reason that applies. Leave these empty if the change is sustained.",
    )
    other_reason = forms.CharField(label="The other reason", max_length=300, required=False)
    plans_another_project = forms.ChoiceField(
        label="Does the practice plan another project?",
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages=required("Say whether the practice plans another project."),
    )
    next_project_idea = forms.CharField(
        label="What could it be about?",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed if the practice plans another project.",
    )
    notes = forms.CharField(max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(
        self, *args: Any, team: QuerySet[TeamMember], measures: list[Measure], today: date, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.measures = measures
        attendees = self.fields["attendees"]
        assert isinstance(attendees, TeamChoiceField)
        attendees.queryset = team
        self.fields["held_on"].initial = today
        for measure in measures:
            self.fields[value_field(measure.pk)] = forms.DecimalField(
                label=f"{measure.name} ({measure.get_unit_display().lower()})",
                required=False,
                max_digits=12,
                decimal_places=3,
                help_text=self._latest(measure),
                error_messages={"invalid": f"Enter {measure.name} as a number, for example 4.5."},
            )
        order = ["held_on", "attendees", "other_attendees", "sustained", "reasons", "other_reason"]
        order += [value_field(m.pk) for m in measures]
        self.order_fields([*order, "plans_another_project", "next_project_idea", "notes"])

    @staticmethod
    def _latest(measure: Measure) -> str:
        hint = "Optional: it is dated the day the review was held, and the run chart marks it."
        latest, on = getattr(measure, "latest_shown", ""), getattr(measure, "latest_on", None)
        return f"{hint} The last value entered was {latest} on {on:%-d %B %Y}." if latest and on else hint

    def details(self) -> ReviewDetails:
        data = self.cleaned_data
        values: dict[int, Decimal] = {}
        for measure in self.measures:
            if (value := data.get(value_field(measure.pk))) is not None:
                values[measure.pk] = value
        return ReviewDetails(
            held_on=data["held_on"],
            sustained=data["sustained"],
            attendees=list(data["attendees"]),
            other_attendees=data["other_attendees"],
            reasons=list(data["reasons"]),
            other_reason=data["other_reason"],
            plans_another_project=data["plans_another_project"] == "yes",
            next_project_idea=data["next_project_idea"],
            notes=data["notes"],
            values=values,
        )
