"""The practice directory's search and filters."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from .models import Cohort, Engagement, OdsStatus, Pcn, Practice


class PracticeFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Name or ODS code")
    pcn = django_filters.ModelChoiceFilter(queryset=Pcn.objects.none(), label="PCN", empty_label="All PCNs")
    engagement = django_filters.ChoiceFilter(choices=Engagement.choices, empty_label="Any engagement")
    cohort = django_filters.ChoiceFilter(
        choices=[(c, label) for c, label in Cohort.choices if c], empty_label="Any cohort", label="Cohort"
    )
    ods_status = django_filters.ChoiceFilter(choices=OdsStatus.choices, empty_label="Any status", label="ODS status")

    class Meta:
        model = Practice
        fields = ["q", "pcn", "engagement", "cohort", "ods_status"]

    def __init__(self, *args: object, pcns: QuerySet[Pcn] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if pcns is not None:
            self.filters["pcn"].queryset = pcns
        for field in self.form.fields.values():
            css = "form-select" if getattr(field.widget, "input_type", "") == "select" else "form-control"
            field.widget.attrs.setdefault("class", css)

    def search(self, queryset: QuerySet[Practice], name: str, value: str) -> QuerySet[Practice]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(ods_code__iexact=value) | Q(postcode__istartswith=value))
