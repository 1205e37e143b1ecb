"""The coaching agreement's pages: read it, record or change it, download or remove its signed copy.

Everyone who sees the project reads the agreement; its coaches and the programme lead record it
while the project is open (``coaching.record_agreement``). Anyone else gets a 404.
"""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from microsystems.access import AuthenticatedRequest, deny, get_in_scope_or_404
from microsystems.forms import apply_error
from projects.models import Project
from projects.selectors import projects_for
from projects.services import ProjectError
from projects.views import get_project, posted

from .agreement_forms import AgreementForm
from .agreements import record_agreement, remove_signed_copy
from .models import CoachingAgreement

log = logging.getLogger(__name__)

RECORD = "coaching.record_agreement"


def _agreement_of(project: Project) -> CoachingAgreement | None:
    return (
        CoachingAgreement.objects.filter(project=project)
        .select_related("recorded_by")
        .prefetch_related("coaches")
        .first()
    )


def _get_project(request: AuthenticatedRequest, project_id: int, *, needs: str = "") -> Project:
    """The project in scope, with its coaches loaded for the page."""
    scope = projects_for(request.user).select_related("practice", "lead_coach", "co_coach")
    project = get_in_scope_or_404(scope, request, pk=project_id)
    if needs and not request.user.has_perm(needs, project):
        raise deny(request, needs)
    return project


@login_required
@require_GET
def agreement(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project = _get_project(request, project_id)
    found = _agreement_of(project)
    coaches_changed = found is not None and {c.pk for c in found.coaches.all()} != {c.pk for c in project.coaches()}
    context = {
        "project": project,
        "agreement": found,
        "coaches_changed": coaches_changed,
        "can_record": request.user.has_perm(RECORD, project),
        "can_assign": request.user.has_perm("projects.assign_coach", project),
    }
    return render(request, "coaching/agreements/agreement.html", context)


@login_required
def edit(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project = _get_project(request, project_id, needs=RECORD)
    found = _agreement_of(project)
    files = request.FILES if request.method == "POST" else None
    form = AgreementForm(posted(request), files, initial=AgreementForm.initial_for(project, found))
    if request.method == "POST" and form.is_valid():
        try:
            record_agreement(project=project, details=form.details(), signed_copy=form.upload(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, "Coaching agreement saved.")
            return redirect("coaching:agreement", project_id=project.pk)
    context = {"project": project, "agreement": found, "form": form, "has_coach": bool(project.lead_coach_id)}
    return render(request, "coaching/agreements/agreement_form.html", context)


@login_required
@require_GET
def signed_copy(request: AuthenticatedRequest, project_id: int) -> FileResponse:
    project = get_project(request, project_id)
    found = CoachingAgreement.objects.filter(project=project).only("pk", "project", "signed_copy").first()
    if found is None or not found.signed_copy:
        raise Http404("No signed copy.")
    try:
        stored = found.signed_copy.storage.open(found.signed_copy.name, "rb")
    except OSError:
        log.error("The signed copy of project %s is missing from storage: %s", project.pk, found.signed_copy.name)
        raise Http404("No signed copy.") from None
    filename = f"coaching-agreement-{slugify(project.title) or project.pk}.pdf"
    response = FileResponse(stored, as_attachment=True, filename=filename, content_type="application/pdf")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def remove_copy(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project = get_project(request, project_id, needs=RECORD)
    found = CoachingAgreement.objects.filter(project=project).select_related("project").first()
    if found is None:
        raise Http404("No coaching agreement.")
    try:
        remove_signed_copy(agreement=found, by=request.user)
    except ProjectError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, "Signed copy removed.")
    return redirect("coaching:agreement", project_id=project.pk)
