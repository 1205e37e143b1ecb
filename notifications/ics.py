"""A follow-up as a calendar invitation (RFC 5545, sent by e-mail as iMIP, RFC 6047).

A follow-up has a due date, not a meeting time (the coach arranges the meeting with the
practice), so the event is an all-day one on the due date that does not block the day
(``TRANSP:TRANSPARENT``). Its UID is the follow-up's, so a later invitation for a
rescheduled follow-up moves the same event; ``SEQUENCE`` counts the reschedules so the
calendar program takes the newer date. The outbox sends it as ``method=REQUEST``, which
needs an organiser and an attendee: the site's sender address and the recipient.
Escaping and line folding are the coach calendar feed's (``coaching.calendar``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings

from coaching.calendar import CRLF, escape_text, fold, utc_stamp
from evaluation.models import FollowUp
from microsystems.models import User

PRODID = "-//Microsystems//Follow-ups//EN"
_UNSAFE_IN_PARAMETER = re.compile(r'[\x00-\x1f\x7f"]')


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "microsystems"


def parameter(value: str) -> str:
    """A quoted parameter value (a CN): no double quotes or control characters inside."""
    return '"' + _UNSAFE_IN_PARAMETER.sub("", value) + '"'


def date_value(value: date) -> str:
    return value.strftime("%Y%m%d")


def follow_up_invitation(follow_up: FollowUp, *, attendee: User, url: str, sequence: int, now: datetime) -> str:
    """The .ics text inviting ``attendee`` to ``follow_up`` (its project and practice already read)."""
    project, practice = follow_up.project, follow_up.project.practice
    organiser_name, organiser_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    description = (
        f"The {follow_up.get_kind_display().lower()} of {project.title} is due on this day. "
        f"Agree a time with the practice and record the review in Microsystems.\n\n{url}"
    )
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        f"UID:follow-up-{follow_up.pk}@{site_host()}",
        f"DTSTAMP:{utc_stamp(now)}",
        f"SEQUENCE:{sequence}",
        f"DTSTART;VALUE=DATE:{date_value(follow_up.due_on)}",
        f"DTEND;VALUE=DATE:{date_value(follow_up.due_on + timedelta(days=1))}",
        f"SUMMARY:{escape_text(f'{follow_up.get_kind_display()}: {project.title} ({practice.name})')}",
        f"DESCRIPTION:{escape_text(description)}",
        f"LOCATION:{escape_text(practice.name)}",
        f"URL:{url}",
        f"ORGANIZER;CN={parameter(organiser_name or 'Microsystems')}:mailto:{organiser_address}",
        f"ATTENDEE;CN={parameter(attendee.get_full_name())};ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;"
        f"RSVP=FALSE:mailto:{attendee.email}",
        "TRANSP:TRANSPARENT",
        "STATUS:CONFIRMED",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return CRLF.join(fold(line) for line in lines) + CRLF
