"""The practice directory as a sortable table."""

from __future__ import annotations

from html import escape
from typing import Any

import django_tables2 as tables
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.formats import localize
from django.utils.functional import cached_property
from django.utils.safestring import SafeString, mark_safe

from .models import Cohort, Engagement, Practice


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


class CountingPaginator(Paginator):
    """Pages a table's rows but counts ``count_of``, the same rows without the joins their columns need:
    counting the table's own query would join every table a column reads. Pass it in ``RequestConfig``'s
    ``paginate`` with ``count_of``."""

    def __init__(self, object_list: Any, per_page: int, *args: Any, count_of: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(object_list, per_page, *args, **kwargs)
        self.count_of = count_of

    @cached_property
    def count(self) -> int:
        return self.count_of.count()


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


def _or_dash(value: object) -> str:
    """A cell's text, escaped, or a dash when empty (the template's ``|default:"—"``)."""
    return escape(str(localize(value))) if value else "—"


def rows_html(practices: list[Practice], directory_url: str) -> SafeString:
    """The directory's body rows, drawn in Python: a template variable per cell costs too much."""
    engagements = {value: escape(str(label)) for value, label in Engagement.choices}
    cohorts = {value: escape(str(label)) for value, label in Cohort.choices}
    rows = []
    for p in practices:
        pcn = p.pcn
        # staff_count is annotated by practices.selectors.practice_directory.
        staff_count = p.staff_count  # type: ignore[attr-defined]
        ods_code = escape(p.ods_code)
        rows.append(
            "<tr>\n"
            f'      <td><a href="{escape(directory_url)}{ods_code}/">{escape(p.name)}</a></td>\n'
            f"      <td>{ods_code}</td>\n"
            f"      <td>{_or_dash(pcn.name if pcn else None)}</td>\n"
            f"      <td>{_or_dash(p.postcode)}</td>\n"
            f"      <td>{_or_dash(p.list_size)}</td>\n"
            f"      <td>{engagements.get(p.engagement) or escape(p.engagement_label)}</td>\n"
            f"      <td>{cohorts.get(p.cohort) or escape(p.cohort_label)}</td>\n"
            f"      <td>{escape(str(localize(staff_count)))}</td>\n"
            "    </tr>"
        )
    return mark_safe("\n    ".join(rows))  # noqa: S308  (every value is escaped above)
