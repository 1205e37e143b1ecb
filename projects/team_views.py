"""The improvement team's pages: members, the champion, meeting roles and patient representation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from microsystems.access import AuthenticatedRequest, deny, get_in_scope_or_404
from microsystems.forms import apply_error

from .forms import MEMBER_FORMS, NoPatientRepForm, member_form
from .models import MeetingRole, MemberKind, Project, Step, TeamMember
from .selectors import project_with_lists
from .services import (
    ProjectError,
    add_team_member,
    assign_meeting_role,
    make_champion,
    missing_to_leave,
    record_no_patient_rep,
    remove_team_member,
    update_team_member,
)
from .views import get_project, posted


def _get_member(request: AuthenticatedRequest, project: Project, member_id: int) -> TeamMember:
    return get_in_scope_or_404(TeamMember.objects.filter(project=project).select_related("user"), request, pk=member_id)


def _team_page(request: AuthenticatedRequest, project: Project, reason_form: NoPatientRepForm) -> HttpResponse:
    members = project.team.all()
    context = {
        "project": project,
        "members": members,
        "champion": next((m for m in members if m.is_champion), None),
        "has_patient": any(m.kind == MemberKind.PATIENT for m in members),
        "missing": missing_to_leave(project) if project.step == Step.ORGANISE else [],
        "meeting_roles": MeetingRole.choices[1:],
        "kinds": MemberKind.choices,
        "can_manage": request.user.has_perm("projects.manage_team", project),
        "form": reason_form,
    }
    return render(request, "projects/team.html", context)


@login_required
def team(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_in_scope_or_404(project_with_lists(request.user), request, pk=pk)
    return _team_page(request, project, NoPatientRepForm(initial={"reason": project.no_patient_rep_reason}))


@login_required
def add_member(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_project(request, pk, needs="projects.manage_team")
    kind = request.GET.get("kind", "")
    if kind not in MEMBER_FORMS:
        return render(request, "projects/member_kind.html", {"project": project, "kinds": MemberKind.choices})
    form = member_form(kind, posted(request), project=project)
    if request.method == "POST" and form.is_valid():
        try:
            member = add_team_member(project=project, details=form.details(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"{member.display_name} added to the team.")
            return redirect("projects:team", pk=project.pk)
    context = {"project": project, "form": form, "kind": MemberKind(kind), "member": None}
    return render(request, "projects/member_form.html", context)


@login_required
def edit_member(request: AuthenticatedRequest, pk: int, member_id: int) -> HttpResponse:
    project = get_project(request, pk, needs="projects.manage_team")
    member = _get_member(request, project, member_id)
    form = member_form(member.kind, posted(request), project=project, member=member)
    if request.method == "POST" and form.is_valid():
        try:
            update_team_member(member=member, details=form.details(), by=request.user)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"{member.display_name}'s details saved.")
            return redirect("projects:team", pk=project.pk)
    context = {"project": project, "form": form, "kind": MemberKind(member.kind), "member": member}
    return render(request, "projects/member_form.html", context)


@login_required
@require_POST
def remove_member(request: AuthenticatedRequest, pk: int, member_id: int) -> HttpResponse:
    project = get_project(request, pk, needs="projects.manage_team")
    member = _get_member(request, project, member_id)
    try:
        remove_team_member(member=member, by=request.user)
    except ProjectError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, f"{member.display_name} removed from the team.")
    return redirect("projects:team", pk=project.pk)


@login_required
@require_POST
def champion(request: AuthenticatedRequest, pk: int, member_id: int) -> HttpResponse:
    project = get_project(request, pk, needs="projects.manage_team")
    member = _get_member(request, project, member_id)
    try:
        make_champion(member=member, by=request.user)
    except ProjectError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, f"{member.display_name} is now the project's champion.")
    return redirect("projects:team", pk=project.pk)


@login_required
@require_POST
def meeting_role(request: AuthenticatedRequest, pk: int, member_id: int) -> HttpResponse:
    project = get_project(request, pk, needs="projects.manage_team")
    member = _get_member(request, project, member_id)
    try:
        assign_meeting_role(member=member, role=request.POST.get("meeting_role", ""), by=request.user)
    except ProjectError as e:
        messages.error(request, str(e))
    else:
        if member.meeting_role:
            messages.success(
                request, f"{member.display_name} is now the {MeetingRole(member.meeting_role).label.lower()}."
            )
        else:
            messages.success(request, f"{member.display_name} has no meeting role now.")
    return redirect("projects:team", pk=project.pk)


@login_required
@require_POST
def no_patient_rep(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_in_scope_or_404(project_with_lists(request.user), request, pk=pk)
    if not request.user.has_perm("projects.manage_team", project):
        raise deny(request, "projects.manage_team")
    form = NoPatientRepForm(request.POST)
    if not form.is_valid():
        return _team_page(request, project, form)
    record_no_patient_rep(project=project, reason=form.cleaned_data["reason"], by=request.user)
    messages.success(request, "Reason saved." if form.cleaned_data["reason"] else "Reason cleared.")
    return redirect("projects:team", pk=project.pk)
