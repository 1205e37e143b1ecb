"""Funding applications, applying, a project's funding page and the overview's funding panel."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from coaching.tests.factories import AgreementFactory
from projects.models import ApplicationStatus, FundingApplication, Payment, Step
from projects.payments.applications import ApplicationDetails, approve_application, submit_application
from projects.tests import test_payment_views as base
from projects.tests.factories import ProjectFactory
from projects.tests.test_payment_views import agreement_payment, assert_error_at, messages_of, url

# The payment pages' fixtures: signing in (``as_``), the 2024/25 tariff and a first project.
people, as_, tariff, project = base.people, base.as_, base.tariff, base.project

SECOND = "Diabetes recall at Amherst"


@pytest.fixture
def second(programme, project):
    """A later project at the same practice: self-funded unless an application is approved."""
    return ProjectFactory(
        practice=programme.practice,
        lead_coach=programme.coach,
        title=SECOND,
        starts_on=project.starts_on + timedelta(days=20),
        needs_ongoing_resources=True,
        ongoing_resources="A nurse session a week, from the practice's budget.",
    )


def application_for(project, by, amount="2000.00"):
    details = ApplicationDetails(
        why="The team needs protected time.",
        amount_requested=Decimal(amount),
        pays_for="Staff time",
        needs_ongoing_resources=False,
        ongoing_resources_plan="",
    )
    return submit_application(project=project, details=details, by=by)


@pytest.fixture
def pending(second, programme):
    return application_for(second, programme.manager)


def applications_state():
    return (
        list(FundingApplication.objects.order_by("pk").values_list("pk", "status", "amount_approved")),
        Payment.objects.count(),
    )


def apply_form(**changes):
    return {
        "why": "Protected time for the team to run the clinic.",
        "amount_requested": "1,800.00",
        "pays_for": "Nurse time",
        "needs_ongoing_resources": "no",
        "ongoing_resources_plan": "",
    } | changes


# Applying


@pytest.mark.parametrize("who", ["manager", "nurse"])
def test_practice_staff_apply_for_a_later_project(as_, second, programme, who):
    client = as_(who)
    form = client.get(url("apply", second.pk)).context["form"]
    assert form["needs_ongoing_resources"].value() == "yes"  # from the project's own flag
    assert form["ongoing_resources_plan"].value() == second.ongoing_resources
    response = client.post(url("apply", second.pk), apply_form(), follow=True)
    application = FundingApplication.objects.get(project=second)
    assert application.amount_requested == Decimal("1800.00")
    assert application.status == ApplicationStatus.PENDING and application.submitted_by == getattr(programme, who)
    assert response.redirect_chain[-1][0] == url("application", application.pk)
    assert "Application sent. The programme lead will decide and you will see it here." in messages_of(response)


@pytest.mark.parametrize("who", ["lead", "finance", "coach", "sibling_nurse", "other_lead"])
def test_no_one_but_the_practice_may_apply(as_, second, who):
    before = applications_state()
    assert as_(who).get(url("apply", second.pk)).status_code == 404
    assert as_(who).post(url("apply", second.pk), apply_form()).status_code == 404
    assert applications_state() == before


def test_anonymous_goes_to_sign_in_to_apply(client, second):
    assert client.get(url("apply", second.pk))["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"why": " "}, "why", "Say why the project needs funding."),
        ({"pays_for": ""}, "pays_for", "Say what the funding will pay for, for example staff time."),
        ({"amount_requested": ""}, "amount_requested", "Enter the amount requested."),
        ({"amount_requested": "0"}, "amount_requested", "Give an amount of more than £0."),
        ({"amount_requested": "-10"}, "amount_requested", "Give an amount of more than £0."),
        ({"amount_requested": "ten"}, "amount_requested", "Enter an amount in pounds and pence, like 1500.00."),
        (
            {"needs_ongoing_resources": ""},
            "needs_ongoing_resources",
            "Answer yes or no: will the change need ongoing resources after the project?",
        ),
        ({"needs_ongoing_resources": "yes"}, "ongoing_resources_plan", "Say how the ongoing resources will be met."),
    ],
)
def test_bad_applications_are_refused_at_the_field_and_nothing_is_saved(as_, second, data, field, message):
    before = applications_state()
    response = as_("manager").post(url("apply", second.pk), apply_form(**data))
    assert_error_at(response, field, message)
    assert applications_state() == before


def test_a_first_project_is_told_it_needs_no_application(as_, project):
    before = applications_state()
    client = as_("manager")
    page = client.get(url("apply", project.pk))
    assert "This is the practice&#x27;s first project" in page.text and "Send the application" not in page.text
    response = client.post(url("apply", project.pk), apply_form())
    assert "it is funded by the enhanced service, no application needed." in response.text
    assert applications_state() == before


def test_a_project_with_an_application_waiting_cannot_apply_again(as_, pending):
    before = applications_state()
    client = as_("manager")
    assert "waiting for the programme lead" in client.get(url("apply", pending.project.pk)).text
    response = client.post(url("apply", pending.project.pk), apply_form())
    assert "This project already has a funding application waiting for a decision or approved." in response.text
    assert applications_state() == before


# The list of applications


@pytest.mark.parametrize("who", ["lead", "finance", "manager", "nurse", "admin"])
def test_those_in_scope_see_the_application_in_the_list(as_, pending, who):
    response = as_(who).get(url("applications"))
    assert response.status_code == 200
    assert SECOND in response.text and "£2,000.00" in response.text


@pytest.mark.parametrize("who", ["other_lead", "sibling_nurse"])
def test_others_do_not_see_the_application(as_, pending, who):
    assert SECOND not in as_(who).get(url("applications")).text


def test_a_coach_gets_no_application_list(as_, pending):
    assert as_("coach").get(url("applications")).status_code == 404


def test_applications_waiting_come_first_and_filter_by_status(as_, pending, programme, project):
    third = ProjectFactory(practice=programme.practice, title="Repeat prescriptions", starts_on=date(2025, 3, 1))
    decided = application_for(third, programme.manager)
    approve_application(application=decided, amount=Decimal("1000"), reason="Good plan", by=programme.lead)
    pending.submitted_at = decided.submitted_at - timedelta(days=1)  # the older one, still first
    pending.save(update_fields=["submitted_at"])
    rows = list(as_("lead").get(url("applications")).context["page"].object_list)
    assert [a.pk for a in rows] == [pending.pk, decided.pk]
    approved_only = as_("lead").get(url("applications"), {"status": "approved"}).context["page"].object_list
    assert [a.pk for a in approved_only] == [decided.pk]


# An application and its decision


@pytest.mark.parametrize("who", ["lead", "finance", "manager", "admin"])
def test_those_in_scope_open_the_application_with_the_ongoing_resources_flag(as_, pending, who):
    response = as_(who).get(url("application", pending.pk))
    assert response.status_code == 200
    assert "The project needs ongoing resources: A nurse session a week" in response.text


@pytest.mark.parametrize("who", ["coach", "other_lead", "sibling_nurse", "other_nurse"])
def test_others_get_a_404_for_the_application(as_, pending, who):
    assert as_(who).get(url("application", pending.pk)).status_code == 404


def test_only_the_lead_is_offered_the_decision(as_, pending):
    approve_url = url("application_approve", pending.pk)
    lead_page = as_("lead").get(url("application", pending.pk))
    assert approve_url in lead_page.text
    assert lead_page.context["forms"]["approve"]["amount_approved"].value() == Decimal("2000.00")
    for who in ("finance", "manager"):
        assert approve_url not in as_(who).get(url("application", pending.pk)).text


def test_the_lead_approves_a_different_amount_and_reached_milestones_fall_due(as_, pending, programme):
    AgreementFactory(project=pending.project, signed_on=pending.project.starts_on)
    data = {"approve-amount_approved": "1500", "approve-decision_reason": "Half of it now"}
    response = as_("lead").post(url("application_approve", pending.pk), data, follow=True)
    pending.refresh_from_db()
    assert pending.status == ApplicationStatus.APPROVED and pending.amount_approved == Decimal("1500.00")
    assert "Application approved for £1,500.00: its payments fall due at the milestones." in messages_of(response)
    assert Payment.objects.get(project=pending.project).amount == Decimal("750.00")


def test_the_lead_rejects_with_a_reason_the_practice_reads(as_, pending):
    as_("lead").post(url("application_reject", pending.pk), {"reject-decision_reason": "No budget left this year"})
    pending.refresh_from_db()
    assert pending.status == ApplicationStatus.REJECTED
    assert "No budget left this year" in as_("manager").get(url("application", pending.pk)).text


@pytest.mark.parametrize("who", ["finance", "manager", "coach", "other_lead"])
def test_no_one_but_the_lead_decides(as_, pending, who):
    before = applications_state()
    assert as_(who).post(url("application_approve", pending.pk), {"approve-amount_approved": "10"}).status_code == 404
    assert as_(who).post(url("application_reject", pending.pk), {"reject-decision_reason": "No"}).status_code == 404
    assert applications_state() == before


APPROVED = "approve-amount_approved"


@pytest.mark.parametrize(
    ("path", "data", "field", "message"),
    [
        ("application_approve", {APPROVED: ""}, APPROVED, "Enter the amount approved."),
        ("application_approve", {APPROVED: "0"}, APPROVED, "Give an amount of more than £0."),
        (
            "application_approve",
            {APPROVED: "1.001"},
            APPROVED,
            "Give the amount in pounds and pence: at most two digits after the point.",
        ),
        (
            "application_approve",
            {APPROVED: "3000.01"},
            "approve-above_tariff_justification",
            "£3,000.01 is more than the 2024/25 tariff of £3,000.00: record why.",
        ),
        (
            "application_reject",
            {"reject-decision_reason": " "},
            "reject-decision_reason",
            "Say why the application is rejected: the practice will read it.",
        ),
    ],
)
def test_bad_decisions_are_refused_at_the_field_and_nothing_changes(as_, pending, path, data, field, message):
    before = applications_state()
    response = as_("lead").post(url(path, pending.pk), data)
    assert_error_at(response, field, message)
    assert applications_state() == before


def test_deciding_twice_tells_the_second_and_changes_nothing(as_, pending):
    client = as_("lead")
    client.post(url("application_approve", pending.pk), {"approve-amount_approved": "2000"})
    before = applications_state()
    response = client.post(url("application_reject", pending.pk), {"reject-decision_reason": "No"}, follow=True)
    assert "Someone else has just decided this application: it is approved. Nothing was changed." in messages_of(
        response
    )
    assert applications_state() == before


# A project's funding page


@pytest.mark.parametrize("who", ["lead", "finance", "manager", "nurse", "admin"])
def test_those_who_see_amounts_see_the_funding_and_payments(as_, project, programme, who):
    payment = agreement_payment(project, programme.lead)
    response = as_(who).get(url("project", project.pk))
    assert response.status_code == 200
    html = response.text
    assert "Funded: first project (enhanced service)" in html
    assert "£3,000.00" in html and "£1,500.00" in html
    assert url("detail", payment.pk) in html


def test_the_coach_sees_whether_the_project_is_funded_but_no_amounts(as_, project, programme):
    payment = agreement_payment(project, programme.lead)
    html = as_("coach").get(url("project", project.pk)).text
    assert "Funded: first project (enhanced service)" in html
    assert "£" not in html
    assert url("detail", payment.pk) not in html


@pytest.mark.parametrize("who", ["other_lead", "sibling_nurse", "other_nurse"])
def test_others_get_a_404_for_the_funding_page(as_, project, who):
    assert as_(who).get(url("project", project.pk)).status_code == 404


def test_anonymous_goes_to_sign_in_for_the_funding_page(client, project):
    assert client.get(url("project", project.pk))["Location"].startswith(reverse("login"))


def test_practice_staff_are_offered_to_apply_for_a_self_funded_later_project_only(as_, project, second):
    apply_second = url("apply", second.pk)
    assert "Self-funded" in as_("manager").get(url("project", second.pk)).text
    assert apply_second in as_("manager").get(url("project", second.pk)).text
    assert url("apply", project.pk) not in as_("manager").get(url("project", project.pk)).text
    assert apply_second not in as_("lead").get(url("project", second.pk)).text
    assert apply_second not in as_("coach").get(url("project", second.pk)).text


def test_a_closed_self_funded_project_is_not_offered_to_apply(as_, second):
    second.step = Step.WITHDRAWN
    second.save(update_fields=["step"])
    assert url("apply", second.pk) not in as_("manager").get(url("project", second.pk)).text


def test_a_pending_application_shows_on_the_funding_page(as_, pending):
    html = as_("coach").get(url("project", pending.project.pk)).text
    assert "Funding application waiting for a decision" in html and "£" not in html


# The project overview's funding panel


def test_the_overview_shows_the_coach_the_funding_state_without_amounts(as_, project, programme):
    agreement_payment(project, programme.lead)
    html = as_("coach").get(reverse("projects:overview", args=[project.pk])).text
    assert "Funded: first project (enhanced service)" in html
    assert "£" not in html and url("project", project.pk) not in html


@pytest.mark.parametrize("who", ["lead", "manager"])
def test_the_overview_shows_amounts_and_the_funding_link_to_those_who_see_amounts(as_, project, programme, who):
    agreement_payment(project, programme.lead)
    html = as_(who).get(reverse("projects:overview", args=[project.pk])).text
    assert "Funding of £3,000.00. Committed so far £1,500.00, of which paid £0.00." in html
    assert url("project", project.pk) in html


def test_the_overview_of_a_later_project_shows_its_application(as_, pending, programme):
    approve_application(application=pending, amount=Decimal("1200"), reason="", by=programme.lead)
    html = as_("manager").get(reverse("projects:overview", args=[pending.project.pk])).text
    assert "Funded: application approved" in html and "Funding of £1,200.00." in html
