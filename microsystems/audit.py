"""One function to write an audit entry, so every service records changes the same way."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .models import AuditEntry, User


def audit(
    subject: models.Model | None,
    action: str,
    *,
    by: User | None,
    summary: str = "",
    changes: dict[str, Any] | None = None,
    ip_address: str | None = None,
) -> AuditEntry:
    """Record that ``by`` did ``action`` to ``subject``."""
    return AuditEntry.objects.create(
        actor=by if by is not None and by.is_authenticated else None,
        action=action,
        content_type=ContentType.objects.get_for_model(subject) if subject is not None else None,
        object_id=str(subject.pk) if subject is not None else "",
        summary=summary[:300],
        changes=changes or {},
        ip_address=ip_address,
    )
