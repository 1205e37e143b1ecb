"""A payment's life: due → approved → paid, or cancelled; every refused transition; a paid payment is final.

Payments here fall due from a real event (the agreement recorded through the coaching service),
so each starts with the history it has in use.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from microsystems.models import AuditEntry
from projects.models import Milestone, Payment, PaymentEvent, PaymentKind, PaymentStatus, financial_year_of
from projects.payments.errors import PaymentError
from projects.payments.lifecycle import AdjustmentDetails, adjust, approve, cancel, pay
from projects.tests.payment_factories import complete, funded_project, sign_agreement, west_tariff

DUE, APPROVED, PAID, CANCELLED = PaymentStatus.DUE, PaymentStatus.APPROVED, PaymentStatus.PAID, PaymentStatus.CANCELLED
SIGNED = date(2025, 1, 8)
PAID_ON = date(2025, 2, 3)


@pytest.fixture
def project(programme):
    west_tariff(programme)
    project = funded_project(programme)
    sign_agreement(project, on=SIGNED, by=programme.coach)
    return project


@pytest.fixture
def payment(project) -> Payment:
    """The agreement's payment: £1,500.00, due since 8 January 2025."""
    return Payment.objects.get(project=project, milestone=Milestone.AGREEMENT)


def paid(payment, programme, reference="PO-4471") -> Payment:
    approve(payment=payment, by=programme.lead)
    return pay(payment=payment, by=programme.finance, paid_on=PAID_ON, reference=reference)


def refused(call, **kwargs) -> PaymentError:
    with pytest.raises(PaymentError) as caught:
        call(**kwargs)
    return caught.value


def history(payment) -> list[tuple]:
    return list(
        PaymentEvent.objects.filter(payment=payment).values_list("by__email", "from_status", "to_status", "note")
    )


def unchanged(payment, *, status: str, events: int) -> None:
    """The payment is still as it was: same status, no new history."""
    payment.refresh_from_db()
    assert payment.status == status
    assert PaymentEvent.objects.filter(payment=payment).count() == events


# The way through ------------------------------------------------------------------------------


def test_the_lead_approves_and_finance_pays_and_each_step_is_recorded(programme, payment):
    approve(payment=payment, by=programme.lead)
    assert (payment.status, payment.approved_by) == (APPROVED, programme.lead)
    assert payment.approved_at is not None

    pay(payment=payment, by=programme.finance, paid_on=PAID_ON, reference=" PO-4471 ")

    payment.refresh_from_db()
    assert (payment.status, payment.paid_on, payment.reference, payment.paid_by) == (
        PAID,
        PAID_ON,
        "PO-4471",
        programme.finance,
    )
    assert payment.paid_at is not None
    assert history(payment) == [
        ("coach@west.example", "", DUE, "Fell due: coaching agreement signed"),
        ("lead@west.example", DUE, APPROVED, ""),
        ("finance@west.example", APPROVED, PAID, "Reference PO-4471"),
    ]
    assert payment.events.last().changes == {"paid_on": "2025-02-03", "reference": "PO-4471"}
    audited = AuditEntry.objects.filter(object_id=str(payment.pk), action__in=["payments.approved", "payments.paid"])
    assert list(audited.order_by("at", "id").values_list("action", "actor__email", "summary")) == [
        ("payments.approved", "lead@west.example", "£1,500.00: due → approved"),
        ("payments.paid", "finance@west.example", "£1,500.00: approved → paid"),
    ]


def test_a_due_payment_is_cancelled_with_a_reason(programme, payment):
    cancel(payment=payment, by=programme.lead, reason=" The practice withdrew before the first meeting. ")

    assert (payment.status, payment.cancelled_by) == (CANCELLED, programme.lead)
    assert payment.cancel_reason == "The practice withdrew before the first meeting."
    assert history(payment)[-1] == (
        "lead@west.example",
        DUE,
        CANCELLED,
        "The practice withdrew before the first meeting.",
    )
    assert payment.events.last().changes == {"cancel_reason": "The practice withdrew before the first meeting."}
    assert AuditEntry.objects.filter(action="payments.cancelled", object_id=str(payment.pk)).exists()


def test_an_approved_payment_can_still_be_cancelled_by_finance(programme, payment):
    approve(payment=payment, by=programme.lead)

    cancel(payment=payment, by=programme.finance, reason="Paid by the PCN instead.")

    assert payment.status == CANCELLED
    assert [e[1:3] for e in history(payment)] == [("", DUE), (DUE, APPROVED), (APPROVED, CANCELLED)]


# Every refused transition ---------------------------------------------------------------------


def test_a_due_payment_cannot_be_paid_before_it_is_approved(programme, payment):
    error = refused(pay, payment=payment, by=programme.finance, paid_on=PAID_ON, reference="PO-1")

    assert str(error) == "Only an approved payment can be paid; this one is due."
    unchanged(payment, status=DUE, events=1)


@pytest.mark.parametrize("state", [APPROVED, PAID, CANCELLED])
def test_only_a_due_payment_can_be_approved(programme, payment, state):
    if state == CANCELLED:
        cancel(payment=payment, by=programme.lead, reason="Withdrawn.")
    else:
        approve(payment=payment, by=programme.lead)
        if state == PAID:
            pay(payment=payment, by=programme.finance, paid_on=PAID_ON, reference="PO-1")
    events = payment.events.count()

    error = refused(approve, payment=payment, by=programme.lead)

    assert str(error) == f"Only a due payment can be approved; this one is {PaymentStatus(state).label.lower()}."
    unchanged(payment, status=state, events=events)


def test_a_paid_or_cancelled_payment_cannot_be_paid_again(programme, payment):
    paid(payment, programme)
    assert str(refused(pay, payment=payment, by=programme.finance, paid_on=PAID_ON, reference="PO-2")) == (
        "Only an approved payment can be paid; this one is paid."
    )
    unchanged(payment, status=PAID, events=3)


def test_a_paid_payment_cannot_be_cancelled_and_the_message_points_to_an_adjustment(programme, payment):
    paid(payment, programme)

    error = refused(cancel, payment=payment, by=programme.lead, reason="Paid twice.")

    assert str(error) == (
        "Only a due or approved payment can be cancelled; this one is paid. Correct a paid payment with an adjustment."
    )
    unchanged(payment, status=PAID, events=3)


def test_a_cancelled_payment_cannot_be_cancelled_again(programme, payment):
    cancel(payment=payment, by=programme.lead, reason="Withdrawn.")

    error = refused(cancel, payment=payment, by=programme.finance, reason="Withdrawn too.")

    assert str(error) == "Only a due or approved payment can be cancelled; this one is cancelled."
    unchanged(payment, status=CANCELLED, events=2)
    assert payment.cancel_reason == "Withdrawn."


def test_a_cancellation_needs_a_reason(programme, payment):
    error = refused(cancel, payment=payment, by=programme.lead, reason="  ")

    assert (error.field, str(error)) == ("reason", "Say why the payment is cancelled.")
    unchanged(payment, status=DUE, events=1)


@pytest.mark.parametrize(
    ("paid_on", "reference", "field", "message"),
    [
        (None, "PO-1", "paid_on", "Give the date it was paid."),
        ("tomorrow", "PO-1", "paid_on", "The date paid cannot be in the future."),
        (date(2025, 1, 7), "PO-1", "paid_on", "The date paid cannot be before it fell due (08/01/2025)."),
        (PAID_ON, "   ", "reference", "Give the payment or purchase-order reference."),
        (PAID_ON, "P" * 61, "reference", "The reference is at most 60 characters."),
    ],
)
def test_paying_needs_a_date_neither_future_nor_before_due_and_a_reference(
    programme, payment, paid_on, reference, field, message
):
    approve(payment=payment, by=programme.lead)
    when = timezone.localdate() + timedelta(days=1) if paid_on == "tomorrow" else paid_on

    error = refused(pay, payment=payment, by=programme.finance, paid_on=when, reference=reference)

    assert (error.field, str(error)) == (field, message)
    unchanged(payment, status=APPROVED, events=2)
    assert (payment.paid_on, payment.reference) == (None, "")


def test_paying_on_the_day_it_fell_due_is_allowed(programme, payment):
    approve(payment=payment, by=programme.lead)

    assert pay(payment=payment, by=programme.finance, paid_on=SIGNED, reference="PO-1").status == PAID


# What the user saw is what they act on ---------------------------------------------------------


def test_approving_what_someone_else_just_cancelled_is_refused_with_a_clear_message(programme, payment):
    seen = Payment.objects.get(pk=payment.pk)  # the lead's page, rendered while it was due
    cancel(payment=payment, by=programme.finance, reason="Withdrawn.")

    error = refused(approve, payment=seen, by=programme.lead, seen_status=DUE)

    assert str(error) == "Someone else has just cancelled this payment, so nothing was changed. It is now cancelled."
    unchanged(payment, status=CANCELLED, events=2)
    assert payment.approved_by is None


def test_cancelling_what_someone_else_just_approved_is_refused_even_though_approved_can_be_cancelled(
    programme, payment
):
    approve(payment=payment, by=programme.lead)

    error = refused(cancel, payment=payment, by=programme.finance, reason="Withdrawn.", seen_status=DUE)

    assert str(error) == "Someone else has just approved this payment, so nothing was changed. It is now approved."
    unchanged(payment, status=APPROVED, events=2)


def test_paying_what_someone_else_just_paid_is_refused_and_the_first_payment_stands(programme, payment):
    approve(payment=payment, by=programme.lead)
    seen = Payment.objects.get(pk=payment.pk)
    pay(payment=payment, by=programme.finance, paid_on=PAID_ON, reference="PO-1")

    error = refused(
        pay, payment=seen, by=programme.admin, paid_on=date(2025, 2, 4), reference="PO-2", seen_status=APPROVED
    )

    assert str(error) == "Someone else has just paid this payment, so nothing was changed. It is now paid."
    unchanged(payment, status=PAID, events=3)
    assert (payment.reference, payment.paid_by) == ("PO-1", programme.finance)
    assert PaymentEvent.objects.filter(payment=payment, to_status=PAID).count() == 1


def test_a_stale_seen_status_is_refused_before_touching_the_database(programme, payment):
    error = refused(approve, payment=payment, by=programme.lead, seen_status=APPROVED)

    assert str(error) == "Only a due payment can be approved; this one is approved."
    unchanged(payment, status=DUE, events=1)


# A paid payment is final ----------------------------------------------------------------------


def test_the_database_refuses_to_change_a_paid_payment(programme, payment):
    paid(payment, programme)

    with pytest.raises(DatabaseError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(amount=Decimal("1.00"))
    payment.reference = "PO-CHANGED"
    with pytest.raises(DatabaseError), transaction.atomic():
        payment.save()
    with pytest.raises(DatabaseError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(status=CANCELLED)

    payment.refresh_from_db()
    assert (payment.amount, payment.reference, payment.status) == (Decimal("1500.00"), "PO-4471", PAID)


def test_the_guard_leaves_an_unpaid_payment_alone(programme, payment):
    Payment.objects.filter(pk=payment.pk).update(due_on=date(2025, 1, 9))

    payment.refresh_from_db()
    assert payment.due_on == date(2025, 1, 9)


def test_a_paid_payment_cannot_be_deleted(programme, payment):
    paid(payment, programme)

    with pytest.raises(ValueError, match="Payments are never deleted"):
        payment.delete()
    with pytest.raises((ProtectedError, DatabaseError)), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).delete()  # its history protects it, and PostgreSQL's trigger

    assert Payment.objects.filter(pk=payment.pk, status=PAID).exists()


def test_on_postgresql_the_database_itself_refuses_to_delete_a_paid_payment(programme, payment):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no delete trigger: Django's test flush empties tables with DELETE.")
    paid(payment, programme)

    with (
        pytest.raises(DatabaseError, match="cannot be changed or deleted"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM projects_payment WHERE id = %s", [payment.pk])

    assert Payment.objects.filter(pk=payment.pk).exists()


# Adjustments ----------------------------------------------------------------------------------


def test_a_paid_payment_is_corrected_by_an_adjustment_that_refers_to_it(programme, payment):
    paid(payment, programme)

    adjustment = adjust(
        payment=payment,
        details=AdjustmentDetails(amount=Decimal("-250.00"), reason=" One session was not held. "),
        by=programme.finance,
    )

    today = timezone.localdate()
    assert (adjustment.kind, adjustment.adjusts, adjustment.status) == (PaymentKind.ADJUSTMENT, payment, DUE)
    assert (adjustment.amount, adjustment.reason, adjustment.milestone) == (
        Decimal("-250.00"),
        "One session was not held.",
        "",
    )
    assert (adjustment.route, adjustment.project) == (payment.route, payment.project)
    assert (adjustment.due_on, adjustment.financial_year) == (today, financial_year_of(today))
    assert list(payment.adjustments.all()) == [adjustment]
    assert history(adjustment) == [("finance@west.example", "", DUE, f"Adjusts payment {payment.pk}")]
    assert history(payment)[-1] == (
        "finance@west.example",
        PAID,
        PAID,
        f"Adjusted by −£250.00 (adjustment {adjustment.pk})",
    )
    payment.refresh_from_db()
    assert (payment.amount, payment.status) == (Decimal("1500.00"), PAID)
    assert AuditEntry.objects.filter(action="payments.adjusted", object_id=str(adjustment.pk)).exists()


def test_an_adjustment_is_approved_and_paid_like_any_payment(programme, payment):
    paid(payment, programme)
    adjustment = adjust(
        payment=payment, details=AdjustmentDetails(amount=Decimal("-250.00"), reason="Overpaid."), by=programme.lead
    )

    approve(payment=adjustment, by=programme.lead)
    pay(payment=adjustment, by=programme.finance, paid_on=timezone.localdate(), reference="CR-19")

    adjustment.refresh_from_db()
    assert adjustment.status == PAID


@pytest.mark.parametrize(
    ("amount", "reason", "field", "message"),
    [
        (None, "Overpaid.", "amount", "Give the adjustment's amount: positive to pay more, negative to recover."),
        ("0", "Overpaid.", "amount", "Give the adjustment's amount: positive to pay more, negative to recover."),
        ("-10.005", "Overpaid.", "amount", "Give the amount in pounds and pence."),
        ("-10.00", " ", "reason", "Say why the payment is adjusted."),
        ("-1500.01", "Overpaid.", "amount", "This would take back more than the project has been paid (£1,500.00)."),
        (
            "1500.01",
            "Extra session.",
            "above_tariff_justification",
            "With this adjustment the project would be paid £3,000.01, more than its funding of £3,000.00: record why.",
        ),
    ],
)
def test_a_bad_adjustment_is_refused_at_its_field_and_nothing_is_saved(
    programme, payment, amount, reason, field, message
):
    paid(payment, programme)  # the project's only payment so far: £1,500.00 of its £3,000.00

    details = AdjustmentDetails(amount=Decimal(amount) if amount else None, reason=reason)
    error = refused(adjust, payment=payment, details=details, by=programme.finance)

    assert (error.field, str(error)) == (field, message)
    assert not Payment.objects.filter(kind=PaymentKind.ADJUSTMENT).exists()
    assert history(payment)[-1][2] == PAID and len(history(payment)) == 3


def test_taking_back_everything_paid_is_allowed(programme, payment):
    paid(payment, programme)

    adjustment = adjust(
        payment=payment,
        details=AdjustmentDetails(amount=Decimal("-1500.00"), reason="Paid in error."),
        by=programme.lead,
    )

    assert adjustment.amount == Decimal("-1500.00")


def test_paying_above_the_funding_is_allowed_with_a_recorded_justification(programme, project, payment):
    complete(project, on=date(2025, 5, 1), lead=programme.lead)
    paid(payment, programme)

    adjustment = adjust(
        payment=payment,
        details=AdjustmentDetails(
            amount=Decimal("300.00"), reason="A third site joined.", above_tariff_justification=" Agreed at the board. "
        ),
        by=programme.lead,
    )

    assert adjustment.above_tariff_justification == "Agreed at the board."


def test_only_a_paid_milestone_payment_can_be_adjusted(programme, payment):
    message = "Only a paid milestone payment can be adjusted; change or cancel the others instead."
    details = AdjustmentDetails(amount=Decimal("-10.00"), reason="Overpaid.")
    assert str(refused(adjust, payment=payment, details=details, by=programme.lead)) == message  # due

    paid(payment, programme)
    adjustment = adjust(payment=payment, details=details, by=programme.lead)
    approve(payment=adjustment, by=programme.lead)
    pay(payment=adjustment, by=programme.finance, paid_on=timezone.localdate(), reference="CR-1")

    assert str(refused(adjust, payment=adjustment, details=details, by=programme.lead)) == message
    assert Payment.objects.filter(kind=PaymentKind.ADJUSTMENT).count() == 1


def test_a_recovery_cannot_take_back_more_than_was_actually_paid(programme, project, payment):
    complete(project, on=date(2025, 5, 1), lead=programme.lead)  # £1,500.00 due, not paid
    paid(payment, programme)  # £1,500.00 paid

    details = AdjustmentDetails(amount=Decimal("-2000.00"), reason="Overpaid.")
    error = refused(adjust, payment=payment, details=details, by=programme.finance)

    assert error.field == "amount"
