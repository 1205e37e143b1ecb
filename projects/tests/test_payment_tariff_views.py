"""The tariff pages: the lead sets a year's tariff, finance reads it, no one else sees it."""

from decimal import Decimal

import pytest
from django.urls import reverse

from coaching.tests.factories import AgreementFactory
from projects.models import Milestone, Payment, Tariff, TariffMilestone
from projects.tests import test_payment_views as base
from projects.tests.factories import ProjectFactory
from projects.tests.payment_factories import TariffFactory
from projects.tests.test_payment_views import YEAR, agreement_payment, assert_error_at, messages_of, url

# The payment pages' fixtures: signing in (``as_``), the 2024/25 tariff and a first project.
people, as_, tariff, project = base.people, base.as_, base.tariff, base.project


def tariff_url(programme, year=YEAR):
    return url("tariff", programme.commissioner.pk, year)


def tariff_state():
    return (
        list(Tariff.objects.order_by("pk").values_list("pk", "first_project_amount")),
        list(TariffMilestone.objects.order_by("pk").values_list("tariff_id", "milestone", "percent")),
    )


def valid(**changes):
    return {"first_project_amount": "3000.00", "share_agreement": "50", "share_completion": "50"} | changes


# The list of tariffs


@pytest.mark.parametrize("who", ["lead", "finance", "admin"])
def test_lead_finance_and_admin_see_the_tariffs(as_, programme, who):
    TariffFactory(commissioner=programme.commissioner, financial_year=YEAR, first_project_amount=Decimal("3250.50"))
    response = as_(who).get(url("tariffs"))
    assert response.status_code == 200
    assert "2024/25" in response.text and "£3,250.50" in response.text
    assert "Coaching agreement signed: 50%" in response.text


def test_only_the_lead_is_offered_to_set_or_change_a_tariff(as_, programme):
    TariffFactory(commissioner=programme.commissioner, financial_year=YEAR)
    assert tariff_url(programme) in as_("lead").get(url("tariffs")).text
    assert tariff_url(programme) not in as_("finance").get(url("tariffs")).text


def test_the_other_commissioners_lead_sees_only_their_own(as_, programme):
    TariffFactory(commissioner=programme.commissioner, financial_year=YEAR, first_project_amount=Decimal("3250.50"))
    html = as_("other_lead").get(url("tariffs")).text
    assert "NHS High Weald" in html and "£3,250.50" not in html and "NHS West Kent" not in html


@pytest.mark.parametrize("who", ["coach", "manager", "nurse"])
def test_coaches_and_practice_staff_get_a_404_for_tariffs(as_, who):
    assert as_(who).get(url("tariffs")).status_code == 404


def test_anonymous_goes_to_sign_in_for_tariffs(client, programme):
    for path in (url("tariffs"), tariff_url(programme)):
        assert client.get(path)["Location"].startswith(reverse("login"))


# Setting a tariff


def test_the_lead_sets_a_tariff_with_its_shares(as_, programme):
    client = as_("lead")
    form = client.get(tariff_url(programme)).context["form"]
    assert form["share_agreement"].value() == Decimal("50")  # the default split
    response = client.post(
        tariff_url(programme),
        valid(first_project_amount="£3,500", share_agreement="30", share_completion="70"),
        follow=True,
    )
    saved = Tariff.objects.get(commissioner=programme.commissioner, financial_year=YEAR)
    assert saved.first_project_amount == Decimal("3500.00")
    shares = dict(saved.milestones.values_list("milestone", "percent"))
    assert shares == {Milestone.AGREEMENT: Decimal("30"), Milestone.COMPLETION: Decimal("70")}
    assert "The 2024/25 tariff for NHS West Kent is £3,500.00 for a first project." in messages_of(response)


def test_a_tariff_makes_a_reached_milestone_payable(as_, programme):
    started = ProjectFactory(practice=programme.practice, lead_coach=programme.coach)
    AgreementFactory(project=started)
    as_("lead").post(tariff_url(programme), valid())
    assert Payment.objects.get(project=started).amount == Decimal("1500.00")


def test_the_form_shows_the_current_tariff_to_change_it(as_, programme):
    TariffFactory(commissioner=programme.commissioner, financial_year=YEAR, first_project_amount=Decimal("2800.00"))
    form = as_("lead").get(tariff_url(programme)).context["form"]
    assert form["first_project_amount"].value() == Decimal("2800.00")


AMOUNT = "first_project_amount"
TWO_PLACES = "Give the amount in pounds and pence: at most two digits after the point."
MORE_THAN_0 = "The amount for a first project must be more than £0."


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({AMOUNT: ""}, AMOUNT, "Enter the amount for a first project."),
        ({AMOUNT: "lots"}, AMOUNT, "Enter an amount in pounds and pence, like 1500.00."),
        ({AMOUNT: "0"}, AMOUNT, MORE_THAN_0),
        ({AMOUNT: "-5"}, AMOUNT, MORE_THAN_0),
        ({AMOUNT: "10.005"}, AMOUNT, TWO_PLACES),
        ({AMOUNT: "1000000000"}, AMOUNT, "Enter an amount of at most £99,999,999.99."),
        ({"share_agreement": "fifty"}, "share_agreement", "Enter the share as a percentage, like 50."),
        (
            {"share_agreement": "-50", "share_completion": "150"},
            "share_agreement",
            "Each share is between 0% and 100%.",
        ),
        ({"share_agreement": "1000"}, "share_agreement", "Each share is between 0% and 100%."),
    ],
)
def test_bad_input_is_refused_at_the_field_and_nothing_is_saved(as_, programme, data, field, message):
    before = tariff_state()
    response = as_("lead").post(tariff_url(programme), valid(**data))
    assert_error_at(response, field, message)
    assert tariff_state() == before


def test_shares_not_adding_up_to_100_are_refused_and_nothing_is_saved(as_, programme):
    before = tariff_state()
    response = as_("lead").post(tariff_url(programme), valid(share_agreement="40", share_completion="50"))
    assert response.status_code == 200
    assert "The milestones&#x27; shares must add up to 100%; they add up to 90%." in response.text
    assert tariff_state() == before


def test_a_tariff_cannot_change_once_payments_fell_due_under_it(as_, programme, project):
    agreement_payment(project, programme.lead)
    before = tariff_state()
    response = as_("lead").post(tariff_url(programme), valid(first_project_amount="4000"))
    assert "Payments have already fallen due under the 2024/25 tariff, so it can no longer change." in response.text
    assert tariff_state() == before


@pytest.mark.parametrize("who", ["finance", "other_lead", "coach", "manager"])
def test_no_one_but_the_commissioners_lead_may_set_its_tariff(as_, programme, who):
    before = tariff_state()
    assert as_(who).get(tariff_url(programme)).status_code == 404
    assert as_(who).post(tariff_url(programme), valid()).status_code == 404
    assert tariff_state() == before


def test_a_year_outside_any_tariff_is_a_404(as_, programme):
    assert as_("lead").get(tariff_url(programme, 1999)).status_code == 404
