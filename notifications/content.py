"""What a reminder or digest says: its subject, a plain-text and an HTML body, and a link to the page.

Bodies come from a pair of templates, ``templates/notifications/email/<name>.txt`` and
``.html``: the text part is written with autoescaping off (it is not HTML, so a title with
``&`` stays ``&``), the HTML part escapes everything it shows. Links are absolute, from the
``SITE_URL`` setting, because an e-mail has no page to be relative to; the in-app list
uses the row's ``link``, a path.

A finder first describes each message as a ``Draft`` (cheap: objects it has already read),
then ``new_only`` asks the outbox once which keys it already holds and renders only the
others, so a sweep that runs every few minutes does not render what it has sent before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats

from microsystems.models import User

from .models import Kind, Notification

_BLANK_LINES = re.compile(r"\n{3,}")


def absolute(path: str) -> str:
    """``path`` on this site as a full address, for e-mails: ``SITE_URL`` plus the path."""
    return settings.SITE_URL.rstrip("/") + path


def day(value: date) -> str:
    """A date as people read it: 3 March 2025."""
    return formats.date_format(value, "DATE_FORMAT")


def days_until(due_on: date, today: date) -> str:
    """'today', 'tomorrow', 'in 14 days', 'yesterday' or '3 days ago'."""
    days = (due_on - today).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    return f"in {days} days" if days > 0 else f"{-days} days ago"


def tidy(text: str) -> str:
    """Plain text as written by a template: no trailing spaces, at most one blank line in a row."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)) + "\n"


@dataclass(frozen=True)
class Draft:
    """A message a finder found due, before it is rendered: rendering waits until the outbox lacks its key."""

    key: str
    kind: str
    recipient: User
    subject: str
    template: str  # the name under templates/notifications/email/, without .txt or .html
    link: str  # a path on this site: the page the message is about
    context: dict[str, Any] = field(default_factory=dict)
    calendar: Callable[[], str] | None = None  # the .ics text, for follow-up invitations


def render(draft: Draft) -> Notification:
    """The unsaved outbox row for ``draft``: subject, both bodies, link and any invitation."""
    context = {
        **draft.context,
        "recipient": draft.recipient,
        "subject": draft.subject,
        "link": absolute(draft.link),
        "preferences_url": absolute(reverse("notifications:preferences")),
        "kind_label": Kind(draft.kind).label,
        "site_url": settings.SITE_URL.rstrip("/"),
    }
    return Notification(
        key=draft.key,
        kind=draft.kind,
        recipient=draft.recipient,
        subject=draft.subject[:200],
        body_text=tidy(render_to_string(f"notifications/email/{draft.template}.txt", context)),
        body_html=render_to_string(f"notifications/email/{draft.template}.html", context),
        link=draft.link[:300],
        ics=draft.calendar() if draft.calendar else "",
    )


def new_only(drafts: Iterable[Draft]) -> list[Notification]:
    """Render the drafts whose key the outbox does not hold yet: one query, whatever their number."""
    pending = {draft.key: draft for draft in drafts}
    if not pending:
        return []
    held = set(Notification.objects.filter(key__in=list(pending)).values_list("key", flat=True))
    return [render(draft) for key, draft in pending.items() if key not in held]
