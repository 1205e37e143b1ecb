"""The lead's tariff for a financial year: the first-project amount and how it splits over milestones."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction

from microsystems.audit import audit
from microsystems.models import User
from practices.models import Commissioner

from ..models import (
    MILESTONE_ORDER,
    Milestone,
    Payment,
    Project,
    Tariff,
    TariffMilestone,
    financial_year_bounds,
    financial_year_label,
    financial_year_of,
)
from .errors import PaymentError
from .money import HUNDRED, PENNY, check_pence_and_size, format_pounds

DEFAULT_SHARES = {Milestone.AGREEMENT: Decimal("50"), Milestone.COMPLETION: Decimal("50")}


def tariff_for(project: Project) -> Tariff | None:
    """The tariff of the financial year the project started in, at its practice's commissioner."""
    return (
        Tariff.objects.filter(
            commissioner_id=project.practice.commissioner_id, financial_year=financial_year_of(project.starts_on)
        )
        .prefetch_related("milestones")
        .first()
    )


def shares_of(tariff: Tariff) -> list[tuple[str, Decimal]]:
    """The tariff's milestones and their percentages, in the order a project reaches them."""
    by_milestone = {m.milestone: m.percent for m in tariff.milestones.all()}
    return [(m, by_milestone[m]) for m in MILESTONE_ORDER if m in by_milestone]


def _check(amount: Decimal, shares: dict[str, Decimal]) -> dict[str, Decimal]:
    if amount is None or amount <= 0:
        raise PaymentError("The amount for a first project must be more than £0.", field="first_project_amount")
    check_pence_and_size(amount, "first_project_amount")
    kept = {m: Decimal(p) for m, p in shares.items() if p}
    for milestone, percent in kept.items():
        if milestone not in Milestone.values:
            raise PaymentError(f"{milestone} is not a milestone.")
        if not 0 < percent <= HUNDRED:
            raise PaymentError("Each share is between 0% and 100%.", field=f"share_{milestone}")
        if percent != percent.quantize(PENNY):
            raise PaymentError("Give each share to at most two decimal places.", field=f"share_{milestone}")
    if sum(kept.values(), Decimal(0)) != HUNDRED:
        total = sum(kept.values(), Decimal(0))
        raise PaymentError(f"The milestones' shares must add up to 100%; they add up to {total.normalize():f}%.")
    return kept


def _payments_under(commissioner: Commissioner, year: int) -> bool:
    first, last = financial_year_bounds(year)
    return Payment.objects.filter(
        project__practice__commissioner=commissioner,
        project__starts_on__range=(first, last),
    ).exists()


def set_tariff(
    *, commissioner: Commissioner, financial_year: int, amount: Decimal, shares: dict[str, Decimal], by: User
) -> Tariff:
    """Create or change a year's tariff; once a payment has been made from it, it can no longer change.

    Setting a tariff makes due the payments of first projects that already reached a milestone.
    """
    kept = _check(amount, shares)
    label = financial_year_label(financial_year)
    try:
        with transaction.atomic():
            tariff = (
                Tariff.objects.select_for_update()
                .filter(commissioner=commissioner, financial_year=financial_year)
                .first()
            )
            if tariff is not None:
                current = {m.milestone: m.percent for m in tariff.milestones.all()}
                if tariff.first_project_amount == amount and current == kept:
                    return tariff
                if _payments_under(commissioner, financial_year):
                    raise PaymentError(
                        f"Payments have already fallen due under the {label} tariff, so it can no longer change. "
                        "Correct a paid payment with an adjustment."
                    )
                before = {"amount": tariff.first_project_amount, "shares": current}
                tariff.first_project_amount, tariff.set_by = amount, by
                tariff.save(update_fields=["first_project_amount", "set_by"])
                tariff.milestones.all().delete()
            else:
                before = {}
                tariff = Tariff.objects.create(
                    commissioner=commissioner, financial_year=financial_year, first_project_amount=amount, set_by=by
                )
            TariffMilestone.objects.bulk_create(
                TariffMilestone(tariff=tariff, milestone=m, percent=p) for m, p in kept.items()
            )
            audit(
                tariff,
                "payments.tariff_set",
                by=by,
                summary=f"{label}: {format_pounds(amount)} for a first project",
                changes={"before": before, "after": {"amount": amount, "shares": kept}},
            )
            from .milestones import sync_first_projects  # the tariff makes past milestones payable

            sync_first_projects(tariff, by=by)
    except IntegrityError:
        raise PaymentError(f"Someone else set the {label} tariff just now. Check it and try again.") from None
    return tariff
