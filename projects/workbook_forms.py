"""A workbook section's form: the posted inputs read into the section's data, and its data laid out for the page.

A table is posted as repeated inputs (``staff-0-role``, ``staff-0-sessions``, ...) and a
fishbone as its problem, its headings (``fishbone-c-0-name``) and their causes
(``fishbone-c-0-x-1-text``). Rows, headings and causes left blank are dropped here, so the
spare blank row a page shows for people without JavaScript never counts against a limit.
Checking types and lengths is ``workbook_data``'s job, through the service.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.dateformat import format as format_date

from .models import WorkbookSection
from .pii import patient_data_warnings, texts_in
from .workbook import CELL_LIMIT, FISHBONE, HEADING_LIMIT, PROBLEM_LIMIT, TABLE, Field, Section, blank_value

# Counters on table cells and fishbone entries show from this share of the limit.
NEAR_LIMIT = 0.8
NEW_ROW, NEW_HEADING, NEW_CAUSE = "__row__", "__heading__", "__cause__"


# Posted inputs → the section's data


def section_data(definition: Section, post: QueryDict) -> dict[str, Any]:
    """The section's data as the form posted it, blank rows, headings and causes left out."""
    return {f.name: _posted_value(f, post) for f in definition.fields}


def _posted_value(f: Field, post: QueryDict) -> Any:
    if f.kind == TABLE:
        return _posted_rows(f, post)
    if f.kind == FISHBONE:
        return _posted_fishbone(f, post)
    return post.get(f.name, "")


def _indexed(post: QueryDict, pattern: str) -> dict[tuple[Any, ...], str]:
    """Posted values whose names match ``pattern``: keyed by the numbers in the name, then its last part."""
    compiled, found = re.compile(pattern), {}
    for name in post:
        match = compiled.fullmatch(name)
        if match:
            *numbers, part = match.groups()
            found[(*map(int, numbers), part)] = post.get(name, "")
    return found


def _posted_rows(f: Field, post: QueryDict) -> list[dict[str, str]]:
    columns = [c.name for c in f.columns]
    cells = _indexed(post, rf"{re.escape(f.name)}-(\d{{1,4}})-({'|'.join(map(re.escape, columns))})")
    indexes = sorted({key[0] for key in cells})
    rows = [{c: cells.get((i, c), "") for c in columns} for i in indexes]
    return [row for row in rows if any(v.strip() for v in row.values())]


def _posted_fishbone(f: Field, post: QueryDict) -> dict[str, Any]:
    prefix = re.escape(f.name)
    headings = _indexed(post, rf"{prefix}-c-(\d{{1,4}})-(id|name)")
    causes = _indexed(post, rf"{prefix}-c-(\d{{1,4}})-x-(\d{{1,4}})-(id|text)")
    categories = []
    for h in sorted({key[0] for key in headings} | {key[0] for key in causes}):
        kept = [
            {"id": causes.get((h, x, "id"), "") or None, "text": causes.get((h, x, "text"), "")}
            for x in sorted({key[1] for key in causes if key[0] == h})
        ]
        kept = [c for c in kept if str(c["text"]).strip()]
        name = headings.get((h, "name"), "")
        if name.strip() or kept:
            categories.append({"id": headings.get((h, "id"), "") or None, "name": name, "causes": kept})
    return {"problem": post.get(f"{f.name}-problem", ""), "categories": categories}


def posted_version(post: QueryDict) -> int:
    """The version the user's page was showing; a missing or garbled one can only conflict."""
    try:
        return int(post.get("version", ""))
    except ValueError:
        return -1


# The section's data → what the page shows


@dataclass(frozen=True)
class Box:
    """One text input or text area: its name in the form, its id on the page, its value and limit."""

    name: str
    id: str
    value: str
    limit: int
    label: str = ""

    @property
    def count(self) -> str:
        return count_text(self.value, self.limit)

    @property
    def over(self) -> bool:
        return len(self.value) > self.limit

    @property
    def near(self) -> bool:
        return len(self.value) >= self.limit * NEAR_LIMIT


def count_text(value: str, limit: int) -> str:
    if len(value) > limit:
        over = len(value) - limit
        return f"{len(value):,} of {limit:,} characters: {over:,} too many"
    return f"{len(value):,} of {limit:,} characters"


@dataclass(frozen=True)
class Row:
    cells: list[Box]


@dataclass(frozen=True)
class Cause:
    id_name: str
    cause_id: str
    text: Box


@dataclass(frozen=True)
class Heading:
    index: str
    id_name: str
    heading_id: str
    name: Box
    causes: list[Cause]
    next_cause: int


@dataclass(frozen=True)
class FieldForm:
    """One field of the section as its form shows it, with any message about it."""

    field: Field
    id: str
    error: str = ""
    box: Box | None = None
    rows: list[Row] = dataclasses.field(default_factory=list)
    new_row: Row | None = None
    problem: Box | None = None
    headings: list[Heading] = dataclasses.field(default_factory=list)
    new_heading: Heading | None = None
    spare_heading: Heading | None = None
    new_cause: Cause | None = None

    @property
    def next_index(self) -> int:
        return len(self.rows) if self.field.kind == TABLE else len(self.headings)


@dataclass(frozen=True)
class FieldText:
    """One field as text to read: for readers, the other person's version in a conflict, and the history."""

    label: str
    hint: str
    kind: str
    written: bool
    text: str = ""
    columns: list[str] = dataclasses.field(default_factory=list)
    rows: list[list[str]] = dataclasses.field(default_factory=list)
    problem: str = ""
    headings: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    label_is_title: bool = False  # one field named like its section: the label need not be shown twice


def field_forms(definition: Section, data: dict[str, Any], errors: dict[str, str] | None = None) -> list[FieldForm]:
    errors = errors or {}
    forms = []
    for f in definition.fields:
        value = data.get(f.name, blank_value(f))
        html_id = f"{definition.key}-{f.name}"
        error = errors.get(f.name, "")
        if f.kind == TABLE:
            forms.append(_table_form(f, html_id, value, error))
        elif f.kind == FISHBONE:
            forms.append(_fishbone_form(f, html_id, value, error))
        else:
            box = Box(f.name, html_id, _as_text(value), f.limit, f.label)
            forms.append(FieldForm(f, html_id, error, box=box))
    return forms


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _row(f: Field, html_id: str, index: str, values: dict[str, Any]) -> Row:
    cells = [
        Box(f"{f.name}-{index}-{c.name}", f"{html_id}-{index}-{c.name}", _as_text(values.get(c.name)), c.limit, c.label)
        for c in f.columns
    ]
    return Row(cells)


def _table_form(f: Field, html_id: str, value: Any, error: str) -> FieldForm:
    rows = [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []
    shown = [_row(f, html_id, str(i), r) for i, r in enumerate(rows)]
    shown.append(_row(f, html_id, str(len(rows)), {}))  # a spare row to write in
    return FieldForm(f, html_id, error, rows=shown, new_row=_row(f, html_id, NEW_ROW, {}))


def _cause(f: Field, html_id: str, h: str, x: str, cause: dict[str, Any]) -> Cause:
    name = f"{f.name}-c-{h}-x-{x}"
    text = Box(f"{name}-text", f"{html_id}-c-{h}-x-{x}", _as_text(cause.get("text")), CELL_LIMIT, "Cause")
    return Cause(f"{name}-id", str(cause.get("id") or ""), text)


def _heading(f: Field, html_id: str, h: str, category: dict[str, Any]) -> Heading:
    causes = [c for c in category.get("causes") or [] if isinstance(c, dict)]
    shown = [_cause(f, html_id, h, str(x), c) for x, c in enumerate(causes)]
    shown.append(_cause(f, html_id, h, str(len(causes)), {}))  # a spare cause to write in
    name = Box(
        f"{f.name}-c-{h}-name", f"{html_id}-c-{h}-name", _as_text(category.get("name")), HEADING_LIMIT, "Heading"
    )
    return Heading(h, f"{f.name}-c-{h}-id", str(category.get("id") or ""), name, shown, len(shown))


def _fishbone_form(f: Field, html_id: str, value: Any, error: str) -> FieldForm:
    value = value if isinstance(value, dict) else blank_value(f)
    categories = [c for c in value.get("categories") or [] if isinstance(c, dict)]
    headings = [_heading(f, html_id, str(i), c) for i, c in enumerate(categories)]
    problem = Box(f"{f.name}-problem", html_id, _as_text(value.get("problem")), PROBLEM_LIMIT)
    return FieldForm(
        f,
        html_id,
        error,
        problem=problem,
        headings=headings,
        new_heading=_heading(f, html_id, NEW_HEADING, {}),
        spare_heading=_heading(f, html_id, str(len(headings)), {}),
        new_cause=_cause(f, html_id, NEW_HEADING, NEW_CAUSE, {}),
    )


def field_texts(definition: Section, data: dict[str, Any]) -> list[FieldText]:
    """The section's fields as text to read, in the order the section asks for them."""
    texts = []
    for f in definition.fields:
        value = data.get(f.name, blank_value(f))
        if f.kind == TABLE:
            rows = [[str(r.get(c.name, "")) for c in f.columns] for r in value or [] if isinstance(r, dict)]
            texts.append(
                FieldText(f.label, f.hint, f.kind, bool(rows), columns=[c.label for c in f.columns], rows=rows)
            )
        elif f.kind == FISHBONE:
            value = value if isinstance(value, dict) else blank_value(f)
            headings = [
                {"name": c.get("name", ""), "causes": [x.get("text", "") for x in c.get("causes") or []]}
                for c in value.get("categories") or []
            ]
            problem = str(value.get("problem", ""))
            written = bool(problem.strip()) or any(h["causes"] for h in headings)
            texts.append(FieldText(f.label, f.hint, f.kind, written, problem=problem, headings=headings))
        else:
            text = _as_text(value)
            texts.append(FieldText(f.label, f.hint, f.kind, bool(text.strip()), text=text))
    return [dataclasses.replace(t, label_is_title=t.label == definition.title) for t in texts]


def patient_data_at(definition: Section, data: dict[str, Any]) -> dict[str, str]:
    """For each field whose text looks like a patient's data, a message saying why."""
    found = {}
    for f in definition.fields:
        warnings = sorted({w for text in texts_in(data.get(f.name)) for w in patient_data_warnings(text)})
        if warnings:
            found[f.name] = "This may identify a patient. " + " ".join(warnings)
    return found


def saved_label(section: WorkbookSection, *, full_name: bool = False) -> str:
    """'Saved 10:42 by Priya', with the date when it was not today; 'Not saved yet' for an untouched section."""
    if section.updated_at is None:
        return "Not saved yet"
    when = timezone.localtime(section.updated_at)
    day = "" if when.date() == timezone.localdate() else f" on {format_date(when, 'j F Y')}"
    who = "someone"
    if section.updated_by is not None:
        who = section.updated_by.get_full_name() if full_name else section.updated_by.get_short_name()
    return f"Saved {format_date(when, 'H:i')}{day} by {who}"


@dataclass(frozen=True)
class SectionPage:
    """Everything a section's part of the page shows: its form or its text, messages, and who saved it last."""

    definition: Section
    section: WorkbookSection
    fields: list[FieldForm]
    texts: list[FieldText]
    example: list[FieldText]
    version: int
    complete: bool
    errors: dict[str, str] = dataclasses.field(default_factory=dict)
    message: str = ""
    patient_data: list[str] = dataclasses.field(default_factory=list)
    confirmed: bool = False
    theirs: list[FieldText] = dataclasses.field(default_factory=list)

    @property
    def key(self) -> str:
        return self.definition.key

    @property
    def saved(self) -> str:
        return saved_label(self.section)

    @property
    def saved_in_full(self) -> str:
        return saved_label(self.section, full_name=True)

    @property
    def in_conflict(self) -> bool:
        return bool(self.message)

    @property
    def error_links(self) -> list[tuple[str, str]]:
        """The error summary: each message with the id of the field it is about."""
        return [(f"{self.key}-{name}", message) for name, message in self.errors.items()]


def section_page(
    definition: Section,
    section: WorkbookSection,
    *,
    data: dict[str, Any] | None = None,
    complete: bool | None = None,
    version: int | None = None,
    errors: dict[str, str] | None = None,
    patient_data: list[str] | None = None,
    confirmed: bool = False,
) -> SectionPage:
    """The section as saved, or as the user typed it (``data``) with the messages about it.

    A refused save passes the ``version`` the user's page was showing: the page must never
    learn a newer version without the newer text, or its next save would overwrite it.
    """
    shown = section.data if data is None else data
    errors = errors or {}
    return SectionPage(
        definition=definition,
        section=section,
        fields=field_forms(definition, shown, errors),
        texts=field_texts(definition, shown),
        example=field_texts(definition, definition.example),
        version=section.version if version is None else version,
        complete=section.complete if complete is None else complete,
        errors=errors,
        patient_data=patient_data or [],
        confirmed=confirmed,
    )


def conflict_page(
    definition: Section, current: WorkbookSection, *, data: dict[str, Any], complete: bool, message: str
) -> SectionPage:
    """The saved version (theirs) beside what this user typed (yours), with the saved version's number to merge onto."""
    page = section_page(definition, current, data=data, complete=complete)
    return dataclasses.replace(page, message=message, theirs=field_texts(definition, current.data))


def error_at(definition: Section, field_name: str | None) -> str:
    """The field a service's message belongs to: the one it names, or the section's first field."""
    names = [f.name for f in definition.fields]
    return field_name if field_name in names else names[0]
