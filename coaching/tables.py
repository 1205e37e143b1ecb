"""Table rows of the coaching pages drawn in Python, as the project list's are (``projects.tables``):
a template variable per cell costs too much on a coach's long lists.

Every value is escaped (``html.escape``, as the template's autoescape does).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time
from html import escape

from django.urls import reverse
from django.utils.formats import date_format, time_format
from django.utils.safestring import SafeString, mark_safe

from .models import Session, SessionStatus
from .session_selectors import CaseloadRow

STATUS_CLASSES = {
    SessionStatus.HELD: "text-bg-success",
    SessionStatus.DRAFT: "text-bg-warning",
    SessionStatus.CANCELLED: "text-bg-secondary",
}


class _Formats:
    """Dates and times formatted once each: a coach's list repeats them."""

    def __init__(self) -> None:
        self.dates: dict[date, str] = {}
        self.times: dict[time, str] = {}

    def day(self, on: date) -> str:
        if on not in self.dates:
            self.dates[on] = escape(date_format(on))
        return self.dates[on]

    def clock(self, at: time) -> str:
        if at not in self.times:
            self.times[at] = escape(time_format(at))
        return self.times[at]


SENTINEL = 987654321


def _url(name: str) -> str:
    """The URL of ``name`` with ``{}`` where the object's id goes: one ``reverse`` for a whole list."""
    return escape(reverse(name, args=[SENTINEL])).replace(str(SENTINEL), "{}")


def status_badge(session: Session) -> str:
    css = STATUS_CLASSES.get(session.status, "text-bg-primary")  # type: ignore[call-overload]
    return f'<span class="badge {css}">{escape(str(session.get_status_display()))}</span>'


def _length(session: Session) -> str:
    if not session.actual_minutes:
        return f"{session.planned_minutes} minutes planned"
    text = f"{session.actual_minutes} of {session.planned_minutes} minutes"
    if session.overrun_minutes:
        text += f' <span class="badge text-bg-warning">Overran by {session.overrun_minutes} min</span>'
    return text


def session_rows_html(sessions: Iterable[Session], *, with_project: bool) -> SafeString:
    """The body rows of a page of sessions (annotated with ``attended`` and ``actions_count``)."""
    session_url, project_url = _url("coaching:session"), _url("coaching:project_sessions")
    formats, rows = _Formats(), []
    for s in sessions:
        project = ""
        if with_project:
            project = (
                f'<td><a href="{project_url.format(s.project_id)}">{escape(s.project.title)}</a><br>'
                f'<span class="small text-body-secondary">{escape(s.project.practice.name)}</span></td>'
            )
        rows.append(
            "<tr>"
            f'<td class="text-nowrap"><a href="{session_url.format(s.pk)}">{formats.day(s.on)}</a>'
            f'<span class="text-body-secondary">, {formats.clock(s.starts_at)}</span></td>'
            f"{project}"
            f"<td>{status_badge(s)}</td>"
            f"<td>{escape(str(s.get_format_display()))}</td>"
            f"<td>{escape(str(s.get_step_display())) if s.step else '–'}</td>"
            f'<td class="text-end">{s.attended}</td>'  # type: ignore[attr-defined]
            f'<td class="text-nowrap">{_length(s)}</td>'
            f'<td class="text-end">{s.actions_count}</td>'  # type: ignore[attr-defined]
            "</tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308  (every value is escaped above)


def caseload_rows_html(rows: Iterable[CaseloadRow], *, csrf_token: str) -> SafeString:
    """The coach home's caseload rows, each with its "Log a session" button (a POST form)."""
    sessions_url, start_url = _url("coaching:project_sessions"), _url("coaching:session_new")
    formats, html = _Formats(), []
    token = escape(csrf_token)
    for row in rows:
        p = row.project
        if row.last_held:
            days = row.days_since_contact
            ago = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
            last = f'{formats.day(row.last_held)}<br><span class="small text-body-secondary">{ago}</span>'
        else:
            last = '<span class="text-body-secondary">None yet</span>'
        upcoming = formats.day(row.next_on) if row.next_on else '<span class="text-body-secondary">Not planned</span>'
        overdue = f'<span class="badge text-bg-danger">{row.overdue_count}</span>' if row.overdue_count else "0"
        title = escape(p.title)
        html.append(
            "<tr>"
            f'<td><a href="{sessions_url.format(p.pk)}">{title}</a><br>'
            f'<span class="small text-body-secondary">{escape(p.practice.name)}</span></td>'
            f"<td>{escape(str(p.get_step_display()))}</td>"
            f"<td>{last}</td>"
            f"<td>{upcoming}</td>"
            f'<td class="text-end">{row.open_count}</td>'
            f'<td class="text-end">{overdue}</td>'
            '<td class="text-nowrap">'
            f'<form method="post" action="{start_url.format(p.pk)}">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
            f'<button type="submit" class="btn btn-primary btn-sm" aria-label="Log a session: {title}">'
            "Log a session</button></form></td>"
            "</tr>"
        )
    return mark_safe("\n".join(html))  # noqa: S308  (every value is escaped above)
