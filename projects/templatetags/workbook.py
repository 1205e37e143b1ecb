"""``{% load workbook %}``: a section's fields as text to read (``projects.workbook_texts``)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.safestring import SafeString

from projects import workbook_texts
from projects.workbook import Section
from projects.workbook_forms import FieldText

register = template.Library()


@register.filter
def texts_html(texts: Iterable[FieldText]) -> SafeString:
    return workbook_texts.texts_html(texts)


@register.filter
def example_html(definition: Section) -> SafeString:
    return workbook_texts.example_html(definition)
