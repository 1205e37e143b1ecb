"""The lead's coach pages: the directory, a coach's profile and its records, and coach matching for a project.

A profile is seen by its coach and by the leads of the coach's commissioner; the leads keep
it up to date. The directory and matching are for leads only. Anyone else gets a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from microsystems.access import AuthenticatedRequest, deny, get_in_scope_or_404
from microsystems.forms import apply_error
from projects.models import ClinicalArea
from projects.services import ProjectError
from projects.views import get_project, posted

from .coach_forms import MentoringForm, NewProfileForm, ProfileForm, TrainingForm
from .coaches import (
    CLOSED_STEPS,
    add_training_record,
    coach_directory,
    coach_for_page,
    coach_roles_without_profile,
    coaches_for,
    create_coach_profile,
    end_mentoring,
    experience_of,
    experience_summary,
    last_trained,
    lead_commissioner_ids,
    mentor_choices,
    mentorings_for,
    projects_coached_by,
    start_mentoring,
    update_coach_profile,
)
from .matching import matching_inputs, rank_coaches
from .models import CoachLevel, CoachProfile, Mentoring, refresher_due
from .tables import directory_rows_html, match_items_html


def _require_lead(request: AuthenticatedRequest, what: str) -> None:
    if not lead_commissioner_ids(request.user):
        raise deny(request, what)


def _managed_coach(request: AuthenticatedRequest, pk: int) -> CoachProfile:
    coach = get_in_scope_or_404(coaches_for(request.user), request, pk=pk)
    if not request.user.has_perm("coaching.manage_coach", coach):
        raise deny(request, "coaching.manage_coach")
    return coach


@login_required
def coaches(request: AuthenticatedRequest) -> HttpResponse:
    _require_lead(request, "coaching.list_coaches")
    level = request.GET.get("level", "")
    level = level if level in CoachLevel.values else ""
    active = {"yes": True, "no": False}.get(request.GET.get("active", ""))
    over = request.GET.get("capacity") == "over"  # the programme dashboard's "over capacity" link
    rows = coach_directory(request.user, today=timezone.localdate(), level=level, active=active)
    rows = [row for row in rows if row.over_capacity] if over else rows
    context = {
        "rows": rows,
        "rows_html": directory_rows_html(rows),
        "without_profile": list(coach_roles_without_profile(request.user)),
        "levels": CoachLevel.choices,
        "level": level,
        "active": request.GET.get("active", "") if active is not None else "",
        "filtered": bool(level) or active is not None or over,
    }
    return render(request, "coaching/coaches/directory.html", context)


def _mentoring_rows(pairs: list[Mentoring], other: str) -> list[dict[str, Any]]:
    today = timezone.localdate()
    rows = []
    for pair in pairs:
        if pair.starts_on > today:
            status = "Starts later"
        elif pair.is_active_on(today):
            status = "Active"
        else:
            status = "Ended"
        rows.append({"pair": pair, "other": getattr(pair, other), "status": status, "open": pair.is_active_on(today)})
    return rows


@login_required
def coach(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    profile = get_in_scope_or_404(coach_for_page(request.user), request, pk=pk)
    projects = list(projects_coached_by(profile.user))
    training = list(profile.training.all())
    due = refresher_due(last_trained(profile.trained_on, training[0].completed_on if training else None))
    by_typology = experience_of(projects)
    context = {
        "coach": profile,
        "training": training,
        "refresher_due": due,
        "refresher_overdue": due is not None and due < timezone.localdate(),
        "mentors": _mentoring_rows(list(profile.mentors.all()), "mentor"),
        "mentees": _mentoring_rows(list(profile.mentees.all()), "mentee"),
        "projects": projects,
        "load": sum(p.step not in CLOSED_STEPS for p in projects),
        "experience": experience_summary(by_typology),
        "area_labels": [ClinicalArea(a).label for a in profile.commissioned_areas if a in ClinicalArea.values],
        "can_manage": request.user.has_perm("coaching.manage_coach", profile),
        "is_self": profile.user_id == request.user.pk,
    }
    return render(request, "coaching/coaches/detail.html", context)


@login_required
def coach_new(request: AuthenticatedRequest) -> HttpResponse:
    _require_lead(request, "coaching.manage_coach")
    form = NewProfileForm(posted(request), roles=coach_roles_without_profile(request.user))
    if request.method == "POST" and form.is_valid():
        role = form.cleaned_data["user"]
        try:
            profile = create_coach_profile(
                user=role.user,
                commissioner=role.commissioner,
                details=form.details(),
                by=request.user,
                today=timezone.localdate(),
            )
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"Coach profile added for {profile}.")
            return redirect(profile)
    return render(request, "coaching/coaches/profile_form.html", {"form": form, "coach": None})


@login_required
def coach_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    profile = _managed_coach(request, pk)
    form = ProfileForm(posted(request), initial=ProfileForm.initial_for(profile))
    if request.method == "POST" and form.is_valid():
        try:
            update_coach_profile(coach=profile, details=form.details(), by=request.user, today=timezone.localdate())
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"Profile saved for {profile}.")
            return redirect(profile)
    return render(request, "coaching/coaches/profile_form.html", {"form": form, "coach": profile})


@login_required
def training_new(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    profile = _managed_coach(request, pk)
    form = TrainingForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            add_training_record(coach=profile, details=form.details(), by=request.user, today=timezone.localdate())
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"Training added for {profile}.")
            return redirect(profile)
    return render(request, "coaching/coaches/training_form.html", {"form": form, "coach": profile})


@login_required
def mentoring_new(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    profile = _managed_coach(request, pk)
    form = MentoringForm(posted(request), mentors=mentor_choices(profile))
    if request.method == "POST" and form.is_valid():
        try:
            start_mentoring(mentee=profile, by=request.user, **form.cleaned_data)
        except ProjectError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"{form.cleaned_data['mentor']} now mentors {profile}.")
            return redirect(profile)
    return render(request, "coaching/coaches/mentoring_form.html", {"form": form, "coach": profile})


@login_required
@require_POST
def mentoring_end(request: AuthenticatedRequest, mentoring_id: int) -> HttpResponse:
    mentoring = get_in_scope_or_404(mentorings_for(request.user), request, pk=mentoring_id)
    try:
        end_mentoring(mentoring=mentoring, on=timezone.localdate(), by=request.user)
    except ProjectError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, f"Mentoring ended: {mentoring}.")
    return redirect(mentoring.mentee)


@login_required
def matching(request: AuthenticatedRequest, project_id: int) -> HttpResponse:
    project = get_project(request, project_id, needs="coaching.match_coaches")
    facts, coach_facts = matching_inputs(project, today=timezone.localdate())
    matches = rank_coaches(facts, coach_facts)
    context = {
        "project": project,
        "matches": matches,
        "matches_html": match_items_html(matches, project=project),
        "inactive": sum(not c.is_active for c in coach_facts),
    }
    return render(request, "coaching/coaches/matching.html", context)
