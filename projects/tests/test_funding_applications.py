"""Funding applications for a practice's later projects: submitting, the lead's decision, and the payments it makes."""

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from microsystems.models import AuditEntry
from projects.models import ApplicationStatus, FundingApplication, FundingRoute, Milestone, Payment, PaymentStatus
from projects.payments.applications import (
    ApplicationDetails,
    approve_application,
    reject_application,
    submit_application,
)
from projects.payments.errors import PaymentError
from projects.payments.funding import FundingState, funding_of
from projects.services import withdraw_project
from projects.tests.payment_factories import complete, funded_project, sign_agreement, west_tariff

AGREEMENT, COMPLETION = Milestone.AGREEMENT, Milestone.COMPLETION
DECIDED = timezone.make_aware(datetime(2025, 2, 10, 11, 0))


def details(**changes) -> ApplicationDetails:
    base = ApplicationDetails(
        why="  The practice wants to fix repeat prescribing as well.  ",
        amount_requested=Decimal("3000.00"),
        pays_for=" Staff time: two hours a week for the prescription clerk. ",
        needs_ongoing_resources=True,
        ongoing_resources_plan=" The clerk's extra hours become permanent from the practice budget. ",
    )
    return replace(base, **changes)


@pytest.fixture
def later(programme):
    """A practice's second project (its first started in September), with a tariff for its year."""
    west_tariff(programme)
    funded_project(programme, starts_on=date(2024, 9, 2))
    return funded_project(programme)


@pytest.fixture
def application(programme, later):
    return submit_application(project=later, details=details(), by=programme.manager)


def approve(application, by, amount="2400.00", **kwargs):
    with time_machine.travel(DECIDED, tick=False):
        return approve_application(application=application, amount=Decimal(amount), reason="Agreed.", by=by, **kwargs)


def refused(call, **kwargs) -> PaymentError:
    with pytest.raises(PaymentError) as caught:
        call(**kwargs)
    return caught.value


# Submitting -----------------------------------------------------------------------------------


def test_the_practice_applies_for_a_later_project_and_it_is_recorded_and_audited(programme, later):
    application = submit_application(project=later, details=details(), by=programme.manager)

    application.refresh_from_db()
    assert application.status == ApplicationStatus.PENDING
    assert application.why == "The practice wants to fix repeat prescribing as well."
    assert application.pays_for == "Staff time: two hours a week for the prescription clerk."
    assert application.needs_ongoing_resources
    assert application.ongoing_resources_plan == "The clerk's extra hours become permanent from the practice budget."
    assert (application.amount_requested, application.submitted_by) == (Decimal("3000.00"), programme.manager)
    entry = AuditEntry.objects.get(action="payments.application_submitted")
    assert (entry.actor, entry.object_id, entry.summary) == (
        programme.manager,
        str(application.pk),
        "£3,000.00 requested",
    )


def test_a_plan_is_not_kept_when_no_ongoing_resources_are_needed(programme, later):
    application = submit_application(project=later, details=details(needs_ongoing_resources=False), by=programme.nurse)

    assert application.ongoing_resources_plan == ""


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"why": "   "}, "why", "Say why the project needs funding."),
        ({"pays_for": ""}, "pays_for", "Say what the funding will pay for, for example staff time."),
        ({"amount_requested": None}, "amount_requested", "Give an amount of more than £0."),
        ({"amount_requested": Decimal("0")}, "amount_requested", "Give an amount of more than £0."),
        ({"amount_requested": Decimal("-5")}, "amount_requested", "Give an amount of more than £0."),
        ({"amount_requested": Decimal("10.001")}, "amount_requested", "Give the amount in pounds and pence."),
        ({"ongoing_resources_plan": " "}, "ongoing_resources_plan", "Say how the ongoing resources will be met."),
    ],
)
def test_an_incomplete_application_is_refused_at_its_field_and_nothing_is_saved(
    programme, later, changes, field, message
):
    error = refused(submit_application, project=later, details=details(**changes), by=programme.manager)

    assert (str(error), error.field) == (message, field)
    assert not FundingApplication.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="payments.application").exists()


def test_a_first_project_cannot_apply(programme):
    first = funded_project(programme)

    error = refused(submit_application, project=first, details=details(), by=programme.manager)

    assert "first project: it is funded by the enhanced service" in str(error)
    assert not FundingApplication.objects.exists()


def test_a_closed_project_cannot_apply(programme, later):
    withdraw_project(project=later, on=date(2025, 2, 1), reason="The partners retired.", by=programme.lead)

    error = refused(submit_application, project=later, details=details(), by=programme.manager)

    assert str(error) == "This project is closed: funding can no longer be applied for."
    assert not FundingApplication.objects.exists()


def test_an_application_for_a_withdrawn_project_cannot_be_approved(programme, later, application):
    withdraw_project(project=later, on=date(2025, 2, 1), reason="The partners retired.", by=programme.lead)

    error = refused(approve, application=application, by=programme.lead)

    assert str(error) == "The project has been withdrawn: reject the application instead."
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PENDING
    assert not Payment.objects.exists()


def test_a_project_has_one_live_application_at_a_time(programme, later, application):
    message = "This project already has a funding application waiting for a decision or approved."
    assert str(refused(submit_application, project=later, details=details(), by=programme.nurse)) == message

    approve(application, programme.lead)
    assert str(refused(submit_application, project=later, details=details(), by=programme.nurse)) == message
    assert FundingApplication.objects.count() == 1


def test_after_a_rejection_the_project_is_self_funded_and_may_apply_again(programme, later, application):
    reject_application(application=application, reason="The budget for this year is spent.", by=programme.lead)
    assert funding_of(later).state == FundingState.SELF_FUNDED

    again = submit_application(project=later, details=details(amount_requested=Decimal("1500")), by=programme.nurse)

    assert funding_of(later).state == FundingState.PENDING
    assert funding_of(later).application == again


# Approving ------------------------------------------------------------------------------------


def test_approving_a_different_amount_makes_the_reached_milestones_due_from_the_approval(programme, later):
    sign_agreement(later, on=date(2025, 1, 8), by=programme.coach)
    application = submit_application(project=later, details=details(), by=programme.manager)
    assert not Payment.objects.filter(project=later).exists()  # pending: nothing is owed yet

    approve(application, programme.lead, amount="2400.00")

    application.refresh_from_db()
    assert (application.status, application.amount_approved) == (ApplicationStatus.APPROVED, Decimal("2400.00"))
    assert (application.decided_by, application.decided_at, application.decision_reason) == (
        programme.lead,
        DECIDED,
        "Agreed.",
    )
    payment = Payment.objects.get(project=later)
    assert (payment.route, payment.application, payment.milestone) == (FundingRoute.APPLICATION, application, AGREEMENT)
    assert (payment.amount, payment.percent, payment.status) == (Decimal("1200.00"), Decimal("50"), PaymentStatus.DUE)
    assert (payment.due_on, payment.financial_year) == (date(2025, 2, 10), 2024)  # signed earlier: due from approval
    entry = AuditEntry.objects.get(action="payments.application_approved")
    assert entry.summary == "£2,400.00 approved of £3,000.00"


def test_milestones_reached_after_the_approval_fall_due_when_reached(programme, later, application):
    approve(application, programme.lead, amount="2400.00")
    assert not Payment.objects.filter(project=later).exists()

    sign_agreement(later, on=date(2025, 2, 12), by=programme.coach)
    complete(later, on=date(2025, 5, 1), lead=programme.lead)

    payments = {p.milestone: p for p in Payment.objects.filter(project=later)}
    assert (payments[AGREEMENT].due_on, payments[AGREEMENT].amount) == (date(2025, 2, 12), Decimal("1200.00"))
    assert (payments[COMPLETION].due_on, payments[COMPLETION].amount) == (date(2025, 5, 1), Decimal("1200.00"))
    assert {p.route for p in payments.values()} == {FundingRoute.APPLICATION}


def test_an_amount_above_the_tariff_needs_a_recorded_justification(programme, later, application):
    error = refused(approve, application=application, by=programme.lead, amount="3000.01")

    assert error.field == "above_tariff_justification"
    assert str(error) == "£3,000.01 is more than the 2024/25 tariff of £3,000.00: record why."
    application.refresh_from_db()
    assert (application.status, application.amount_approved) == (ApplicationStatus.PENDING, None)

    approve(application, programme.lead, amount="3500.00", above_tariff_justification=" Two sites, two teams. ")
    application.refresh_from_db()
    assert application.above_tariff_justification == "Two sites, two teams."


def test_the_tariff_amount_itself_needs_no_justification(programme, application):
    assert approve(application, programme.lead, amount="3000.00").status == ApplicationStatus.APPROVED


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (None, "Give an amount of more than £0."),
        ("0", "Give an amount of more than £0."),
        ("1.234", "pounds and pence"),
    ],
)
def test_a_bad_approved_amount_is_refused_at_its_field(programme, application, amount, message):
    error = refused(
        approve_application,
        application=application,
        amount=Decimal(amount) if amount else None,
        reason="",
        by=programme.lead,
    )

    assert (error.field, message in str(error)) == ("amount_approved", True)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PENDING


def test_an_application_cannot_be_approved_before_the_years_tariff_is_set(programme):
    funded_project(programme, starts_on=date(2026, 4, 6))
    later = funded_project(programme, starts_on=date(2026, 5, 4))
    application = submit_application(project=later, details=details(), by=programme.manager)

    error = refused(approve_application, application=application, amount=Decimal("100"), reason="", by=programme.lead)

    assert str(error) == "Set the 2026/27 tariff first: its milestones say when the funding is paid."
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PENDING


# Rejecting and deciding twice -----------------------------------------------------------------


def test_a_rejection_needs_a_reason_for_the_practice(programme, application):
    error = refused(reject_application, application=application, reason="  ", by=programme.lead)
    assert (error.field, str(error)) == (
        "decision_reason",
        "Say why the application is rejected: the practice will read it.",
    )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.PENDING

    reject_application(application=application, reason=" The budget is spent. ", by=programme.lead)

    application.refresh_from_db()
    assert (application.status, application.decision_reason) == (ApplicationStatus.REJECTED, "The budget is spent.")
    assert (application.decided_by, application.amount_approved) == (programme.lead, None)
    entry = AuditEntry.objects.get(action="payments.application_rejected")
    assert (entry.actor, entry.summary) == (programme.lead, "The budget is spent.")


def test_the_second_of_two_decisions_is_told_someone_else_decided_and_changes_nothing(programme, application):
    seen_by_other_lead = FundingApplication.objects.get(pk=application.pk)
    approve(application, programme.lead, amount="2400.00")

    rejected = refused(reject_application, application=seen_by_other_lead, reason="No.", by=programme.admin)
    approved = refused(approve, application=seen_by_other_lead, by=programme.admin, amount="100.00")

    expected = "Someone else has just decided this application: it is approved. Nothing was changed."
    assert str(rejected) == str(approved) == expected
    application.refresh_from_db()
    assert (application.status, application.amount_approved) == (ApplicationStatus.APPROVED, Decimal("2400.00"))
    assert (application.decided_by, application.decision_reason) == (programme.lead, "Agreed.")
    assert (
        AuditEntry.objects.filter(action__in=["payments.application_approved", "payments.application_rejected"]).count()
        == 1
    )


def test_a_rejected_application_cannot_then_be_approved(programme, application):
    reject_application(application=application, reason="The budget is spent.", by=programme.lead)

    error = refused(approve, application=application, by=programme.lead)

    assert str(error) == "Someone else has just decided this application: it is rejected. Nothing was changed."
    assert not Payment.objects.exists()
