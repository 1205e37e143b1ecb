"""Payments fall due from real events: the coaching agreement signed, the project completed.

Called inside the transaction that records the event, and again whenever a tariff is set or
an application approved, so a payment is made due exactly once whatever the order: the
database allows one payment per project and milestone.
"""

from __future__ import annotations

import contextlib
from datetime import date

from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.utils import timezone

from microsystems.audit import audit
from microsystems.models import User

from ..models import (
    Milestone,
    Payment,
    PaymentEvent,
    PaymentKind,
    PaymentStatus,
    Project,
    Tariff,
    financial_year_bounds,
    financial_year_of,
)
from ..selectors import first_project_ids
from .funding import FundingState, funded_amount, funding_of
from .money import format_pounds, split
from .tariffs import shares_of, tariff_for


def reached_milestones(project: Project) -> dict[str, date]:
    """Each milestone the project has reached, with the day it did."""
    reached: dict[str, date] = {}
    with contextlib.suppress(ObjectDoesNotExist):  # a reverse one-to-one raises when there is none
        reached[Milestone.AGREEMENT] = project.agreement.signed_on  # type: ignore[attr-defined]
    if project.completed_on is not None:
        reached[Milestone.COMPLETION] = project.completed_on
    return reached


def milestone_reached(*, project: Project, milestone: str, on: date, by: User | None) -> Payment | None:
    """Make the milestone's payment due if the project is funded, the tariff pays on it and it is not due yet.

    Returns the payment it made, or None when it made none.
    """
    if Payment.objects.filter(project=project, milestone=milestone, kind=PaymentKind.MILESTONE).exists():
        return None
    funding = funding_of(project)
    if funding.route is None:
        return None
    tariff = tariff_for(project)
    if tariff is None:
        return None  # made due when the lead sets the year's tariff
    shares = shares_of(tariff)
    if milestone not in dict(shares):
        return None
    total = funded_amount(funding, tariff)
    if total is None:
        return None
    amounts = dict(zip([m for m, _ in shares], split(total, [p for _, p in shares]), strict=True))
    due_on = on
    if funding.state == FundingState.FUNDED and funding.application and funding.application.decided_at:
        due_on = max(on, timezone.localdate(funding.application.decided_at))
    payment = Payment(
        project=project,
        route=funding.route,  # checked above
        application=funding.application if funding.state == FundingState.FUNDED else None,
        kind=PaymentKind.MILESTONE,
        milestone=milestone,
        percent=dict(shares)[milestone],
        amount=amounts[milestone],
        due_on=due_on,
        financial_year=financial_year_of(due_on),
        created_by=by,
    )
    try:
        with transaction.atomic():
            payment.save()
            label = Milestone(milestone).label.lower()
            PaymentEvent.objects.create(
                payment=payment, by=by, to_status=PaymentStatus.DUE, note=f"Fell due: {label}",
                changes={"amount": str(payment.amount), "due_on": due_on.isoformat()},
            )  # fmt: skip
            audit(payment, "payments.fell_due", by=by, summary=f"{format_pounds(payment.amount)}: {label}")
    except IntegrityError:  # made due by someone else at the same moment
        return None
    return payment


def sync_project(project: Project, *, by: User | None) -> list[Payment]:
    """Make due every payment for a milestone the project has already reached; returns those it made."""
    made = []
    for milestone, on in reached_milestones(project).items():
        if payment := milestone_reached(project=project, milestone=milestone, on=on, by=by):
            made.append(payment)
    return made


def sync_first_projects(tariff: Tariff, *, by: User | None) -> int:
    """After a tariff is set: the year's first projects that already reached a milestone fall due."""
    first_day, last_day = financial_year_bounds(tariff.financial_year)
    started = Project.objects.filter(
        practice__commissioner_id=tariff.commissioner_id, starts_on__range=(first_day, last_day)
    ).select_related("practice", "agreement")
    projects = list(started)
    first = first_project_ids({p.practice_id for p in projects})
    count = 0
    for project in projects:
        if first.get(project.practice_id) == project.pk:
            count += len(sync_project(project, by=by))
    return count
