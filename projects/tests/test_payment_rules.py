"""The funding rules: who is funded, the lead's tariff, and payments falling due from real events.

Agreements are recorded with ``coaching.agreements.record_agreement`` and projects completed
with ``projects.services.complete_project``: the payments here fall due exactly as they do in use.
"""

from datetime import date
from decimal import Decimal

import pytest

from microsystems.models import AuditEntry
from projects.models import (
    FundingRoute,
    Milestone,
    Payment,
    PaymentEvent,
    PaymentKind,
    PaymentStatus,
    Tariff,
    TariffMilestone,
    financial_year_bounds,
    financial_year_label,
    financial_year_of,
)
from projects.payments.applications import ApplicationDetails, approve_application, submit_application
from projects.payments.errors import PaymentError
from projects.payments.funding import FundingState, funding_of, is_first_project
from projects.payments.milestones import milestone_reached, reached_milestones, sync_project
from projects.payments.money import format_pounds, pounds, split
from projects.payments.tariffs import set_tariff, shares_of, tariff_for
from projects.tests.factories import ProjectFactory
from projects.tests.payment_factories import complete, funded_project, sign_agreement, west_tariff

AGREEMENT, COMPLETION = Milestone.AGREEMENT, Milestone.COMPLETION


def payment_of(project, milestone=AGREEMENT):
    return Payment.objects.get(project=project, milestone=milestone)


def refused(call, **kwargs) -> PaymentError:
    with pytest.raises(PaymentError) as caught:
        call(**kwargs)
    return caught.value


def application_details(amount="2000.00") -> ApplicationDetails:
    return ApplicationDetails(
        why="A second project on prescribing needs protected time.",
        amount_requested=Decimal(amount),
        pays_for="Staff time: two hours a week for the prescription clerk.",
        needs_ongoing_resources=False,
        ongoing_resources_plan="",
    )


# Eligibility ----------------------------------------------------------------------------------


def test_a_practices_first_project_is_funded_without_an_application(programme):
    project = funded_project(programme)

    funding = funding_of(project)

    assert funding.state == FundingState.FIRST_PROJECT
    assert funding.is_funded
    assert funding.route == FundingRoute.FIRST_PROJECT
    assert funding.label == "Funded: first project (enhanced service)"


def test_the_first_project_is_the_earliest_started_whatever_the_order_it_was_created(programme):
    later = ProjectFactory(practice=programme.practice, starts_on=date(2025, 3, 3))
    earlier = ProjectFactory(practice=programme.practice, starts_on=date(2025, 1, 6))

    assert is_first_project(earlier)
    assert not is_first_project(later)
    assert funding_of(later).state == FundingState.SELF_FUNDED


def test_of_two_projects_started_the_same_day_the_first_created_is_first(programme):
    first = ProjectFactory(practice=programme.practice, starts_on=date(2025, 1, 6))
    second = ProjectFactory(practice=programme.practice, starts_on=date(2025, 1, 6))

    assert is_first_project(first)
    assert not is_first_project(second)


def test_each_practice_has_its_own_first_project(programme):
    ProjectFactory(practice=programme.practice, starts_on=date(2024, 6, 3))
    sibling = ProjectFactory(practice=programme.sibling_practice, starts_on=date(2025, 1, 6))

    assert funding_of(sibling).state == FundingState.FIRST_PROJECT


def test_a_later_project_is_self_funded_then_pending_then_funded_once_approved(programme):
    west_tariff(programme)
    funded_project(programme, starts_on=date(2024, 9, 2))
    later = funded_project(programme)
    assert funding_of(later).state == FundingState.SELF_FUNDED
    assert not funding_of(later).is_funded
    assert funding_of(later).route is None

    application = submit_application(project=later, details=application_details(), by=programme.manager)
    pending = funding_of(later)
    assert (pending.state, pending.application, pending.is_funded) == (FundingState.PENDING, application, False)
    assert pending.label == "Funding application waiting for a decision"

    approve_application(application=application, amount=Decimal("2000.00"), reason="Agreed.", by=programme.lead)
    funded = funding_of(later)
    assert (funded.state, funded.application, funded.is_funded) == (FundingState.FUNDED, application, True)
    assert funded.route == FundingRoute.APPLICATION


def test_a_self_funded_project_reaching_a_milestone_is_owed_nothing(programme):
    west_tariff(programme)
    funded_project(programme, starts_on=date(2024, 9, 2))
    later = funded_project(programme)

    sign_agreement(later, on=date(2025, 1, 8), by=programme.coach)

    assert not Payment.objects.filter(project=later).exists()


# The tariff -----------------------------------------------------------------------------------


def test_the_lead_sets_a_tariff_with_its_milestones_and_it_is_audited(programme):
    tariff = west_tariff(programme, year=2026, shares={AGREEMENT: Decimal("30"), COMPLETION: Decimal("70")})

    assert (tariff.financial_year, tariff.first_project_amount, tariff.set_by) == (
        2026,
        Decimal("3000"),
        programme.lead,
    )
    assert tariff.year_label == "2026/27"
    assert shares_of(tariff) == [(AGREEMENT, Decimal("30")), (COMPLETION, Decimal("70"))]
    entry = AuditEntry.objects.get(action="payments.tariff_set")
    assert (entry.actor, entry.object_id) == (programme.lead, str(tariff.pk))
    assert entry.summary.startswith("2026/27: ")


@pytest.mark.parametrize(
    ("amount", "shares", "field", "message"),
    [
        ("0", None, "first_project_amount", "The amount for a first project must be more than £0."),
        ("-10.00", None, "first_project_amount", "The amount for a first project must be more than £0."),
        ("3000.005", None, "first_project_amount", "Give the amount in pounds and pence."),
        ("3000", {AGREEMENT: Decimal("50"), COMPLETION: Decimal("40")}, None, "they add up to 90%"),
        ("3000", {AGREEMENT: Decimal("60"), COMPLETION: Decimal("50")}, None, "they add up to 110%"),
        ("3000", {AGREEMENT: Decimal("-10"), COMPLETION: Decimal("110")}, "share_agreement", "between 0% and 100%"),
        ("3000", {"launch": Decimal("100")}, None, "launch is not a milestone."),
        ("3000", {AGREEMENT: Decimal("50.005"), COMPLETION: Decimal("49.995")}, "share_agreement", "two decimal"),
        ("100000000.00", None, "first_project_amount", "at most £99,999,999.99"),
    ],
)
def test_a_bad_tariff_is_refused_at_its_field_and_nothing_is_saved(programme, amount, shares, field, message):
    error = refused(
        set_tariff,
        commissioner=programme.commissioner,
        financial_year=2024,
        amount=Decimal(amount),
        shares=shares or {AGREEMENT: Decimal("50"), COMPLETION: Decimal("50")},
        by=programme.lead,
    )

    assert message in str(error)
    assert error.field == field
    assert not Tariff.objects.exists()
    assert not TariffMilestone.objects.exists()


def test_a_tariff_can_change_until_a_payment_falls_due_under_it(programme):
    west_tariff(programme)
    changed = west_tariff(programme, amount="3200.00", shares={COMPLETION: Decimal("100")})
    assert changed.first_project_amount == Decimal("3200.00")
    assert shares_of(changed) == [(COMPLETION, Decimal("100"))]
    assert Tariff.objects.count() == 1

    project = funded_project(programme)
    sign_agreement(project, on=date(2025, 1, 8), by=programme.coach)
    complete(project, on=date(2025, 5, 1), lead=programme.lead)
    error = refused(
        set_tariff,
        commissioner=programme.commissioner,
        financial_year=2024,
        amount=Decimal("3500.00"),
        shares={COMPLETION: Decimal("100")},
        by=programme.lead,
    )

    assert str(error) == (
        "Payments have already fallen due under the 2024/25 tariff, so it can no longer change. "
        "Correct a paid payment with an adjustment."
    )
    assert Tariff.objects.get().first_project_amount == Decimal("3200.00")
    assert payment_of(project, COMPLETION).amount == Decimal("3200.00")


def test_setting_the_same_tariff_again_changes_nothing_even_after_payments(programme):
    tariff = west_tariff(programme)
    project = funded_project(programme)
    sign_agreement(project, on=date(2025, 1, 8), by=programme.coach)

    again = west_tariff(programme)

    assert again == tariff
    assert AuditEntry.objects.filter(action="payments.tariff_set").count() == 1


def test_another_years_tariff_can_still_change(programme):
    west_tariff(programme)
    project = funded_project(programme)
    sign_agreement(project, on=date(2025, 1, 8), by=programme.coach)
    west_tariff(programme, year=2025)

    assert west_tariff(programme, year=2025, amount="3100.00").first_project_amount == Decimal("3100.00")


def test_a_tariff_whose_shares_paid_an_application_can_no_longer_change(programme):
    """Approved funding is paid on the tariff's shares: changing them midway would pay more or less than approved."""
    west_tariff(programme)
    funded_project(programme, starts_on=date(2024, 9, 2))  # the first project: it has reached nothing yet
    later = funded_project(programme)
    sign_agreement(later, on=date(2025, 1, 8), by=programme.coach)
    application = submit_application(project=later, details=application_details(), by=programme.manager)
    approve_application(application=application, amount=Decimal("2000.00"), reason="", by=programme.lead)

    error = refused(
        set_tariff,
        commissioner=programme.commissioner,
        financial_year=2024,
        amount=Decimal("3000.00"),
        shares={AGREEMENT: Decimal("30"), COMPLETION: Decimal("70")},
        by=programme.lead,
    )
    complete(later, on=date(2025, 5, 1), lead=programme.lead)

    assert "Payments have already fallen due under the 2024/25 tariff" in str(error)
    assert sum(p.amount for p in later.payments.all()) == Decimal("2000.00")


# Payments falling due from real events --------------------------------------------------------


def test_signing_the_agreement_makes_its_share_due_on_the_day_signed(programme):
    west_tariff(programme)
    project = funded_project(programme)

    sign_agreement(project, on=date(2025, 1, 8), by=programme.coach)

    payment = payment_of(project)
    assert (payment.route, payment.kind, payment.application) == (
        FundingRoute.FIRST_PROJECT,
        PaymentKind.MILESTONE,
        None,
    )
    assert (payment.amount, payment.percent) == (Decimal("1500.00"), Decimal("50"))
    assert (payment.due_on, payment.financial_year, payment.status) == (date(2025, 1, 8), 2024, PaymentStatus.DUE)
    assert payment.created_by == programme.coach
    event = PaymentEvent.objects.get(payment=payment)
    assert (event.by, event.from_status, event.to_status) == (programme.coach, "", PaymentStatus.DUE)
    assert event.note == "Fell due: coaching agreement signed"
    assert event.changes == {"amount": "1500.00", "due_on": "2025-01-08"}
    assert AuditEntry.objects.filter(action="payments.fell_due", object_id=str(payment.pk)).exists()


def test_completing_the_project_makes_the_rest_due_on_the_completion_date(programme):
    west_tariff(programme)
    project = funded_project(programme)
    sign_agreement(project, on=date(2025, 1, 8), by=programme.coach)

    complete(project, on=date(2025, 5, 1), lead=programme.lead)

    payment = payment_of(project, COMPLETION)
    assert (payment.amount, payment.due_on, payment.financial_year) == (Decimal("1500.00"), date(2025, 5, 1), 2025)
    assert payment.created_by == programme.lead
    assert sum(p.amount for p in project.payments.all()) == Decimal("3000.00")
    assert reached_milestones(project) == {AGREEMENT: date(2025, 1, 8), COMPLETION: date(2025, 5, 1)}


@pytest.mark.parametrize(
    ("amount", "shares", "expected"),
    [
        ("3000.01", {AGREEMENT: Decimal("50"), COMPLETION: Decimal("50")}, ("1500.01", "1500.00")),
        ("1000.01", {AGREEMENT: Decimal("30"), COMPLETION: Decimal("70")}, ("300.00", "700.01")),
        ("999.99", {AGREEMENT: Decimal("33.33"), COMPLETION: Decimal("66.67")}, ("333.30", "666.69")),
    ],
)
def test_the_milestones_share_the_tariff_without_losing_a_penny(programme, amount, shares, expected):
    west_tariff(programme, amount=amount, shares=shares)
    project = funded_project(programme)

    sign_agreement(project, on=date(2025, 1, 8), by=programme.coach)
    complete(project, on=date(2025, 5, 1), lead=programme.lead)

    assert (payment_of(project).amount, payment_of(project, COMPLETION).amount) == tuple(map(Decimal, expected))
    assert sum(p.amount for p in project.payments.all()) == Decimal(amount)


def test_a_tariff_paid_only_on_completion_pays_nothing_at_the_agreement(programme):
    west_tariff(programme, amount="2500.00", shares={COMPLETION: Decimal("100")})
    project = funded_project(programme)

    sign_agreement(project, on=date(2025, 1, 8), by=programme.coach)
    assert not project.payments.exists()
    complete(project, on=date(2025, 5, 1), lead=programme.lead)

    payment = project.payments.get()
    assert (payment.milestone, payment.percent, payment.amount) == (COMPLETION, Decimal("100"), Decimal("2500.00"))


def test_without_a_tariff_no_payment_falls_due(programme):
    project = funded_project(programme)

    sign_agreement(project, on=date(2025, 1, 8), by=programme.coach)

    assert not Payment.objects.exists()
    assert milestone_reached(project=project, milestone=AGREEMENT, on=date(2025, 1, 8), by=None) is None


def test_a_tariff_set_after_the_agreement_makes_the_payment_due_from_the_day_signed(programme):
    project = funded_project(programme)
    sign_agreement(project, on=date(2025, 1, 8), by=programme.coach)
    west_tariff(programme, year=2023)  # another year's tariff pays nothing for this project
    assert not Payment.objects.exists()

    west_tariff(programme)

    payment = payment_of(project)
    assert (payment.amount, payment.due_on, payment.created_by) == (
        Decimal("1500.00"),
        date(2025, 1, 8),
        programme.lead,
    )


def test_a_tariff_set_later_pays_only_each_practices_first_project(programme):
    first = funded_project(programme, starts_on=date(2024, 9, 2))
    later = funded_project(programme)
    sibling = funded_project(programme, practice=programme.sibling_practice)
    for project in (first, later, sibling):
        sign_agreement(project, on=project.starts_on, by=programme.coach)

    west_tariff(programme)

    assert set(Payment.objects.values_list("project", flat=True)) == {first.pk, sibling.pk}


def test_a_practice_is_paid_for_one_first_project_even_when_an_earlier_start_is_added_later(programme):
    west_tariff(programme)
    running = funded_project(programme, starts_on=date(2025, 2, 3))
    sign_agreement(running, on=date(2025, 2, 3), by=programme.coach)
    backdated = funded_project(programme, starts_on=date(2025, 1, 6))  # entered later, started earlier

    sign_agreement(backdated, on=date(2025, 1, 8), by=programme.coach)

    paid_as_first = Payment.objects.filter(route=FundingRoute.FIRST_PROJECT, project__practice=programme.practice)
    assert set(paid_as_first.values_list("project", flat=True)) == {running.pk}


def test_recording_the_agreement_again_makes_no_second_payment(programme):
    west_tariff(programme)
    project = funded_project(programme)
    sign_agreement(project, on=date(2025, 1, 8), by=programme.coach)

    sign_agreement(project, on=date(2025, 1, 9), by=programme.coach)  # a corrected date

    payment = project.payments.get()
    assert payment.due_on == date(2025, 1, 8)


def test_a_milestone_payment_exists_once_whatever_the_order(programme):
    project = funded_project(programme)
    sign_agreement(project, on=date(2025, 1, 8), by=programme.coach)
    west_tariff(programme)

    assert sync_project(project, by=programme.lead) == []
    assert milestone_reached(project=project, milestone=AGREEMENT, on=date(2025, 2, 1), by=None) is None
    assert project.payments.count() == 1
    assert PaymentEvent.objects.count() == 1


# Financial years ------------------------------------------------------------------------------


def test_the_financial_year_turns_on_the_first_of_april():
    assert financial_year_of(date(2026, 3, 31)) == 2025
    assert financial_year_of(date(2026, 4, 1)) == 2026
    assert financial_year_label(2025) == "2025/26"
    assert financial_year_label(2099) == "2099/00"
    assert financial_year_bounds(2025) == (date(2025, 4, 1), date(2026, 3, 31))


def test_a_project_starting_on_31_march_uses_the_year_before_and_on_1_april_the_new_one(programme):
    west_tariff(programme, year=2025, amount="3000.00")
    west_tariff(programme, year=2026, amount="4000.00")
    march = funded_project(programme, starts_on=date(2026, 3, 31))
    april = funded_project(programme, practice=programme.sibling_practice, starts_on=date(2026, 4, 1))

    assert tariff_for(march).financial_year == 2025
    assert tariff_for(april).financial_year == 2026
    for project in (march, april):
        sign_agreement(project, on=date(2026, 4, 2), by=programme.coach)
    assert payment_of(march).amount == Decimal("1500.00")
    assert payment_of(april).amount == Decimal("2000.00")


def test_a_payment_falls_in_the_financial_year_of_the_day_it_falls_due(programme):
    west_tariff(programme, year=2025)
    march = funded_project(programme, starts_on=date(2026, 3, 16))
    april = funded_project(programme, practice=programme.sibling_practice, starts_on=date(2026, 3, 16))

    sign_agreement(march, on=date(2026, 3, 31), by=programme.coach)
    sign_agreement(april, on=date(2026, 4, 1), by=programme.coach)

    assert (payment_of(march).financial_year, payment_of(march).year_label) == (2025, "2025/26")
    assert (payment_of(april).financial_year, payment_of(april).year_label) == (2026, "2026/27")


# Money ----------------------------------------------------------------------------------------


def test_money_is_split_to_the_penny_and_shown_in_pounds():
    assert split(Decimal("100.00"), [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]) == [
        Decimal("33.33"),
        Decimal("33.33"),
        Decimal("33.34"),
    ]
    assert split(Decimal("0.01"), [Decimal("50"), Decimal("50")]) == [Decimal("0.01"), Decimal("0.00")]
    assert pounds("12.345") == Decimal("12.35")
    assert format_pounds(Decimal("1234.5")) == "£1,234.50"
    assert format_pounds(Decimal("-150")) == "−£150.00"
    assert format_pounds(None) == ""
    with pytest.raises(ValueError, match="is not an amount of money"):
        pounds("twelve")
