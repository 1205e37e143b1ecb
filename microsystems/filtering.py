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


def selects_html(fields: list[tuple[str, BoundField, SafeString]], col: str) -> SafeString:
    """The selects of ``PlainSelectsMixin.select_fields``, each in a ``col`` column with its label and any error,
    written here rather than by a template loop: ``includes/filter_selects.html`` draws them with this."""
    col = escape(col)
    parts = []
    for name, bound, options in fields:
        key = escape(name)
        # A form that was never checked (nothing was filtered) has no errors: asking would check it now.
        errors = bound.errors if getattr(bound.form, "_errors", None) is not None else []
        invalid = " is-invalid" if errors else ""
        described = f' aria-describedby="id_{key}_error"' if errors else ""
        shown = "".join(
            f'<div class="invalid-feedback d-block" id="id_{key}_error">{escape(str(e))}</div>' for e in errors
        )
        parts.append(
            f'<div class="{col}">\n'
            f'  <label class="form-label" for="id_{key}">{escape(str(bound.label))}</label>\n'
            f'  <select class="form-select{invalid}" name="{key}" id="id_{key}"{described}>\n'
            f"    {options}\n"
            f"  </select>\n"
            f"  {shown}\n"
            "</div>"
        )
    return mark_safe("\n".join(parts))  # noqa: S308  (every value and label is escaped; options come escaped)
