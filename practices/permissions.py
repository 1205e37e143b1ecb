"""Who may see or do what with practices: the one place these rules live.

A user's roles are read once per request and kept on the user object, so checking a
permission for every row of a page costs no queries. ``RolesInSessionMiddleware`` also
remembers them in the session for up to ``SESSION_ROLES_TTL`` seconds, stamped with the
user's ``roles_version``, which every change to a programme role or practice membership
bumps (signals below): a changed role takes effect on the user's next request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import rules
from django.contrib.auth.models import AnonymousUser
from django.db.models import F, Value
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from microsystems.models import User

from .models import Practice, PracticeMembership, ProgrammeRole, ProgrammeRoleKind, StaffRole

_CACHE_ATTR = "_microsystems_roles"
_FROM_SESSION_ATTR = "_microsystems_roles_from_session"
SESSION_ROLES_KEY = "roles"
SESSION_ROLES_TTL = 60


@dataclass(frozen=True)
class Roles:
    """Every role a user holds: per commissioner (programme roles) and per practice."""

    programme: dict[int, frozenset[str]] = field(default_factory=dict)
    practices: dict[int, str] = field(default_factory=dict)
    is_admin: bool = False

    def commissioners_with(self, *kinds: str) -> set[int]:
        return {c for c, held in self.programme.items() if held.intersection(kinds)}

    def holds(self, kind: str) -> bool:
        return any(kind in held for held in self.programme.values())

    @property
    def is_practice_member(self) -> bool:
        return bool(self.practices)

    @property
    def needs_two_factor(self) -> bool:
        return self.is_admin or self.holds(ProgrammeRoleKind.LEAD) or self.holds(ProgrammeRoleKind.FINANCE)


def roles_of(user: User | AnonymousUser) -> Roles:
    if not user.is_authenticated:
        return Roles()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        programme: dict[int, set[str]] = {}
        practices: dict[int, str] = {}
        # One round trip for both kinds of role: every page asks.
        held = (
            ProgrammeRole.objects.filter(user=user)
            .annotate(kind=Value("programme"))
            .values_list("kind", "commissioner_id", "role")
            .union(
                PracticeMembership.objects.filter(user=user)
                .annotate(kind=Value("practice"))
                .values_list("kind", "practice_id", "role"),
                all=True,
            )
        )
        for kind, object_id, role in held:
            if kind == "programme":
                programme.setdefault(object_id, set()).add(role)
            else:
                practices[object_id] = role
        cached = Roles(
            programme={c: frozenset(r) for c, r in programme.items()},
            practices=practices,
            is_admin=user.is_staff,
        )
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_roles(user: User) -> None:
    """Drop the cached roles after they change within one request or test."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)
    if hasattr(user, _FROM_SESSION_ATTR):
        delattr(user, _FROM_SESSION_ATTR)


@receiver(post_save, sender=ProgrammeRole)
@receiver(post_delete, sender=ProgrammeRole)
@receiver(post_save, sender=PracticeMembership)
@receiver(post_delete, sender=PracticeMembership)
def _roles_changed(sender: type, instance: ProgrammeRole | PracticeMembership, **kwargs: object) -> None:
    """Invalidate the roles remembered in the user's sessions."""
    User.objects.filter(pk=instance.user_id).update(roles_version=F("roles_version") + 1)


def _roles_to_session(user: User, roles: Roles) -> dict[str, Any]:
    return {
        "user": user.pk,
        "version": user.roles_version,
        "at": int(time.time()),
        "programme": [[c, sorted(held)] for c, held in roles.programme.items()],
        "practices": [[p, role] for p, role in roles.practices.items()],
    }


def _roles_from_session(user: User, stored: object) -> Roles | None:
    if not isinstance(stored, dict):
        return None
    try:
        if (
            stored["user"] != user.pk
            or stored["version"] != user.roles_version
            or not 0 <= time.time() - stored["at"] < SESSION_ROLES_TTL
        ):
            return None
        return Roles(
            programme={int(c): frozenset(held) for c, held in stored["programme"]},
            practices={int(p): str(role) for p, role in stored["practices"]},
            is_admin=user.is_staff,
        )
    except (KeyError, TypeError, ValueError):
        return None


class RolesInSessionMiddleware:
    """Take the user's roles from the session when still current; remember fresh ones there.

    Goes after ``AuthenticationMiddleware`` and before anything that asks for roles.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            roles = _roles_from_session(user, request.session.get(SESSION_ROLES_KEY))
            if roles is not None:
                setattr(user, _CACHE_ATTR, roles)
                setattr(user, _FROM_SESSION_ATTR, roles)
        response = self.get_response(request)
        # Only roles read this request (and only if the user did not change, e.g. sign out).
        user = request.user
        fresh = getattr(user, _CACHE_ATTR, None)
        if (
            fresh is not None
            and user.is_authenticated
            and getattr(user, _FROM_SESSION_ATTR, None) is not fresh
            and hasattr(request, "session")
        ):
            request.session[SESSION_ROLES_KEY] = _roles_to_session(user, fresh)
        return response


@rules.predicate
def is_lead_for_practice(user: User, practice: Practice) -> bool:
    return practice.commissioner_id in roles_of(user).commissioners_with(ProgrammeRoleKind.LEAD)


@rules.predicate
def is_practice_manager_of(user: User, practice: Practice) -> bool:
    return roles_of(user).practices.get(practice.pk) == StaffRole.PRACTICE_MANAGER


@rules.predicate
def is_any_lead(user: User) -> bool:
    return roles_of(user).holds(ProgrammeRoleKind.LEAD)


rules.add_perm("practices.change_engagement", is_lead_for_practice)
rules.add_perm("practices.invite_staff", is_lead_for_practice | is_practice_manager_of)
rules.add_perm("practices.import_ods", is_any_lead)
