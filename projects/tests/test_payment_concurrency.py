"""Two people acting on one payment or application at the same moment, on two real database connections.

Each actor runs in its own thread, so with its own connection and transaction; a barrier
starts them together. Only PostgreSQL runs writers concurrently: on SQLite these skip.
"""

import threading
from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, connections

from projects.models import (
    ApplicationStatus,
    FundingApplication,
    Milestone,
    Payment,
    PaymentEvent,
    PaymentKind,
    PaymentStatus,
)
from projects.payments.applications import (
    ApplicationDetails,
    approve_application,
    reject_application,
    submit_application,
)
from projects.payments.errors import PaymentError
from projects.payments.lifecycle import AdjustmentDetails, adjust, approve, cancel, pay
from projects.tests.payment_factories import funded_project, sign_agreement, west_tariff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("Concurrent writers need PostgreSQL (set DATABASE_URL to run this here).")


@pytest.fixture
def payment(programme) -> Payment:
    west_tariff(programme)
    project = funded_project(programme)
    sign_agreement(project, on=date(2025, 1, 8), by=programme.coach)
    return Payment.objects.get(project=project, milestone=Milestone.AGREEMENT)


def at_once(*actions: Callable[[], object]) -> tuple[list[object], list[PaymentError]]:
    """Run the actions together, each on its own connection; what they returned and what they were refused."""
    won: list[object] = []
    refused: list[PaymentError] = []
    unexpected: list[BaseException] = []
    start = threading.Barrier(len(actions))

    def run(action: Callable[[], object]) -> None:
        try:
            start.wait()
            won.append(action())
        except PaymentError as e:
            refused.append(e)
        except BaseException as e:  # noqa: BLE001 - anything else is the test's failure
            unexpected.append(e)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert unexpected == []
    return won, refused


def fresh(payment: Payment) -> Payment:
    """The payment as each actor's page loaded it."""
    return Payment.objects.get(pk=payment.pk)


def test_approve_and_cancel_at_once_exactly_one_wins(programme, payment):
    won, refused = at_once(
        lambda: approve(payment=fresh(payment), by=programme.lead, seen_status=PaymentStatus.DUE),
        lambda: cancel(
            payment=fresh(payment), by=programme.finance, reason="Withdrawn.", seen_status=PaymentStatus.DUE
        ),
    )

    assert (len(won), len(refused)) == (1, 1)
    payment.refresh_from_db()
    assert payment.status in {PaymentStatus.APPROVED, PaymentStatus.CANCELLED}
    assert str(refused[0]).startswith("Someone else has just")
    assert str(refused[0]).endswith(f"It is now {payment.get_status_display().lower()}.")
    moves = PaymentEvent.objects.filter(payment=payment).exclude(from_status="")
    assert list(moves.values_list("from_status", "to_status")) == [(PaymentStatus.DUE, payment.status)]


def test_paying_twice_at_once_pays_once(programme, payment):
    approve(payment=payment, by=programme.lead)

    won, refused = at_once(
        lambda: pay(payment=fresh(payment), by=programme.finance, paid_on=date(2025, 2, 3), reference="PO-1"),
        lambda: pay(payment=fresh(payment), by=programme.admin, paid_on=date(2025, 2, 4), reference="PO-2"),
    )

    assert (len(won), len(refused)) == (1, 1)
    assert str(refused[0]) == "Someone else has just paid this payment, so nothing was changed. It is now paid."
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.PAID
    assert payment.reference == won[0].reference  # type: ignore[attr-defined]
    assert PaymentEvent.objects.filter(payment=payment, to_status=PaymentStatus.PAID).count() == 1


def test_two_recoveries_at_once_cannot_take_back_more_than_was_paid(programme, payment):
    approve(payment=payment, by=programme.lead)
    pay(payment=payment, by=programme.finance, paid_on=date(2025, 2, 3), reference="PO-1")
    recovery = AdjustmentDetails(amount=Decimal("-1000.00"), reason="Overpaid.")

    won, refused = at_once(
        lambda: adjust(payment=fresh(payment), details=recovery, by=programme.lead),
        lambda: adjust(payment=fresh(payment), details=recovery, by=programme.finance),
    )

    assert (len(won), len(refused)) == (1, 1)
    assert refused[0].field == "amount"
    assert Payment.objects.filter(kind=PaymentKind.ADJUSTMENT).count() == 1


def test_approving_and_rejecting_an_application_at_once_exactly_one_decides(programme):
    west_tariff(programme)
    funded_project(programme, starts_on=date(2024, 9, 2))
    later = funded_project(programme)
    details = ApplicationDetails(
        why="Repeat prescribing too.",
        amount_requested=Decimal("2000.00"),
        pays_for="Staff time.",
        needs_ongoing_resources=False,
        ongoing_resources_plan="",
    )
    application = submit_application(project=later, details=details, by=programme.manager)

    def loaded() -> FundingApplication:
        return FundingApplication.objects.get(pk=application.pk)

    won, refused = at_once(
        lambda: approve_application(application=loaded(), amount=Decimal("2000.00"), reason="", by=programme.lead),
        lambda: reject_application(application=loaded(), reason="The budget is spent.", by=programme.lead),
    )

    assert (len(won), len(refused)) == (1, 1)
    application.refresh_from_db()
    assert application.status in {ApplicationStatus.APPROVED, ApplicationStatus.REJECTED}
    state = application.get_status_display().lower()
    assert str(refused[0]) == f"Someone else has just decided this application: it is {state}. Nothing was changed."
