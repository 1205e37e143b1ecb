"""The practice directory as a sortable table."""

from __future__ import annotations

import django_tables2 as tables
from django.http import QueryDict

from .models import Practice


class PracticeTable(tables.Table):
    name = tables.Column(linkify=True, verbose_name="Practice")
    ods_code = tables.Column(verbose_name="ODS code")
    pcn = tables.Column(verbose_name="PCN", order_by=("pcn__name",), default="—")
    postcode = tables.Column()
    list_size = tables.Column(verbose_name="List size", default="—")
    engagement = tables.Column()
    cohort = tables.Column(verbose_name="Cohort", default="—")
    staff_count = tables.Column(verbose_name="Staff")

    class Meta:
        model = Practice
        fields = ["name", "ods_code", "pcn", "postcode", "list_size", "engagement", "cohort", "staff_count"]
        attrs = {"class": "table table-hover align-middle"}
        per_page = 25
        empty_text = "No practices match. Clear the filters or import practices from the ODS file."
        orderable = True


def _with(query: QueryDict, **changes: object) -> str:
    params = query.copy()
    for key, value in changes.items():
        params[key] = str(value)
    return "?" + params.urlencode()


def table_links(table: tables.Table, query: QueryDict) -> dict[str, object]:
    """Sort links for each header and previous/next page links, keeping the filters in place."""
    headers = []
    for column in table.columns:
        alias = column.order_by_alias
        headers.append(
            {
                "label": column.header,
                "href": _with(query, **{table.prefixed_order_by_field: alias.next, table.prefixed_page_field: 1})
                if column.orderable
                else "",
                "sort": ("descending" if alias.is_descending else "ascending") if column.is_ordered else "",
            }
        )
    page = table.page
    return {
        "headers": headers,
        "previous": _with(query, **{table.prefixed_page_field: page.previous_page_number()})
        if page.has_previous()
        else "",
        "next": _with(query, **{table.prefixed_page_field: page.next_page_number()}) if page.has_next() else "",
    }
