"""The project list as a sortable, paged table (its rows are drawn by a plain template loop)."""

from __future__ import annotations

import django_tables2 as tables
from django.db.models import Case, IntegerField, QuerySet, Value, When

from .models import Project, Step


def with_step_rank(projects: QuerySet[Project]) -> QuerySet[Project]:
    """Annotate ``step_rank`` so the list sorts by the method's order, not alphabetically."""
    return projects.annotate(
        step_rank=Case(
            *(When(step=step, then=Value(rank)) for rank, step in enumerate(Step.values)),
            default=Value(len(Step.values)),
            output_field=IntegerField(),
        )
    )


class ProjectTable(tables.Table):
    title = tables.Column(verbose_name="Project")
    practice = tables.Column(verbose_name="Practice", order_by=("practice__name",))
    step = tables.Column(verbose_name="Step", order_by=("step_rank",))
    typology = tables.Column(verbose_name="Category")
    champion = tables.Column(verbose_name="Champion", empty_values=(), orderable=False)
    coaches = tables.Column(verbose_name="Coaches", empty_values=(), order_by=("lead_coach__full_name",))
    is_first = tables.Column(verbose_name="First project", orderable=False, empty_values=())
    starts_on = tables.Column(verbose_name="Started")

    class Meta:
        model = Project
        fields = ["title", "practice", "step", "typology", "champion", "coaches", "is_first", "starts_on"]
        attrs = {"class": "table table-hover align-middle"}
        per_page = 25
        empty_text = "No projects match. Clear the filters to see every project."
        orderable = True
