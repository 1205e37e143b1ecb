"""The programme reports' pages: one page per report with its charts and tables, its CSV, and a chart's poll partial.

Who may see them is the scope's business (``scope_from_request``): the lead and finance of a
commissioner see its reports, a staff admin any commissioner's, everyone else a 404. What a
report holds is its module's (``evaluation/reports/<slug>.py``); these views only show it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from microsystems.access import AuthenticatedRequest, get_in_scope_or_404
from projects.charts import long_date, number
from projects.payments.exports import neutralised

from .data_version import cached
from .models import ReportChart
from .report_charts import chart_view, chart_views
from .reporting import (
    REPORTS,
    Report,
    Scope,
    ScopeForm,
    Table,
    Value,
    cached_report,
    commissioners_reported_on,
    scope_from_request,
)

PAGE_ROWS = 50  # rows a table shows on the page (a page to read, not to scroll); the CSV has them all


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool = False


@dataclass(frozen=True)
class TableView:
    """A report's table as the page prints it: every value as text, numbers marked to align right."""

    title: str
    headers: tuple[Cell, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str
    empty: str
    total_rows: int

    @property
    def more(self) -> bool:
        return self.total_rows > len(self.rows)

    @property
    def body_html(self) -> SafeString:
        """The rows as ``<tr>`` markup, written in Python: a template tag per cell cost most of the page.

        Every text is escaped, as the template's autoescape would.
        """
        lines = []
        for row in self.rows:
            cells = []
            for i, cell in enumerate(row):
                text = escape(cell.text)
                if i == 0:
                    cells.append(f'<th scope="row"{_RIGHT if cell.numeric else ""}>{text}</th>')
                else:
                    cells.append(f"<td{_RIGHT_NOWRAP if cell.numeric else ''}>{text}</td>")
            lines.append(f"<tr>{''.join(cells)}</tr>")
        return mark_safe("\n".join(lines))  # noqa: S308  (every text escaped above)


_RIGHT = ' class="text-end"'
_RIGHT_NOWRAP = ' class="text-end text-nowrap"'


def shown(value: Value | bool) -> str:
    """A value as the NHS content style writes it: "3 March 2025", "1,250", "12.5", "—" for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, date):
        return long_date(value)
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, int | float):
        return number(value)
    return str(value)


def table_views(tables: tuple[Table, ...], *, limit: int | None = PAGE_ROWS) -> list[TableView]:
    """The tables for ``includes/report_tables.html``; ``limit=None`` prints every row (the PDF)."""
    views = []
    for table in tables:
        kept = table.rows if limit is None else table.rows[:limit]
        numeric = [column.numeric for column in table.columns]
        views.append(
            TableView(
                title=table.title,
                headers=tuple(Cell(column.label, column.numeric) for column in table.columns),
                rows=tuple(tuple(Cell(shown(v), n) for v, n in zip(row, numeric, strict=False)) for row in kept),
                note=table.note,
                empty=table.empty,
                total_rows=len(table.rows),
            )
        )
    return views


def _scope(request: AuthenticatedRequest, slug: str) -> tuple[Scope, ScopeForm]:
    """The scope asked for; a 404 for an unknown report or anyone who may not see reports."""
    if slug not in REPORTS:
        raise Http404("No such report.")
    return scope_from_request(request)


def _page_of(slug: str, scope: Scope) -> tuple[Report, list[TableView]]:
    """The report as its page shows it, kept like the report: without the CSV's rows, tables cut to the page.

    Read back from the cache on every view, the whole report (thousands of CSV rows) cost more than the page.
    """

    def page() -> tuple[Report, list[TableView]]:
        built = cached_report(slug, scope)
        return replace(built, csv_rows=(), tables=()), table_views(built.tables)

    return cached(f"report-page:{slug}", scope.cache_part(), timezone.localdate(), page)


@login_required
@require_safe
def report(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """A report for the chosen commissioner, PCN and year: its highlights, charts and tables."""
    scope, form = _scope(request, slug)
    built, tables = _page_of(slug, scope)
    context = {
        "report": built,
        "scope": scope,
        "form": form,
        "here": slug,
        "charts": chart_views(built.charts, scope.commissioner),
        "highlights": [(label, shown(value)) for label, value in built.highlights],
        "tables": tables,
        "searchable": slug == "outcomes",
    }
    return render(request, "evaluation/report.html", context)


def csv_filename(built: Report) -> str:
    """``typology-nhs-west-kent-riverside-pcn-2025-26.csv``: the report, commissioner, PCN if any, and year."""
    scope = built.scope
    parts = [built.slug, slugify(scope.commissioner.name)]
    if scope.pcn is not None:
        parts.append(slugify(scope.pcn.name))
    parts.append(slugify(scope.year_label.replace("/", "-")))
    return "-".join(part for part in parts if part) + ".csv"


@login_required
@require_safe
@never_cache
def report_csv(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """The report's rows as a CSV Excel opens cleanly: UTF-8 with a byte-order mark, formula-like text neutralised."""
    scope, _ = _scope(request, slug)
    built = cached_report(slug, scope)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{csv_filename(built)}"'
    response.write("\ufeff")
    writer = csv.writer(response, lineterminator="\r\n")
    writer.writerow([neutralised(label) for label in built.csv_header])
    writer.writerows([_csv_cell(value) for value in row] for row in built.csv_rows)
    return response


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return neutralised(value)


@login_required
@require_safe
def chart(request: AuthenticatedRequest, key: str) -> HttpResponse:
    """One report chart, polled by htmx while it is drawn; only whoever may see its commissioner's reports."""
    charts = ReportChart.objects.filter(commissioner__in=commissioners_reported_on(request.user))
    row = get_in_scope_or_404(charts, request, key=key)
    return render(request, "evaluation/includes/report_chart.html", {"chart": chart_view(row)})
