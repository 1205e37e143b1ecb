"""Enhanced-service payments and funding: tariffs, funding applications, payments and their history.

A practice's first project is paid from the commissioner's tariff when each milestone is
reached; a later project is paid only through an approved funding application. A payment
moves due → approved → paid, or is cancelled; a paid payment is never changed again (the
database refuses it too, see migration 0004), and a correction is a new adjustment that
refers to it. Every transition is a ``PaymentEvent``.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from practices.models import Commissioner

from .core import Project


def financial_year_of(day: date) -> int:
    """The financial year (1 April to 31 March) a day falls in, named by the year it starts."""
    return day.year if day.month >= 4 else day.year - 1


def financial_year_label(year: int) -> str:
    return f"{year}/{(year + 1) % 100:02d}"


def financial_year_bounds(year: int) -> tuple[date, date]:
    """The first and last day of a financial year."""
    return date(year, 4, 1), date(year + 1, 3, 31)


class Milestone(models.TextChoices):
    """The events a tariff pays on, in the order a project reaches them."""

    AGREEMENT = "agreement", "Coaching agreement signed"
    COMPLETION = "completion", "Project completed"


MILESTONE_ORDER = [Milestone.AGREEMENT, Milestone.COMPLETION]


class Tariff(models.Model):
    """What a commissioner pays for a practice's first project in one financial year."""

    commissioner = models.ForeignKey(Commissioner, on_delete=models.PROTECT, related_name="tariffs")
    financial_year = models.PositiveSmallIntegerField(help_text="The year it starts: 2026 for 2026/27.")
    first_project_amount = models.DecimalField("amount for a first project (£)", max_digits=10, decimal_places=2)
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["commissioner", "-financial_year"]
        constraints = [
            models.UniqueConstraint(fields=["commissioner", "financial_year"], name="one_tariff_per_year"),
            models.CheckConstraint(condition=Q(first_project_amount__gt=0), name="tariff_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.commissioner}: {self.year_label}"

    @property
    def year_label(self) -> str:
        return financial_year_label(self.financial_year)


class TariffMilestone(models.Model):
    """One milestone's share of a tariff; a tariff's shares sum to 100%."""

    tariff = models.ForeignKey(Tariff, on_delete=models.CASCADE, related_name="milestones")
    milestone = models.CharField(max_length=20, choices=Milestone.choices)
    percent = models.DecimalField(max_digits=5, decimal_places=2)

    class Meta:
        ordering = ["tariff", "milestone"]
        constraints = [
            models.UniqueConstraint(fields=["tariff", "milestone"], name="one_share_per_milestone"),
            models.CheckConstraint(condition=Q(percent__gt=0, percent__lte=100), name="share_between_0_and_100"),
        ]

    def __str__(self) -> str:
        return f"{self.get_milestone_display()}: {self.percent}%"


class ApplicationStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a decision"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class FundingApplication(models.Model):
    """A practice's request for funding of a project that is not its first."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="funding_applications")
    why = models.TextField("why the project needs funding", max_length=2000)
    amount_requested = models.DecimalField("amount requested (£)", max_digits=10, decimal_places=2)
    pays_for = models.TextField("what it will pay for", max_length=1000, help_text="For example, staff time.")
    needs_ongoing_resources = models.BooleanField("the change will need ongoing resources after the project")
    ongoing_resources_plan = models.TextField("how they will be met", max_length=1000, blank=True)
    status = models.CharField(max_length=10, choices=ApplicationStatus.choices, default=ApplicationStatus.PENDING)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(default=timezone.now)
    amount_approved = models.DecimalField("amount approved (£)", null=True, blank=True, max_digits=10, decimal_places=2)
    decision_reason = models.TextField(max_length=2000, blank=True)
    above_tariff_justification = models.TextField(max_length=2000, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            # A project has at most one application in play: pending or approved.
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=["pending", "approved"]),
                name="one_live_application_per_project",
            ),
            models.CheckConstraint(condition=Q(amount_requested__gt=0), name="application_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_approved__isnull=True) | Q(amount_approved__gt=0),
                name="approved_amount_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Funding application for {self.project}"

    def get_absolute_url(self) -> str:
        return reverse("payments:application", args=[self.pk])


class FundingRoute(models.TextChoices):
    FIRST_PROJECT = "first_project", "First project (enhanced service)"
    APPLICATION = "application", "Funding application"


class PaymentKind(models.TextChoices):
    MILESTONE = "milestone", "Milestone payment"
    ADJUSTMENT = "adjustment", "Adjustment"


class PaymentStatus(models.TextChoices):
    DUE = "due", "Due"
    APPROVED = "approved", "Approved"
    PAID = "paid", "Paid"
    CANCELLED = "cancelled", "Cancelled"


class Payment(models.Model):
    """Money owed to a practice for a project: one milestone's share, or an adjustment of a paid one."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="payments")
    route = models.CharField(max_length=20, choices=FundingRoute.choices)
    application = models.ForeignKey(
        FundingApplication, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    kind = models.CharField(max_length=20, choices=PaymentKind.choices, default=PaymentKind.MILESTONE)
    milestone = models.CharField(max_length=20, choices=Milestone.choices, blank=True)
    percent = models.DecimalField("share of the funding (%)", max_digits=5, decimal_places=2, null=True, blank=True)
    adjusts = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="adjustments",
        help_text="The paid payment this adjustment corrects.",
    )  # fmt: skip
    amount = models.DecimalField("amount (£)", max_digits=10, decimal_places=2)
    due_on = models.DateField("due from", help_text="The day the milestone was reached.")
    financial_year = models.PositiveSmallIntegerField(help_text="Of the day it fell due.")
    status = models.CharField(max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.DUE)
    reason = models.TextField("why (for an adjustment)", max_length=2000, blank=True)
    above_tariff_justification = models.TextField(max_length=2000, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    paid_on = models.DateField("date paid", null=True, blank=True)
    reference = models.CharField("payment or purchase-order reference", max_length=60, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(max_length=2000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-due_on", "-id"]
        indexes = [
            models.Index(fields=["financial_year", "status"]),
            models.Index(fields=["project", "kind"]),
        ]
        constraints = [
            # One payment per project and milestone, whatever its status: a cancelled one is not re-created.
            models.UniqueConstraint(
                fields=["project", "milestone"], condition=Q(kind="milestone"), name="one_payment_per_milestone"
            ),
            models.CheckConstraint(
                condition=Q(kind="adjustment", adjusts__isnull=False, milestone="")
                | Q(kind="milestone", adjusts__isnull=True, amount__gte=0) & ~Q(milestone=""),
                name="payment_kind_consistent",
            ),
            models.CheckConstraint(condition=~Q(kind="adjustment") | ~Q(amount=0), name="adjustment_not_zero"),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_on__isnull=False) & ~Q(reference=""),
                name="paid_has_date_and_reference",
            ),
            models.CheckConstraint(
                condition=Q(route="application", application__isnull=False)
                | Q(route="first_project", application__isnull=True),
                name="payment_route_consistent",
            ),
        ]

    def __str__(self) -> str:
        what = self.get_milestone_display() if self.kind == PaymentKind.MILESTONE else "Adjustment"
        return f"{what}: £{self.amount} for {self.project}"

    def get_absolute_url(self) -> str:
        return reverse("payments:detail", args=[self.pk])

    @property
    def year_label(self) -> str:
        return financial_year_label(self.financial_year)

    @property
    def is_open(self) -> bool:
        return self.status in {PaymentStatus.DUE, PaymentStatus.APPROVED}

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise ValueError("Payments are never deleted: cancel one, or adjust a paid one.")


class PaymentEvent(models.Model):
    """One transition of a payment: who, when, from which status to which, and what changed."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    from_status = models.CharField(max_length=10, choices=PaymentStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=PaymentStatus.choices)
    note = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)  # dates, Decimals as text

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.payment_id}: {self.from_status or 'new'} → {self.to_status}"
