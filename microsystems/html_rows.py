"""Helpers for list rows written in Python (``projects.tables``, ``coaching.tables``): one ``reverse`` per list."""

from __future__ import annotations

from html import escape

from django.urls import reverse

SENTINEL = 987654321


def url_pattern(name: str, *args: object) -> str:
    """The escaped URL of ``name`` with ``{}`` where the last argument, the row's id, goes: ``.format(pk)`` per row."""
    return escape(reverse(name, args=[*args, SENTINEL])).replace(str(SENTINEL), "{}")
