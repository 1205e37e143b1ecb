"""Funding in the admin site: tariffs and applications to look up; payments and their history read-only.

Payments change only through the lifecycle services, which record who did what; the admin
never adds, changes or deletes one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from ..models import FundingApplication, Payment, PaymentEvent, Tariff, TariffMilestone


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and shows rows; no one adds, changes or deletes them here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TariffMilestoneInline(admin.TabularInline):
    model = TariffMilestone
    extra = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Tariff)
class TariffAdmin(ReadOnlyAdmin):
    """Set on the Tariffs page, which makes payments due; here only to look up."""

    list_display = ["commissioner", "financial_year", "first_project_amount", "set_by", "set_at"]
    list_filter = ["financial_year", "commissioner"]
    list_select_related = ["commissioner", "set_by"]
    inlines = [TariffMilestoneInline]


@admin.register(FundingApplication)
class FundingApplicationAdmin(ReadOnlyAdmin):
    """Decided on the application's page, which makes payments due; here only to look up."""

    list_display = ["project", "status", "amount_requested", "amount_approved", "submitted_at", "decided_at"]
    list_filter = ["status", "project__practice__commissioner"]
    search_fields = ["project__title", "project__practice__name", "project__practice__ods_code"]
    list_select_related = ["project"]


class PaymentEventInline(admin.TabularInline):
    model = PaymentEvent
    extra = 0
    fields = ["at", "by", "from_status", "to_status", "note", "changes"]
    readonly_fields = ["at", "by", "from_status", "to_status", "note", "changes"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["pk", "project", "kind", "milestone", "amount", "status", "due_on", "financial_year", "paid_on"]
    list_filter = ["status", "financial_year", "route", "kind", "project__practice__commissioner"]
    search_fields = ["project__title", "project__practice__name", "project__practice__ods_code", "reference"]
    list_select_related = ["project"]
    inlines = [PaymentEventInline]


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnlyAdmin):
    list_display = ["payment", "at", "by", "from_status", "to_status", "note"]
    list_filter = ["to_status"]
    list_select_related = ["payment__project", "by"]
