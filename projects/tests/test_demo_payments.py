"""The demo funding: what the issue asks for, consistent with the projects' own dates, and safe to build twice."""

from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum
from django.utils import timezone

from practices.demo import seed_demo
from projects.models import (
    ApplicationStatus,
    FundingApplication,
    FundingRoute,
    Milestone,
    Payment,
    PaymentEvent,
    PaymentKind,
    PaymentStatus,
    Tariff,
    financial_year_of,
)
from projects.payments.demo import seed_payments
from projects.payments.funding import is_first_project
from projects.payments.milestones import reached_milestones
from projects.payments.tariffs import shares_of, tariff_for


@pytest.fixture
def demo(db):
    seed_demo()
    return Payment.objects.select_related("project__practice__commissioner")


def state():
    """Every demo funding row that matters, to compare two runs."""
    return (
        list(Tariff.objects.values_list("commissioner", "financial_year", "first_project_amount").order_by("id")),
        list(Payment.objects.values_list("project", "kind", "milestone", "amount", "status").order_by("id")),
        list(PaymentEvent.objects.values_list("payment", "to_status").order_by("id")),
        list(FundingApplication.objects.values_list("project", "status", "amount_approved").order_by("id")),
    )


def test_each_demo_commissioner_has_this_years_and_last_years_tariff_paid_half_and_half(demo):
    this_year = financial_year_of(timezone.localdate())

    for code in ("99J", "99K"):
        tariffs = Tariff.objects.filter(commissioner__ods_code=code).order_by("financial_year")
        assert [t.financial_year for t in tariffs] == [this_year - 1, this_year]
        assert [t.first_project_amount for t in tariffs] == [Decimal("2800.00"), Decimal("3000.00")]
        for tariff in tariffs:
            assert shares_of(tariff) == [(Milestone.AGREEMENT, Decimal("50")), (Milestone.COMPLETION, Decimal("50"))]
            assert (
                tariff.set_by.email == f"lead.{'westkent' if code == '99J' else 'highweald'}@demo.microsystems.example"
            )


def test_first_project_payments_are_at_every_status_and_only_for_first_projects(demo):
    first = demo.filter(route=FundingRoute.FIRST_PROJECT, kind=PaymentKind.MILESTONE)

    assert set(first.filter(project__practice__commissioner__ods_code="99J").values_list("status", flat=True)) == {
        PaymentStatus.DUE,
        PaymentStatus.APPROVED,
        PaymentStatus.PAID,
        PaymentStatus.CANCELLED,
    }
    for payment in first:
        assert is_first_project(payment.project)
        assert payment.amount == tariff_for(payment.project).first_project_amount / 2


def test_every_milestone_payment_fell_due_on_the_day_its_project_reached_it(demo):
    for payment in demo.filter(kind=PaymentKind.MILESTONE):
        reached = reached_milestones(payment.project)[payment.milestone]
        if payment.route == FundingRoute.FIRST_PROJECT:
            assert payment.due_on == reached
        else:  # due from the approval when the milestone was reached before it
            assert payment.due_on == max(reached, timezone.localdate(payment.application.decided_at))
        assert payment.financial_year == financial_year_of(payment.due_on)


def test_every_payment_has_a_history_that_matches_its_status_and_dates_that_make_sense(demo):
    today = timezone.localdate()
    for payment in demo.prefetch_related("events"):
        events = list(payment.events.all())
        assert events[0].to_status == PaymentStatus.DUE
        moves = [e for e in events if e.from_status != e.to_status]
        assert moves[-1].to_status == payment.status
        assert all(e.by is not None for e in events)
        if payment.status == PaymentStatus.PAID:
            assert payment.due_on <= payment.paid_on <= today
            assert payment.reference and payment.paid_by.email.startswith("finance.")
        if payment.status == PaymentStatus.CANCELLED:
            assert payment.cancel_reason
        assert payment.due_on <= today


def test_a_paid_payment_has_an_adjustment_that_refers_to_it(demo):
    adjustment = demo.get(kind=PaymentKind.ADJUSTMENT)

    assert adjustment.adjusts.status == PaymentStatus.PAID
    assert adjustment.amount == Decimal("-150.00")
    assert adjustment.reason
    paid = adjustment.adjusts.events.filter(from_status=PaymentStatus.PAID, to_status=PaymentStatus.PAID)
    assert paid.get().note.startswith("Adjusted by −£150.00")


def test_applications_are_approved_rejected_and_waiting_and_approval_made_their_payments_due(demo):
    applications = FundingApplication.objects.select_related("project")

    assert set(applications.values_list("status", flat=True)) == {
        ApplicationStatus.APPROVED,
        ApplicationStatus.REJECTED,
        ApplicationStatus.PENDING,
    }
    for application in applications:
        assert not is_first_project(application.project)
        if application.status == ApplicationStatus.APPROVED:
            payments = application.payments.all()
            assert payments.exists()
            assert {p.route for p in payments} == {FundingRoute.APPLICATION}
            assert payments.aggregate(total=Sum("amount"))["total"] <= application.amount_approved
            if application.amount_approved > tariff_for(application.project).first_project_amount:
                assert application.above_tariff_justification
        else:
            assert not application.payments.exists()
        if application.status == ApplicationStatus.REJECTED:
            assert application.decision_reason


def test_seeding_twice_changes_nothing(demo):
    before = state()

    assert seed_payments() == 0
    seed_demo()

    assert state() == before


@pytest.mark.parametrize("today", [datetime(2027, 3, 31, 9), datetime(2027, 4, 1, 9)])
def test_the_demo_builds_on_either_side_of_the_financial_years_turn(db, today):
    with time_machine.travel(timezone.make_aware(today), tick=False):
        seed_demo()
        this_year = financial_year_of(timezone.localdate())

        assert set(Tariff.objects.values_list("financial_year", flat=True)) == {this_year - 1, this_year}
        assert Payment.objects.filter(status=PaymentStatus.PAID).exists()
        assert Payment.objects.filter(kind=PaymentKind.ADJUSTMENT).exists()
        assert not Payment.objects.filter(due_on__gt=timezone.localdate()).exists()
