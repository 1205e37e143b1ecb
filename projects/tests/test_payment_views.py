"""The payment pages: who sees which payments, who may act on them, what bad or stale input leaves behind."""

import re
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from coaching.tests.factories import AgreementFactory
from microsystems.models import AuditEntry
from projects.models import Payment, PaymentEvent, PaymentStatus, financial_year_of
from projects.payments.lifecycle import approve, pay
from projects.payments.milestones import sync_project
from projects.payments.tariffs import DEFAULT_SHARES, set_tariff
from projects.tests.factories import ProjectFactory
from projects.tests.payment_factories import PaymentFactory

STARTED = date(2025, 1, 6)  # the factory's start: financial year 2024/25
YEAR = financial_year_of(STARTED)


# Building state through the services


@pytest.fixture
def people(programme):
    return {name: getattr(programme, name) for name in programme.__dataclass_fields__}


@pytest.fixture
def as_(client, people):
    def sign_in(who):
        if who != "anonymous":
            client.force_login(people[who])
        return client

    return sign_in


@pytest.fixture
def tariff(programme):
    return set_tariff(
        commissioner=programme.commissioner,
        financial_year=YEAR,
        amount=Decimal("3000.00"),
        shares=dict(DEFAULT_SHARES),
        by=programme.lead,
    )


@pytest.fixture
def project(programme, tariff):
    return ProjectFactory(practice=programme.practice, lead_coach=programme.coach, title="Results handling at Amherst")


def agreement_payment(project, by):
    """Sign the coaching agreement: the first project's agreement payment falls due."""
    AgreementFactory(project=project, signed_on=project.starts_on + timedelta(days=2))
    [payment] = sync_project(project, by=by)
    return payment


@pytest.fixture
def due(project, programme):
    return agreement_payment(project, programme.lead)


@pytest.fixture
def approved(due, programme):
    return approve(payment=due, by=programme.lead)


@pytest.fixture
def paid(approved, programme):
    return pay(payment=approved, by=programme.finance, paid_on=approved.due_on, reference="PO-1001")


def url(name, *args):
    return reverse(f"payments:{name}", args=args)


def state():
    """Everything an action could change: statuses, amounts, events and audit entries."""
    return (
        list(Payment.objects.order_by("pk").values_list("pk", "status", "amount", "reference")),
        PaymentEvent.objects.count(),
        AuditEntry.objects.count(),
    )


@contextmanager
def changes_nothing():
    before = state()
    yield
    assert state() == before


def assert_error_at(response, field, message):
    """The message is in the error summary, linked to the field, and again at the field."""
    assert response.status_code == 200
    html = response.text
    assert "There is a problem" in html
    assert re.search(rf'<li><a href="#id_{field}(_0)?">{re.escape(escape(message))}</a></li>', html), html
    assert re.search(rf'id="error_\d+_id_{field}"><strong>{re.escape(escape(message))}</strong>', html), html


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


# The list


@pytest.mark.parametrize("who", ["lead", "finance", "admin", "manager", "nurse"])
def test_those_in_scope_see_the_payment_in_the_list(as_, due, who):
    response = as_(who).get(url("list"), {"year": YEAR})
    assert response.status_code == 200
    assert "Results handling at Amherst" in response.text
    assert "G82013" in response.text
    assert "£1,500.00" in response.text


@pytest.mark.parametrize("who", ["other_lead", "sibling_nurse"])
def test_others_see_a_list_without_the_payment(as_, due, who):
    response = as_(who).get(url("list"), {"year": "all"})
    assert response.status_code == 200
    assert "Results handling at Amherst" not in response.text


def test_a_coach_gets_no_payment_list(as_, due):
    assert as_("coach").get(url("list")).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, due):
    for path in (url("list"), url("detail", due.pk)):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_the_list_defaults_to_the_current_financial_year(as_, due, programme):
    current = financial_year_of(timezone.localdate())
    this_year = PaymentFactory(
        project=ProjectFactory(practice=programme.sibling_practice, title="Flu clinic flow"),
        due_on=timezone.localdate(),
        amount=Decimal("750.00"),
    )
    response = as_("finance").get(url("list"))
    assert this_year.financial_year == current
    assert "Flu clinic flow" in response.text
    assert "Results handling at Amherst" not in response.text  # due in 2024/25


def test_the_list_filters_by_status_route_and_practice(as_, due, programme):
    other = PaymentFactory(
        project=ProjectFactory(practice=programme.sibling_practice, title="Flu clinic flow"), due_on=due.due_on
    )
    approve(payment=other, by=programme.lead)
    client = as_("finance")
    by_status = client.get(url("list"), {"year": YEAR, "status": "approved"}).text
    assert "Flu clinic flow" in by_status and "Results handling at Amherst" not in by_status
    by_ods = client.get(url("list"), {"year": YEAR, "practice": "g82013"}).text
    assert "Results handling at Amherst" in by_ods and "Flu clinic flow" not in by_ods
    by_name = client.get(url("list"), {"year": YEAR, "practice": "kingswood"}).text
    assert "Flu clinic flow" in by_name and "Results handling at Amherst" not in by_name
    by_route = client.get(url("list"), {"year": YEAR, "route": "application"}).text
    assert "No payments match" in by_route


def test_the_totals_by_status_are_the_database_sums_of_the_filtered_payments(as_, due, programme):
    for n, amount in enumerate(["100.10", "200.20", "0.01"]):
        PaymentFactory(
            project=ProjectFactory(practice=programme.sibling_practice, title=f"Other {n}"),
            amount=Decimal(amount),
            due_on=due.due_on,
        )
    response = as_("lead").get(url("list"), {"year": YEAR})
    totals = {t.status: t for t in response.context["totals"]}
    assert totals["due"].count == 4
    assert totals["due"].amount == Decimal("1800.31")
    assert totals["paid"].count == 0 and totals["paid"].amount == Decimal("0.00")
    assert "£1,800.31" in response.text


def test_the_list_runs_the_same_number_of_queries_with_5_and_50_payments(as_, programme):
    def make(n):
        for _ in range(n):
            PaymentFactory(project=ProjectFactory(practice=programme.practice))

    client = as_("finance")
    make(5)
    client.get(url("list"), {"year": "all"})  # roles into the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(url("list"), {"year": "all"}).status_code == 200
    make(45)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url("list"), {"year": "all"})
    assert response.context["page"].paginator.count == 50
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_funding_is_in_the_navigation_for_lead_and_finance_only(as_):
    link = f'href="{url("list")}">Funding</a>'
    assert link in as_("finance").get(reverse("home")).text
    assert link in as_("lead").get(reverse("home")).text
    assert link not in as_("coach").get(reverse("home")).text
    assert link not in as_("nurse").get(reverse("home")).text


# The detail page


@pytest.mark.parametrize("who", ["lead", "finance", "admin", "manager", "nurse"])
def test_those_in_scope_open_the_payment(as_, due, who):
    response = as_(who).get(url("detail", due.pk))
    assert response.status_code == 200
    assert "Coaching agreement signed: £1,500.00" in response.text


@pytest.mark.parametrize("who", ["coach", "other_lead", "other_nurse", "sibling_nurse"])
def test_others_get_a_404_for_the_payment(as_, due, who):
    assert as_(who).get(url("detail", due.pk)).status_code == 404


def test_the_page_shows_the_history_with_who_and_when(as_, paid, programme):
    response = as_("finance").get(url("detail", paid.pk))
    html = response.text
    assert "Due → Approved" in html
    assert "Approved → Paid" in html
    assert "Reference PO-1001" in html
    assert programme.lead.get_full_name() in html and programme.finance.get_full_name() in html
    assert [e.to_status for e in response.context["events"]] == ["due", "approved", "paid"]


def test_the_lead_is_offered_approve_and_cancel_on_a_due_payment(as_, due):
    html = as_("lead").get(url("detail", due.pk)).text
    assert url("approve", due.pk) in html
    assert url("cancel", due.pk) in html
    assert url("pay", due.pk) not in html


def test_finance_is_offered_pay_on_an_approved_payment_but_not_approve(as_, approved):
    html = as_("finance").get(url("detail", approved.pk)).text
    assert url("pay", approved.pk) in html
    assert url("cancel", approved.pk) in html
    assert url("approve", approved.pk) not in html


@pytest.mark.parametrize("who", ["lead", "finance"])
def test_a_paid_payment_offers_no_approve_pay_or_cancel_only_an_adjustment(as_, paid, who):
    html = as_(who).get(url("detail", paid.pk)).text
    for action in ("approve", "pay", "cancel"):
        assert url(action, paid.pk) not in html
    assert url("adjust", paid.pk) in html


@pytest.mark.parametrize("who", ["manager", "nurse"])
def test_practice_staff_see_the_payment_read_only(as_, due, who):
    html = as_(who).get(url("detail", due.pk)).text
    for action in ("approve", "pay", "cancel", "adjust"):
        assert url(action, due.pk) not in html


# Actions: who may take them


def test_the_lead_approves_a_due_payment(as_, due, programme):
    response = as_("lead").post(url("approve", due.pk), {"approve-seen_status": "due"}, follow=True)
    due.refresh_from_db()
    assert due.status == PaymentStatus.APPROVED and due.approved_by == programme.lead
    assert "Payment of £1,500.00 approved: finance can now pay it." in messages_of(response)


@pytest.mark.parametrize("who", ["finance", "manager", "coach", "other_lead", "sibling_nurse"])
def test_no_one_else_may_approve(as_, due, who):
    with changes_nothing():
        assert as_(who).post(url("approve", due.pk), {"approve-seen_status": "due"}).status_code == 404


def test_an_action_refuses_a_get(as_, due):
    assert as_("lead").get(url("approve", due.pk)).status_code == 405


def test_anonymous_actions_go_to_sign_in(client, due):
    with changes_nothing():
        response = client.post(url("approve", due.pk), {"approve-seen_status": "due"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_finance_pays_an_approved_payment(as_, approved, programme):
    data = {"pay-seen_status": "approved", "pay-paid_on": approved.due_on.isoformat(), "pay-reference": "BACS 42"}
    response = as_("finance").post(url("pay", approved.pk), data, follow=True)
    approved.refresh_from_db()
    assert approved.status == PaymentStatus.PAID
    assert (approved.reference, approved.paid_on, approved.paid_by) == ("BACS 42", approved.due_on, programme.finance)
    assert any("recorded as paid" in m for m in messages_of(response))


@pytest.mark.parametrize("who", ["lead", "manager", "coach", "other_lead"])
def test_no_one_else_may_pay(as_, approved, who):
    data = {"pay-seen_status": "approved", "pay-paid_on": approved.due_on.isoformat(), "pay-reference": "X"}
    with changes_nothing():
        assert as_(who).post(url("pay", approved.pk), data).status_code == 404


@pytest.mark.parametrize("who", ["lead", "finance"])
def test_lead_or_finance_cancels_with_a_reason(as_, due, who):
    as_(who).post(url("cancel", due.pk), {"cancel-seen_status": "due", "cancel-reason": "Practice merged"})
    due.refresh_from_db()
    assert due.status == PaymentStatus.CANCELLED and due.cancel_reason == "Practice merged"


@pytest.mark.parametrize("who", ["manager", "nurse", "coach", "other_lead"])
def test_no_one_else_may_cancel(as_, due, who):
    with changes_nothing():
        response = as_(who).post(url("cancel", due.pk), {"cancel-seen_status": "due", "cancel-reason": "No"})
    assert response.status_code == 404


def test_finance_adjusts_a_paid_payment_with_a_new_payment_that_refers_to_it(as_, paid):
    data = {"adjust-amount": "-£250.00", "adjust-reason": "Overpaid: the practice left the scheme early."}
    response = as_("finance").post(url("adjust", paid.pk), data)
    adjustment = Payment.objects.get(adjusts=paid)
    assert response["Location"] == url("detail", adjustment.pk)
    assert adjustment.amount == Decimal("-250.00") and adjustment.status == PaymentStatus.DUE
    paid.refresh_from_db()
    assert paid.status == PaymentStatus.PAID and paid.amount == Decimal("1500.00")
    html = as_("finance").get(url("detail", paid.pk)).text
    assert "−£250.00" in html
    adjustment_page = as_("finance").get(url("detail", adjustment.pk)).text
    assert (
        url("detail", paid.pk) in adjustment_page and "Overpaid: the practice left the scheme early." in adjustment_page
    )
    assert url("approve", adjustment.pk) not in adjustment_page  # approving is the lead's


@pytest.mark.parametrize("who", ["manager", "coach", "other_lead"])
def test_no_one_else_may_adjust(as_, paid, who):
    with changes_nothing():
        response = as_(who).post(url("adjust", paid.pk), {"adjust-amount": "10", "adjust-reason": "More"})
    assert response.status_code == 404


# Actions: bad input, each message at its field and nothing changed


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"pay-reference": ""}, "pay-reference", "Enter the payment or purchase-order reference."),
        ({"pay-reference": "   "}, "pay-reference", "Enter the payment or purchase-order reference."),
        ({"pay-paid_on": ""}, "pay-paid_on", "Enter the date it was paid."),
        ({"pay-paid_on": "31/02/2025"}, "pay-paid_on", "Enter a valid date."),
        ({"pay-paid_on": "2099-01-01"}, "pay-paid_on", "The date paid cannot be in the future."),
        ({"pay-paid_on": "2025-01-01"}, "pay-paid_on", "The date paid cannot be before it fell due (08/01/2025)."),
        ({"pay-reference": "R" * 61}, "pay-reference", "Ensure this value has at most 60 characters (it has 61)."),
    ],
)
def test_paying_with_bad_input_says_what_is_wrong_at_the_field(as_, approved, data, field, message):
    form = {"pay-seen_status": "approved", "pay-paid_on": "2025-01-09", "pay-reference": "PO-7"} | data
    with changes_nothing():
        response = as_("finance").post(url("pay", approved.pk), form)
    assert_error_at(response, field, message)


def test_cancelling_without_a_reason_says_so_at_the_field(as_, due):
    with changes_nothing():
        response = as_("lead").post(url("cancel", due.pk), {"cancel-seen_status": "due", "cancel-reason": "  "})
    assert_error_at(response, "cancel-reason", "Say why the payment is cancelled.")


ADJUST = "adjust-amount"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({ADJUST: "0"}, ADJUST, "Give the adjustment's amount: positive to pay more, negative to recover."),
        ({ADJUST: "12.345"}, ADJUST, "Give the amount in pounds and pence: at most two digits after the point."),
        ({ADJUST: "lots"}, ADJUST, "Enter an amount in pounds and pence, like 1500.00."),
        ({ADJUST: "1000000000"}, ADJUST, "Enter an amount of at most £99,999,999.99."),
        ({ADJUST: "-1000000000"}, ADJUST, "Enter an amount of at least −£99,999,999.99."),
        ({"adjust-reason": ""}, "adjust-reason", "Say why the payment is adjusted."),
        ({ADJUST: "-5000"}, ADJUST, "This would take back more than the project has been paid (£1,500.00)."),
        (
            {ADJUST: "2000"},
            "adjust-above_tariff_justification",
            "With this adjustment the project would be paid £3,500.00, more than its funding of £3,000.00: record why.",
        ),
    ],
)
def test_adjusting_with_bad_input_says_what_is_wrong_at_the_field(as_, paid, data, field, message):
    form = {"adjust-amount": "10.00", "adjust-reason": "Underpaid"} | data
    with changes_nothing():
        response = as_("finance").post(url("adjust", paid.pk), form)
    assert_error_at(response, field, message)


def test_an_adjustment_above_the_funding_is_recorded_with_its_justification(as_, paid):
    data = {"adjust-amount": "2000", "adjust-reason": "Extra sessions", "adjust-above_tariff_justification": "Agreed"}
    as_("lead").post(url("adjust", paid.pk), data)
    assert Payment.objects.get(adjusts=paid).above_tariff_justification == "Agreed"


# Two people at once: the second is told, and nothing changes for them


def test_a_second_approval_of_the_same_page_is_refused_with_a_clear_message(as_, due):
    client = as_("lead")
    client.post(url("approve", due.pk), {"approve-seen_status": "due"})
    with changes_nothing():
        response = client.post(url("approve", due.pk), {"approve-seen_status": "due"}, follow=True)
    assert response.redirect_chain[-1][0] == url("detail", due.pk)
    assert "Someone else has just approved this payment, so nothing was changed. It is now approved." in messages_of(
        response
    )


def test_cancelling_a_payment_someone_approved_meanwhile_is_refused(as_, due, programme):
    approve(payment=due, by=programme.lead)  # while finance had the due payment's page open
    with changes_nothing():
        response = as_("finance").post(
            url("cancel", due.pk), {"cancel-seen_status": "due", "cancel-reason": "Duplicate"}, follow=True
        )
    assert any(m.startswith("Someone else has just approved this payment") for m in messages_of(response))
    due.refresh_from_db()
    assert due.status == PaymentStatus.APPROVED


def test_paying_twice_records_one_payment_and_tells_the_second(as_, approved):
    data = {"pay-seen_status": "approved", "pay-paid_on": approved.due_on.isoformat(), "pay-reference": "PO-1"}
    client = as_("finance")
    client.post(url("pay", approved.pk), data)
    with changes_nothing():
        response = client.post(url("pay", approved.pk), data | {"pay-reference": "PO-2"}, follow=True)
    assert any(m.startswith("Someone else has just paid this payment") for m in messages_of(response))
    approved.refresh_from_db()
    assert approved.reference == "PO-1"
    assert PaymentEvent.objects.filter(payment=approved, to_status=PaymentStatus.PAID).count() == 1


def test_a_tampered_seen_status_changes_nothing(as_, due):
    with changes_nothing():
        response = as_("lead").post(url("approve", due.pk), {"approve-seen_status": "bogus"})
    assert response.status_code == 200
    assert "There is a problem" in response.text


# The home page


def test_finance_sees_this_years_payments_to_pay_on_the_home_page(as_, programme):
    project = ProjectFactory(practice=programme.practice)
    payment = PaymentFactory(project=project, due_on=timezone.localdate(), amount=Decimal("1234.56"))
    approve(payment=payment, by=programme.lead)
    html = as_("finance").get(reverse("home")).text
    assert "1 approved payment to pay (£1,234.56)" in html
    assert "0 due, waiting for the programme lead" in html


def test_the_lead_sees_payments_to_approve_and_applications_waiting(as_, programme):
    PaymentFactory(project=ProjectFactory(practice=programme.practice), due_on=timezone.localdate())
    html = as_("lead").get(reverse("home")).text
    assert "1 payment due for your approval (£1,500.00)" in html
    assert "0 funding applications waiting for a decision" in html


def test_the_home_page_shows_no_money_to_a_coach(as_, due):
    assert "£" not in as_("coach").get(reverse("home")).text


# The admin site: read-only


def test_the_admin_shows_payments_but_cannot_add_change_or_delete_them(as_, paid):
    client = as_("admin")
    assert client.get(reverse("admin:projects_payment_changelist")).status_code == 200
    page = client.get(reverse("admin:projects_payment_change", args=[paid.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.text
    assert client.get(reverse("admin:projects_payment_add")).status_code == 403
    assert client.post(reverse("admin:projects_payment_delete", args=[paid.pk]), {"post": "yes"}).status_code == 403
    assert Payment.objects.filter(pk=paid.pk, status=PaymentStatus.PAID).exists()


def test_the_admin_lists_every_funding_model(as_, paid):
    client = as_("admin")
    for model in ("tariff", "fundingapplication", "payment", "paymentevent"):
        assert client.get(reverse(f"admin:projects_{model}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:projects_{model}_add")).status_code == 403


def test_nonsense_in_the_list_filters_is_not_an_error(as_, due):
    response = as_("finance").get(url("list"), {"year": "abc", "status": "x", "pcn": "y", "route": "z", "page": "q"})
    assert response.status_code == 200
