"""Filters for the shared list templates: parts of a filter form and of a sortable table written in Python."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from microsystems import filtering, html_rows

register = template.Library()


@register.filter
def selects_html(fields: list[Any], col: str) -> SafeString:
    return filtering.selects_html(fields, col)


@register.filter
def headers_html(headers: list[dict[str, object]]) -> SafeString:
    return html_rows.headers_html(headers)
