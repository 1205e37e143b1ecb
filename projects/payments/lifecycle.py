"""A payment's life: due → approved (the lead) → paid (finance), or cancelled; adjustments correct paid ones.

Every transition is one conditional UPDATE on the status the user saw, so of two people
acting on one payment at once (approve and cancel, pay twice) exactly one wins and the other
is told what happened; nothing is changed for them. A paid payment is never changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from microsystems.audit import audit
from microsystems.models import User

from ..models import Payment, PaymentEvent, PaymentKind, PaymentStatus, financial_year_of
from .errors import PaymentError
from .funding import funded_amount, funding_of
from .money import check_pence_and_size, format_pounds
from .tariffs import tariff_for

PAST_TENSE: dict[str, str] = {
    PaymentStatus.APPROVED: "approved",
    PaymentStatus.PAID: "paid",
    PaymentStatus.CANCELLED: "cancelled",
    PaymentStatus.DUE: "made due",
}


def _transition(
    payment: Payment,
    *,
    expected: str,
    to: str,
    by: User,
    fields: dict[str, Any],
    note: str = "",
) -> Payment:
    """Move the payment from ``expected`` to ``to`` if it is still ``expected``; record who, when and what."""
    with transaction.atomic():
        changed = Payment.objects.filter(pk=payment.pk, status=expected).update(status=to, **fields)
        if not changed:
            now = Payment.objects.filter(pk=payment.pk).values_list("status", flat=True).first()
            if now == expected:  # pragma: no cover - the update above would have matched
                raise PaymentError("The payment could not be changed. Try again.")
            what = PAST_TENSE.get(now, "changed") if now else "removed"
            raise PaymentError(
                f"Someone else has just {what} this payment, so nothing was changed. "
                f"It is now {PaymentStatus(now).label.lower() if now else 'gone'}."
            )
        PaymentEvent.objects.create(
            payment=payment,
            by=by,
            from_status=expected,
            to_status=to,
            note=note[:300],
            changes={name: value for name, value in fields.items() if not name.endswith(("_by", "_at"))},
        )
        audit(payment, f"payments.{to}", by=by, summary=f"{format_pounds(payment.amount)}: {expected} → {to}")
    payment.refresh_from_db()
    return payment


def _expected(payment: Payment, seen_status: str | None) -> str:
    return seen_status or payment.status


def approve(*, payment: Payment, by: User, seen_status: str | None = None) -> Payment:
    """The lead approves a due payment for finance to pay."""
    expected = _expected(payment, seen_status)
    if expected != PaymentStatus.DUE:
        raise PaymentError(f"Only a due payment can be approved; this one is {PaymentStatus(expected).label.lower()}.")
    return _transition(
        payment, expected=expected, to=PaymentStatus.APPROVED, by=by,
        fields={"approved_by": by, "approved_at": timezone.now()},
    )  # fmt: skip


def pay(*, payment: Payment, by: User, paid_on: date | None, reference: str, seen_status: str | None = None) -> Payment:
    """Finance records an approved payment as paid, with the date and the payment or purchase-order reference."""
    expected = _expected(payment, seen_status)
    if expected != PaymentStatus.APPROVED:
        state = PaymentStatus(expected).label.lower()
        raise PaymentError(f"Only an approved payment can be paid; this one is {state}.")
    if paid_on is None:
        raise PaymentError("Give the date it was paid.", field="paid_on")
    if paid_on > timezone.localdate():
        raise PaymentError("The date paid cannot be in the future.", field="paid_on")
    if paid_on < payment.due_on:
        raise PaymentError(f"The date paid cannot be before it fell due ({payment.due_on:%d/%m/%Y}).", field="paid_on")
    reference = reference.strip()
    if not reference:
        raise PaymentError("Give the payment or purchase-order reference.", field="reference")
    if len(reference) > 60:
        raise PaymentError("The reference is at most 60 characters.", field="reference")
    return _transition(
        payment, expected=expected, to=PaymentStatus.PAID, by=by,
        fields={"paid_on": paid_on, "reference": reference, "paid_by": by, "paid_at": timezone.now()},
        note=f"Reference {reference}",
    )  # fmt: skip


def cancel(*, payment: Payment, by: User, reason: str, seen_status: str | None = None) -> Payment:
    """Cancel a payment not yet paid, with a reason."""
    expected = _expected(payment, seen_status)
    if expected not in {PaymentStatus.DUE, PaymentStatus.APPROVED}:
        state = PaymentStatus(expected).label.lower()
        hint = " Correct a paid payment with an adjustment." if expected == PaymentStatus.PAID else ""
        raise PaymentError(f"Only a due or approved payment can be cancelled; this one is {state}.{hint}")
    if not reason.strip():
        raise PaymentError("Say why the payment is cancelled.", field="reason")
    return _transition(
        payment, expected=expected, to=PaymentStatus.CANCELLED, by=by,
        fields={"cancel_reason": reason.strip(), "cancelled_by": by, "cancelled_at": timezone.now()},
        note=reason.strip(),
    )  # fmt: skip


@dataclass(frozen=True)
class AdjustmentDetails:
    amount: Decimal | None
    reason: str
    above_tariff_justification: str = ""


def adjust(*, payment: Payment, details: AdjustmentDetails, by: User) -> Payment:
    """Correct a paid payment with a new adjustment (negative to recover money); it is then approved and paid."""
    if payment.status != PaymentStatus.PAID or payment.kind != PaymentKind.MILESTONE:
        raise PaymentError("Only a paid milestone payment can be adjusted; change or cancel the others instead.")
    if details.amount is None or details.amount == 0:
        raise PaymentError("Give the adjustment's amount: positive to pay more, negative to recover.", field="amount")
    amount = details.amount
    check_pence_and_size(amount, "amount")
    if not details.reason.strip():
        raise PaymentError("Say why the payment is adjusted.", field="reason")
    project = payment.project
    with transaction.atomic():
        Payment.objects.select_for_update().get(pk=payment.pk)  # adjustments of one payment, one at a time
        live = project.payments.exclude(status=PaymentStatus.CANCELLED)
        committed = live.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
        # Money actually paid, less what is already being recovered: what a recovery may take back.
        paid = live.filter(Q(status=PaymentStatus.PAID) | Q(kind=PaymentKind.ADJUSTMENT)).aggregate(
            total=Sum("amount")
        )["total"] or Decimal("0.00")
        if paid + amount < 0:
            raise PaymentError(
                f"This would take back more than the project has been paid ({format_pounds(paid)}).", field="amount"
            )
        ceiling = funded_amount(funding_of(project), tariff_for(project))
        justification = details.above_tariff_justification.strip()
        if ceiling is not None and committed + amount > ceiling and not justification:
            raise PaymentError(
                f"With this adjustment the project would be paid {format_pounds(committed + amount)}, "
                f"more than its funding of {format_pounds(ceiling)}: record why.",
                field="above_tariff_justification",
            )
        today = timezone.localdate()
        adjustment = Payment.objects.create(
            project=project,
            route=payment.route,
            application=payment.application,
            kind=PaymentKind.ADJUSTMENT,
            adjusts=payment,
            amount=amount,
            due_on=today,
            financial_year=financial_year_of(today),
            reason=details.reason.strip(),
            above_tariff_justification=justification,
            created_by=by,
        )
        PaymentEvent.objects.create(
            payment=adjustment, by=by, to_status=PaymentStatus.DUE, note=f"Adjusts payment {payment.pk}",
            changes={"amount": str(amount), "reason": details.reason.strip()},
        )  # fmt: skip
        PaymentEvent.objects.create(
            payment=payment, by=by, from_status=PaymentStatus.PAID, to_status=PaymentStatus.PAID,
            note=f"Adjusted by {format_pounds(amount)} (adjustment {adjustment.pk})",
        )  # fmt: skip
        audit(adjustment, "payments.adjusted", by=by, summary=f"{format_pounds(amount)} on payment {payment.pk}")
    return adjustment
