"""Shared form helpers for the apps' views."""

from __future__ import annotations

from django import forms


def apply_error(form: forms.Form, error: Exception) -> None:
    """Show a service's refusal at the field it names (its ``field``), or at the top of the form."""
    field = getattr(error, "field", None)
    form.add_error(field if field in form.fields else None, str(error))
