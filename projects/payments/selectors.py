"""Page-shaped reads of payments, applications and tariffs: each page's rows in a fixed number of queries.

Amounts are shown as "£1,234.56"; the pages read them from ``<field>_text`` attributes set
here (``with_money``), so templates never format money themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, Count, Prefetch, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from microsystems.compiled import CompiledQuery
from microsystems.models import User
from practices.models import Commissioner, ProgrammeRoleKind
from practices.permissions import roles_of

from ..models import (
    ApplicationStatus,
    FundingApplication,
    Payment,
    PaymentEvent,
    PaymentStatus,
    Project,
    Tariff,
    financial_year_label,
    financial_year_of,
)
from ..selectors import projects_for
from .funding import Funding, FundingState, funded_amount, funding_of, live_application
from .money import format_pounds
from .scopes import applications_for, commissioners_managed, payments_for
from .tariffs import shares_of, tariff_for


def current_financial_year() -> int:
    return financial_year_of(timezone.localdate())


def with_money(objects: Iterable[Any], *fields: str) -> list[Any]:
    """Set ``<field>_text`` ("£1,234.56", or "" when empty) on each object, for the templates."""
    rows = list(objects)
    for obj in rows:
        for name in fields:
            setattr(obj, f"{name}_text", format_pounds(getattr(obj, name)))
    return rows


def sees_payment_pages(user: User | AnonymousUser) -> bool:
    """Lead, finance, staff admin or practice staff: everyone whose payment scope is not empty by rule."""
    roles = roles_of(user)
    return roles.is_admin or bool(commissioners_managed(user)) or roles.is_practice_member


# Payments


def payment_list(user: User | AnonymousUser) -> QuerySet[Payment]:
    """The list's rows with the practice, PCN and project each shows, in one query."""
    return payments_for(user).select_related("project__practice__pcn")


def payment_years(user: User | AnonymousUser) -> list[int]:
    """The financial years the user's payments fall in, and the current one, newest first."""
    years = set(payments_for(user).order_by().values_list("financial_year", flat=True).distinct())
    return sorted(years | {current_financial_year()}, reverse=True)


@dataclass(frozen=True)
class StatusTotal:
    status: str
    label: str
    count: int
    amount: Decimal

    @property
    def amount_text(self) -> str:
        return format_pounds(self.amount)


def totals_by_status(payments: QuerySet[Payment], statuses: Iterable[str] | None = None) -> list[StatusTotal]:
    """The number and sum of payments at each status (or only at ``statuses``), summed by the database in one
    query; asking for fewer statuses reads only their rows and sums fewer columns."""
    wanted = PaymentStatus.values if statuses is None else list(statuses)
    if statuses is not None:
        payments = payments.filter(status__in=wanted)
    aggregates: dict[str, Any] = {}
    for status in wanted:
        aggregates[f"{status}_count"] = Count("pk", filter=Q(status=status))
        aggregates[f"{status}_amount"] = Sum("amount", filter=Q(status=status))
    row = payments.order_by().aggregate(**aggregates)
    return [
        StatusTotal(status, str(label), row[f"{status}_count"], row[f"{status}_amount"] or Decimal("0.00"))
        for status, label in PaymentStatus.choices
        if status in wanted
    ]


def payment_for_page(user: User | AnonymousUser) -> QuerySet[Payment]:
    """One payment with everything its page shows: people, the payment it adjusts, its adjustments, its history."""
    return (
        payments_for(user)
        .select_related(
            "project__practice__pcn",
            "project__practice__commissioner",
            "application",
            "adjusts",
            "approved_by",
            "paid_by",
            "cancelled_by",
            "created_by",
        )
        .prefetch_related(
            Prefetch("events", queryset=PaymentEvent.objects.select_related("by")),
            Prefetch("adjustments", queryset=Payment.objects.order_by("created_at", "pk")),
        )
    )


# Applications


def application_list(user: User | AnonymousUser) -> QuerySet[FundingApplication]:
    """Applications waiting for a decision first, then the newest."""
    pending_first = Case(When(status=ApplicationStatus.PENDING, then=Value(0)), default=Value(1))
    return (
        applications_for(user).select_related("project__practice__pcn").order_by(pending_first, "-submitted_at", "-id")
    )


def application_for_page(user: User | AnonymousUser) -> QuerySet[FundingApplication]:
    return applications_for(user).select_related(
        "project__practice__pcn", "project__practice__commissioner", "submitted_by", "decided_by"
    )


def pending_applications(user: User | AnonymousUser) -> QuerySet[FundingApplication]:
    return applications_for(user).filter(status=ApplicationStatus.PENDING)


# Tariffs


def tariff_commissioners(user: User | AnonymousUser, *, to_set: bool = False) -> QuerySet[Commissioner]:
    """Commissioners whose tariffs the user sees (lead or finance) or sets (lead); a staff admin, all."""
    roles = roles_of(user)
    if roles.is_admin:
        return Commissioner.objects.order_by("name")
    kinds = (ProgrammeRoleKind.LEAD,) if to_set else (ProgrammeRoleKind.LEAD, ProgrammeRoleKind.FINANCE)
    return Commissioner.objects.filter(pk__in=roles.commissioners_with(*kinds)).order_by("name")


def tariffs_of(commissioners: QuerySet[Commissioner]) -> QuerySet[Commissioner]:
    """The commissioners with their tariffs, newest year first, and each tariff's milestones: three queries."""
    return commissioners.prefetch_related(
        Prefetch(
            "tariffs",
            queryset=Tariff.objects.order_by("-financial_year").prefetch_related("milestones"),
        )
    )


# A project's funding


def funding_projects(user: User | AnonymousUser) -> QuerySet[Project]:
    """Projects whose funding page the user may open: the projects they see, and finance's commissioners'."""
    if not user.is_authenticated:
        return Project.objects.none()
    visible = Q(pk__in=projects_for(user).values("pk"))
    if managed := commissioners_managed(user):
        visible |= Q(practice__commissioner_id__in=managed)
    return Project.objects.filter(visible).select_related("practice__pcn", "practice__commissioner")


def quick_funding(project: Project) -> Funding:
    """The funding state, skipping the first-project query when the page annotated ``is_first`` already."""
    first = getattr(project, "is_first", None)
    if first is not None:
        application = live_application(project)  # for a first project too: every overview costs the same
        if first:
            return Funding(FundingState.FIRST_PROJECT)
        if application is None:
            return Funding(FundingState.SELF_FUNDED)
        state = FundingState.FUNDED if application.status == ApplicationStatus.APPROVED else FundingState.PENDING
        return Funding(state, application)
    return funding_of(project)


@dataclass(frozen=True)
class PaidSoFar:
    """A project's payments in two sums: committed (due, approved or paid) and paid."""

    committed: Decimal
    paid: Decimal

    @property
    def committed_text(self) -> str:
        return format_pounds(self.committed)

    @property
    def paid_text(self) -> str:
        return format_pounds(self.paid)


def paid_so_far(project: Project) -> PaidSoFar:
    """Summed here from the project's few payments: building the ORM's two filtered sums cost more than the rows."""
    committed = paid = Decimal("0.00")
    for status, amount in _PAYMENT_AMOUNTS(project.pk):
        if amount is None:
            continue
        if status != PaymentStatus.CANCELLED:
            committed += amount
        if status == PaymentStatus.PAID:
            paid += amount
    return PaidSoFar(committed, paid)


_TARIFF_AMOUNT = CompiledQuery(  # one a year at most: no order (its ordering would join the commissioner)
    lambda commissioner_id, year: (
        Tariff.objects.filter(commissioner_id=commissioner_id, financial_year=year)
        .order_by()
        .values_list("first_project_amount", flat=True)
    )
)
_PAYMENT_AMOUNTS = CompiledQuery(
    lambda project_id: Payment.objects.filter(project_id=project_id).order_by().values_list("status", "amount")
)


def funding_panel(project: Project, *, sees_amounts: bool) -> dict[str, Any]:
    """What the project overview shows of the funding: the state for all, amounts for those who may see them.

    One query for the state and, for those who see amounts, two more for the tariff and the sums,
    whatever the project's funding: the same queries for every project. (Two plain queries cost less
    than one that groups the project's row with its payments and a tariff subquery.)
    """
    funding = quick_funding(project)
    panel: dict[str, Any] = {"funding": funding, "sees_amounts": sees_amounts}
    if not sees_amounts:
        return panel
    year = financial_year_of(project.starts_on)
    tariff_amount = next(iter(_TARIFF_AMOUNT(project.practice.commissioner_id, year)), None)
    so_far = paid_so_far(project)
    if funding.is_funded:
        if funding.state == FundingState.FIRST_PROJECT:
            amount = tariff_amount
        else:
            amount = funding.application.amount_approved if funding.application else None
        panel["funded_amount_text"] = format_pounds(amount) if amount is not None else ""
        panel["so_far"] = so_far
    return panel


def funding_page(project: Project, *, sees_amounts: bool) -> dict[str, Any]:
    """The project funding page's context: the state, and for those who see amounts the money itself."""
    funding = funding_of(project)
    context: dict[str, Any] = {"funding": funding, "sees_amounts": sees_amounts}
    if not sees_amounts:
        return context
    tariff = tariff_for(project)
    amount = funded_amount(funding, tariff)
    payments = project.payments.select_related("adjusts").order_by("due_on", "pk")
    applications = project.funding_applications.select_related("decided_by").order_by("-submitted_at", "-id")
    context |= {
        "tariff": tariff,
        "tariff_amount_text": format_pounds(tariff.first_project_amount) if tariff else "",
        "shares": shares_of(tariff) if tariff else [],
        "funded_amount_text": format_pounds(amount) if amount is not None else "",
        "payments": with_money(payments, "amount"),
        "applications": with_money(applications, "amount_requested", "amount_approved"),
        "so_far": paid_so_far(project),
    }
    return context


# Home page


@dataclass(frozen=True)
class FundingToDo:
    """This financial year's payments waiting for someone, and applications waiting for the lead."""

    year: int
    due: StatusTotal
    approved: StatusTotal
    applications_waiting: int

    @property
    def year_label(self) -> str:
        return financial_year_label(self.year)


def funding_to_do(user: User | AnonymousUser) -> FundingToDo:
    year = current_financial_year()
    payments = payments_for(user).filter(financial_year=year)
    totals = {t.status: t for t in totals_by_status(payments, [PaymentStatus.DUE, PaymentStatus.APPROVED])}
    waiting = pending_applications(user).count()
    return FundingToDo(year, totals[PaymentStatus.DUE], totals[PaymentStatus.APPROVED], waiting)
