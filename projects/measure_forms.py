"""Forms for measures, their values and imports: they check the shape of input; ``measures`` decides the rest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from .forms import _date, _Form, _required
from .measure_csv import MAX_BYTES, NOTE_LIMIT, REASON_LIMIT, decode, parse_number, plain_number
from .measures import MeasureDetails, ValueDetails
from .models import Direction, Frequency, Measure, MeasureKind, MeasureValue, Project, SpecificAim, Unit

BASELINE_CHOICES = [
    ("all", "Every point"),
    ("points", "The first points"),
    ("dates", "A date range"),
]
NUMBER_HELP = "Digits with a decimal point, like 6.5."
NUMBER_INPUT = forms.TextInput(attrs={"inputmode": "decimal", "data-counter": "off", "autocomplete": "off"})


def _number(text: str, message: str) -> Decimal:
    number = parse_number(text.strip())
    if number is None:
        raise forms.ValidationError(message)
    return number


class MeasureForm(_Form):
    name = forms.CharField(
        max_length=150,
        label="Name",
        help_text="For example 'Days from result to action'.",
        error_messages=_required("Give the measure a name."),
    )
    kind = forms.ChoiceField(
        label="Type",
        choices=MeasureKind.choices,
        widget=forms.RadioSelect,
        help_text="Outcome: what matters to patients. Process: how the work is done. "
        "Balancing: what might get worse elsewhere.",
        error_messages=_required("Choose the type of measure."),
    )
    definition = forms.CharField(
        max_length=2000,
        label="Operational definition",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Exactly what is counted, how and when, so anyone would count it the same way.",
        error_messages=_required("Say exactly what is counted, how and when."),
    )
    unit = forms.ChoiceField(
        label="Unit",
        choices=[("", "Choose a unit")] + Unit.choices,
        help_text="Enter percentages as 0 to 100.",
        error_messages=_required("Choose the unit."),
    )
    direction = forms.ChoiceField(
        label="Direction of improvement",
        choices=[(Direction.UP, "Up is better"), (Direction.DOWN, "Down is better"), ("", "Neither")],
        widget=forms.RadioSelect,
        required=False,
    )
    frequency = forms.ChoiceField(
        label="How often",
        choices=Frequency.choices,
        widget=forms.RadioSelect,
        help_text="One value a week or a month.",
        error_messages=_required("Choose how often the measure is taken."),
    )
    target = forms.CharField(
        max_length=20, label="Target (optional)", required=False, help_text=NUMBER_HELP, widget=NUMBER_INPUT
    )
    baseline = forms.ChoiceField(
        label="Baseline",
        choices=BASELINE_CHOICES,
        widget=forms.RadioSelect,
        initial="all",
        help_text="The median and limits are worked out from the baseline, then frozen.",
        error_messages=_required("Choose the baseline."),
    )
    baseline_points = forms.IntegerField(
        label="Number of points in the baseline",
        required=False,
        help_text="Only for a baseline of the first points: 12 or more makes firm limits.",
        min_value=2,
        max_value=500,
        error_messages={
            "invalid": "Enter a whole number of points, like 8.",
            "min_value": "A baseline is at least 2 points.",
            "max_value": "A baseline is at most 500 points.",
        },
    )
    baseline_from = _date(
        "Baseline starts",
        required=False,
        help_text="Only for a date range. It must start on or before the first value.",
        error_messages={"invalid": "Enter a real date, like 6/1/2025."},
    )
    baseline_to = _date(
        "Baseline ends",
        required=False,
        help_text="Only for a date range.",
        error_messages={"invalid": "Enter a real date, like 24/2/2025."},
    )
    specific_aim: forms.ModelChoiceField[SpecificAim] = forms.ModelChoiceField(
        queryset=SpecificAim.objects.none(),
        label="Specific aim (optional)",
        required=False,
        empty_label="None",
        error_messages={"invalid_choice": "Choose one of this project's specific aims."},
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["specific_aim"].queryset = project.specific_aims.all()  # type: ignore[attr-defined]
        self.fields["specific_aim"].label_from_instance = lambda aim: aim.measure  # type: ignore[attr-defined]

    @classmethod
    def initial_for(cls, measure: Measure) -> dict[str, Any]:
        initial = {name: getattr(measure, name) for name in cls.base_fields if name not in ("baseline", "specific_aim")}
        initial["target"] = plain_number(measure.target) if measure.target is not None else ""
        initial["specific_aim"] = measure.specific_aim_id
        initial["baseline"] = "points" if measure.baseline_points else "dates" if measure.baseline_to else "all"
        return initial

    def clean_target(self) -> Decimal | None:
        text = self.cleaned_data.get("target", "").strip()
        return _number(text, f"Enter the target as a number. {NUMBER_HELP}") if text else None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choice = data.get("baseline")
        if choice == "points" and data.get("baseline_points") is None and "baseline_points" not in self.errors:
            self.add_error("baseline_points", "Enter how many of the first points make the baseline.")
        if choice == "dates":
            for name, which in (("baseline_from", "first"), ("baseline_to", "last")):
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, f"Enter the {which} date of the baseline.")
        return data

    def details(self) -> MeasureDetails:
        data, choice = self.cleaned_data, self.cleaned_data["baseline"]
        return MeasureDetails(
            name=data["name"],
            kind=data["kind"],
            definition=data["definition"],
            unit=data["unit"],
            direction=data["direction"],
            frequency=data["frequency"],
            target=data["target"],
            baseline_points=data["baseline_points"] if choice == "points" else None,
            baseline_from=data["baseline_from"] if choice == "dates" else None,
            baseline_to=data["baseline_to"] if choice == "dates" else None,
            specific_aim=data["specific_aim"],
        )


class ValueForm(_Form):
    """One value: in a row of the table (prefixed per row) or on its own page without JavaScript."""

    on = _date("Date", error_messages={"required": "Enter the date.", "invalid": "Enter a real date, like 3/3/2025."})
    value = forms.CharField(
        max_length=20,
        label="Value",
        help_text=NUMBER_HELP,
        widget=NUMBER_INPUT,
        error_messages=_required("Enter the value."),
    )
    note = forms.CharField(max_length=NOTE_LIMIT, label="Note (optional)", required=False)
    astronomical = forms.BooleanField(label="Astronomical data point", required=False)
    astronomical_reason = forms.CharField(
        max_length=REASON_LIMIT,
        label="Why it is astronomical",
        required=False,
        help_text="Needed when the point is marked astronomical: what happened that week or month.",
    )

    @property
    def in_row(self) -> ValueForm:
        """The form with its widgets set up for a row of the table: small inputs, messages tied to them."""
        for name, field in self.fields.items():
            attrs = field.widget.attrs
            bound = self[name]
            base = "form-check-input" if name == "astronomical" else "form-control form-control-sm"
            attrs["class"] = f"{base} is-invalid" if bound.errors else base
            if bound.errors:
                attrs.update({"aria-invalid": "true", "aria-describedby": f"{bound.auto_id}-error"})
            else:
                attrs.pop("aria-invalid", None)
                attrs.pop("aria-describedby", None)
            attrs["form"] = self.form_id
        return self

    @property
    def form_id(self) -> str:
        return f"{self.prefix}-form"

    @classmethod
    def initial_for(cls, value: MeasureValue) -> dict[str, Any]:
        initial = {name: getattr(value, name) for name in cls.base_fields}
        initial["value"] = plain_number(value.value)
        return initial

    def clean_value(self) -> Decimal:
        return _number(self.cleaned_data.get("value", ""), f"Enter the value as a number. {NUMBER_HELP}")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("astronomical") and not data.get("astronomical_reason", "").strip():
            self.add_error("astronomical_reason", "Say why this point is astronomical.")
        return data

    def details(self) -> ValueDetails:
        return ValueDetails(**self.cleaned_data)


class ImportForm(_Form):
    """Pasted text or an uploaded file, read by the same parser; the file wins if both are given."""

    text = forms.CharField(
        label="Paste the data",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "data-counter": "off"}),
        help_text="One row a line: date,value and an optional note, for example 03/03/2025,6.5,Locum week.",
    )
    file = forms.FileField(
        label="Or upload a CSV file",
        required=False,
        help_text=f"Up to {MAX_BYTES // 1_000_000} MB and 5,000 rows. A file downloaded from here uploads unchanged.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )

    def clean_file(self) -> UploadedFile | None:
        upload: UploadedFile | None = self.cleaned_data.get("file")
        if upload is not None and (upload.size or 0) > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_BYTES // 1_000_000} MB. Split it into parts and upload each."
            )
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        upload = data.get("file")
        if upload is not None:
            decoded = decode(upload.read())
            if decoded is None:
                self.add_error("file", "The file is not text. Save it from your spreadsheet as CSV (comma delimited).")
                return data
            data["data"] = decoded
        elif data.get("text", "").strip():
            data["data"] = data["text"]
        else:
            self.add_error("text", "Paste the data, or choose a file to upload.")
        return data

    def data_text(self) -> str:
        return str(self.cleaned_data["data"])
