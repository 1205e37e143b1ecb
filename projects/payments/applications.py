"""Funding applications for a practice's later projects: submitted by the practice, decided by the lead."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from microsystems.audit import audit
from microsystems.models import User

from ..models import ApplicationStatus, FundingApplication, Project, Step, financial_year_label, financial_year_of
from .errors import PaymentError
from .funding import is_first_project
from .milestones import sync_project
from .money import check_pence_and_size, format_pounds
from .tariffs import shares_of, tariff_for


@dataclass(frozen=True)
class ApplicationDetails:
    why: str
    amount_requested: Decimal | None
    pays_for: str
    needs_ongoing_resources: bool
    ongoing_resources_plan: str


def _check_amount(amount: Decimal | None, field: str) -> Decimal:
    if amount is None or amount <= 0:
        raise PaymentError("Give an amount of more than £0.", field=field)
    check_pence_and_size(amount, field)
    return amount


def submit_application(*, project: Project, details: ApplicationDetails, by: User) -> FundingApplication:
    """The practice asks for funding of a project that is not its first."""
    if is_first_project(project):
        raise PaymentError(
            "This is the practice's first project: it is funded by the enhanced service, no application needed."
        )
    if not project.is_active:
        raise PaymentError("This project is closed: funding can no longer be applied for.")
    if not details.why.strip():
        raise PaymentError("Say why the project needs funding.", field="why")
    if not details.pays_for.strip():
        raise PaymentError("Say what the funding will pay for, for example staff time.", field="pays_for")
    amount = _check_amount(details.amount_requested, "amount_requested")
    if details.needs_ongoing_resources and not details.ongoing_resources_plan.strip():
        raise PaymentError("Say how the ongoing resources will be met.", field="ongoing_resources_plan")
    plan = details.ongoing_resources_plan.strip() if details.needs_ongoing_resources else ""
    try:
        with transaction.atomic():
            application = FundingApplication.objects.create(
                project=project,
                why=details.why.strip(),
                amount_requested=amount,
                pays_for=details.pays_for.strip(),
                needs_ongoing_resources=details.needs_ongoing_resources,
                ongoing_resources_plan=plan,
                submitted_by=by,
            )
            audit(application, "payments.application_submitted", by=by, summary=f"{format_pounds(amount)} requested")
    except IntegrityError:
        raise PaymentError(
            "This project already has a funding application waiting for a decision or approved."
        ) from None
    return application


def approve_application(
    *,
    application: FundingApplication,
    amount: Decimal | None,
    reason: str,
    by: User,
    above_tariff_justification: str = "",
) -> FundingApplication:
    """The lead approves (possibly a different amount); the project's payments fall due on the tariff's milestones."""
    amount = _check_amount(amount, "amount_approved")
    project = application.project
    if project.step == Step.WITHDRAWN:
        raise PaymentError("The project has been withdrawn: reject the application instead.")
    tariff = tariff_for(project)
    label = financial_year_label(financial_year_of(project.starts_on))
    if tariff is None or not shares_of(tariff):
        raise PaymentError(f"Set the {label} tariff first: its milestones say when the funding is paid.")
    justification = above_tariff_justification.strip()
    if amount > tariff.first_project_amount and not justification:
        raise PaymentError(
            f"{format_pounds(amount)} is more than the {label} tariff of {format_pounds(tariff.first_project_amount)}: "
            "record why.",
            field="above_tariff_justification",
        )
    with transaction.atomic():
        changed = FundingApplication.objects.filter(pk=application.pk, status=ApplicationStatus.PENDING).update(
            status=ApplicationStatus.APPROVED,
            amount_approved=amount,
            decision_reason=reason.strip(),
            above_tariff_justification=justification,
            decided_by=by,
            decided_at=timezone.now(),
        )
        if not changed:
            raise _already_decided(application)
        application.refresh_from_db()
        audit(
            application, "payments.application_approved", by=by,
            summary=f"{format_pounds(amount)} approved of {format_pounds(application.amount_requested)}",
        )  # fmt: skip
        sync_project(project, by=by)
    return application


def reject_application(*, application: FundingApplication, reason: str, by: User) -> FundingApplication:
    if not reason.strip():
        raise PaymentError("Say why the application is rejected: the practice will read it.", field="decision_reason")
    with transaction.atomic():
        changed = FundingApplication.objects.filter(pk=application.pk, status=ApplicationStatus.PENDING).update(
            status=ApplicationStatus.REJECTED, decision_reason=reason.strip(), decided_by=by, decided_at=timezone.now()
        )
        if not changed:
            raise _already_decided(application)
        application.refresh_from_db()
        audit(application, "payments.application_rejected", by=by, summary=reason.strip()[:200])
    return application


def _already_decided(application: FundingApplication) -> PaymentError:
    now = FundingApplication.objects.filter(pk=application.pk).values_list("status", flat=True).first()
    state = ApplicationStatus(now).label.lower() if now else "gone"
    return PaymentError(f"Someone else has just decided this application: it is {state}. Nothing was changed.")
