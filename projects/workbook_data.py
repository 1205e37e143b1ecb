"""Checking a workbook section's submitted data against its definition before it is saved."""

from __future__ import annotations

import uuid
from typing import Any

from .workbook import (
    CELL_LIMIT,
    FISHBONE,
    HEADING_LIMIT,
    MAX_CATEGORIES,
    MAX_CAUSES,
    MAX_ROWS,
    PROBLEM_LIMIT,
    TABLE,
    Field,
    Section,
)


def _error(message: str, field: str) -> Exception:
    from .services import ProjectError  # the service's error, raised from here to keep one vocabulary

    return ProjectError(message, field=field)


def _text(value: Any, limit: int, label: str, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _error(f"{label} must be text.", field)
    value = value.replace("\r\n", "\n")
    if len(value) > limit:
        raise _error(f"{label} must be {limit:,} characters or fewer (it has {len(value):,}).", field)
    return value


def _table(f: Field, value: Any) -> list[dict[str, str]]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise _error(f"{f.label} must be a list of rows.", f.name)
    if len(value) > MAX_ROWS:
        raise _error(f"{f.label} can have at most {MAX_ROWS} rows.", f.name)
    rows = []
    for number, row in enumerate(value, 1):
        if not isinstance(row, dict):
            raise _error(f"Row {number} of {f.label} is not a row.", f.name)
        cleaned = {c.name: _text(row.get(c.name, ""), c.limit, f"{c.label} in row {number}", f.name) for c in f.columns}
        if any(v.strip() for v in cleaned.values()):
            rows.append(cleaned)
    return rows


def _fishbone(f: Field, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _error("The fishbone is not in the right shape.", f.name)
    problem = _text(value.get("problem", ""), PROBLEM_LIMIT, "The problem statement", f.name)
    categories = value.get("categories") or []
    if not isinstance(categories, list) or len(categories) > MAX_CATEGORIES:
        raise _error(f"The fishbone can have at most {MAX_CATEGORIES} headings.", f.name)
    cleaned = []
    for category in categories:
        if not isinstance(category, dict):
            raise _error("A fishbone heading is not in the right shape.", f.name)
        name = _text(category.get("name", ""), HEADING_LIMIT, "A heading", f.name).strip()
        if not name:
            raise _error("Every fishbone heading needs a name.", f.name)
        causes = category.get("causes") or []
        if not isinstance(causes, list) or len(causes) > MAX_CAUSES:
            raise _error(f"A heading can have at most {MAX_CAUSES} causes.", f.name)
        kept = []
        for cause in causes:
            text = _text(cause.get("text", "") if isinstance(cause, dict) else cause, CELL_LIMIT, "A cause", f.name)
            if text.strip():
                cause_id = cause.get("id") if isinstance(cause, dict) else None
                kept.append({"id": str(cause_id or uuid.uuid4().hex[:8])[:20], "text": text})
        cleaned.append({"id": str(category.get("id") or uuid.uuid4().hex[:8])[:20], "name": name, "causes": kept})
    return {"problem": problem, "categories": cleaned}


def clean_section_data(section: Section, data: dict[str, Any]) -> dict[str, Any]:
    """The section's data with only its own fields, each checked for type and length."""
    if not isinstance(data, dict):
        raise _error("The section's data is not in the right shape.", section.fields[0].name)
    cleaned: dict[str, Any] = {}
    for f in section.fields:
        value = data.get(f.name)
        if f.kind == TABLE:
            cleaned[f.name] = _table(f, value)
        elif f.kind == FISHBONE:
            cleaned[f.name] = _fishbone(f, value if value is not None else {"problem": "", "categories": []})
        else:
            cleaned[f.name] = _text(value, f.limit, f.label, f.name)
    return cleaned
