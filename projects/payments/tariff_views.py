"""Tariffs: each commissioner's first-project amount and milestone shares by financial year.

The lead sets them; finance reads them. A tariff cannot change once payments fell due
under it: the service says so, and the page shows its message.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render

from microsystems.access import AuthenticatedRequest, deny, get_in_scope_or_404
from microsystems.forms import apply_error

from ..models import Tariff, financial_year_label
from .errors import PaymentError
from .forms import TariffForm, share_field_name
from .money import format_pounds
from .selectors import current_financial_year, tariff_commissioners, tariffs_of, with_money
from .tariffs import DEFAULT_SHARES, set_tariff

FIRST_YEAR, LAST_YEAR = 2000, 2100  # a year outside these is a typed URL, not a tariff


@login_required
def tariffs(request: AuthenticatedRequest) -> HttpResponse:
    commissioners = list(tariffs_of(tariff_commissioners(request.user)))
    if not commissioners:
        raise deny(request, "payments.see_tariffs")
    may_set = set(tariff_commissioners(request.user, to_set=True).values_list("pk", flat=True))
    current = current_financial_year()
    for commissioner in commissioners:
        rows = with_money(commissioner.tariffs.all(), "first_project_amount")
        set_years = {t.financial_year for t in rows}
        commissioner.may_set = commissioner.pk in may_set  # type: ignore[attr-defined]
        commissioner.years_to_set = [  # type: ignore[attr-defined]
            (year, financial_year_label(year)) for year in (current - 1, current, current + 1) if year not in set_years
        ]
    context = {"commissioners": commissioners, "current_label": financial_year_label(current)}
    return render(request, "payments/tariffs.html", context)


def _initial(tariff: Tariff | None) -> dict[str, Any]:
    if tariff is None:
        return {share_field_name(m): p for m, p in DEFAULT_SHARES.items()}
    initial: dict[str, Any] = {"first_project_amount": tariff.first_project_amount}
    initial |= {share_field_name(m.milestone): m.percent for m in tariff.milestones.all()}
    return initial


@login_required
def tariff(request: AuthenticatedRequest, commissioner_id: int, year: int) -> HttpResponse:
    commissioner = get_in_scope_or_404(tariff_commissioners(request.user, to_set=True), request, pk=commissioner_id)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Http404("No such financial year.")
    current = commissioner.tariffs.filter(financial_year=year).prefetch_related("milestones").first()
    form = TariffForm(request.POST if request.method == "POST" else None, initial=_initial(current))
    label = financial_year_label(year)
    if request.method == "POST" and form.is_valid():
        try:
            saved = set_tariff(
                commissioner=commissioner,
                financial_year=year,
                amount=form.cleaned_data["first_project_amount"],
                shares=form.shares(),
                by=request.user,
            )
        except PaymentError as e:
            apply_error(form, e)
        else:
            amount = format_pounds(saved.first_project_amount)
            messages.success(request, f"The {label} tariff for {commissioner.name} is {amount} for a first project.")
            return redirect("payments:tariffs")
    context = {"commissioner": commissioner, "year_label": label, "tariff": current, "form": form}
    return render(request, "payments/tariff_form.html", context)
