"""Practice pages: directory, detail, engagement changes and staff invitations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_tables2 import RequestConfig

from microsystems.access import deny, get_in_scope_or_404

from .filters import PracticeFilter
from .forms import EngagementForm, InviteStaffForm
from .models import Pcn
from .selectors import practice_directory, practice_for_detail, practices_for
from .services import PracticeError, change_engagement, invite_staff
from .tables import PracticeTable


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    scope = practice_directory(request.user)
    pcns = Pcn.objects.filter(practices__in=practices_for(request.user)).distinct().order_by("name")
    practice_filter = PracticeFilter(request.GET, queryset=scope, pcns=pcns)
    table = PracticeTable(practice_filter.qs)
    RequestConfig(request, paginate={"per_page": 25}).configure(table)
    return render(request, "practices/directory.html", {"filter": practice_filter, "table": table})


@login_required
def detail(request: HttpRequest, ods_code: str) -> HttpResponse:
    practice = get_in_scope_or_404(practice_for_detail(request.user), request, ods_code=ods_code)
    return render(
        request,
        "practices/detail.html",
        {
            "practice": practice,
            "can_change_engagement": request.user.has_perm("practices.change_engagement", practice),
            "can_invite": request.user.has_perm("practices.invite_staff", practice),
        },
    )


def _apply_errors(form: EngagementForm | InviteStaffForm, error: PracticeError) -> None:
    form.add_error(error.field if error.field in form.fields else None, str(error))


@login_required
def engagement(request: HttpRequest, ods_code: str) -> HttpResponse:
    practice = get_in_scope_or_404(practices_for(request.user), request, ods_code=ods_code)
    if not request.user.has_perm("practices.change_engagement", practice):
        raise deny(request, "practices.change_engagement")
    form = EngagementForm(request.POST or None, initial={"engagement": practice.engagement, "cohort": practice.cohort})
    if request.method == "POST" and form.is_valid():
        try:
            change_engagement(practice=practice, by=request.user, **form.cleaned_data)
        except PracticeError as e:
            _apply_errors(form, e)
        else:
            label = practice.get_engagement_display().lower()
            messages.success(request, f"Engagement for {practice.name} changed to {label}.")
            return redirect(practice)
    return render(request, "practices/engagement_form.html", {"practice": practice, "form": form})


@login_required
def invite(request: HttpRequest, ods_code: str) -> HttpResponse:
    practice = get_in_scope_or_404(practices_for(request.user), request, ods_code=ods_code)
    if not request.user.has_perm("practices.invite_staff", practice):
        raise deny(request, "practices.invite_staff")
    form = InviteStaffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = invite_staff(practice=practice, by=request.user, **form.cleaned_data)
        except PracticeError as e:
            _apply_errors(form, e)
        else:
            messages.success(request, f"Invitation sent to {membership.user.email}.")
            return redirect(practice)
    return render(request, "practices/invite_form.html", {"practice": practice, "form": form})
