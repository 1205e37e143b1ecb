"""The payment list's filters as the list uses them: the base ``PaymentFilter`` and what the dashboard links need.

The programme dashboard counts money committed (due or approved, not yet paid) and links to the
list of exactly those payments, of one commissioner.
"""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from ..models import Payment, PaymentStatus
from .forms import PaymentFilter

COMMITTED = "committed"
COMMITTED_STATUSES = (PaymentStatus.DUE, PaymentStatus.APPROVED)


class PaymentListFilter(PaymentFilter):
    status = django_filters.ChoiceFilter(
        choices=[*PaymentStatus.choices, (COMMITTED, "Committed (due or approved)")],
        method="with_status",
        empty_label="Any status",
    )
    # Not drawn as a select: the programme dashboard's links name the commissioner they count.
    commissioner = django_filters.NumberFilter(field_name="project__practice__commissioner_id")

    class Meta(PaymentFilter.Meta):
        fields = [*PaymentFilter.Meta.fields, "commissioner"]

    def with_status(self, queryset: QuerySet[Payment], name: str, value: str) -> QuerySet[Payment]:
        if value == COMMITTED:
            return queryset.filter(status__in=COMMITTED_STATUSES)
        return queryset.filter(status=value)
