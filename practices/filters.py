"""The practice directory's search and filters."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from django.utils import timezone

from microsystems.filtering import PlainSelectsMixin

from .models import Cohort, Engagement, OdsStatus, Practice
from .selectors import PROGRESS_CHOICES, progress_condition

NO_COHORT = "none"  # the "None yet" cohort is stored as "", which a filter cannot tell from "any"


class PracticeFilter(PlainSelectsMixin, django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or ODS code")
    pcn = django_filters.ChoiceFilter(field_name="pcn_id", label="PCN", empty_label="All PCNs")
    engagement = django_filters.ChoiceFilter(choices=Engagement.choices, empty_label="Any engagement")
    cohort = django_filters.ChoiceFilter(
        choices=[(c, label) for c, label in Cohort.choices if c] + [(NO_COHORT, Cohort.NONE.label)],
        method="in_cohort",
        empty_label="Any cohort",
        label="Cohort",
    )
    ods_status = django_filters.ChoiceFilter(choices=OdsStatus.choices, empty_label="Any status", label="ODS status")
    progress = django_filters.ChoiceFilter(
        choices=PROGRESS_CHOICES, method="with_progress", empty_label="Any progress", label="Progress"
    )
    # Not drawn as a select: the programme dashboard's links name the commissioner they count.
    commissioner = django_filters.NumberFilter(field_name="commissioner_id")

    class Meta:
        model = Practice
        fields = ["q", "pcn", "engagement", "cohort", "ods_status", "progress", "commissioner"]

    def __init__(self, *args: object, pcns: list[tuple[int, str]] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.filters["pcn"].extra["choices"] = pcns or []

    SELECTS = ("pcn", "engagement", "cohort", "ods_status", "progress")

    def search(self, queryset: QuerySet[Practice], name: str, value: str) -> QuerySet[Practice]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(ods_code__iexact=value) | Q(postcode__istartswith=value))

    def in_cohort(self, queryset: QuerySet[Practice], name: str, value: str) -> QuerySet[Practice]:
        return queryset.filter(cohort=Cohort.NONE if value == NO_COHORT else value)

    def with_progress(self, queryset: QuerySet[Practice], name: str, value: str) -> QuerySet[Practice]:
        return queryset.filter(progress_condition(value, timezone.localdate()))
