"""The project list as a sortable, paged table, the measure page's data rows and the project overview's lists:
drawn in Python, since a template variable per cell costs too much.

Every value is escaped (``html.escape``, as the template's autoescape does).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from html import escape
from typing import Any

import django_tables2 as tables
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils.formats import date_format, get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime

from evaluation.follow_up_badges import follow_up_badge
from microsystems.html_rows import url_pattern

from .measure_csv import plain_number
from .models import (
    MeasureKind,
    MeasureValue,
    MeetingRole,
    MemberKind,
    Project,
    SpecificAim,
    Step,
    StepChange,
    TeamMember,
    Typology,
)

MONTH_LEVEL = set("bEFLmMnNtyY")  # date format characters that do not change within a month


class DateTexts:
    """Dates as ``date_format`` writes them ("3 March 2025"), the month part formatted once per month.

    ``date_format`` costs about 10 µs a call; a measure's hundred values would spend a millisecond on
    it. When the only day-level character of DATE_FORMAT is ``j``, the day is put into the month's
    text; any other format (or one with escapes) falls back to ``date_format`` itself.
    """

    DAY = "\x00"

    def __init__(self) -> None:
        fmt = str(get_format("DATE_FORMAT"))
        day_level = {c for c in fmt if c.isalpha()} - MONTH_LEVEL
        self.month_format = fmt.replace("j", self.DAY) if day_level == {"j"} and "\\" not in fmt else None
        self.months: dict[tuple[int, int], str] = {}

    def __call__(self, on: date) -> str:
        if self.month_format is None:
            return date_format(on)
        key = (on.year, on.month)
        if key not in self.months:
            self.months[key] = date_format(on, self.month_format)
        return self.months[key].replace(self.DAY, str(on.day))


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
    day_text = DateTexts()
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
            dates[starts_on] = escape(day_text(starts_on)) if starts_on else "None"
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


def value_rows_html(
    values: list[MeasureValue], *, project_id: int, measure_id: int, can_edit: bool, csrf_token: str = ""
) -> SafeString:
    """The measure page's data rows as they read, with "Change" and "Remove" for those who may edit."""
    if can_edit:
        edit_url = url_pattern("projects:measure_value_edit", project_id, measure_id)
        remove_url = url_pattern("projects:measure_value_remove", project_id, measure_id)
        token = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">' if csrf_token else ""
    dates, html = DateTexts(), []
    for v in values:
        on = escape(dates(v.on))
        astronomical = (
            f'<span class="badge text-bg-warning">Astronomical</span> {escape(v.astronomical_reason)}'
            if v.astronomical
            else ""
        )
        actions = ""
        if can_edit:
            edit, remove = edit_url.format(v.pk), remove_url.format(v.pk)
            actions = (
                '\n  <td class="text-nowrap">\n'
                f'    <a href="{edit}"\n'
                f'       hx-get="{edit}" hx-target="#value-{v.pk}" hx-swap="outerHTML">Change'
                f'<span class="visually-hidden"> the value for {on}</span></a>\n'
                f'    <form method="post" action="{remove}" class="d-inline ms-2"\n'
                f'          hx-post="{remove}" hx-target="#value-{v.pk}" hx-swap="outerHTML"\n'
                f'          hx-confirm="Remove the value for {on}?">{token}\n'
                '      <button type="submit" class="btn btn-link p-0 align-baseline text-danger">Remove'
                f'<span class="visually-hidden"> the value for {on}</span></button>\n'
                "    </form>\n"
                "  </td>"
            )
        html.append(
            f'<tr id="value-{v.pk}">\n'
            f'  <td class="text-nowrap">{on}</td>\n'
            f'  <td class="text-end">{escape(plain_number(v.value))}</td>\n'
            f"  <td>{escape(v.note)}</td>\n"
            f"  <td>{astronomical}</td>{actions}\n"
            "</tr>"
        )
    return mark_safe("\n".join(html))  # noqa: S308  (every value is escaped above)


# The project overview's lists

STEP_LABELS = {value: escape(str(label)) for value, label in Step.choices}
STATE_CLASSES = {"current": " text-bg-primary", "withdrawn": " text-bg-secondary"}
STATE_WORDS = {"done": '<span aria-hidden="true">✓ </span>Done', "current": "Now", "withdrawn": "Withdrawn here"}


def _safe(parts: Iterable[str]) -> SafeString:
    return mark_safe("\n".join(parts))  # noqa: S308  (every value is escaped by the callers)


def progress_html(progress: list[dict[str, Any]]) -> SafeString:
    """The steps of the method as list items, the current one (or where it stopped) marked."""
    current = ' aria-current="step"'
    return _safe(
        f'<li class="list-group-item flex-fill{STATE_CLASSES.get(s["state"], "")}"'
        f"{current if s['state'] in STATE_CLASSES else ''}>\n"
        f'  <span class="fw-bold">{escape(str(s["label"]))}</span>\n'
        f'  <span class="d-block small">{STATE_WORDS.get(s["state"], "To come")}</span>\n'
        "</li>"
        for s in progress
    )


def team_html(team: Iterable[TeamMember]) -> SafeString:
    """The team as list items: name, role, kind, organisation and meeting role."""
    kinds = {value: escape(str(label).lower()) for value, label in MemberKind.choices}
    meeting_roles = {value: escape(str(label)) for value, label in MeetingRole.choices}
    items = []
    for m in team:
        organisation = f", {escape(m.organisation)}" if m.organisation else ""
        meeting_role = f" · {meeting_roles.get(m.meeting_role) or escape(m.meeting_role)}" if m.meeting_role else ""
        kind = kinds.get(m.kind) or escape(m.kind.lower())
        items.append(
            f'<li class="mb-1">{escape(m.display_name)}, {escape(m.team_role)}\n'
            f'  <span class="text-body-secondary">({kind}{organisation}){meeting_role}</span></li>'
        )
    return _safe(items)


def sections_html(sections: list[dict[str, Any]]) -> SafeString:
    """A workbook step's sections as inline items, each marked complete or not."""
    return _safe(
        f'<li class="list-inline-item"><span aria-hidden="true">✓ </span>{escape(s["title"])}'
        '<span class="visually-hidden"> (complete)</span></li>'
        if s["complete"]
        else f'<li class="list-inline-item"><span class="text-body-secondary">{escape(s["title"])}'
        '<span class="visually-hidden"> (not complete)</span></span></li>'
        for s in sections
    )


def aims_html(aims: Iterable[SpecificAim]) -> SafeString:
    """The specific aims as list items, with whether each was met once the project completed."""
    met = {
        True: ' <span class="badge text-bg-success">Met</span>',
        False: ' <span class="badge text-bg-secondary">Not met</span>',
    }
    return _safe(
        f"<li>{escape(a.measure)}: from {escape(a.baseline)} to {escape(a.target)} by "
        f"{escape(date_format(a.target_date))}{met[a.met] if a.met is not None else ''}</li>"
        for a in aims
    )


def history_html(step_changes: Iterable[StepChange]) -> SafeString:
    """The step changes as list items: who moved the project on, when, and what was missing if overridden."""
    items = []
    for c in step_changes:
        by = escape(str(c.changed_by)) if c.changed_by else "someone who has left"
        at = escape(date_format(localtime(c.changed_at), "DATETIME_FORMAT"))
        override = ""
        if c.override_reason:
            override = f"\n  <div>Moved on before the step was done: {escape(c.override_reason)}</div>"
            if c.unmet:
                unmet = "".join(f"<li>{escape(str(item))}</li>" for item in c.unmet)
                override += f'\n  <div class="small">Missing at the time:</div><ul class="small mb-0">{unmet}</ul>'
        from_step = STEP_LABELS.get(c.from_step) or escape(c.from_step)
        to_step = STEP_LABELS.get(c.to_step) or escape(c.to_step)
        items.append(
            "<li>\n"
            f"  <strong>{from_step} → {to_step}</strong>\n"
            f'  <div class="small text-body-secondary">By {by}, {at}</div>{override}\n'
            "</li>"
        )
    return _safe(items)


STAGE_CLASSES = {"Acted on": "text-bg-success", "Studied": "text-bg-warning", "Doing": "text-bg-info"}


def ramps_html(ramps: Iterable[Any]) -> SafeString:
    """The overview's PDSA ramps as list items, each a chain of linked badges (as ``_ramp_chain.html`` draws one):
    one ``reverse`` for the whole list."""
    items = []
    link: str | None = None
    for ramp in ramps:
        if link is None:
            first = ramp.cycles[0]
            link = url_pattern("projects:cycle", first.project_id)
        count = len(ramp.cycles)
        label = f"Ramp of {count} cycle{'' if count == 1 else 's'}"
        start = ""
        if ramp.branch_of:
            label += f", branching from PDSA {ramp.branch_of.number}"
            start = (
                '<li class="list-inline-item me-1">'
                '<a class="badge rounded-pill text-bg-light border text-decoration-none"'
                f' href="{link.format(ramp.branch_of.pk)}">From PDSA {ramp.branch_of.number}</a>'
                ' <span aria-hidden="true">→</span></li>'
            )
        badges = []
        for i, c in enumerate(ramp.cycles, start=1):
            stage = c.stage
            arrow = ' <span aria-hidden="true">→</span>' if i < count else ""
            badges.append(
                '<li class="list-inline-item me-1"><a class="badge rounded-pill text-decoration-none '
                f'{STAGE_CLASSES.get(stage, "text-bg-secondary")}" href="{link.format(c.pk)}">'
                f"PDSA {c.number} · {escape(stage)}</a>{arrow}</li>"
            )
        items.append(
            f'<li><ol class="list-inline mb-2 ramp" aria-label="{label}">\n  {start}\n  '
            + "\n  ".join(badges)
            + "\n</ol></li>"
        )
    return _safe(items)


def measures_html(measures: Iterable[Any]) -> SafeString:
    """The overview's measures as list items: name, kind, count of points and the latest value."""
    items = []
    link: str | None = None
    dates = DateTexts()
    kinds = {value: escape(str(label).lower()) for value, label in MeasureKind.choices}
    for m in measures:
        if link is None:
            link = url_pattern("projects:measure", m.project_id)
        if m.points:
            points = f"{m.points} point{'' if m.points == 1 else 's'}"
            data = f"{points}; latest {escape(m.latest_shown)} on {dates(m.latest_on)}"
        else:
            data = "No data yet"
        items.append(
            '<li class="mb-2">\n'
            f'  <a href="{link.format(m.pk)}">{escape(m.name)}</a>\n'
            f'  <span class="small text-body-secondary">({kinds.get(m.kind) or escape(m.kind.lower())})</span>\n'
            f'  <div class="small">{data}</div>\n'
            "</li>"
        )
    return _safe(items)


def follow_ups_html(follow_ups: Iterable[Any]) -> SafeString:
    """The overview's follow-ups as list items with their badges (``with_state`` has set ``overdue`` and ``due``)."""
    items = []
    link: str | None = None
    dates = DateTexts()
    for f in follow_ups:
        if link is None:
            link = url_pattern("evaluation:follow_up")
        badge = follow_up_badge(overdue=f.overdue, due=f.due, status=f.status)
        coach = f"With {escape(f.assigned_to.get_full_name())}" if f.assigned_to else "No coach assigned"
        items.append(
            f'<li class="mb-2"><a href="{link.format(f.pk)}">{escape(str(f.get_kind_display()))}</a>, '
            f"due {dates(f.due_on)}\n  {badge}\n"
            f'  <span class="d-block small text-body-secondary">{coach}</span></li>'
        )
    return _safe(items)
