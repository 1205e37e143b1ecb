"""Demo funding: each demo commissioner's tariff for this financial year and the last, first-project
payments at every status, funding applications approved, rejected and waiting, and a paid payment
corrected by an adjustment.

Everything goes through the services with the demo lead and finance users, so every payment has
the history it would have in use. The tariffs are set after the demo projects are built: setting
a tariff makes due the payments of the first projects that already reached a milestone, on the day
they reached it (the agreement's signed date, the completion date). Safe to run again: a tariff
that exists is kept, a payment is only moved on while it has no history beyond falling due, and a
project that already has an application gets no other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from microsystems.models import User
from practices.models import Commissioner, PracticeMembership, ProgrammeRole, ProgrammeRoleKind, StaffRole

from ..demo import TOPICS, demo_practices
from ..models import ApplicationStatus, Milestone, Payment, PaymentStatus, Project, Tariff, financial_year_of
from .applications import ApplicationDetails, approve_application, reject_application, submit_application
from .funding import FundingState, funding_of
from .lifecycle import AdjustmentDetails, adjust, approve, cancel, pay
from .tariffs import set_tariff

# The first-project amount by financial year: this year's, and last year's.
TARIFF_THIS_YEAR = Decimal("3000.00")
TARIFF_LAST_YEAR = Decimal("2800.00")
SHARES: dict[str, Decimal] = {Milestone.AGREEMENT: Decimal("50"), Milestone.COMPLETION: Decimal("50")}
DAYS_TO_PAY = 21  # finance pays about three weeks after a payment falls due

AGREEMENT, COMPLETION = Milestone.AGREEMENT, Milestone.COMPLETION
DUE, APPROVED, PAID, CANCELLED = PaymentStatus.DUE, PaymentStatus.APPROVED, PaymentStatus.PAID, PaymentStatus.CANCELLED


@dataclass(frozen=True)
class PaymentPlan:
    """Where the demo takes one milestone payment of a demo project (see ``projects.demo.PLANS``)."""

    commissioner: str
    practice: int  # index among the commissioner's demo practices, by ODS code
    topic: str
    milestone: str
    status: str
    cancel_reason: str = ""
    adjustment: tuple[Decimal, str] | None = None  # amount and reason, made once the payment is paid


PAYMENTS: tuple[PaymentPlan, ...] = (
    PaymentPlan("99J", 0, "results", AGREEMENT, PAID),
    PaymentPlan(
        "99J", 0, "results", COMPLETION, PAID,
        adjustment=(
            Decimal("-150.00"),
            "The completion claim included a coaching session that was cancelled; recovered in the next payment run.",
        ),
    ),
    PaymentPlan("99J", 3, "home_visits", AGREEMENT, PAID),
    PaymentPlan("99J", 3, "home_visits", COMPLETION, APPROVED),
    PaymentPlan("99J", 1, "morning_flow", AGREEMENT, APPROVED),
    PaymentPlan("99J", 2, "diabetes", AGREEMENT, DUE),
    PaymentPlan(
        "99J", 5, "letters", AGREEMENT, CANCELLED,
        cancel_reason="The practice withdrew in the project's first month; it agreed the payment should not be made.",
    ),
    PaymentPlan("99K", 2, "ld_checks", AGREEMENT, PAID),
    PaymentPlan("99K", 2, "ld_checks", COMPLETION, DUE),
    PaymentPlan("99K", 0, "results", AGREEMENT, APPROVED),
    PaymentPlan(
        "99K", 5, "morning_flow", AGREEMENT, CANCELLED,
        cancel_reason="The project was withdrawn when its champion left the practice.",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class ApplicationPlan:
    """A funding application for a demo project that is not its practice's first, and the lead's decision."""

    commissioner: str
    practice: int
    topic: str
    why: str
    requested: Decimal
    pays_for: str
    outcome: str
    decision_reason: str = ""
    approved: Decimal | None = None
    above_tariff_justification: str = ""
    ongoing_resources_plan: str = ""  # blank: the change needs no ongoing resources


APPLICATIONS: tuple[ApplicationPlan, ...] = (
    ApplicationPlan(
        "99J", 0, "weight",
        why="After results handling, the team wants to use the same method on the weight-management clinic.",
        requested=Decimal("3200.00"),
        pays_for="Staff time: the practice nurse and a health care assistant for two hours a week.",
        outcome=ApplicationStatus.APPROVED,
        approved=Decimal("2500.00"),
        decision_reason="Approved at £2,500: the PCN already funds the patient survey in the plan.",
        ongoing_resources_plan="The extra clinic session continues from the practice's nursing budget.",
    ),
    ApplicationPlan(
        "99J", 5, "care_homes",
        why="Care home rounds take a GP half a day a week and residents still wait for reviews.",
        requested=Decimal("3400.00"),
        pays_for="A GP session a week and the care homes' staff time for the team meetings.",
        outcome=ApplicationStatus.APPROVED,
        approved=Decimal("3400.00"),
        decision_reason="Approved as requested.",
        above_tariff_justification="Two care homes and the district nursing team take part: 180 residents, "
        "twice a usual project's reach.",
    ),
    ApplicationPlan(
        "99J", 3, "navigation",
        why="Receptionists need training in care navigation.",
        requested=Decimal("2000.00"),
        pays_for="Reception staff time for training.",
        outcome=ApplicationStatus.REJECTED,
        decision_reason="The PCN's care navigation training already covers this; ask the PCN for places.",
    ),
    ApplicationPlan(
        "99J", 2, "messages",
        why="Messages between reception and clinicians cause most of the complaints this year.",
        requested=Decimal("1800.00"),
        pays_for="Staff time for the reception team and one GP to meet weekly.",
        outcome=ApplicationStatus.PENDING,
    ),
    ApplicationPlan(
        "99K", 1, "phones",
        why="A third of calls at 8am are abandoned.",
        requested=Decimal("2500.00"),
        pays_for="Staff time, and a month's trial of a call-back feature on the telephone system.",
        outcome=ApplicationStatus.PENDING,
        ongoing_resources_plan="If the call-back trial works the practice will pay for it from its IT budget.",
    ),
)  # fmt: skip


@dataclass
class Managers:
    lead: User
    finance: User


def seed_payments() -> int:
    """Top up the demo funding; the number of payments that fell due or moved on."""
    changed = 0
    for code in sorted({plan.commissioner for plan in PAYMENTS + APPLICATIONS}):
        commissioner = Commissioner.objects.filter(ods_code=code).first()
        managers = _managers(code)
        if commissioner is None or managers is None:
            continue
        changed += _seed_tariffs(commissioner, managers)
        changed += sum(_seed_payment(plan, managers) for plan in PAYMENTS if plan.commissioner == code)
        changed += sum(_seed_application(plan, managers) for plan in APPLICATIONS if plan.commissioner == code)
    return changed


def _managers(commissioner: str) -> Managers | None:
    """The commissioner's demo lead and finance user (the first of each by e-mail)."""
    roles = ProgrammeRole.objects.filter(commissioner__ods_code=commissioner).select_related("user")
    lead = next((r.user for r in roles.order_by("user__email") if r.role == ProgrammeRoleKind.LEAD), None)
    finance = next((r.user for r in roles.order_by("user__email") if r.role == ProgrammeRoleKind.FINANCE), None)
    return Managers(lead, finance) if lead is not None and finance is not None else None


def _seed_tariffs(commissioner: Commissioner, managers: Managers) -> int:
    """This year's and last year's tariff; setting one makes due what the first projects already reached."""
    this_year = financial_year_of(timezone.localdate())
    before = Payment.objects.count()
    for year, amount in ((this_year - 1, TARIFF_LAST_YEAR), (this_year, TARIFF_THIS_YEAR)):
        if not Tariff.objects.filter(commissioner=commissioner, financial_year=year).exists():
            set_tariff(commissioner=commissioner, financial_year=year, amount=amount, shares=SHARES, by=managers.lead)
    return Payment.objects.count() - before


def _project(commissioner: str, practice: int, topic: str) -> Project | None:
    practices = demo_practices(commissioner)
    if practice >= len(practices):
        return None
    return Project.objects.filter(practice=practices[practice], title=TOPICS[topic].title).first()


def _seed_payment(plan: PaymentPlan, managers: Managers) -> int:
    """Move the payment on to the plan's status, only while nobody has acted on it yet."""
    project = _project(plan.commissioner, plan.practice, plan.topic)
    payment = Payment.objects.filter(project=project, milestone=plan.milestone).first() if project else None
    if payment is None or payment.status != DUE or payment.events.count() > 1 or plan.status == DUE:
        return 0
    if plan.status == CANCELLED:
        cancel(payment=payment, by=managers.lead, reason=plan.cancel_reason)
        return 1
    approve(payment=payment, by=managers.lead)
    if plan.status == PAID:
        pay(payment=payment, by=managers.finance, paid_on=_paid_on(payment), reference=_reference(payment))
        if plan.adjustment is not None:
            amount, reason = plan.adjustment
            correction = adjust(payment=payment, details=AdjustmentDetails(amount, reason), by=managers.finance)
            approve(payment=correction, by=managers.lead)
    return 1


def _paid_on(payment: Payment) -> date:
    return min(timezone.localdate(), payment.due_on + timedelta(days=DAYS_TO_PAY))


def _reference(payment: Payment) -> str:
    return f"PO-{payment.due_on:%y%m}-{payment.pk:05d}"


def _seed_application(plan: ApplicationPlan, managers: Managers) -> int:
    """Submit the application and decide it as planned, once: a project that has any application is left alone."""
    project = _project(plan.commissioner, plan.practice, plan.topic)
    if (
        project is None
        or project.funding_applications.exists()
        or funding_of(project).state != FundingState.SELF_FUNDED
    ):
        return 0
    details = ApplicationDetails(
        why=plan.why,
        amount_requested=plan.requested,
        pays_for=plan.pays_for,
        needs_ongoing_resources=bool(plan.ongoing_resources_plan),
        ongoing_resources_plan=plan.ongoing_resources_plan,
    )
    application = submit_application(project=project, details=details, by=_practice_manager(project) or managers.lead)
    before = project.payments.count()
    if plan.outcome == ApplicationStatus.APPROVED:
        approve_application(
            application=application,
            amount=plan.approved,
            reason=plan.decision_reason,
            by=managers.lead,
            above_tariff_justification=plan.above_tariff_justification,
        )
    elif plan.outcome == ApplicationStatus.REJECTED:
        reject_application(application=application, reason=plan.decision_reason, by=managers.lead)
    return project.payments.count() - before


def _practice_manager(project: Project) -> User | None:
    membership = (
        PracticeMembership.objects.filter(practice_id=project.practice_id, role=StaffRole.PRACTICE_MANAGER)
        .select_related("user")
        .first()
    )
    return membership.user if membership else None
