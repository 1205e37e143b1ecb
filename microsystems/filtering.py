"""Filter forms whose selects are drawn in Python: a template per option costs too much on a long page."""

from __future__ import annotations

from html import escape

from django.forms import BoundField
from django.utils.safestring import SafeString, mark_safe


class SharedChoices(list[tuple[object, str]]):
    """A select's choices that a form shares instead of copying: a form deep-copies its fields, and with them
    every option of a long list (the coaches, the PCNs), on each request. Nothing changes the choices."""

    def __deepcopy__(self, memo: dict[int, object]) -> SharedChoices:
        return self


class PlainSelectsMixin:
    """For a django-filter FilterSet: its ``SELECTS`` as (name, bound field, options HTML)."""

    SELECTS: tuple[str, ...] = ()

    def select_fields(self) -> list[tuple[str, BoundField, SafeString]]:
        rows = []
        for name in self.SELECTS:
            bound = self.form[name]  # type: ignore[attr-defined]
            current = str(bound.value() or "")
            options = "".join(
                f'<option value="{escape(str(value))}"{" selected" if str(value) == current else ""}>'
                f"{escape(str(label))}</option>"
                for value, label in bound.field.choices
            )
            rows.append((name, bound, mark_safe(options)))  # noqa: S308  (every value and label is escaped)
        return rows
