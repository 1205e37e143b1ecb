"""The funding reports page and its downloads, for finance and the lead (and staff admins).

Anyone else gets a 404, as for anything outside their scope. The reports cover the
commissioners whose funding the user runs; ``year`` picks the financial year (the current one
by default) and, for the CSV, ``view`` picks which report.
"""

from __future__ import annotations

import tempfile
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from microsystems.access import AuthenticatedRequest, deny

from ..models import financial_year_label
from . import reports
from .exports import CSV_VIEWS, SHEETS, csv_for, filename, write_xlsx
from .money import format_pounds
from .reports import CommissionerIds

PAGE_ROWS = 500  # groups or applications shown on the page; the downloads hold them all
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIRST_YEAR, LAST_YEAR = 2000, 2100


class YearForm(forms.Form):
    year = forms.IntegerField(
        label="Financial year",
        min_value=FIRST_YEAR,
        max_value=LAST_YEAR,
        error_messages={
            "invalid": "Choose a financial year from the list.",
            "min_value": "Choose a financial year from the list.",
            "max_value": "Choose a financial year from the list.",
        },
    )

    def __init__(self, *args: Any, years: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(year, financial_year_label(year)) for year in years]
        self.fields["year"].widget = forms.Select(choices=choices, attrs={"class": "form-select"})

    def chosen_year(self) -> int:
        """The year asked for if it is a real one, otherwise the current financial year."""
        if self.is_bound and self.is_valid():
            return int(self.cleaned_data["year"])
        return reports.current_financial_year()


def _scope(request: AuthenticatedRequest) -> CommissionerIds:
    """The commissioners the user reports on; a 404 for anyone who runs the funding of none."""
    scope = reports.report_scope(request.user)
    if scope is not None and not scope:
        raise deny(request, "payments.see_reports")
    return scope


def _export_year(request: AuthenticatedRequest) -> int:
    form = YearForm(request.GET if "year" in request.GET else None, years=[])
    if form.is_bound and not form.is_valid():
        raise Http404("No such financial year.")
    return form.chosen_year()


def _application_entries(year: int, scope: CommissionerIds) -> list[dict[str, Any]]:
    """The page's applications as named fields, amounts shown in pounds."""
    names = [field for _, field in reports.APPLICATION_FIELDS]
    entries = []
    for row in reports.application_rows(year, scope, limit=PAGE_ROWS + 1):
        entry = dict(zip(names, row, strict=True))
        entry["requested_shown"] = format_pounds(entry["amount_requested"])
        entry["approved_shown"] = format_pounds(entry["amount_approved"])
        entries.append(entry)
    return entries


def _summary_table(summary: reports.Summary, year: int, scope: CommissionerIds) -> dict[str, Any]:
    rows = list(reports.summary_rows(summary, year, scope, limit=PAGE_ROWS + 1))
    return {"summary": summary, "rows": rows[:PAGE_ROWS], "more": len(rows) > PAGE_ROWS}


@login_required
@require_GET
def reports_page(request: AuthenticatedRequest) -> HttpResponse:
    scope = _scope(request)
    years = reports.report_years(scope)
    form = YearForm(request.GET if "year" in request.GET else None, years=years)
    year = form.chosen_year()
    if year not in years:
        form.fields["year"].widget.choices = [*form.fields["year"].widget.choices, (year, financial_year_label(year))]
    if not form.is_bound:
        form.initial["year"] = year
    applications = _application_entries(year, scope)
    ongoing = reports.ongoing_projects(year, scope, limit=PAGE_ROWS + 1)
    context = {
        "form": form,
        "year": year,
        "year_label": financial_year_label(year),
        "totals": reports.totals(year, scope),
        "summaries": [_summary_table(summary, year, scope) for summary in reports.SUMMARIES],
        "split": reports.route_split(year, scope),
        "applications": applications[:PAGE_ROWS],
        "more_applications": len(applications) > PAGE_ROWS,
        "application_totals": reports.application_totals(year, scope),
        "ongoing": ongoing[:PAGE_ROWS],
        "more_ongoing": len(ongoing) > PAGE_ROWS,
        "csv_views": CSV_VIEWS.values(),
        "sheets": SHEETS,
        "page_rows": PAGE_ROWS,
    }
    return render(request, "payments/reports.html", context)


@login_required
@require_GET
@never_cache
def export_csv(request: AuthenticatedRequest) -> StreamingHttpResponse:
    """One view of the year's report as CSV, streamed as the database returns the rows."""
    scope = _scope(request)
    view = request.GET.get("view", "payments")
    if view not in CSV_VIEWS:
        raise Http404("No such report.")
    year = _export_year(request)
    response = StreamingHttpResponse(csv_for(view, year, scope), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename(year, view, "csv")}"'
    return response


@login_required
@require_GET
@never_cache
def export_xlsx(request: AuthenticatedRequest) -> FileResponse:
    """Every view of the year's report as one workbook, built in a temporary file and sent from there."""
    scope = _scope(request)
    year = _export_year(request)
    out = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes (and so removes) it once sent
    write_xlsx(out, year, scope)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=filename(year, "", "xlsx"), content_type=XLSX_TYPE)
