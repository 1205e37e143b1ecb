"""The Treat step's change ideas and PDSA cycles: the list of ramps, a cycle in its four parts, and their forms.

Practice staff and the project's coaches change them (``projects.edit_improvement``);
everyone else who can see the project reads them; anyone else gets a 404. Editing a cycle
names the version the page was showing: a save against an older one is refused, and the
page shows the saved version beside the user's text, which is kept.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from microsystems.access import AuthenticatedRequest, get_in_scope_or_404
from microsystems.forms import apply_error

from .cycle_forms import CycleForm, IdeaForm, posted_version
from .cycles import (
    CycleConflict,
    add_change_idea,
    add_cycle,
    ideas_with_ramps,
    ramp_of,
    ramps_of,
    remove_change_idea,
    remove_cycle,
    update_change_idea,
    update_cycle,
)
from .models import ChangeIdea, PdsaCycle, Project
from .services import ProjectError
from .views import get_project, posted

EDIT = "projects.edit_improvement"
VERSIONS_PER_PAGE = 20
# What the history compares between one version and the one before (the measures are in the audit trail).
COMPARED = (
    "change_idea_id", "follows_id", "objective", "questions", "predictions", "tasks", "data_to_collect",
    "planned_start", "planned_end", "actual_start", "actual_end", "as_planned", "observations", "problems",
    "results", "decision", "next_steps",
)  # fmt: skip


def _cycles_url(project: Project, anchor: str = "") -> str:
    return reverse("projects:cycles", args=[project.pk]) + (f"#{anchor}" if anchor else "")


def _get_idea(request: AuthenticatedRequest, project: Project, idea_id: int) -> ChangeIdea:
    idea = get_in_scope_or_404(project.change_ideas.select_related("specific_aim"), request, pk=idea_id)
    idea.project = project
    return idea


def _get_cycle(request: AuthenticatedRequest, project: Project, cycle_id: int) -> PdsaCycle:
    scope = project.cycles.select_related("change_idea", "updated_by", "created_by")
    cycle = get_in_scope_or_404(scope, request, pk=cycle_id)
    cycle.project = project
    return cycle


@login_required
def cycles(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_project(request, pk)
    context = {"project": project, "ideas": ideas_with_ramps(project), "can_edit": request.user.has_perm(EDIT, project)}
    return render(request, "projects/cycles/list.html", context)


# Change ideas


@login_required
def new_idea(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_project(request, pk, needs=EDIT)
    form = IdeaForm(posted(request), project=project)
    if request.method == "POST" and form.is_valid():
        try:
            idea = add_change_idea(project=project, details=form.details(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"Change idea added: {idea.title}. Next, plan a PDSA cycle to test it.")
            return redirect(_cycles_url(project, f"idea-{idea.pk}"))
    return render(request, "projects/cycles/idea_form.html", {"form": form, "project": project, "idea": None})


@login_required
def edit_idea(request: AuthenticatedRequest, pk: int, idea_id: int) -> HttpResponse:
    project = get_project(request, pk, needs=EDIT)
    idea = _get_idea(request, project, idea_id)
    form = IdeaForm(posted(request), project=project, idea=idea, initial=IdeaForm.initial_for(idea))
    if request.method == "POST" and form.is_valid():
        try:
            update_change_idea(idea=idea, details=form.details(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"Change idea saved: {idea.title}.")
            return redirect(_cycles_url(project, f"idea-{idea.pk}"))
    return render(request, "projects/cycles/idea_form.html", {"form": form, "project": project, "idea": idea})


@login_required
@require_POST
def remove_idea(request: AuthenticatedRequest, pk: int, idea_id: int) -> HttpResponse:
    project = get_project(request, pk, needs=EDIT)
    idea = _get_idea(request, project, idea_id)
    try:
        remove_change_idea(idea=idea, by=request.user)
    except ProjectError as e:
        messages.error(request, f"{idea.title}: {e}")
        return redirect(_cycles_url(project, f"idea-{idea.pk}"))
    messages.success(request, f"Change idea removed: {idea.title}.")
    return redirect(_cycles_url(project))


# PDSA cycles


def _initial_for_new(project: Project, query: QueryDict) -> dict[str, Any]:
    """``?follows=`` starts the next cycle of a ramp (same idea); ``?idea=`` a cycle of that idea."""
    follows_id, idea_id = query.get("follows", ""), query.get("idea", "")
    if follows_id.isdigit():
        earlier = project.cycles.filter(pk=int(follows_id)).first()
        if earlier is not None:
            return {"follows": earlier.pk, "change_idea": earlier.change_idea_id}
    if idea_id.isdigit() and project.change_ideas.filter(pk=int(idea_id)).exists():
        return {"change_idea": int(idea_id)}
    return {}


@login_required
def new_cycle(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_project(request, pk, needs=EDIT)
    form = CycleForm(posted(request), project=project, initial=_initial_for_new(project, request.GET))
    if request.method == "POST" and form.is_valid():
        try:
            cycle = add_cycle(project=project, details=form.details(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"PDSA {cycle.number} planned.")
            return redirect(cycle)
    context = {"form": form, "project": project, "cycle": None, "has_ideas": project.change_ideas.exists()}
    return render(request, "projects/cycles/cycle_form.html", context)


@login_required
def cycle(request: AuthenticatedRequest, pk: int, cycle_id: int) -> HttpResponse:
    project = get_project(request, pk)
    shown = _get_cycle(request, project, cycle_id)
    everything = list(project.cycles.select_related("change_idea"))
    context = {
        "project": project,
        "cycle": shown,
        "ramp": ramp_of(shown, ramps_of(everything)),
        "followers": [c for c in everything if c.follows_id == shown.pk],
        "follows": next((c for c in everything if c.pk == shown.follows_id), None),
        "measures": shown.measures.all(),
        "can_edit": request.user.has_perm(EDIT, project),
    }
    return render(request, "projects/cycles/cycle.html", context)


@login_required
def edit_cycle(request: AuthenticatedRequest, pk: int, cycle_id: int) -> HttpResponse:
    project = get_project(request, pk, needs=EDIT)
    current = _get_cycle(request, project, cycle_id)
    version = posted_version(request.POST) if request.method == "POST" else current.version
    form = CycleForm(posted(request), project=project, cycle=current, initial=CycleForm.initial_for(current))
    theirs, status = None, 200
    if request.method == "POST" and form.is_valid():
        try:
            saved = update_cycle(cycle=current, details=form.details(), base_version=version, by=request.user)
        except CycleConflict as e:
            # Their version is shown beside the user's text; the next save is made onto it, knowingly.
            form.add_error(None, str(e))
            theirs, version, status = e.cycle, e.cycle.version, 409
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"PDSA {saved.number} saved.")
            return redirect(saved)
    context = {
        "form": form,
        "project": project,
        "cycle": current,
        "version": version,
        "theirs": theirs,
        "their_measures": theirs.measures.all() if theirs is not None else [],
        "has_ideas": True,
    }
    return render(request, "projects/cycles/cycle_form.html", context, status=status)


@login_required
@require_POST
def remove_cycle_view(request: AuthenticatedRequest, pk: int, cycle_id: int) -> HttpResponse:
    project = get_project(request, pk, needs=EDIT)
    doomed = _get_cycle(request, project, cycle_id)
    try:
        remove_cycle(cycle=doomed, by=request.user)
    except ProjectError as e:
        messages.error(request, f"PDSA {doomed.number} was not removed. {e}")
        return redirect(doomed)
    messages.success(request, f"PDSA {doomed.number} removed.")
    return redirect(_cycles_url(project))


@login_required
def history(request: AuthenticatedRequest, pk: int, cycle_id: int) -> HttpResponse:
    project = get_project(request, pk)
    shown = _get_cycle(request, project, cycle_id)
    records = shown.history.select_related("history_user").order_by("-history_date", "-history_id")  # type: ignore[attr-defined]
    page = Paginator(records, VERSIONS_PER_PAGE).get_page(request.GET.get("page"))
    versions = list(page)
    older = None
    if versions:
        last = versions[-1]
        older = records.filter(
            Q(history_date__lt=last.history_date) | Q(history_date=last.history_date, history_id__lt=last.history_id)
        ).first()
    entries = [
        {"record": v, "changed": _changed(v, versions[i + 1] if i + 1 < len(versions) else older)}
        for i, v in enumerate(versions)
    ]
    context = {"project": project, "cycle": shown, "page": page, "entries": entries}
    return render(request, "projects/cycles/history.html", context)


def _changed(record: Any, before: Any) -> list[str]:
    """The names of the parts changed since the version before (none for the first)."""
    if before is None:
        return []
    names = [name for name in COMPARED if getattr(record, name) != getattr(before, name)]
    return [str(getattr(PdsaCycle._meta.get_field(name.removesuffix("_id")), "verbose_name", name)) for name in names]
