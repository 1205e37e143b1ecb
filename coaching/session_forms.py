"""The session log form: it checks the shape of what was typed; ``coaching.sessions`` decides what the rules allow.

The form's fields depend on the project: one attendance choice per team member
(``attendance_<member id>``), one review per carried-over action (``review_<action id>``),
and one row of fields per action raised in the session (``actions-<row>-description``, ...).
Rows are read from the posted field names, so a row added in the page by the script is
a row like any other; without the script the page offers three blank rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from crispy_forms.helper import FormHelper
from django import forms
from django.forms import BoundField

from microsystems.forms import date_field as _date
from projects.models import TeamMember

from .models import Action, ActionStatus, Attendance, Session, SessionFormat
from .sessions import MEETING_ROLES, WORKING_STEPS, ActionRow, Review, SessionLog

SPARE_ACTION_ROWS = 3
NEW_ROW = "__row__"
ACTION_COLUMNS = ("id", "description", "owner", "due_on", "status", "was")
_ROW_INPUT = re.compile(r"actions-(\d{1,3})-(?:" + "|".join(ACTION_COLUMNS) + ")")
REVIEW_CHOICES = [
    (ActionStatus.OPEN, "Still open"),
    (ActionStatus.DONE, "Done"),
    (ActionStatus.DROPPED, "Dropped"),
]
ROLE_LABELS = {"leader": "Leader", "facilitator": "Facilitator", "timekeeper": "Timekeeper", "recorder": "Recorder"}
RADIO = forms.RadioSelect(attrs={"class": "form-check-input"})
NOT_ON_TEAM = "Choose a member of the improvement team from the list."


def _time(label: str, **kwargs: Any) -> forms.TimeField:
    return forms.TimeField(label=label, widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}), **kwargs)


def _minutes(label: str, required_message: str = "", **kwargs: Any) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={"invalid": "Enter a whole number of minutes, like 60.", "required": required_message},
        **kwargs,
    )


def _text(label: str, max_length: int, help_text: str = "", rows: int = 3) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


def member_choices(team: Iterable[TeamMember], blank: str) -> list[tuple[str, str]]:
    return [("", blank)] + [
        (str(m.pk), f"{m.display_name} ({m.team_role})" if m.team_role else m.display_name) for m in team
    ]


def posted_rows(data: Mapping[str, Any]) -> list[str]:
    """The action rows in the post, in row order."""
    return sorted({m.group(1) for key in data if (m := _ROW_INPUT.fullmatch(key))}, key=int)


@dataclass(frozen=True)
class ActionFields:
    """One row of the actions table as the template draws it."""

    prefix: str
    number: str
    id: BoundField
    description: BoundField
    owner: BoundField
    due_on: BoundField
    status: BoundField
    was: BoundField


class SessionLogForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    on = _date("Date", error_messages={"required": "Enter the date of the session.", "invalid": "Enter a real date."})
    starts_at = _time(
        "Start time",
        error_messages={"required": "Enter the time the session started.", "invalid": "Enter a time, like 13:00."},
    )
    planned_minutes = _minutes("Planned length (minutes)", "Enter the planned length in minutes.")
    actual_minutes = _minutes(
        "Actual length (minutes)", required=False, help_text="How long it really lasted. Leave blank until it ends."
    )
    format = forms.ChoiceField(
        label="Format",
        choices=SessionFormat.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how the session was held.",
            "invalid_choice": "Choose in person, phone or video.",
        },
    )
    step = forms.ChoiceField(
        label="Step worked on",
        choices=[("", "Choose a step")] + [(s.value, s.label) for s in WORKING_STEPS],
        required=False,
        error_messages={"invalid_choice": "Choose one of the method's steps."},
    )
    agenda = _text("Agenda", Session._meta.get_field("agenda").max_length or 2000)
    notes = _text("Notes", Session._meta.get_field("notes").max_length or 5000, rows=6)
    decisions = _text("Decisions", Session._meta.get_field("decisions").max_length or 2000)
    next_on = _date(
        "Date of the next session",
        required=False,
        help_text="Saving the session as held plans the next one for this date.",
        error_messages={"invalid": "Enter a real date."},
    )
    next_starts_at = _time(
        "Its start time",
        required=False,
        help_text="Leave blank for the same time as this one.",
        error_messages={"invalid": "Enter a time, like 13:00."},
    )

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        session: Session,
        team: list[TeamMember],
        carried: list[Action],
        raised: list[Action],
        attendance: dict[int, str],
    ) -> None:
        super().__init__(data, initial=self.initial_for(session, team, carried, raised, attendance))  # type: ignore[arg-type]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.team, self.carried = team, carried
        choices = member_choices(team, "Nobody")
        for role in MEETING_ROLES:
            self.fields[f"role_{role}"] = forms.ChoiceField(
                label=ROLE_LABELS[role],
                choices=choices,
                required=False,
                error_messages={"invalid_choice": f"Choose a member of the improvement team as {role}."},
            )
        for member in team:
            self.fields[f"attendance_{member.pk}"] = forms.ChoiceField(
                label=member.display_name, choices=Attendance.choices, widget=RADIO, required=False
            )
        for action in carried:
            self.fields[f"review_{action.pk}"] = forms.ChoiceField(
                label=action.description, choices=REVIEW_CHOICES, widget=RADIO, required=False
            )
            self.fields[f"review_{action.pk}_was"] = forms.CharField(widget=forms.HiddenInput, required=False)
        self.rows = posted_rows(data) if data is not None else self._rows_to_show(raised)
        for index in self.rows:
            self._add_row_fields(index)
        self._add_row_fields(NEW_ROW)  # for the template the script copies; never read back

    @staticmethod
    def _rows_to_show(raised: list[Action]) -> list[str]:
        return [str(i) for i in range(len(raised) + SPARE_ACTION_ROWS)]

    @staticmethod
    def initial_for(
        session: Session,
        team: list[TeamMember],
        carried: list[Action],
        raised: list[Action],
        attendance: dict[int, str],
    ) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "version": session.version,
            **{
                name: getattr(session, name)
                for name in (
                    "on",
                    "starts_at",
                    "planned_minutes",
                    "actual_minutes",
                    "format",
                    "step",
                    "agenda",
                    "notes",
                    "decisions",
                    "next_on",
                    "next_starts_at",
                )
            },
        }
        roles = session.meeting_roles or {m.meeting_role: m.pk for m in team if m.meeting_role}
        initial.update({f"role_{role}": roles.get(role, "") for role in MEETING_ROLES})
        initial.update({f"attendance_{member_id}": status for member_id, status in attendance.items()})
        for action in carried:
            initial[f"review_{action.pk}"] = initial[f"review_{action.pk}_was"] = action.status
        for i, action in enumerate(raised):
            initial.update(
                {
                    f"actions-{i}-id": action.pk,
                    f"actions-{i}-description": action.description,
                    f"actions-{i}-owner": action.owner_id,
                    f"actions-{i}-due_on": action.due_on,
                    f"actions-{i}-status": action.status,
                    f"actions-{i}-was": action.status,
                }
            )
        return initial

    def _add_row_fields(self, index: str) -> None:
        number = "new action" if index == NEW_ROW else f"action {int(index) + 1}"
        prefix = f"actions-{index}"
        small = {"class": "form-control form-control-sm"}
        self.fields[f"{prefix}-id"] = forms.IntegerField(widget=forms.HiddenInput, required=False)
        self.fields[f"{prefix}-description"] = forms.CharField(
            label=f"What, {number}",
            max_length=Action._meta.get_field("description").max_length,
            required=False,
            widget=forms.TextInput(attrs=small),
        )
        self.fields[f"{prefix}-owner"] = forms.ChoiceField(
            label=f"Owner, {number}",
            choices=member_choices(self.team, "Choose someone"),
            required=False,
            widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
            error_messages={"invalid_choice": NOT_ON_TEAM},
        )
        self.fields[f"{prefix}-due_on"] = forms.DateField(
            label=f"Due, {number}",
            required=False,
            widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date", **small}),
            error_messages={"invalid": "Enter a real date."},
        )
        self.fields[f"{prefix}-status"] = forms.ChoiceField(
            label=f"Status, {number}",
            choices=ActionStatus.choices,
            required=False,
            initial=ActionStatus.OPEN,
            widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
        )
        self.fields[f"{prefix}-was"] = forms.CharField(widget=forms.HiddenInput, required=False)

    # What the template draws

    def row_fields(self, index: str) -> ActionFields:
        prefix = f"actions-{index}"
        number = "new action" if index == NEW_ROW else f"action {int(index) + 1}"
        return ActionFields(
            prefix,
            number,
            *(self[f"{prefix}-{column}"] for column in ACTION_COLUMNS),  # type: ignore[arg-type]
        )

    def action_rows(self) -> list[ActionFields]:
        return [self.row_fields(index) for index in self.rows]

    def new_action_row(self) -> ActionFields:
        return self.row_fields(NEW_ROW)

    def next_row_index(self) -> int:
        return max((int(i) + 1 for i in self.rows), default=0)

    def role_fields(self) -> list[BoundField]:
        return [self[f"role_{role}"] for role in MEETING_ROLES]

    def attendance_fields(self) -> list[tuple[TeamMember, BoundField]]:
        return [(member, self[f"attendance_{member.pk}"]) for member in self.team]

    def review_fields(self) -> list[tuple[Action, BoundField, BoundField]]:
        return [(a, self[f"review_{a.pk}"], self[f"review_{a.pk}_was"]) for a in self.carried]

    def simple_fields(self, *names: str) -> list[BoundField]:
        return [self[name] for name in names]

    # What the service gets

    def posted_version(self) -> int:
        return int(self.cleaned_data.get("version") or 0)

    def log(self) -> SessionLog:
        data = self.cleaned_data
        roles = {role: int(data[f"role_{role}"]) for role in MEETING_ROLES if data.get(f"role_{role}")}
        attendance = {m.pk: data[f"attendance_{m.pk}"] for m in self.team if data.get(f"attendance_{m.pk}")}
        reviews = {
            a.pk: Review(status=data[f"review_{a.pk}"], was=data.get(f"review_{a.pk}_was") or "")
            for a in self.carried
            if data.get(f"review_{a.pk}")
        }
        return SessionLog(
            on=data["on"],
            starts_at=data["starts_at"],
            planned_minutes=data["planned_minutes"],
            actual_minutes=data.get("actual_minutes"),
            format=data["format"],
            step=data.get("step") or "",
            meeting_roles=roles,
            attendance=attendance,
            agenda=data.get("agenda", "").strip(),
            notes=data.get("notes", "").strip(),
            decisions=data.get("decisions", "").strip(),
            next_on=data.get("next_on"),
            next_starts_at=data.get("next_starts_at"),
            actions=[self._action_row(index) for index in self.rows],
            reviews=reviews,
        )

    def _action_row(self, index: str) -> ActionRow:
        data, prefix = self.cleaned_data, f"actions-{index}"
        owner = data.get(f"{prefix}-owner")
        return ActionRow(
            prefix=prefix,
            id=data.get(f"{prefix}-id"),
            description=(data.get(f"{prefix}-description") or "").strip(),
            owner_id=int(owner) if owner else None,
            due_on=data.get(f"{prefix}-due_on"),
            status=data.get(f"{prefix}-status") or ActionStatus.OPEN,
            was=data.get(f"{prefix}-was") or "",
        )


class ReflectionForm(forms.Form):
    text = forms.CharField(
        label="Your reflection",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="What went well, what you would do differently, what to take to your mentor. "
        "Only you and your mentor can read it.",
        error_messages={"required": "Write your reflection, or leave the page."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
