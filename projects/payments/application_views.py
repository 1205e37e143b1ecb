"""Funding applications (the practice applies, the lead decides) and a project's funding page.

A coach of the project sees on its funding page whether it is funded, never an amount.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from microsystems.access import AuthenticatedRequest, deny, get_in_scope_or_404
from microsystems.forms import CrispyForm, apply_error

from ..models import ApplicationStatus, FundingApplication, Project
from ..selectors import projects_for
from .applications import approve_application, reject_application, submit_application
from .errors import PaymentError
from .forms import ApplicationFilter, ApplicationForm, ApproveApplicationForm, RejectApplicationForm
from .funding import FundingState, funding_of
from .money import format_pounds
from .selectors import (
    application_for_page,
    application_list,
    funding_page,
    funding_projects,
    sees_payment_pages,
    with_money,
)
from .tariffs import tariff_for
from .views import PER_PAGE, page_links


@login_required
def applications(request: AuthenticatedRequest) -> HttpResponse:
    if not sees_payment_pages(request.user):
        raise deny(request, "payments.applications")
    application_filter = ApplicationFilter(request.GET, queryset=application_list(request.user))
    page = Paginator(application_filter.qs, PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = with_money(page.object_list, "amount_requested", "amount_approved")
    context = {
        "filter": application_filter,
        "select_fields": application_filter.select_fields(),
        "page": page,
        "links": page_links(request.GET, page),
        "filtered": bool(request.GET.get("status")),
    }
    return render(request, "payments/applications.html", context)


def get_application(request: AuthenticatedRequest, pk: int, *, needs: str = "") -> FundingApplication:
    application = get_in_scope_or_404(application_for_page(request.user), request, pk=pk)
    if needs and not request.user.has_perm(needs, application):
        raise deny(request, needs)
    return application


def _render_application(
    request: AuthenticatedRequest, application: FundingApplication, bound: dict[str, CrispyForm] | None = None
) -> HttpResponse:
    forms: dict[str, CrispyForm] = {}
    pending = application.status == ApplicationStatus.PENDING
    if pending and request.user.has_perm("payments.decide_application", application):
        initial = {"amount_approved": application.amount_requested}
        forms = {
            "approve": ApproveApplicationForm(initial=initial, prefix="approve"),
            "reject": RejectApplicationForm(prefix="reject"),
        }
        forms |= {name: form for name, form in (bound or {}).items() if name in forms}
    tariff = tariff_for(application.project)
    context = {
        "application": with_money([application], "amount_requested", "amount_approved")[0],
        "project": application.project,
        "tariff": tariff,
        "tariff_amount_text": format_pounds(tariff.first_project_amount) if tariff else "",
        "forms": forms,
        "has_errors": any(form.errors for form in forms.values()),
    }
    return render(request, "payments/application.html", context)


@login_required
def application_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _render_application(request, get_application(request, pk))


def _decide(request: AuthenticatedRequest, pk: int, *, name: str, form: CrispyForm) -> HttpResponse:
    """Approve or reject: a refusal at a field re-draws the page; any other comes back as a message."""
    application = get_application(request, pk, needs="payments.decide_application")
    if form.is_valid():
        data = form.cleaned_data
        try:
            if name == "approve":
                application = approve_application(
                    application=application,
                    amount=data["amount_approved"],
                    reason=data["decision_reason"],
                    above_tariff_justification=data["above_tariff_justification"],
                    by=request.user,
                )
                amount = format_pounds(application.amount_approved)
                messages.success(
                    request, f"Application approved for {amount}: its payments fall due at the milestones."
                )
            else:
                reject_application(application=application, reason=data["decision_reason"], by=request.user)
                messages.success(request, "Application rejected. The practice can see your reason.")
        except PaymentError as e:
            if e.field not in form.fields:
                messages.error(request, str(e))
                return redirect(application)
            apply_error(form, e)
        else:
            return redirect(application)
    return _render_application(request, application, bound={name: form})


@login_required
@require_POST
def approve(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, name="approve", form=ApproveApplicationForm(request.POST, prefix="approve"))


@login_required
@require_POST
def reject(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, name="reject", form=RejectApplicationForm(request.POST, prefix="reject"))


# Applying


def _why_not_apply(project: Project) -> str:
    """Why the project cannot apply now, in the page's words; empty when it can."""
    funding = funding_of(project)
    if funding.state == FundingState.FIRST_PROJECT:
        return "This is the practice's first project: it is funded by the enhanced service, no application needed."
    if not project.is_active:
        return "This project is closed: funding can no longer be applied for."
    if funding.state == FundingState.PENDING:
        return "This project's funding application is waiting for the programme lead's decision."
    if funding.state == FundingState.FUNDED:
        return "This project's funding application has been approved."
    return ""


@login_required
def apply(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_in_scope_or_404(projects_for(request.user).select_related("practice"), request, pk=pk)
    if not request.user.has_perm("payments.apply", project):
        raise deny(request, "payments.apply")
    form = ApplicationForm(
        request.POST if request.method == "POST" else None, initial=ApplicationForm.initial_for(project)
    )
    if request.method == "POST" and form.is_valid():
        try:
            application = submit_application(project=project, details=form.details(), by=request.user)
        except PaymentError as e:
            apply_error(form, e)
        else:
            messages.success(request, "Application sent. The programme lead will decide and you will see it here.")
            return redirect(application)
    why_not = "" if request.method == "POST" else _why_not_apply(project)
    return render(request, "payments/apply.html", {"project": project, "form": form, "why_not": why_not})


# A project's funding


@login_required
def project_funding(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    project = get_in_scope_or_404(funding_projects(request.user), request, pk=pk)
    sees_amounts = request.user.has_perm("payments.see_amounts", project)
    context: dict[str, Any] = funding_page(project, sees_amounts=sees_amounts)
    funding = context["funding"]
    context |= {
        "project": project,
        "opens_project": projects_for(request.user).filter(pk=project.pk).exists(),
        "can_apply": project.is_active
        and funding.state == FundingState.SELF_FUNDED
        and request.user.has_perm("payments.apply", project),
    }
    return render(request, "payments/project.html", context)
