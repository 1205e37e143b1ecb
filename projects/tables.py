"""The project list as a sortable, paged table (its rows are drawn by a plain template loop)."""

from __future__ import annotations

from html import escape
from typing import Any

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


def rows_html(rows: list[dict[str, Any]], list_url: str) -> SafeString:
    """The table's body rows, drawn in Python from the rows' dicts: a template variable per cell costs too much.

    Every value is escaped (``html.escape``, as the template's autoescape does).
    """
    steps = {value: escape(str(label)) for value, label in Step.choices}
    typologies = {value: escape(str(label)) for value, label in Typology.choices}
    dates: dict[object, str] = {}
    url = escape(list_url)
    html = []
    for r in rows:
        pcn = r["practice__pcn__name"]
        pcn_html = f'<div class="small text-body-secondary">{escape(pcn)}</div>' if pcn else ""
        if r["champions"]:
            champion = ", ".join(escape(name) for name in r["champions"])
        else:
            champion = '<span class="badge text-bg-warning">No champion</span>'
        lead = r["lead_coach__full_name"] or r["lead_coach__email"]
        if lead:
            coaches = escape(lead)
            if co := r["co_coach__full_name"] or r["co_coach__email"]:
                coaches += f'<div class="small">with {escape(co)}</div>'
        else:
            coaches = '<span class="text-body-secondary">None yet</span>'
        starts_on = r["starts_on"]
        if starts_on not in dates:
            dates[starts_on] = escape(date_format(starts_on)) if starts_on else "None"
        step = steps.get(r["step"]) or escape(str(r["step"]))
        typology = typologies.get(r["typology"]) or escape(str(r["typology"]))
        html.append(
            "<tr>\n"
            f'      <td><a href="{url}{r["pk"]}/">{escape(r["title"])}</a></td>\n'
            f"      <td>{escape(r['practice__name'])}{pcn_html}</td>\n"
            f"      <td>{step}</td>\n"
            f"      <td>{typology}</td>\n"
            f"      <td>{champion}</td>\n"
            f"      <td>{coaches}</td>\n"
            f"      <td>{'Yes' if r['is_first'] else 'No'}</td>\n"
            f"      <td>{dates[starts_on]}</td>\n"
            "    </tr>"
        )
    return mark_safe("\n    ".join(html))  # noqa: S308  (every value is escaped above)
