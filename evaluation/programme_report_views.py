"""The programme report's pages: ask for a year's PDF, watch it being made, download it.

Only the lead and finance of the report's commissioner (and a staff admin) reach any of them:
``scope_from_request`` and ``reports_for`` make everyone else's request a 404.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from microsystems.access import AuthenticatedRequest, get_in_scope_or_404
from microsystems.forms import CrispyForm
from projects.models.payments import financial_year_label, financial_year_of
from projects.views import posted

from .models import ProgrammeReport, RenderStatus
from .programme_report import reports_for, request_report
from .reporting import Scope, scope_from_request, years_offered

LISTED = 20  # the most recent reports the page lists


class ProgrammeReportForm(CrispyForm):
    year = forms.TypedChoiceField(
        label="Financial year",
        coerce=int,
        error_messages={
            "required": "Choose the financial year to report on.",
            "invalid_choice": "Choose a financial year from the list.",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["year"]
        field.choices = [(year, financial_year_label(year)) for year in years_offered()]


@login_required
@require_http_methods(["GET", "POST"])
def programme_report(request: AuthenticatedRequest) -> HttpResponse:
    scope, scope_form = scope_from_request(request)
    default_year = scope.year or financial_year_of(timezone.localdate())
    form = ProgrammeReportForm(posted(request), initial={"year": default_year})
    if request.method == "POST" and form.is_valid():
        year = form.cleaned_data["year"]
        report, reused = request_report(scope.commissioner, year, request.user)
        messages.success(request, _requested_message(report, reused))
        return redirect(page_url(scope, year))
    reports = ProgrammeReport.objects.filter(commissioner=scope.commissioner).select_related("requested_by")
    context = {
        "scope": scope,
        "scope_form": scope_form,
        "several_commissioners": len(scope_form.fields["commissioner"].choices) > 1,  # type: ignore[attr-defined]
        "form": form,
        "reports": [(r, financial_year_label(r.financial_year)) for r in reports[:LISTED]],
    }
    return render(request, "evaluation/programme_report.html", context)


def page_url(scope: Scope, year: int) -> str:
    """The page again, for the same commissioner, with the year just asked for chosen."""
    return f"{reverse('programme:programme_report')}?commissioner={scope.commissioner.pk}&year={year}"


def _requested_message(report: ProgrammeReport, reused: bool) -> str:
    year = financial_year_label(report.financial_year)
    if reused:
        return f"Already generated for unchanged data: reused. The programme report for {year} is below."
    return f"The programme report for {year} is being made. The download link appears below when it is ready."


@login_required
@require_GET
def programme_report_status(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The htmx partial the page polls while the report is made."""
    report = get_in_scope_or_404(reports_for(request.user), request, pk=pk)
    context = {"report": report, "year_label": financial_year_label(report.financial_year)}
    return render(request, "evaluation/programme_report_status.html", context)


@login_required
@require_GET
def programme_report_download(request: AuthenticatedRequest, pk: int) -> FileResponse:
    ready = reports_for(request.user).filter(status=RenderStatus.READY).exclude(file="").select_related("commissioner")
    report = get_in_scope_or_404(ready, request, pk=pk)
    label = financial_year_label(report.financial_year).replace("/", "-")
    filename = f"programme-report-{report.commissioner.ods_code}-{label}.pdf"
    return FileResponse(report.file.open("rb"), as_attachment=True, filename=filename, content_type="application/pdf")
