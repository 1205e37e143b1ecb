"""The payment pages: the list for finance and the lead, one payment with its history, and its actions.

Each action is a POST of one small form carrying the status the user saw. A refusal at a
field re-draws the page with the message there; any other refusal (someone else acted
first) comes back as a message on the payment's page, which then shows what is true now.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from microsystems.access import AuthenticatedRequest, deny, get_in_scope_or_404
from microsystems.forms import CrispyForm, apply_error
from practices.selectors import pcn_choices_for

from ..models import Payment, PaymentKind, PaymentStatus
from .errors import PaymentError
from .filters import PaymentListFilter
from .forms import AdjustForm, ApproveForm, CancelForm, PayForm
from .lifecycle import adjust, approve, cancel, pay
from .money import format_pounds
from .selectors import (
    current_financial_year,
    payment_for_page,
    payment_list,
    payment_years,
    sees_payment_pages,
    totals_by_status,
    with_money,
)

PER_PAGE = 25


def page_links(query: QueryDict, page: Page) -> dict[str, str]:  # type: ignore[type-arg]
    """Previous and next page links that keep the filters."""

    def to(number: int) -> str:
        params = query.copy()
        params["page"] = str(number)
        return "?" + params.urlencode()

    return {
        "previous": to(page.previous_page_number()) if page.has_previous() else "",
        "next": to(page.next_page_number()) if page.has_next() else "",
    }


@login_required
def payments(request: AuthenticatedRequest) -> HttpResponse:
    if not sees_payment_pages(request.user):
        raise deny(request, "payments.list")
    payment_filter = PaymentListFilter(
        request.GET,
        queryset=payment_list(request.user),
        years=payment_years(request.user),
        current_year=current_financial_year(),
        pcns=pcn_choices_for(request.user),
    )
    rows = payment_filter.qs
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = with_money(page.object_list, "amount")
    context = {
        "filter": payment_filter,
        "select_fields": payment_filter.select_fields(),
        "totals": totals_by_status(rows),
        "page": page,
        "links": page_links(request.GET, page),
        "filtered": any(request.GET.get(name) for name in ("status", "route", "pcn", "practice")),
        "sees_reports": request.user.has_perm("payments.see_reports"),
    }
    return render(request, "payments/list.html", context)


def get_payment(request: AuthenticatedRequest, pk: int, *, needs: str = "") -> Payment:
    """The payment through the user's scope (404 outside it), checked against ``needs`` if given."""
    payment = get_in_scope_or_404(payment_for_page(request.user), request, pk=pk)
    if needs and not request.user.has_perm(needs, payment):
        raise deny(request, needs)
    return payment


def _action_forms(request: AuthenticatedRequest, payment: Payment) -> dict[str, CrispyForm]:
    """The actions the user may take on the payment as it is now, each a blank form."""
    seen = {"seen_status": payment.status}
    user = request.user
    forms: dict[str, CrispyForm] = {}
    if payment.status == PaymentStatus.DUE and user.has_perm("payments.approve", payment):
        forms["approve"] = ApproveForm(initial=seen, prefix="approve")
    if payment.status == PaymentStatus.APPROVED and user.has_perm("payments.pay", payment):
        forms["pay"] = PayForm(initial=seen, prefix="pay")
    if payment.is_open and user.has_perm("payments.cancel", payment):
        forms["cancel"] = CancelForm(initial=seen, prefix="cancel")
    paid_milestone = payment.status == PaymentStatus.PAID and payment.kind == PaymentKind.MILESTONE
    if paid_milestone and user.has_perm("payments.adjust", payment):
        forms["adjust"] = AdjustForm(prefix="adjust")
    return forms


def _render_detail(
    request: AuthenticatedRequest, payment: Payment, bound: dict[str, CrispyForm] | None = None
) -> HttpResponse:
    forms = _action_forms(request, payment)
    for name, form in (bound or {}).items():
        if name in forms:
            forms[name] = form
    adjusts = with_money([payment.adjusts], "amount")[0] if payment.adjusts else None
    context = {
        "payment": with_money([payment], "amount")[0],
        "project": payment.project,
        "practice": payment.project.practice,
        "events": payment.events.all(),
        "adjusts": adjusts,
        "adjustments": with_money(payment.adjustments.all(), "amount"),
        "forms": forms,
        "has_errors": any(form.errors for form in forms.values()),
    }
    return render(request, "payments/detail.html", context)


@login_required
def payment_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _render_detail(request, get_payment(request, pk))


Perform = Callable[[Payment, Any, AuthenticatedRequest], tuple[Payment, str]]


def _act(
    request: AuthenticatedRequest, pk: int, *, name: str, form_class: type[CrispyForm], perform: Perform
) -> HttpResponse:
    """Check access, validate the action's form, call its service; show a refusal where it belongs."""
    payment = get_payment(request, pk, needs=f"payments.{name}")
    form = form_class(request.POST, prefix=name)
    if form.is_valid():
        try:
            result, message = perform(payment, form, request)
        except PaymentError as e:
            if e.field not in form.fields:
                messages.error(request, str(e))
                return redirect(payment)
            apply_error(form, e)
        else:
            messages.success(request, message)
            return redirect(result)
    return _render_detail(request, get_payment(request, pk), bound={name: form})


def _approve(payment: Payment, form: Any, request: AuthenticatedRequest) -> tuple[Payment, str]:
    seen = form.cleaned_data["seen_status"]
    payment = approve(payment=payment, by=request.user, seen_status=seen)
    return payment, f"Payment of {format_pounds(payment.amount)} approved: finance can now pay it."


def _pay(payment: Payment, form: Any, request: AuthenticatedRequest) -> tuple[Payment, str]:
    data = form.cleaned_data
    payment = pay(
        payment=payment,
        by=request.user,
        paid_on=data["paid_on"],
        reference=data["reference"],
        seen_status=data["seen_status"],
    )
    paid_on = date_format(payment.paid_on) if payment.paid_on else ""
    return payment, f"Payment of {format_pounds(payment.amount)} recorded as paid on {paid_on}."


def _cancel(payment: Payment, form: Any, request: AuthenticatedRequest) -> tuple[Payment, str]:
    data = form.cleaned_data
    payment = cancel(payment=payment, by=request.user, reason=data["reason"], seen_status=data["seen_status"])
    return payment, f"Payment of {format_pounds(payment.amount)} cancelled."


def _adjust(payment: Payment, form: Any, request: AuthenticatedRequest) -> tuple[Payment, str]:
    adjustment = adjust(payment=payment, details=form.details(), by=request.user)
    return adjustment, f"Adjustment of {format_pounds(adjustment.amount)} recorded: it is due for approval."


@login_required
@require_POST
def approve_payment(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _act(request, pk, name="approve", form_class=ApproveForm, perform=_approve)


@login_required
@require_POST
def pay_payment(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _act(request, pk, name="pay", form_class=PayForm, perform=_pay)


@login_required
@require_POST
def cancel_payment(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _act(request, pk, name="cancel", form_class=CancelForm, perform=_cancel)


@login_required
@require_POST
def adjust_payment(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _act(request, pk, name="adjust", form_class=AdjustForm, perform=_adjust)
