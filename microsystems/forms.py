"""Shared form helpers for the apps' views."""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from django import forms


class CrispyForm(forms.Form):
    """A form crispy-forms draws without its own ``<form>`` tag: the template writes the tag and buttons."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


def date_field(label: str, **kwargs: Any) -> forms.DateField:
    """A date with the browser's date picker (ISO in the input, whatever the locale shows)."""
    return forms.DateField(label=label, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}), **kwargs)


def required(message: str) -> dict[str, str]:
    """The ``error_messages`` that say, in the page's words, what a missing answer needs."""
    return {"required": message}


def apply_error(form: forms.Form, error: Exception) -> None:
    """Show a service's refusal at the field it names (its ``field``), or at the top of the form."""
    field = getattr(error, "field", None)
    form.add_error(field if field in form.fields else None, str(error))
