"""Practice pages: directory, detail, engagement changes and staff invitations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_tables2 import RequestConfig

from microsystems.access import AuthenticatedRequest, deny, get_in_scope_or_404, not_in_scope
from microsystems.forms import apply_error
from projects.selectors import projects_of_practice

from .filters import PracticeFilter
from .forms import EngagementForm, InviteStaffForm
from .selectors import pcn_choices_for, practice_directory, practice_page, practices_for
from .services import PracticeError, change_engagement, invite_staff
from .tables import PracticeTable, rows_html, table_links


@login_required
def directory(request: AuthenticatedRequest) -> HttpResponse:
    scope = practice_directory(request.user)
    practice_filter = PracticeFilter(request.GET, queryset=scope, pcns=pcn_choices_for(request.user))
    table = PracticeTable(practice_filter.qs)
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    context = {
        "filter": practice_filter,
        "table": table,
        "links": table_links(table, request.GET),
        "rows_html": rows_html(list(table.page.object_list.data), reverse("practices:directory"))
        if table.paginator.count
        else "",
        "select_fields": practice_filter.select_fields(),
    }
    return render(request, "practices/directory.html", context)


@login_required
def detail(request: AuthenticatedRequest, ods_code: str) -> HttpResponse:
    page = practice_page(request.user, ods_code)
    if page is None:
        raise not_in_scope(request, "practice")
    practice, members, changes = page
    return render(
        request,
        "practices/detail.html",
        {
            "practice": practice,
            "members": members,
            "changes": changes,
            "can_change_engagement": request.user.has_perm("practices.change_engagement", practice),
            "can_invite": request.user.has_perm("practices.invite_staff", practice),
            "projects": projects_of_practice(request.user, practice.pk),
            "can_start_project": request.user.has_perm("projects.start_project", practice),
        },
    )


@login_required
def engagement(request: AuthenticatedRequest, ods_code: str) -> HttpResponse:
    practice = get_in_scope_or_404(practices_for(request.user), request, ods_code=ods_code)
    if not request.user.has_perm("practices.change_engagement", practice):
        raise deny(request, "practices.change_engagement")
    form = EngagementForm(request.POST or None, initial={"engagement": practice.engagement, "cohort": practice.cohort})
    if request.method == "POST" and form.is_valid():
        try:
            change_engagement(practice=practice, by=request.user, **form.cleaned_data)
        except PracticeError as e:
            apply_error(form, e)
        else:
            label = practice.get_engagement_display().lower()
            messages.success(request, f"Engagement for {practice.name} changed to {label}.")
            return redirect(practice)
    return render(request, "practices/engagement_form.html", {"practice": practice, "form": form})


@login_required
def invite(request: AuthenticatedRequest, ods_code: str) -> HttpResponse:
    practice = get_in_scope_or_404(practices_for(request.user), request, ods_code=ods_code)
    if not request.user.has_perm("practices.invite_staff", practice):
        raise deny(request, "practices.invite_staff")
    form = InviteStaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = invite_staff(practice=practice, by=request.user, **form.cleaned_data)
        except PracticeError as e:
            apply_error(form, e)
        else:
            messages.success(request, f"Invitation sent to {membership.user.email}.")
            return redirect(practice)
    return render(request, "practices/invite_form.html", {"practice": practice, "form": form})
