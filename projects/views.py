"""Project pages: the list, starting a project, its overview, details, coaches, steps and specific aims."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from evaluation.selectors import project_follow_ups
from microsystems.access import AuthenticatedRequest, deny, get_in_scope_or_404, not_in_scope
from microsystems.forms import apply_error
from practices.selectors import pcn_choices_for
from practices.tables import CountingPaginator, table_links

from .cycles import ramps_for
from .filters import ProjectFilter, coach_choices
from .forms import (
    AimForm,
    CoachesForm,
    CompletionForm,
    NewProjectForm,
    ProjectForm,
    StepForm,
    WithdrawForm,
)
from .measures import measures_for_overview
from .models import Project, SpecificAim, Step, StepChange, WorkbookSection
from .payments.selectors import funding_panel
from .selectors import (
    aims_of,
    complete_rows,
    list_keys,
    may_start_projects,
    practices_to_start_projects,
    project_for_overview,
    project_with_lists,
    project_with_practice,
    projects_for,
    rows_by_id,
    section_states_of,
    step_changes_of,
    team_of,
)
from .services import (
    PossiblePatientData,
    ProjectError,
    add_specific_aim,
    assign_coaches,
    complete_project,
    create_project,
    missing_to_complete,
    missing_to_leave,
    move_to_next_step,
    remove_specific_aim,
    step_progress,
    update_project,
    update_specific_aim,
    withdraw_project,
)
from .tables import (
    ProjectTable,
    aims_html,
    follow_ups_html,
    history_html,
    measures_html,
    progress_html,
    ramps_html,
    rows_html,
    sections_html,
    team_html,
    with_step_rank,
)
from .workbook import sections_for

WORKBOOK_PAGES = (Step.ASSESS, Step.DIAGNOSE)


def posted(request: AuthenticatedRequest) -> QueryDict | None:
    """The submitted data on a POST (even an empty one), or None to show a blank form."""
    return request.POST if request.method == "POST" else None


def get_project(request: AuthenticatedRequest, pk: int, *, needs: str = "") -> Project:
    """The project through the user's scope (404 outside it), checked against ``needs`` if given.

    Read by id (with its practice) in a query compiled once per process, then checked with
    ``sees_project``, the scope's rule: most project pages start here.
    """
    project = project_with_practice(request.user, pk)
    if project is None:
        raise not_in_scope(request, "project")
    if needs and not request.user.has_perm(needs, project):
        raise deny(request, needs)
    return project


@login_required
def project_list(request: AuthenticatedRequest) -> HttpResponse:
    scope = projects_for(request.user)
    if request.GET.get("sort", "").lstrip("-") == "step":
        scope = with_step_rank(scope)  # the method's order: only worked out when asked for
    project_filter = ProjectFilter(
        request.GET, queryset=scope, pcns=pcn_choices_for(request.user), coaches=coach_choices(request.user, scope)
    )
    filtered = any(request.GET.get(name) for name in project_filter.filters)
    matching = project_filter.qs if filtered else scope  # nothing to check or filter by: skip the form's work
    table = ProjectTable(list_keys(matching))
    paginate = {"per_page": 25, "paginator_class": CountingPaginator, "count_of": matching}  # counted without joins
    RequestConfig(request, paginate=paginate).configure(table)
    ids = [row["pk"] for row in table.page.object_list.data] if table.paginator.count else []
    rows = complete_rows(rows_by_id(ids))
    context = {
        "filter": project_filter,
        "table": table,
        "links": table_links(table, request.GET),
        "rows_html": rows_html(rows, reverse("projects:list")),
        "select_fields": project_filter.select_fields(),
        "filtered": filtered,
        "can_start": may_start_projects(request.user),
    }
    return render(request, "projects/list.html", context)


@login_required
def create(request: AuthenticatedRequest) -> HttpResponse:
    practices = practices_to_start_projects(request.user)
    chosen = request.GET.get("practice", "")
    if not (practices.filter(ods_code=chosen) if chosen else practices).exists():
        raise deny(request, "projects.create")
    form = NewProjectForm(posted(request), practices=practices, initial={"practice": chosen})
    if request.method == "POST" and form.is_valid():
        try:
            project = create_project(practice=form.cleaned_data["practice"], details=form.details(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"Project started at {project.practice.name}. Next, build the team.")
            return redirect(project)
    return render(request, "projects/project_form.html", {"form": form, "project": None})


def _workbook_progress(sections: list[WorkbookSection]) -> list[dict[str, Any]]:
    """The workbook's sections for each step that has a page, with which are marked complete."""
    complete = {s.key for s in sections if s.complete}
    rows = []
    for step in WORKBOOK_PAGES:
        keys = [s.key for s in sections_for(step)]
        sections_shown = [{"title": s.title, "complete": s.key in complete} for s in sections_for(step)]
        rows.append(
            {
                "step": step,
                "label": step.label,
                "sections": sections_shown,
                "sections_html": sections_html(sections_shown),
                "done": len(complete.intersection(keys)),
            }
        )
    return rows


def _progress(project: Project, step_changes: list[StepChange]) -> list[dict[str, Any]]:
    """The steps with where the project is; a withdrawn project shows the step it stopped at."""
    if project.step != Step.WITHDRAWN:
        return step_progress(project)
    stopped_at = next((c.from_step for c in step_changes if c.to_step == Step.WITHDRAWN), Step.ORGANISE)
    rows = step_progress(Project(step=stopped_at))
    return [row | {"state": "withdrawn"} if row["state"] == "current" else row for row in rows]


@login_required
def overview(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = project_for_overview(request.user, pk)
    if project is None:
        raise not_in_scope(request, "project")
    team, sections = team_of(project.pk), section_states_of(project.pk)
    aims, step_changes = aims_of(project.pk), step_changes_of(project.pk)
    progress = _progress(project, step_changes)
    ramps, measures = ramps_for(project), measures_for_overview(project)
    points = [m.points for m in measures]  # type: ignore[attr-defined]
    cycles = [c for ramp in ramps for c in ramp.cycles]
    read: dict[str, Any] = {"team": team, "sections": sections, "cycles": cycles, "measure_points": points}
    follow_ups = project_follow_ups(project, timezone.localdate())  # always one query: constant per page
    context = {
        "project": project,
        "team": team,
        "team_html": team_html(team),
        "champion": next((m for m in team if m.is_champion), None),
        "progress_html": progress_html(progress),
        "steps_done": sum(p["state"] == "done" for p in progress),
        "missing": missing_to_leave(project, **read) if project.is_active else [],
        "next_step": Step(project.next_step).label if project.next_step else "",
        "workbook": _workbook_progress(sections),
        "step_changes": step_changes,
        "history_html": history_html(step_changes),
        "aims": aims,
        "aims_html": aims_html(aims),
        "agreement": getattr(project, "agreement", None),  # select_related: no query
        "ramps": ramps,
        "ramps_html": ramps_html(ramps),
        "measures": measures,
        "measures_html": measures_html(measures),
        "can": _abilities(request, project),
        "funding_panel": funding_panel(project, sees_amounts=request.user.has_perm("payments.see_amounts", project)),
        "follow_ups": follow_ups,
        "follow_ups_html": follow_ups_html(follow_ups),
    }
    return render(request, "projects/overview.html", context)


def _abilities(request: AuthenticatedRequest, project: Project) -> dict[str, bool]:
    return {
        name: request.user.has_perm(f"projects.{name}", project)
        for name in ("edit_project", "assign_coach", "change_step", "manage_team", "edit_workbook", "edit_improvement")
    }


@login_required
def edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_project(request, pk, needs="projects.edit_project")
    form = ProjectForm(posted(request), initial=ProjectForm.initial_for(project))
    if request.method == "POST" and form.is_valid():
        try:
            update_project(project=project, details=form.details(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, "Project details saved.")
            return redirect(project)
    return render(request, "projects/project_form.html", {"form": form, "project": project})


@login_required
def coaches(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_project(request, pk, needs="projects.assign_coach")
    initial = {"lead_coach": request.GET.get("lead_coach") or project.lead_coach_id, "co_coach": project.co_coach_id}
    form = CoachesForm(posted(request), initial=initial, project=project)  # ?lead_coach= comes from matching
    if request.method == "POST" and form.is_valid():
        try:
            assign_coaches(project=project, by=request.user, **form.cleaned_data)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, "Coaches saved.")
            return redirect(project)
    context = {"form": form, "project": project, "may_match": request.user.has_perm("coaching.match_coaches", project)}
    return render(request, "projects/coaches.html", context)


@login_required
def change_step(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_in_scope_or_404(project_with_lists(request.user), request, pk=pk)
    if not request.user.has_perm("projects.change_step", project):
        raise deny(request, "projects.change_step")
    may_override = request.user.has_perm("projects.override_guard", project)
    form = StepForm(posted(request), may_override=may_override)
    if request.method == "POST" and form.is_valid():
        try:
            move_to_next_step(
                project=project,
                by=request.user,
                override_reason=form.cleaned_data.get("override_reason", ""),
                may_override=may_override,
            )
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"{project.title} moved to {project.get_step_display()}.")
            return redirect(project)
    context = {
        "project": project,
        "form": form,
        "missing": missing_to_leave(project),
        "next_step": Step(project.next_step).label if project.next_step else None,
        "may_override": may_override,
    }
    return render(request, "projects/step.html", context)


@login_required
def complete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Treat → Follow-up: the outcome (benefits, aims met) is recorded as the project completes."""
    project = get_project(request, pk, needs="projects.change_step")
    if project.step != Step.TREAT:
        messages.info(request, f"Only a project in Treat can complete; this one is in {project.get_step_display()}.")
        return redirect(project)
    may_override = request.user.has_perm("projects.override_guard", project)
    aims = list(project.specific_aims.all())
    form = CompletionForm(posted(request), aims=aims, may_override=may_override)
    patient_data_warning = False
    if request.method == "POST" and form.is_valid():
        try:
            complete_project(
                project=project,
                outcome=form.outcome(),
                by=request.user,
                override_reason=form.cleaned_data.get("override_reason", ""),
                may_override=may_override,
                confirmed_not_patient_data=form.cleaned_data["confirm_not_patient_data"],
            )
        except PossiblePatientData as e:
            patient_data_warning = True
            form.add_error("confirm_not_patient_data", str(e))
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"{project.title} is complete. Follow-ups come at 6 and 12 months.")
            return redirect(project)
    if not patient_data_warning:
        form.fields["confirm_not_patient_data"].widget = forms.HiddenInput()
    context = {"project": project, "form": form, "missing": missing_to_complete(project), "may_override": may_override}
    return render(request, "projects/complete.html", context)


@login_required
def withdraw(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_project(request, pk, needs="projects.change_step")
    form = WithdrawForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            withdraw_project(project=project, by=request.user, **form.cleaned_data)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"{project.title} was withdrawn.")
            return redirect(project)
    return render(request, "projects/withdraw.html", {"form": form, "project": project})


# Specific aims


@login_required
def aims(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_project(request, pk)
    can_edit = request.user.has_perm("projects.edit_workbook", project)
    if request.method == "POST" and not can_edit:
        raise deny(request, "projects.edit_workbook")
    form = AimForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            add_specific_aim(project=project, details=form.details(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, "Specific aim added.")
            return redirect("projects:aims", pk=project.pk)
    context = {"project": project, "aims": project.specific_aims.all(), "form": form, "can_edit": can_edit}
    return render(request, "projects/aims.html", context)


def _get_aim(request: AuthenticatedRequest, project: Project, aim_id: int) -> SpecificAim:
    return get_in_scope_or_404(project.specific_aims.select_related("project"), request, pk=aim_id)


@login_required
def edit_aim(request: AuthenticatedRequest, pk: int, aim_id: int) -> HttpResponse:
    project = get_project(request, pk, needs="projects.edit_workbook")
    aim = _get_aim(request, project, aim_id)
    initial = {name: getattr(aim, name) for name in AimForm.base_fields}
    form = AimForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            update_specific_aim(aim=aim, details=form.details(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, "Specific aim saved.")
            return redirect("projects:aims", pk=project.pk)
    return render(request, "projects/aim_form.html", {"form": form, "project": project, "aim": aim})


@login_required
@require_POST
def remove_aim(request: AuthenticatedRequest, pk: int, aim_id: int) -> HttpResponse:
    project = get_project(request, pk, needs="projects.edit_workbook")
    aim = _get_aim(request, project, aim_id)
    remove_specific_aim(aim=aim, by=request.user)
    messages.success(request, f"Specific aim removed: {aim.measure}.")
    return redirect("projects:aims", pk=project.pk)
