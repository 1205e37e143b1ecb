"""The online workbook: a step's sections, written together and saved as people type, and each section's history.

A save names the version the page was showing. The page's script posts with an
``HX-Request`` header and gets back the section's fragment (409 with both texts on a
conflict, 422 with the messages on a refusal); a plain form post gets the whole page, or
a redirect back to the section once saved.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from microsystems.access import AuthenticatedRequest, get_in_scope_or_404

from .master_views import STEP_GUIDANCE
from .models import Project, Step, WorkbookSection
from .services import PossiblePatientData, ProjectError, SectionConflict, restore_section, save_section
from .views import WORKBOOK_PAGES, get_project
from .workbook import SECTIONS_BY_KEY, Section, sections_for
from .workbook_forms import (
    SectionPage,
    conflict_page,
    error_at,
    field_texts,
    patient_data_at,
    posted_version,
    section_data,
    section_page,
)

EDIT = "projects.edit_workbook"
HEADINGS = {Step.ASSESS: "Assess: the 5Ps", Step.DIAGNOSE: "Diagnose"}
VERSIONS_PER_PAGE = 20


def _is_fragment(request: AuthenticatedRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _get_section(request: AuthenticatedRequest, project: Project, key: str) -> tuple[Section, WorkbookSection]:
    """The section's definition and row; a key with no workbook page (or no row) is a 404."""
    definition = SECTIONS_BY_KEY.get(key)
    if definition is None or definition.step not in WORKBOOK_PAGES:
        raise Http404("No such section.")
    return definition, get_in_scope_or_404(project.sections.select_related("updated_by"), request, key=key)


def _section_url(project: Project, definition: Section) -> str:
    return f"{reverse('projects:workbook', args=[project.pk, definition.step])}#section-{definition.key}"


@login_required
def workbook_step(request: AuthenticatedRequest, pk: int, step: str) -> HttpResponse:
    project = get_project(request, pk)
    return _step_page(request, project, step)


def _step_page(
    request: AuthenticatedRequest, project: Project, step: str, shown: SectionPage | None = None, status: int = 200
) -> HttpResponse:
    """The step's sections in the method's order; ``shown`` replaces one of them (a refused or conflicting save)."""
    definitions = sections_for(step) if step in WORKBOOK_PAGES else ()
    if not definitions:
        raise Http404("That step has no workbook page.")
    rows = {
        s.key: s for s in project.sections.filter(key__in=[d.key for d in definitions]).select_related("updated_by")
    }
    pages = [
        shown if shown is not None and shown.key == d.key else section_page(d, rows[d.key])
        for d in definitions
        if d.key in rows
    ]
    context = {
        "project": project,
        "step": Step(step),
        "heading": HEADINGS[Step(step)],
        "guidance": STEP_GUIDANCE[Step(step)],
        "pages": pages,
        "done": sum(p.section.complete for p in pages),
        "other_steps": [Step(s) for s in WORKBOOK_PAGES if s != step],
        "can_edit": request.user.has_perm(EDIT, project),
        "shown": shown,
    }
    return render(request, "projects/workbook/step.html", context, status=status)


@login_required
@require_POST
def save(request: AuthenticatedRequest, pk: int, key: str) -> HttpResponse:
    project = get_project(request, pk, needs=EDIT)
    definition, section = _get_section(request, project, key)
    data, complete = section_data(definition, request.POST), request.POST.get("complete") == "yes"
    confirmed, version = request.POST.get("confirm_not_patient_data") == "yes", posted_version(request.POST)
    try:
        saved = save_section(
            section=section,
            data=data,
            base_version=version,
            by=request.user,
            complete=complete,
            confirmed_not_patient_data=confirmed,
        )
    except ProjectError as e:
        return _refused(request, project, definition, section, e, data=data, complete=complete, version=version)
    if not _is_fragment(request):
        messages.success(request, f"{definition.title} saved.")
        return redirect(_section_url(project, definition))
    still_flagged = confirmed and bool(patient_data_at(definition, saved.data))
    return _respond(request, project, section_page(definition, saved, confirmed=still_flagged))


def _refused(
    request: AuthenticatedRequest,
    project: Project,
    definition: Section,
    section: WorkbookSection,
    error: ProjectError,
    *,
    data: dict[str, Any],
    complete: bool,
    version: int,
) -> HttpResponse:
    """What the user typed, kept, with why it was not saved: at the field, or beside the other person's version."""
    if isinstance(error, SectionConflict):
        page = conflict_page(definition, error.section, data=data, complete=complete, message=str(error))
        return _respond(request, project, page, status=409)
    if isinstance(error, PossiblePatientData):
        errors, flagged = patient_data_at(definition, data), error.warnings
    else:
        errors, flagged = {error_at(definition, error.field): str(error)}, []
    page = section_page(
        definition, section, data=data, complete=complete, version=version, errors=errors, patient_data=flagged
    )
    return _respond(request, project, page, status=422)


def _respond(request: AuthenticatedRequest, project: Project, page: SectionPage, status: int = 200) -> HttpResponse:
    if not _is_fragment(request):
        return _step_page(request, project, page.definition.step, shown=page, status=status)
    template = "_conflict.html" if page.in_conflict else "_section.html"
    context = {"project": project, "s": page, "can_edit": True, "fragment": True}
    return render(request, f"projects/workbook/{template}", context, status=status)


@login_required
def history(request: AuthenticatedRequest, pk: int, key: str) -> HttpResponse:
    project = get_project(request, pk)
    definition, section = _get_section(request, project, key)
    versions = section.history.select_related("history_user").order_by("-history_date", "-history_id")  # type: ignore[attr-defined]
    page = Paginator(versions, VERSIONS_PER_PAGE).get_page(request.GET.get("page"))
    entries = [
        {"record": v, "texts": field_texts(definition, v.data), "current": v.version == section.version} for v in page
    ]
    context = {
        "project": project,
        "definition": definition,
        "section": section,
        "page": page,
        "entries": entries,
        "can_edit": request.user.has_perm(EDIT, project),
        "back": _section_url(project, definition),
    }
    return render(request, "projects/workbook/history.html", context)


@login_required
@require_POST
def restore(request: AuthenticatedRequest, pk: int, key: str, history_id: int) -> HttpResponse:
    project = get_project(request, pk, needs=EDIT)
    definition, section = _get_section(request, project, key)
    earlier = get_in_scope_or_404(section.history.all(), request, history_id=history_id)  # type: ignore[attr-defined]
    try:
        restored = restore_section(section=section, history_id=history_id, by=request.user)
    except SectionConflict:
        messages.error(request, "Someone saved this section a moment ago. Look at the latest version, then try again.")
        return redirect("projects:section_history", pk=project.pk, key=key)
    messages.success(
        request, f"{definition.title}: version {earlier.version} is back, saved as version {restored.version}."
    )
    return redirect(_section_url(project, definition))
