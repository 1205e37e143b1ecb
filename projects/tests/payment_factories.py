"""Factories for tariffs and payments; payments made through the services are the real thing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import factory

from practices.tests.factories import CommissionerFactory
from projects.models import (
    FundingRoute,
    Milestone,
    Payment,
    PaymentKind,
    Step,
    Tariff,
    TariffMilestone,
    financial_year_of,
)
from projects.services import Outcome, complete_project

from .factories import ProjectFactory


class TariffFactory(factory.django.DjangoModelFactory):
    """A year's tariff, paid 50% at the agreement and 50% at completion unless ``shares`` says otherwise."""

    class Meta:
        model = Tariff
        skip_postgeneration_save = True

    commissioner = factory.SubFactory(CommissionerFactory)
    financial_year = 2024  # ProjectFactory's projects start on 6 January 2025: financial year 2024/25
    first_project_amount = Decimal("3000.00")

    @factory.post_generation
    def shares(self, create, extracted, **kwargs):
        if create:
            shares = extracted or {Milestone.AGREEMENT: Decimal("50"), Milestone.COMPLETION: Decimal("50")}
            TariffMilestone.objects.bulk_create(
                TariffMilestone(tariff=self, milestone=m, percent=p) for m, p in shares.items()
            )


class PaymentFactory(factory.django.DjangoModelFactory):
    """A first-project milestone payment, due; set ``status`` and its fields for other states."""

    class Meta:
        model = Payment

    project = factory.SubFactory(ProjectFactory)
    route = FundingRoute.FIRST_PROJECT
    kind = PaymentKind.MILESTONE
    milestone = Milestone.AGREEMENT
    percent = Decimal("50")
    amount = Decimal("1500.00")
    due_on = date(2025, 1, 8)
    financial_year = factory.LazyAttribute(lambda p: financial_year_of(p.due_on))


# Real events, through the real services ------------------------------------------------------


def funded_project(programme, **fields):
    """A project at the programme's practice with a lead coach, so its agreement can be recorded."""
    values = {"practice": programme.practice, "lead_coach": programme.coach, "step": Step.TREAT} | fields
    if "starts_on" in fields:
        values.setdefault("planned_end_on", fields["starts_on"] + timedelta(weeks=13))
    return ProjectFactory(**values)


def sign_agreement(project, *, on: date, by):
    """Record the coaching agreement with ``coaching.agreements.record_agreement``, signed on ``on``."""
    from coaching.agreements import AgreementDetails, record_agreement

    details = AgreementDetails(
        signed_by_name="Dr A Shah",
        signed_by_role="GP partner",
        signed_on=on,
        meeting_slot="Tuesdays at 1pm",
        staff_released="The results nurse and one receptionist, every week.",
        champion="Jo Patel",
        patients_involved="A member of the patient participation group joins the team.",
    )
    return record_agreement(project=project, details=details, signed_copy=None, by=by)


def complete(project, *, on: date, lead):
    """Complete the project with ``projects.services.complete_project``; the lead overrides the guard."""
    outcome = Outcome(
        completed_on=on,
        staff_benefits="Fewer interruptions for the duty doctor.",
        patient_benefits="Results acted on within two days.",
        aims_met={aim.pk: True for aim in project.specific_aims.all()},
    )
    return complete_project(
        project=project, outcome=outcome, by=lead, override_reason="Measured on paper.", may_override=True
    )


def west_tariff(programme, *, year: int = 2024, amount: str = "3000.00", shares=None):
    """The lead sets West's tariff through ``set_tariff`` (50/50 unless ``shares`` says otherwise)."""
    from projects.payments.tariffs import DEFAULT_SHARES, set_tariff

    return set_tariff(
        commissioner=programme.commissioner,
        financial_year=year,
        amount=Decimal(amount),
        shares=shares or DEFAULT_SHARES,
        by=programme.lead,
    )
