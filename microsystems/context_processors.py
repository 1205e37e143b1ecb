"""What the base layout needs to draw role-aware navigation."""

from __future__ import annotations

from functools import cache, partial
from typing import Any

from django.http import HttpRequest
from django.urls import get_script_prefix, reverse

from notifications.selectors import unread_count
from practices.models import ProgrammeRoleKind
from practices.permissions import roles_of

NAV_URLS = (
    "home", "practices:directory", "projects:list", "evaluation:follow_ups", "coaching:home", "programme:dashboard",
    "payments:list", "coaching:coaches", "practices:import_upload", "admin:index", "notifications:inbox",
    "two_factor_setup", "logout",
)  # fmt: skip


@cache
def nav_urls(script_prefix: str) -> dict[str, str]:
    """The layout's links, reversed once per process (they change only with where the site is mounted):
    a dozen ``{% url %}`` tags on every page cost more than some pages' own work."""
    return {name.replace(":", "_"): reverse(name) for name in NAV_URLS}


def navigation(request: HttpRequest) -> dict[str, Any]:
    roles = roles_of(request.user)
    return {
        "nav": {
            "urls": nav_urls(get_script_prefix()),
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
