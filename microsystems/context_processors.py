"""What the base layout needs to draw role-aware navigation."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.http import HttpRequest

from notifications.selectors import unread_count
from practices.models import ProgrammeRoleKind
from practices.permissions import roles_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    roles = roles_of(request.user)
    return {
        "nav": {
            "is_lead": roles.holds(ProgrammeRoleKind.LEAD),
            "is_coach": roles.holds(ProgrammeRoleKind.COACH),
            "is_finance": roles.holds(ProgrammeRoleKind.FINANCE),
            "is_practice_member": roles.is_practice_member,
            "is_admin": roles.is_admin,
            "sees_directory": bool(roles.programme) or roles.is_admin,
            "sees_projects": roles.holds(ProgrammeRoleKind.LEAD)
            or roles.holds(ProgrammeRoleKind.COACH)
            or roles.is_practice_member
            or roles.is_admin,
            # Called by the template only where it draws the badge (signed in): one COUNT on an index.
            "unread_notifications": partial(unread_count, request.user),
        }
    }
