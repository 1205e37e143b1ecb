"""Helpers for list rows written in Python (``projects.tables``, ``coaching.tables``): one ``reverse`` per list."""

from __future__ import annotations

from html import escape

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

SENTINEL = 987654321


def url_pattern(name: str, *args: object) -> str:
    """The escaped URL of ``name`` with ``{}`` where the last argument, the row's id, goes: ``.format(pk)`` per row."""
    return escape(reverse(name, args=[*args, SENTINEL])).replace(str(SENTINEL), "{}")


ARROWS = {"ascending": '<span aria-hidden="true"> ▲</span>', "descending": '<span aria-hidden="true"> ▼</span>'}


def headers_html(headers: list[dict[str, object]]) -> SafeString:
    """A sortable table's header cells from ``practices.tables.table_links``' headers: a link that sorts by the
    column (with an arrow for the current order) or the plain label, and ``aria-sort`` on the sorted one."""
    cells = []
    for h in headers:
        sort = str(h["sort"] or "")
        label = escape(str(h["label"]))
        aria = f' aria-sort="{escape(sort)}"' if sort else ""
        inner = f'<a href="{escape(str(h["href"]))}">{label}{ARROWS.get(sort, "")}</a>' if h["href"] else label
        cells.append(f'<th scope="col"{aria}>\n        {inner}\n      </th>')
    return mark_safe("\n      ".join(cells))  # noqa: S308  (every value is escaped)
