"""A project's measures: the list, adding and changing a measure, its page with charts and data, imports and the CSV.

The data table edits rows in place with htmx: a row's "Change" fetches the row as a form, a
save returns the row (or the form again with its messages, status 422), and each change tells
the page (``HX-Trigger: measure-changed``) to fetch the charts and the summary again. Without
JavaScript the same links and forms work as plain pages and redirects.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from microsystems.access import AuthenticatedRequest, get_in_scope_or_404, not_in_scope
from microsystems.compiled import CompiledQuery
from microsystems.forms import apply_error

from .chart_cache import charts_for
from .measure_csv import csv_filename, values_csv
from .measure_forms import ImportForm, MeasureForm, ValueForm
from .measures import (
    ImportRefused,
    ProjectError,
    add_value,
    amount,
    analysis_summary,
    create_measure,
    import_values,
    measures_with_latest,
    remove_measure,
    remove_value,
    update_measure,
    update_value,
)
from .models import Measure, MeasureValue, Project
from .tables import value_rows_html
from .views import get_project, posted

EDIT = "projects.edit_improvement"
CHANGED = "measure-changed"


def _is_htmx(request: AuthenticatedRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


_MEASURE = CompiledQuery(
    lambda project_id, measure_id: Measure.objects.filter(project_id=project_id, pk=measure_id).select_related(
        "specific_aim"
    )
)
_VALUES = CompiledQuery(lambda measure_id: MeasureValue.objects.filter(measure_id=measure_id))


def _get_measure(request: AuthenticatedRequest, project: Project, measure_id: int) -> Measure:
    """The project's measure (a 404 for any other), read with a query compiled once per process."""
    measure = next(iter(_MEASURE(project.pk, measure_id)), None)
    if measure is None:
        raise not_in_scope(request, "measure")
    measure.project = project  # already read: no join for it
    return measure


def _get_value(request: AuthenticatedRequest, measure: Measure, value_id: int) -> MeasureValue:
    value = get_in_scope_or_404(MeasureValue.objects.filter(measure=measure), request, pk=value_id)
    value.measure = measure
    return value


def _measure_url(measure: Measure, anchor: str = "") -> str:
    return reverse("projects:measure", args=[measure.project_id, measure.pk]) + (f"#{anchor}" if anchor else "")


# The list and the measure's settings


@login_required
def measures(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_project(request, pk)
    context = {
        "project": project,
        "measures": measures_with_latest(project),
        "can_edit": request.user.has_perm(EDIT, project),
    }
    return render(request, "projects/measures/list.html", context)


@login_required
def create(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_project(request, pk, needs=EDIT)
    form = MeasureForm(posted(request), project=project)
    if request.method == "POST" and form.is_valid():
        try:
            measure = create_measure(project=project, details=form.details(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"Measure added: {measure.name}. Next, enter its data.")
            return redirect(_measure_url(measure, "data"))
    return render(request, "projects/measures/form.html", {"project": project, "form": form, "measure": None})


@login_required
def edit(request: AuthenticatedRequest, pk: int, measure_id: int) -> HttpResponse:
    project = get_project(request, pk, needs=EDIT)
    measure = _get_measure(request, project, measure_id)
    form = MeasureForm(posted(request), project=project, initial=MeasureForm.initial_for(measure))
    if request.method == "POST" and form.is_valid():
        try:
            update_measure(measure=measure, details=form.details(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"Measure saved: {measure.name}.")
            return redirect(measure)
    return render(request, "projects/measures/form.html", {"project": project, "form": form, "measure": measure})


@login_required
def remove(request: AuthenticatedRequest, pk: int, measure_id: int) -> HttpResponse:
    """A confirmation page that says how many values will go; the POST removes them."""
    project = get_project(request, pk, needs=EDIT)
    measure = _get_measure(request, project, measure_id)
    if request.method == "POST":
        count = remove_measure(measure=measure, by=request.user)
        messages.success(request, f"Measure removed: {measure.name}, with {count} value{'s' if count != 1 else ''}.")
        return redirect("projects:measures", pk=project.pk)
    context = {"project": project, "measure": measure, "count": measure.values.count()}
    return render(request, "projects/measures/remove.html", context)


# The measure's page


@login_required
def measure(request: AuthenticatedRequest, pk: int, measure_id: int) -> HttpResponse:
    project = get_project(request, pk)
    return _measure_page(request, project, _get_measure(request, project, measure_id))


def _measure_page(
    request: AuthenticatedRequest,
    project: Project,
    measure: Measure,
    *,
    add_form: ValueForm | None = None,
    import_form: ImportForm | None = None,
    import_errors: list[Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    can_edit = request.user.has_perm(EDIT, project)
    values = _VALUES(measure.pk)  # in period order, as ``measure.values`` gives them
    context = {
        "project": project,
        "measure": measure,
        "values": values,
        "rows_html": _rows_html(request, measure, values, can_edit=can_edit),
        "target": amount(measure.target, measure.unit, places=3) if measure.target is not None else "",
        "can_edit": can_edit,
        "add_form": add_form or ValueForm(prefix="new"),
        "import_form": import_form or ImportForm(),
        "import_errors": import_errors or [],
        **_analysis(measure, values, can_edit),
    }
    return render(request, "projects/measures/measure.html", context, status=status)


def _analysis(measure: Measure, values: list[MeasureValue], can_edit: bool) -> dict[str, Any]:
    return {
        "charts": charts_for(measure, values=values, can_retry=can_edit),
        "summary": analysis_summary(measure, values),
        "changed_event": CHANGED,
    }


@login_required
@require_GET
def analysis(request: AuthenticatedRequest, pk: int, measure_id: int) -> HttpResponse:
    """The charts and the summary, fetched again by the page after the table changes."""
    project = get_project(request, pk)
    measure = _get_measure(request, project, measure_id)
    values = list(measure.values.all())
    can_edit = request.user.has_perm(EDIT, project)
    context = {"project": project, "measure": measure, **_analysis(measure, values, can_edit)}
    return render(request, "projects/measures/_analysis.html", context)


# The rows of the table


def _rows_html(request: AuthenticatedRequest, measure: Measure, values: list[MeasureValue], *, can_edit: bool) -> str:
    """The rows as they read (``tables.value_rows_html``): drawn in Python, a measure has a hundred values."""
    token = get_token(request) if can_edit else ""
    return value_rows_html(
        values, project_id=measure.project_id, measure_id=measure.pk, can_edit=can_edit, csrf_token=token
    )


def _row(request: AuthenticatedRequest, value: MeasureValue, *, changed: bool) -> HttpResponse:
    response = HttpResponse(_rows_html(request, value.measure, [value], can_edit=True))
    if changed:
        response["HX-Trigger"] = CHANGED
    return response


def _rows(request: AuthenticatedRequest, measure: Measure) -> HttpResponse:
    """Every row again, in period order: after a value moves to another period."""
    rows_html = _rows_html(request, measure, list(measure.values.all()), can_edit=True)
    response = render(request, "projects/measures/_values_body.html", {"rows_html": rows_html})
    response["HX-Trigger"], response["HX-Retarget"], response["HX-Reswap"] = CHANGED, "#values-body", "outerHTML"
    return response


def _edit_row(
    request: AuthenticatedRequest, project: Project, value: MeasureValue, form: ValueForm, status: int = 200
) -> HttpResponse:
    context = {"project": project, "measure": value.measure, "v": value, "form": form}
    return render(request, "projects/measures/_value_edit_row.html", context, status=status)


@login_required
@require_POST
def add(request: AuthenticatedRequest, pk: int, measure_id: int) -> HttpResponse:
    project = get_project(request, pk, needs=EDIT)
    measure = _get_measure(request, project, measure_id)
    form = ValueForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            add_value(measure=measure, details=form.details(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            if _is_htmx(request):
                rows_html = _rows_html(request, measure, list(measure.values.all()), can_edit=True)
                context = {"project": project, "measure": measure, "rows_html": rows_html, "can_edit": True}
                context["add_form"] = ValueForm(prefix="new")
                response = render(request, "projects/measures/_value_added.html", context)
                response["HX-Trigger"] = CHANGED
                return response
            messages.success(request, "Value added.")
            return redirect(_measure_url(measure, "data"))
    if _is_htmx(request):
        context = {"project": project, "measure": measure, "add_form": form}
        return render(request, "projects/measures/_add_row.html", context, status=422)
    return _measure_page(request, project, measure, add_form=form)


@login_required
def edit_value(request: AuthenticatedRequest, pk: int, measure_id: int, value_id: int) -> HttpResponse:
    """GET: the row as a form (or a page of its own without JavaScript); POST: save it."""
    project = get_project(request, pk, needs=EDIT)
    measure = _get_measure(request, project, measure_id)
    value = _get_value(request, measure, value_id)
    prefix = f"value-{value.pk}"
    form = ValueForm(posted(request), prefix=prefix, initial=ValueForm.initial_for(value))
    if request.method == "POST" and form.is_valid():
        period = value.period
        try:
            update_value(value=value, details=form.details(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            if _is_htmx(request):
                moved = value.period != period
                return _rows(request, measure) if moved else _row(request, value, changed=True)
            messages.success(request, "Value saved.")
            return redirect(_measure_url(measure, "data"))
    status = 422 if request.method == "POST" else 200
    if _is_htmx(request):
        return _edit_row(request, project, value, form, status)
    context = {"project": project, "measure": measure, "v": value, "form": form}
    return render(request, "projects/measures/value_form.html", context)


@login_required
@require_GET
def value_row(request: AuthenticatedRequest, pk: int, measure_id: int, value_id: int) -> HttpResponse:
    """The row as it reads: what "Cancel" swaps back in."""
    project = get_project(request, pk, needs=EDIT)
    measure = _get_measure(request, project, measure_id)
    value = _get_value(request, measure, value_id)
    if not _is_htmx(request):
        return redirect(_measure_url(measure, "data"))
    return _row(request, value, changed=False)


@login_required
@require_POST
def remove_value_view(request: AuthenticatedRequest, pk: int, measure_id: int, value_id: int) -> HttpResponse:
    project = get_project(request, pk, needs=EDIT)
    measure = _get_measure(request, project, measure_id)
    value = _get_value(request, measure, value_id)
    remove_value(value=value, by=request.user)
    if _is_htmx(request):
        response = HttpResponse("")
        response["HX-Trigger"] = CHANGED
        return response
    messages.success(request, "Value removed.")
    return redirect(_measure_url(measure, "data"))


# Import and download


@login_required
@require_POST
def import_data(request: AuthenticatedRequest, pk: int, measure_id: int) -> HttpResponse:
    project = get_project(request, pk, needs=EDIT)
    measure = _get_measure(request, project, measure_id)
    form = ImportForm(request.POST, request.FILES)
    errors: list[Any] = []
    if form.is_valid():
        try:
            added = import_values(measure=measure, text=form.data_text(), by=request.user)
        except ImportRefused as e:
            errors = e.errors
            form.add_error(None, str(e))
        else:
            messages.success(request, f"{len(added)} value{'s' if len(added) != 1 else ''} added.")
            return redirect(_measure_url(measure, "analysis"))
    return _measure_page(request, project, measure, import_form=form, import_errors=errors)


@login_required
@require_GET
def download(request: AuthenticatedRequest, pk: int, measure_id: int) -> HttpResponse:
    project = get_project(request, pk)
    measure = _get_measure(request, project, measure_id)
    response = HttpResponse(values_csv(measure.values.all()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{csv_filename(measure.name)}"'
    return response
