"""A project's embedding self-assessments: the page that lists them, and recording or changing one.

The project is fetched through the user's scope (``projects_for``), so one outside it is a 404;
within it, the lead reads and the practice's staff and the project's coaches record
(``embedding.may_read``/``may_record``): anyone else gets a 404 as well.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from microsystems.access import AuthenticatedRequest, deny, get_in_scope_or_404
from microsystems.forms import apply_error
from projects.models import Project
from projects.selectors import projects_for
from projects.services import PossiblePatientData, ProjectError
from projects.views import posted

from .embedding import may_read, may_record, occasions_open, project_assessments, record_assessment
from .embedding_forms import AssessmentForm
from .models import EmbeddingAssessment, EmbeddingOccasion


def _project(request: AuthenticatedRequest, pk: int, *, write: bool = False) -> Project:
    project = get_in_scope_or_404(projects_for(request.user).select_related("practice"), request, pk=pk)
    if not (may_record if write else may_read)(request.user, project):
        raise deny(request, "evaluation.record_embedding" if write else "evaluation.see_embedding")
    return project


@login_required
def project_page(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = _project(request, pk)
    can_record = may_record(request.user, project)
    open_now = occasions_open(project) if can_record else []
    summary = project_assessments(project)
    columns = [
        {"occasion": value, "label": label, "assessment": summary.assessments.get(value), "open": value in open_now}
        for value, label in EmbeddingOccasion.choices
    ]
    context = {"project": project, "summary": summary, "columns": columns, "can_record": can_record}
    return render(request, "evaluation/embedding/project.html", context)


@login_required
def record(request: AuthenticatedRequest, pk: int, occasion: str) -> HttpResponse:
    if occasion not in EmbeddingOccasion.values:
        raise Http404("No such occasion.")
    project = _project(request, pk, write=True)
    if occasion not in occasions_open(project):
        messages.info(request, "The follow-up self-assessments open once the project has completed.")
        return redirect("embedding:project", pk=project.pk)
    current = EmbeddingAssessment.objects.filter(project=project, occasion=occasion).first()
    form = AssessmentForm(posted(request), assessment=current)
    warned = False
    if request.method == "POST" and form.is_valid():
        try:
            record_assessment(
                project=project,
                occasion=occasion,
                details=form.details(),
                by=request.user,
                base=form.base_version(),
                confirmed_not_patient_data=form.cleaned_data["confirm_not_patient_data"],
            )
        except PossiblePatientData as e:
            warned = True
            form.add_error("notes", str(e))
        except ProjectError as e:
            apply_error(form, e)
        else:
            label = EmbeddingOccasion(occasion).label
            messages.success(request, f"The {label[0].lower()}{label[1:]} self-assessment is saved.")
            return redirect("embedding:project", pk=project.pk)
    if not warned:
        form.fields["confirm_not_patient_data"].widget = forms.HiddenInput()
    context = {
        "project": project,
        "form": form,
        "occasion": EmbeddingOccasion(occasion),
        "current": current,
        "back": reverse("embedding:project", args=[project.pk]),
    }
    return render(request, "evaluation/embedding/record.html", context)
