"""Who may see or do what with practices: the one place these rules live.

A user's roles are read once per request and kept on the user object, so checking a
permission for every row of a page costs no queries.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import rules
from django.contrib.auth.models import AnonymousUser
from django.db.models import Value

from microsystems.models import User

from .models import Practice, PracticeMembership, ProgrammeRole, ProgrammeRoleKind, StaffRole

_CACHE_ATTR = "_microsystems_roles"


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
