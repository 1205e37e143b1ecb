"""A workbook section's fields as text to read, written in Python: for readers, the worked example beside every
section, the other person's version in a conflict and the history.

A template include per section and a variable per field cost a reader's page more than the rest of it; the
worked examples are the same on every project, so each is written once per process. Every value is escaped
(``conditional_escape``, as the template's autoescape does).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.template.defaultfilters import linebreaksbr
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from .workbook import FISHBONE, TABLE, Section
from .workbook_forms import FieldText, field_texts

NOTHING_YET = '<span class="text-body-secondary">Nothing written yet.</span>'
NO_PROBLEM_YET = '<span class="text-body-secondary">not written yet</span>'
NO_CAUSES_YET = ': <span class="text-body-secondary">no causes yet</span>'

_examples: dict[str, SafeString] = {}


def texts_html(texts: Iterable[FieldText]) -> SafeString:
    """The fields as a description list: each label, then its text, table or fishbone."""
    items = []
    for t in texts:
        hidden = ' class="visually-hidden"' if t.label_is_title else ""
        items.append(f'<dt{hidden}>{conditional_escape(t.label)}</dt>\n<dd class="mb-3">{_value(t)}</dd>')
    return mark_safe('<dl class="mb-0">\n' + "\n".join(items) + "\n</dl>")  # noqa: S308  (escaped above)


def example_html(definition: Section) -> SafeString:
    """The section's worked example: written from code, so the same on every page and written once."""
    if definition.key not in _examples:
        _examples[definition.key] = texts_html(field_texts(definition, definition.example))
    return _examples[definition.key]


def _value(t: FieldText) -> str:
    if not t.written:
        return NOTHING_YET
    if t.kind == TABLE:
        head = "".join(f'<th scope="col">{conditional_escape(c)}</th>' for c in t.columns)
        body = "".join("<tr>" + "".join(f"<td>{conditional_escape(c)}</td>" for c in row) + "</tr>" for row in t.rows)
        return (
            '<div class="table-responsive">\n<table class="table table-sm mb-0">\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>{body}</tbody>\n</table>\n</div>"
        )
    if t.kind == FISHBONE:
        problem = (
            conditional_escape(t.problem) if t.problem else '<span class="text-body-secondary">not written yet</span>'
        )
        headings = []
        for h in t.headings:
            if h["causes"]:
                causes = "<ul>" + "".join(f"<li>{conditional_escape(c)}</li>" for c in h["causes"]) + "</ul>"
            else:
                causes = NO_CAUSES_YET
            headings.append(f"<li>{conditional_escape(h['name'])}{causes}</li>")
        return (
            f'<p class="mb-1"><strong>The problem:</strong> {problem}</p>\n'
            f'<ul class="mb-0">\n' + "\n".join(headings) + "\n</ul>"
        )
    return str(linebreaksbr(t.text, autoescape=True))
