"""The preferences form: one checkbox per kind of reminder or digest the user can get."""

from __future__ import annotations

from typing import Any

from django import forms

from microsystems.forms import CrispyForm

from .models import Kind

HELP = {
    Kind.FOLLOW_UP_SOON: "An e-mail 14 days before a 6- or 12-month follow-up, with a calendar invitation.",
    Kind.FOLLOW_UP_TODAY: "An e-mail on the day a follow-up is due.",
    Kind.SESSION_TOMORROW: "An e-mail the day before a planned coaching session.",
    Kind.ACTIONS_OVERDUE: "One e-mail a day listing every action you own that is past its due date.",
    Kind.REFRESHER_DUE: "An e-mail when your coaching refresher falls due, a year after your last training.",
    Kind.LEAD_WEEKLY: "Each week: overdue follow-ups and actions, quiet projects and practices not contacted.",
    Kind.PRACTICE_MONTHLY: "Each month: your practice's projects, their steps and latest data.",
}


class PreferencesForm(CrispyForm):
    """A box per kind in ``kinds``, ticked unless the user turned it off."""

    def __init__(self, *args: Any, kinds: list[str], off: set[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in kinds:
            self.fields[kind] = forms.BooleanField(
                label=Kind(kind).label, help_text=HELP.get(Kind(kind), ""), required=False, initial=kind not in off
            )

    def choices(self) -> dict[str, bool]:
        return {kind: bool(self.cleaned_data.get(kind)) for kind in self.fields}
