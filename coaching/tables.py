"""Table rows of the coaching pages drawn in Python, as the project list's are (``projects.tables``):
a template variable per cell costs too much on a coach's long lists.

Every value is escaped (``html.escape``, as the template's autoescape does).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time
from html import escape
from typing import Any

from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.dates import MONTHS, WEEKDAYS
from django.utils.formats import date_format, get_format, time_format
from django.utils.safestring import SafeString, mark_safe

from evaluation.follow_up_badges import follow_up_badge
from evaluation.models import FollowUpKind
from evaluation.selectors import CoachFollowUp
from microsystems.html_rows import url_pattern
from projects.models import Project, Step

from .coaches import DirectoryRow
from .matching import Match
from .models import ClinicalBackground, CoachLevel, SessionFormat, SessionStatus
from .session_selectors import CaseloadRow, WeekSession

STATUS_CLASSES = {
    SessionStatus.HELD: "text-bg-success",
    SessionStatus.DRAFT: "text-bg-warning",
    SessionStatus.CANCELLED: "text-bg-secondary",
}


class _Formats:
    """Dates and times formatted once each: a coach's list repeats them.

    The usual date patterns (day, month name, year, weekday) are put together here from the
    month and day names translated once, as ``date_format`` would; any other pattern goes to it.
    """

    def __init__(self) -> None:
        self.dates: dict[tuple[date, str | None], str] = {}
        self.times: dict[time, str] = {}
        self.pattern = get_format("DATE_FORMAT")
        self.months: dict[int, str] = {}
        self.weekdays: dict[int, str] = {}

    def day(self, on: date, pattern: str | None = None) -> str:
        key = (on, pattern)
        if key not in self.dates:
            self.dates[key] = escape(self._format(on, pattern or self.pattern))
        return self.dates[key]

    def clock(self, at: time) -> str:
        if at not in self.times:
            self.times[at] = escape(time_format(at))
        return self.times[at]

    def _format(self, on: date, pattern: str) -> str:
        pieces = []
        for char in pattern:
            if char == "j":
                pieces.append(str(on.day))
            elif char == "F":
                pieces.append(self.months.get(on.month) or self.months.setdefault(on.month, str(MONTHS[on.month])))
            elif char == "Y":
                pieces.append(f"{on.year:04d}")
            elif char == "l":
                weekday = on.weekday()
                pieces.append(self.weekdays.get(weekday) or self.weekdays.setdefault(weekday, str(WEEKDAYS[weekday])))
            elif char.isalpha() or char == "\\":
                return date_format(on, pattern)
            else:
                pieces.append(char)
        return "".join(pieces)


# Choice labels escaped once: a row's ``get_FOO_display`` would look each up again.
STATUS_LABELS = {value: escape(str(label)) for value, label in SessionStatus.choices}
FORMAT_LABELS = {value: escape(str(label)) for value, label in SessionFormat.choices}
STEP_LABELS = {value: escape(str(label)) for value, label in Step.choices}
FOLLOW_UP_KINDS = {value: escape(str(label)) for value, label in FollowUpKind.choices}
LEVEL_LABELS = {value: escape(str(label)) for value, label in CoachLevel.choices}
BACKGROUND_LABELS = {value: escape(str(label)) for value, label in ClinicalBackground.choices}


def status_badge(status: str) -> str:
    css = STATUS_CLASSES.get(status, "text-bg-primary")  # type: ignore[call-overload]
    return f'<span class="badge {css}">{STATUS_LABELS.get(status) or escape(status)}</span>'


def _length(row: dict[str, Any]) -> str:
    actual, planned = row["actual_minutes"], row["planned_minutes"]
    if not actual:
        return f"{planned} minutes planned"
    text = f"{actual} of {planned} minutes"
    if actual > planned:  # as ``Session.overrun_minutes``
        text += f' <span class="badge text-bg-warning">Overran by {actual - planned} min</span>'
    return text


def session_rows_html(rows: Iterable[dict[str, Any]], *, with_project: bool) -> SafeString:
    """The body rows of a page of sessions: the values of ``session_selectors.SESSION_ROW`` with ``attended`` and
    ``actions_count``, and those of ``SESSION_ROW_PROJECT`` too ``with_project``."""
    session_url, project_url = url_pattern("coaching:session"), url_pattern("coaching:project_sessions")
    formats, html = _Formats(), []
    for s in rows:
        project = ""
        if with_project:
            project = (
                f'<td><a href="{project_url.format(s["project_id"])}">{escape(s["project__title"])}</a><br>'
                f'<span class="small text-body-secondary">{escape(s["project__practice__name"])}</span></td>'
            )
        step = s["step"]
        html.append(
            "<tr>"
            f'<td class="text-nowrap"><a href="{session_url.format(s["pk"])}">{formats.day(s["on"])}</a>'
            f'<span class="text-body-secondary">, {formats.clock(s["starts_at"])}</span></td>'
            f"{project}"
            f"<td>{status_badge(s['status'])}</td>"
            f"<td>{FORMAT_LABELS.get(s['format']) or escape(s['format'])}</td>"
            f"<td>{(STEP_LABELS.get(step) or escape(step)) if step else '–'}</td>"
            f'<td class="text-end">{s["attended"]}</td>'
            f'<td class="text-nowrap">{_length(s)}</td>'
            f'<td class="text-end">{s["actions_count"]}</td>'
            "</tr>"
        )
    return mark_safe("\n".join(html))  # noqa: S308  (every value is escaped above)


def caseload_rows_html(rows: Iterable[CaseloadRow], *, csrf_token: str) -> SafeString:
    """The coach home's caseload rows, each with its "Log a session" button (a POST form)."""
    sessions_url, start_url = url_pattern("coaching:project_sessions"), url_pattern("coaching:session_new")
    formats, html = _Formats(), []
    token = escape(csrf_token)
    for row in rows:
        if row.last_held:
            days = row.days_since_contact
            ago = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
            last = f'{formats.day(row.last_held)}<br><span class="small text-body-secondary">{ago}</span>'
        else:
            last = '<span class="text-body-secondary">None yet</span>'
        upcoming = formats.day(row.next_on) if row.next_on else '<span class="text-body-secondary">Not planned</span>'
        overdue = f'<span class="badge text-bg-danger">{row.overdue_count}</span>' if row.overdue_count else "0"
        title = escape(row.title)
        html.append(
            "<tr>"
            f'<td><a href="{sessions_url.format(row.project_id)}">{title}</a><br>'
            f'<span class="small text-body-secondary">{escape(row.practice_name)}</span></td>'
            f"<td>{STEP_LABELS.get(row.step) or escape(row.step)}</td>"
            f"<td>{last}</td>"
            f"<td>{upcoming}</td>"
            f'<td class="text-end">{row.open_count}</td>'
            f'<td class="text-end">{overdue}</td>'
            '<td class="text-nowrap">'
            f'<form method="post" action="{start_url.format(row.project_id)}">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
            f'<button type="submit" class="btn btn-primary btn-sm" aria-label="Log a session: {title}">'
            "Log a session</button></form></td>"
            "</tr>"
        )
    return mark_safe("\n".join(html))  # noqa: S308  (every value is escaped above)


def week_items_html(sessions: Iterable[WeekSession]) -> SafeString:
    """The coach home's list of this week's sessions."""
    session_url = url_pattern("coaching:session")
    formats, html = _Formats(), []
    for s in sessions:
        when = f"{formats.day(s.on, 'l j F')}, {formats.clock(s.starts_at)}"
        html.append(
            f'<li class="mb-2"><a href="{session_url.format(s.pk)}">{when}: '
            f"{escape(s.project_title)}</a>\n"
            f'      <span class="text-body-secondary">{escape(s.practice_name)} · '
            f"{FORMAT_LABELS.get(s.format) or escape(s.format)}</span>\n"
            f"      {status_badge(s.status)}</li>"
        )
    return mark_safe("\n".join(html))  # noqa: S308  (every value is escaped above)


def follow_up_items_html(follow_ups: Iterable[CoachFollowUp]) -> SafeString:
    """The coach home's list of follow-ups due, with the badges of ``evaluation/_state.html``."""
    follow_up_url = url_pattern("evaluation:follow_up")
    formats, html = _Formats(), []
    for f in follow_ups:
        badge = follow_up_badge(overdue=f.overdue, due=f.due, status=f.status)
        html.append(
            f'<li class="mb-2"><a href="{follow_up_url.format(f.pk)}">{FOLLOW_UP_KINDS.get(f.kind) or escape(f.kind)}: '
            f"{escape(f.project_title)}</a>, due {formats.day(f.due_on)}\n"
            f"      {badge}\n"
            f'      <span class="d-block small text-body-secondary">{escape(f.practice_name)}</span></li>'
        )
    return mark_safe("\n".join(html))  # noqa: S308  (every value is escaped above)


def directory_rows_html(rows: Iterable[DirectoryRow]) -> SafeString:
    """The coach directory's rows (from the profile's fields that ``coaches.coach_directory`` loads)."""
    coach_url = url_pattern("coaching:coach")
    formats, hours, html = _Formats(), {}, []
    for row in rows:
        coach = row.coach
        trained = formats.day(coach.trained_on) if coach.trained_on else "Not recorded"
        if row.refresher_due:
            due = formats.day(row.refresher_due)
            if row.refresher_overdue:
                due += ' <span class="badge text-bg-danger">Overdue</span>'
        else:
            due = "No training recorded"
        if coach.protected_hours not in hours:
            hours[coach.protected_hours] = escape(floatformat(coach.protected_hours, "-1"))
        over = ' <span class="badge text-bg-warning">Over the limit</span>' if row.over_capacity else ""
        html.append(
            "<tr>"
            f'<td><a href="{coach_url.format(coach.pk)}">{escape(coach.user.get_full_name())}</a>'
            f'<div class="small text-body-secondary">{escape(coach.commissioning_role)}</div></td>'
            f"<td>{LEVEL_LABELS.get(coach.level) or escape(coach.level)}</td>"
            f"<td>{BACKGROUND_LABELS.get(coach.clinical_background) or escape(coach.clinical_background)}</td>"
            f"<td>{trained}</td>"
            f"<td>{due}</td>"
            f"<td>{hours[coach.protected_hours]}</td>"
            f"<td>{row.load} of {coach.max_projects}{over}</td>"
            f"<td>{escape(row.experience)}</td>"
            f"<td>{'Yes' if coach.is_active else 'No'}</td>"
            "</tr>"
        )
    return mark_safe("\n".join(html))  # noqa: S308  (every value is escaped above)


FOR = '<span aria-hidden="true">✓</span><span class="visually-hidden">For:</span>'
AGAINST = '<span aria-hidden="true">✗</span><span class="visually-hidden">Against:</span>'


def match_items_html(matches: Iterable[Match], *, project: Project) -> SafeString:
    """The matching page's ranked coaches, each with its reasons and the link to make them lead coach."""
    choose_url = escape(reverse("projects:coaches", args=[project.pk]))
    html = []
    for number, match in enumerate(matches, start=1):
        coach = match.coach
        name = escape(coach.name)
        badges = []
        if coach.user_id == project.lead_coach_id:
            badges.append('<span class="badge text-bg-primary">Lead coach now</span>')
        elif coach.user_id == project.co_coach_id:
            badges.append('<span class="badge text-bg-primary">Co-coach now</span>')
        if match.has_conflict:
            badges.append('<span class="badge text-bg-danger">Conflict of interest</span>')
        if not match.has_capacity:
            badges.append('<span class="badge text-bg-warning">No free capacity</span>')
        reasons = "".join(
            f"<li>{FOR if reason.in_favour else AGAINST} {escape(reason.text)}</li>" for reason in match.reasons
        )
        choose = ""
        if coach.user_id != project.lead_coach_id:
            choose = (
                f'<a class="btn btn-outline-primary" href="{choose_url}?lead_coach={coach.user_id}">'
                f"Make {name} lead coach</a>"
            )
        html.append(
            '<li class="card mb-3"><div class="card-body">'
            f'<h2 class="h5 card-title">{number}. {name} {" ".join(badges)}</h2>'
            f'<ul class="match-reasons">{reasons}</ul>'
            f"{choose}</div></li>"
        )
    return mark_safe("\n".join(html))  # noqa: S308  (every value is escaped above)
