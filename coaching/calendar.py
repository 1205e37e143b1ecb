"""A coach's sessions as an iCalendar feed (RFC 5545), written by hand: it needs only a few properties.

Times are written in UTC (``DTSTART:20250304T130000Z``), so no VTIMEZONE is needed and every
calendar program shows the session at the right local time either side of a clock change.
Text values are escaped (backslash, semicolon, comma, newline), lines end in CRLF, and any
line longer than 75 octets is folded onto continuation lines that start with a space,
never splitting a UTF-8 character.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from .models import Session, SessionFormat, SessionStatus

CRLF = "\r\n"
LINE_OCTETS = 75
PRODID = "-//Microsystems//Coaching sessions//EN"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Event:
    uid: str
    starts: datetime  # aware
    ends: datetime  # aware
    summary: str
    stamp: datetime  # aware: when the feed was written (DTSTAMP)
    modified: datetime | None = None  # aware: when the session last changed (LAST-MODIFIED)
    description: str = ""
    location: str = ""
    url: str = ""
    sequence: int = 0
    tentative: bool = False


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon and comma escaped, newlines as ``\\n``, other control characters dropped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line into lines of at most 75 octets; each continuation begins with one space."""
    if len(line.encode()) <= LINE_OCTETS:
        return line
    parts: list[str] = []
    current: list[str] = []
    size, limit = 0, LINE_OCTETS
    for char in line:
        octets = len(char.encode())
        if size + octets > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, LINE_OCTETS - 1  # the leading space takes one octet
        current.append(char)
        size += octets
    parts.append("".join(current))
    return (CRLF + " ").join(parts)


def utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def event_lines(event: Event) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event.uid}",
        f"DTSTAMP:{utc_stamp(event.stamp)}",
        f"SEQUENCE:{event.sequence}",
        f"DTSTART:{utc_stamp(event.starts)}",
        f"DTEND:{utc_stamp(event.ends)}",
        f"SUMMARY:{escape_text(event.summary)}",
        f"STATUS:{'TENTATIVE' if event.tentative else 'CONFIRMED'}",
    ]
    if event.modified:
        lines.append(f"LAST-MODIFIED:{utc_stamp(event.modified)}")
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.url:
        lines.append(f"URL:{event.url}")
    lines.append("END:VEVENT")
    return lines


def calendar_text(events: Iterable[Event], *, name: str) -> str:
    """The whole feed, CRLF line endings throughout (the last line too)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        "X-PUBLISHED-TTL:PT1H",
    ]
    for event in events:
        lines.extend(event_lines(event))
    lines.append("END:VCALENDAR")
    return CRLF.join(fold(line) for line in lines) + CRLF


def local_moment(on: date, at: time) -> datetime:
    return datetime.combine(on, at, tzinfo=ZoneInfo(settings.TIME_ZONE))


def session_event(session: Session, *, url: str, host: str, now: datetime) -> Event:
    """A session as an event: the project and practice as the title, the agenda as the description."""
    project, practice = session.project, session.project.practice
    starts = local_moment(session.on, session.starts_at)
    minutes = session.actual_minutes if session.status == SessionStatus.HELD and session.actual_minutes else None
    agenda = session.agenda.strip()
    description = f"Agenda:\n{agenda}" if agenda else "No agenda yet."
    return Event(
        uid=f"coaching-session-{session.pk}@{host}",
        starts=starts,
        ends=starts + timedelta(minutes=minutes or session.planned_minutes),
        summary=f"Coaching: {project.title} ({practice.name})",
        stamp=now,
        modified=session.updated_at,
        description=f"{description}\n\n{url}",
        location=practice.name if session.format == SessionFormat.IN_PERSON else session.get_format_display(),
        url=url,
        sequence=session.version,
        tentative=session.status == SessionStatus.PLANNED,
    )
