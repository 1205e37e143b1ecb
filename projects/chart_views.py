"""A measure's charts: the partial that polls while a chart is drawn, and the stored PNG and SVG files.

The file view is on the hot path of every measure page, so it does no analysis and no drawing:
one query that checks the scope and reads the measure's chart row, and a read from storage. The URL of a
file carries its key (``?v=<key>``), so the browser may keep it for ever; without the key the
response is revalidated against its ``ETag``.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch
from django.utils.http import content_disposition_header, parse_etags
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods, require_safe

from microsystems.access import AuthenticatedRequest, deny

from .chart_cache import FORMATS, KINDS, chart_for, refresh_charts
from .models import Chart, Measure
from .selectors import projects_for
from .views import get_project

EDIT = "projects.edit_improvement"
CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml"}
FOREVER = "private, max-age=31536000, immutable"
# A chart's SVG viewed on its own: matplotlib styles it inline, and it has no scripts.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def chart_status(request: AuthenticatedRequest, pk: int, measure_id: int, kind: str) -> HttpResponse:
    """The chart partial; htmx polls it while the chart is drawn. A POST asks for a failed chart again."""
    if kind not in KINDS:
        raise Http404("No such chart.")
    project = get_project(request, pk, needs=EDIT if request.method == "POST" else "")
    measure = get_object_or_404(Measure.objects.filter(project=project), pk=measure_id)
    if request.method == "POST":
        refresh_charts(measure.pk)  # no transaction is open: queue it now, so the partial shows it pending
        if request.headers.get("HX-Request") != "true":
            return _back_to(measure)
    chart = chart_for(measure, kind, can_retry=request.user.has_perm(EDIT, project))
    return render(request, "projects/charts/_chart.html", {"chart": chart})


def _not_found(request: AuthenticatedRequest) -> Http404:
    """Outside the user's scope, another project's measure, or not drawn yet: all look the same, and are logged."""
    return deny(request, "projects.view_chart")


def _matches(if_none_match: str, etag: str) -> bool:
    """The weak comparison If-None-Match asks for (RFC 9110, 13.1.2)."""
    tags = parse_etags(if_none_match)
    return "*" in tags or etag in (tag.removeprefix("W/") for tag in tags)


def _back_to(measure: Measure) -> HttpResponse:
    try:
        return redirect(measure)
    except NoReverseMatch:  # the measure page is not there yet
        return redirect("projects:overview", measure.project_id)


@login_required
@require_safe
def chart_file(request: AuthenticatedRequest, pk: int, measure_id: int, kind: str, fmt: str) -> HttpResponse:
    """The stored PNG or SVG of a ready chart, with its key as a strong ETag.

    One query checks the project is in the user's scope, the measure is the project's, and reads
    the chart row: this is the hot path of every measure page.
    """
    if kind not in KINDS or fmt not in FORMATS:
        raise Http404("No such chart.")
    row = (
        Chart.objects.filter(
            measure_id=measure_id,
            measure__project__in=projects_for(request.user).filter(pk=pk),
            kind=kind,
            status=Chart.Status.READY,
        )
        .values_list("key", fmt, "measure__name")
        .first()
    )
    if row is None or not row[1]:
        raise _not_found(request)
    key, name, measure_name = row
    headers = {"ETag": f'"{key}"', "Cache-Control": FOREVER if request.GET.get("v") == key else "private, no-cache"}
    if _matches(request.headers.get("If-None-Match", ""), headers["ETag"]):
        return HttpResponseNotModified(headers=headers)
    try:
        with default_storage.open(name, "rb") as stored:
            content = stored.read()
    except FileNotFoundError:
        raise Http404("The chart file is missing.") from None
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt], headers=headers)
    if fmt == "svg":
        response["Content-Security-Policy"] = SVG_POLICY
    if request.GET.get("download"):
        filename = f"{slugify(measure_name) or 'measure'}-{kind}-chart.{fmt}"
        response["Content-Disposition"] = content_disposition_header(True, filename) or "attachment"
    return response
