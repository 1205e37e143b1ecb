"""The project list as a sortable, paged table (its rows are drawn by a plain template loop)."""

from __future__ import annotations

from html import escape

import django_tables2 as tables
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe

from .models import Project, Step, Typology


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


def rows_html(projects: list[Project], list_url: str) -> SafeString:
    """The table's body rows, drawn in Python: a template variable per cell costs too much on a long page.

    Every value is escaped (``html.escape``, as the template's autoescape does).
    """
    steps = {value: escape(str(label)) for value, label in Step.choices}
    typologies = {value: escape(str(label)) for value, label in Typology.choices}
    dates: dict[object, str] = {}
    rows = []
    for p in projects:
        practice = p.practice
        pcn = practice.pcn
        pcn_html = f'<div class="small text-body-secondary">{escape(pcn.name)}</div>' if pcn else ""
        champions = getattr(p, "champions", None)
        if champions:
            champion = "".join(escape(str(c.display_name)) for c in champions)
        else:
            champion = '<span class="badge text-bg-warning">No champion</span>'
        if p.lead_coach:
            coaches = escape(p.lead_coach.get_full_name())
            if p.co_coach:
                coaches += f'<div class="small">with {escape(p.co_coach.get_full_name())}</div>'
        else:
            coaches = '<span class="text-body-secondary">None yet</span>'
        if p.starts_on not in dates:
            dates[p.starts_on] = escape(date_format(p.starts_on)) if p.starts_on else "None"
        step = steps[p.step] if p.step in steps else escape(str(p.step))
        typology = typologies[p.typology] if p.typology in typologies else escape(str(p.typology))
        rows.append(
            "<tr>\n"
            f'      <td><a href="{escape(list_url)}{p.pk}/">{escape(p.title)}</a></td>\n'
            f"      <td>{escape(practice.name)}{pcn_html}</td>\n"
            f"      <td>{step}</td>\n"
            f"      <td>{typology}</td>\n"
            f"      <td>{champion}</td>\n"
            f"      <td>{coaches}</td>\n"
            f"      <td>{'Yes' if getattr(p, 'is_first', False) else 'No'}</td>\n"
            f"      <td>{dates[p.starts_on]}</td>\n"
            "    </tr>"
        )
    return mark_safe("\n    ".join(rows))  # noqa: S308  (every value is escaped above)
