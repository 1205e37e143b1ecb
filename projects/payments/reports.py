"""The funding reports for finance and the lead: payments by financial year, with totals by status.

Everything here is a read computed by the database: rows come out as tuples from one joined
query (``values_list`` and ``iterator``, never a model instance per row), and every total is a
``Sum`` with ``filter=``, grouped with ``values()``, so a report's totals are the database's own
sums of the same rows. The CSV and XLSX writers (``exports``) and the report page share these
functions; the bench calls ``payment_rows(..., as_text=True)`` and ``exports.csv_lines`` directly.

A report covers one financial year (of the day a payment fell due; for an application, of the
day it was submitted) and a set of commissioners: those the user runs the funding of, or all
of them (``None``) for a staff admin.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Case, CharField, Count, DecimalField, Func, Q, QuerySet, Sum, TextField, Value, When
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from microsystems.models import User
from practices.permissions import roles_of

from ..models import (
    ApplicationStatus,
    FundingApplication,
    FundingRoute,
    Milestone,
    Payment,
    PaymentKind,
    PaymentStatus,
    financial_year_bounds,
    financial_year_of,
)
from .money import format_pounds
from .scopes import commissioners_managed

CHUNK_ROWS = 2000  # rows fetched from the database cursor at a time
ROUTE_LABELS = {FundingRoute.FIRST_PROJECT: "First project", FundingRoute.APPLICATION: "Subsequent"}
ADJUSTMENT = "Adjustment"
NO_PCN = "No PCN"
COMMITTED = (PaymentStatus.DUE, PaymentStatus.APPROVED, PaymentStatus.PAID)

# Kinds of column: how the exports write a value.
TEXT, NUMBER, MONEY, DATE = "text", "number", "money", "date"


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = TEXT
    width: int = 16


CommissionerIds = Collection[int] | None  # None: every commissioner (a staff admin)


def current_financial_year() -> int:
    return financial_year_of(timezone.localdate())


def report_scope(user: User | AnonymousUser) -> frozenset[int] | None:
    """The commissioners whose funding the user may report on: None for all (staff admin), empty for none."""
    if user.is_authenticated and roles_of(user).is_admin:
        return None
    return frozenset(commissioners_managed(user))


def _money(expression: Any) -> Coalesce:
    """A sum that is £0.00 rather than NULL when there is nothing to add up."""
    output: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)
    return Coalesce(expression, Value(Decimal("0.00")), output_field=output)


def _text(value: str) -> Value:
    return Value(value, output_field=CharField())


# The payment rows


def payments_in(year: int, commissioner_ids: CommissionerIds) -> QuerySet[Payment]:
    """The year's payments of the commissioners (all of them for None)."""
    payments = Payment.objects.filter(financial_year=year)
    if commissioner_ids is not None:
        payments = payments.filter(project__practice__commissioner_id__in=list(commissioner_ids))
    return payments


def _labels() -> dict[str, Any]:
    """Labels worked out by the database, so a row leaves the cursor ready to write."""
    milestones = [When(milestone=m.value, then=_text(str(m.label))) for m in Milestone]
    return {
        "pcn_name": Coalesce("project__practice__pcn__name", _text("")),
        "pcn_code": Coalesce("project__practice__pcn__code", _text("")),
        "route_label": Case(
            *[When(route=route, then=_text(label)) for route, label in ROUTE_LABELS.items()], default=_text("")
        ),
        "payment_for": Case(When(kind=PaymentKind.ADJUSTMENT, then=_text(ADJUSTMENT)), *milestones, default=_text("")),
        "status_label": Case(*[When(status=s.value, then=_text(str(s.label))) for s in PaymentStatus]),
        "ongoing_flag": Case(When(project__needs_ongoing_resources=True, then=_text("Yes")), default=_text("No")),
    }


PAYMENT_FIELDS: tuple[tuple[Column, str], ...] = (
    (Column("Payment ID", NUMBER, 11), "id"),
    (Column("Commissioner", TEXT, 28), "project__practice__commissioner__name"),
    (Column("Commissioner ODS code", TEXT, 12), "project__practice__commissioner__ods_code"),
    (Column("PCN", TEXT, 24), "pcn_name"),
    (Column("PCN code", TEXT, 10), "pcn_code"),
    (Column("Practice", TEXT, 28), "project__practice__name"),
    (Column("Practice ODS code", TEXT, 10), "project__practice__ods_code"),
    (Column("Project", TEXT, 32), "project__title"),
    (Column("Project ID", NUMBER, 10), "project_id"),
    (Column("Funding", TEXT, 14), "route_label"),
    (Column("Payment for", TEXT, 26), "payment_for"),
    (Column("Adjusts payment ID", NUMBER, 11), "adjusts_id"),
    (Column("Amount (£)", MONEY, 14), "amount"),
    (Column("Status", TEXT, 11), "status_label"),
    (Column("Due from", DATE, 12), "due_on"),
    (Column("Paid on", DATE, 12), "paid_on"),
    (Column("Reference", TEXT, 18), "reference"),
    (Column("Needs ongoing resources", TEXT, 10), "ongoing_flag"),
    (Column("Ongoing resources", TEXT, 40), "project__ongoing_resources"),
)
PAYMENT_COLUMNS = tuple(column for column, _ in PAYMENT_FIELDS)
AMOUNT_INDEX = next(i for i, (_, field) in enumerate(PAYMENT_FIELDS) if field == "amount")


class AsText(Func):
    """An amount (two decimals) or a date as the text a CSV holds, written by the database.

    Converting 100,000 amounts to ``Decimal`` and dates to ``date`` only to turn them back
    into text costs more than the query itself; the CSV asks the database for the text.
    """

    output_field = TextField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="(%(expressions)s)::text", **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        field = self.source_expressions[0].output_field
        template = "printf('%%.2f', %(expressions)s)" if isinstance(field, DecimalField) else "%(expressions)s"
        return self.as_sql(compiler, connection, template=template, **extra)


def payment_rows(year: int, commissioner_ids: CommissionerIds, *, as_text: bool = False) -> Iterator[tuple[Any, ...]]:
    """Every payment of the year for the commissioners (None: all), one tuple per payment.

    The tuple follows ``PAYMENT_COLUMNS``: ids as ints, amounts as ``Decimal``, dates as
    ``date`` (or None), everything else as text already labelled; with ``as_text`` (the CSV)
    amounts and dates come as text (``1500.00``, ``2026-03-31``) from the database. One query
    with every join, read from the database cursor ``CHUNK_ROWS`` at a time, so memory stays
    flat however many payments there are. Ordered by commissioner, practice, project, then date due.
    """
    fields = [field for _, field in PAYMENT_FIELDS]
    annotations = _labels()
    if as_text:
        for i, (column, field) in enumerate(PAYMENT_FIELDS):
            if column.kind in (MONEY, DATE):
                annotations[f"{field}_text"] = AsText(field)
                fields[i] = f"{field}_text"
    return (
        payments_in(year, commissioner_ids)
        .annotate(**annotations)
        .order_by("project__practice__commissioner__name", "project__practice__name", "project_id", "due_on", "id")
        .values_list(*fields)
        .iterator(chunk_size=CHUNK_ROWS)
    )


# Totals by status


@dataclass(frozen=True)
class Totals:
    """Sums by status of a set of payments; committed is what is due, approved or paid."""

    payments: int
    projects: int
    ongoing: int  # projects that will need ongoing resources after they end
    due: Decimal
    approved: Decimal
    paid: Decimal
    cancelled: Decimal
    committed: Decimal

    @classmethod
    def of(cls, row: dict[str, Any]) -> Totals:
        return cls(**{name: row[name] for name in TOTAL_NAMES})

    @property
    def amounts(self) -> tuple[Decimal, ...]:
        return (self.due, self.approved, self.paid, self.cancelled, self.committed)

    @property
    def shown(self) -> dict[str, str]:
        """The amounts as the page shows them: "£1,250.00"."""
        return {name: format_pounds(getattr(self, name)) for name in MONEY_TOTALS}


MONEY_TOTALS = ("due", "approved", "paid", "cancelled", "committed")
TOTAL_NAMES = ("payments", "projects", "ongoing", *MONEY_TOTALS)
TOTAL_COLUMNS = (
    Column("Payments", NUMBER, 10),
    Column("Projects", NUMBER, 10),
    Column("Projects needing ongoing resources", NUMBER, 12),
    Column("Due (£)", MONEY, 14),
    Column("Approved (£)", MONEY, 14),
    Column("Paid (£)", MONEY, 14),
    Column("Cancelled (£)", MONEY, 14),
    Column("Committed (£)", MONEY, 14),
)


def _sums() -> dict[str, Any]:
    by_status = {s.value: _money(Sum("amount", filter=Q(status=s))) for s in PaymentStatus}
    return {
        "payments": Count("id"),
        "projects": Count("project_id", distinct=True),
        "ongoing": Count("project_id", distinct=True, filter=Q(project__needs_ongoing_resources=True)),
        **by_status,
        "committed": _money(Sum("amount", filter=Q(status__in=COMMITTED))),
    }


def totals(year: int, commissioner_ids: CommissionerIds) -> Totals:
    """The year's totals by status, as one aggregate."""
    return Totals.of(payments_in(year, commissioner_ids).aggregate(**_sums()))


@dataclass(frozen=True)
class Summary:
    """One grouping of the year's payments: by commissioner, PCN, practice or funding route."""

    slug: str
    title: str
    sheet: str  # the XLSX sheet's name: at most 31 characters
    label_fields: tuple[tuple[Column, str], ...]

    @property
    def columns(self) -> tuple[Column, ...]:
        return (*(column for column, _ in self.label_fields), *TOTAL_COLUMNS)


@dataclass(frozen=True)
class SummaryRow:
    labels: tuple[str, ...]
    totals: Totals

    @property
    def cells(self) -> tuple[Any, ...]:
        return (*self.labels, *(getattr(self.totals, name) for name in TOTAL_NAMES))


_COMMISSIONER = (
    (Column("Commissioner", TEXT, 28), "project__practice__commissioner__name"),
    (Column("Commissioner ODS code", TEXT, 12), "project__practice__commissioner__ods_code"),
)
_PCN = ((Column("PCN", TEXT, 24), "pcn_name"), (Column("PCN code", TEXT, 10), "pcn_code"))
BY_COMMISSIONER = Summary("commissioners", "By commissioner", "By commissioner", _COMMISSIONER)
BY_PCN = Summary("pcns", "By PCN", "By PCN", (*_COMMISSIONER, *_PCN))
BY_PRACTICE = Summary(
    "practices",
    "By practice",
    "By practice",
    (
        *_COMMISSIONER,
        *_PCN,
        (Column("Practice", TEXT, 28), "project__practice__name"),
        (Column("Practice ODS code", TEXT, 10), "project__practice__ods_code"),
    ),
)
BY_ROUTE = Summary(
    "split", "First project and subsequent", "First vs subsequent", ((Column("Funding", TEXT, 16), "route"),)
)
SUMMARIES = (BY_COMMISSIONER, BY_PCN, BY_PRACTICE)


def summary_rows(
    summary: Summary, year: int, commissioner_ids: CommissionerIds, *, limit: int | None = None
) -> Iterator[SummaryRow]:
    """The year's totals by status for each group of ``summary``, in name order; at most ``limit`` groups."""
    if summary is BY_ROUTE:
        yield from route_split(year, commissioner_ids)
        return
    fields = [field for _, field in summary.label_fields]
    payments = payments_in(year, commissioner_ids)
    if "pcn_name" in fields:
        payments = payments.annotate(
            pcn_name=Coalesce("project__practice__pcn__name", _text(NO_PCN)),
            pcn_code=Coalesce("project__practice__pcn__code", _text("")),
        )
    grouped = payments.values(*fields).annotate(**_sums()).order_by(*fields)
    rows = grouped[:limit] if limit is not None else grouped.iterator(chunk_size=CHUNK_ROWS)
    for row in rows:
        yield SummaryRow(tuple(row[field] for field in fields), Totals.of(row))


def route_split(year: int, commissioner_ids: CommissionerIds) -> list[SummaryRow]:
    """First projects beside subsequent ones (paid through an application), both always shown."""
    grouped = {row["route"]: row for row in payments_in(year, commissioner_ids).values("route").annotate(**_sums())}
    empty = Totals(0, 0, 0, *(Decimal("0.00"),) * len(MONEY_TOTALS))
    return [
        SummaryRow((label,), Totals.of(grouped[route]) if route in grouped else empty)
        for route, label in ROUTE_LABELS.items()
    ]


def ongoing_projects(year: int, commissioner_ids: CommissionerIds, *, limit: int) -> list[dict[str, Any]]:
    """The projects paid in the year that said at the outset they will need ongoing resources, with what."""
    payments = payments_in(year, commissioner_ids).filter(project__needs_ongoing_resources=True)
    rows = (
        payments.values(
            "project_id", "project__title", "project__practice__name", "project__practice__ods_code",
            "project__ongoing_resources",
        )
        .distinct()
        .order_by("project__practice__name", "project__title", "project_id")[:limit]
    )  # fmt: skip
    return [dict(row) for row in rows]


# Applications


def applications_in(year: int, commissioner_ids: CommissionerIds) -> QuerySet[FundingApplication]:
    """The applications submitted in the year (by the local date) for the commissioners' projects."""
    first_day, last_day = financial_year_bounds(year)
    applications = FundingApplication.objects.filter(submitted_at__date__range=(first_day, last_day))
    if commissioner_ids is not None:
        applications = applications.filter(project__practice__commissioner_id__in=list(commissioner_ids))
    return applications


APPLICATION_FIELDS: tuple[tuple[Column, str], ...] = (
    (Column("Application ID", NUMBER, 11), "id"),
    (Column("Commissioner", TEXT, 28), "project__practice__commissioner__name"),
    (Column("Commissioner ODS code", TEXT, 12), "project__practice__commissioner__ods_code"),
    (Column("PCN", TEXT, 24), "pcn_name"),
    (Column("Practice", TEXT, 28), "project__practice__name"),
    (Column("Practice ODS code", TEXT, 10), "project__practice__ods_code"),
    (Column("Project", TEXT, 32), "project__title"),
    (Column("Project ID", NUMBER, 10), "project_id"),
    (Column("Requested (£)", MONEY, 14), "amount_requested"),
    (Column("Approved (£)", MONEY, 14), "amount_approved"),
    (Column("Outcome", TEXT, 22), "status_label"),
    (Column("Decision reason", TEXT, 40), "decision_reason"),
    (Column("Submitted on", DATE, 12), "submitted_on"),
    (Column("Decided on", DATE, 12), "decided_on"),
    (Column("Needs ongoing resources", TEXT, 10), "ongoing_flag"),
    (Column("Ongoing resources", TEXT, 40), "project__ongoing_resources"),
    (Column("How ongoing resources will be met", TEXT, 40), "ongoing_resources_plan"),
)
APPLICATION_COLUMNS = tuple(column for column, _ in APPLICATION_FIELDS)


def application_rows(
    year: int, commissioner_ids: CommissionerIds, *, limit: int | None = None
) -> Iterator[tuple[Any, ...]]:
    """The year's applications and their outcomes, one tuple per application following ``APPLICATION_COLUMNS``."""
    rows = (
        applications_in(year, commissioner_ids)
        .annotate(
            pcn_name=Coalesce("project__practice__pcn__name", _text("")),
            status_label=Case(*[When(status=s.value, then=_text(str(s.label))) for s in ApplicationStatus]),
            submitted_on=TruncDate("submitted_at"),
            decided_on=TruncDate("decided_at"),
            ongoing_flag=Case(When(project__needs_ongoing_resources=True, then=_text("Yes")), default=_text("No")),
        )
        .order_by("project__practice__commissioner__name", "project__practice__name", "submitted_at", "id")
        .values_list(*(field for _, field in APPLICATION_FIELDS))
    )
    return iter(rows[:limit]) if limit is not None else rows.iterator(chunk_size=CHUNK_ROWS)


@dataclass(frozen=True)
class ApplicationTotals:
    applications: int
    pending: int
    approved: int
    rejected: int
    requested: Decimal
    amount_approved: Decimal

    @property
    def shown_requested(self) -> str:
        return format_pounds(self.requested)

    @property
    def shown_approved(self) -> str:
        return format_pounds(self.amount_approved)


def application_totals(year: int, commissioner_ids: CommissionerIds) -> ApplicationTotals:
    """How many applications the year had and their outcomes, with the amounts asked for and approved."""
    approved = Q(status=ApplicationStatus.APPROVED)
    return ApplicationTotals(
        **applications_in(year, commissioner_ids).aggregate(
            applications=Count("id"),
            pending=Count("id", filter=Q(status=ApplicationStatus.PENDING)),
            approved=Count("id", filter=approved),
            rejected=Count("id", filter=Q(status=ApplicationStatus.REJECTED)),
            requested=_money(Sum("amount_requested")),
            amount_approved=_money(Sum("amount_approved", filter=approved)),
        )
    )


# The years to choose from


def report_years(commissioner_ids: CommissionerIds) -> list[int]:
    """Financial years with payments for the commissioners, and the current one; newest first."""
    payments = Payment.objects.all()
    if commissioner_ids is not None:
        payments = payments.filter(project__practice__commissioner_id__in=list(commissioner_ids))
    years = set(payments.order_by().values_list("financial_year", flat=True).distinct())
    return sorted(years | {current_financial_year()}, reverse=True)
