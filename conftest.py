"""Shared fixtures: a small programme with the users every permission test needs.

``programme`` gives two commissioners; the first has a lead, a coach, a finance user,
a practice with a manager and a nurse, and a second practice; the other commissioner
has its own lead and practice, so tenancy can be tested.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from microsystems.models import User
from microsystems.tests.factories import UserFactory
from practices.models import Commissioner, Practice, ProgrammeRoleKind, StaffRole
from practices.tests.factories import (
    CommissionerFactory,
    MembershipFactory,
    PracticeFactory,
    ProgrammeRoleFactory,
)


@dataclass
class Programme:
    commissioner: Commissioner
    other_commissioner: Commissioner
    practice: Practice
    sibling_practice: Practice
    other_practice: Practice
    lead: User
    coach: User
    finance: User
    manager: User
    nurse: User
    sibling_nurse: User
    other_lead: User
    other_nurse: User
    admin: User


@pytest.fixture
def programme(db: None) -> Programme:
    west = CommissionerFactory(ods_code="99J", name="NHS West Kent")
    east = CommissionerFactory(ods_code="99K", name="NHS High Weald")
    practice = PracticeFactory(commissioner=west, ods_code="G82013", name="Amherst Medical Practice")
    sibling = PracticeFactory(commissioner=west, ods_code="G82016", name="Kingswood Surgery")
    other = PracticeFactory(commissioner=east, ods_code="G81001", name="Crowborough Surgery")

    def named(email: str) -> User:
        """A plain name from the address: a random name with an apostrophe would be escaped in pages."""
        local, domain = email.split("@")
        return UserFactory(email=email, full_name=f"{local.title()} {domain.split('.')[0].title()}")

    def role(kind: str, commissioner: Commissioner, email: str) -> User:
        user = named(email)
        ProgrammeRoleFactory(user=user, commissioner=commissioner, role=kind)
        return user

    def member(practice: Practice, staff_role: str, email: str) -> User:
        user = named(email)
        MembershipFactory(user=user, practice=practice, role=staff_role)
        return user

    return Programme(
        commissioner=west,
        other_commissioner=east,
        practice=practice,
        sibling_practice=sibling,
        other_practice=other,
        lead=role(ProgrammeRoleKind.LEAD, west, "lead@west.example"),
        coach=role(ProgrammeRoleKind.COACH, west, "coach@west.example"),
        finance=role(ProgrammeRoleKind.FINANCE, west, "finance@west.example"),
        manager=member(practice, StaffRole.PRACTICE_MANAGER, "manager@amherst.example"),
        nurse=member(practice, StaffRole.NURSE, "nurse@amherst.example"),
        sibling_nurse=member(sibling, StaffRole.NURSE, "nurse@kingswood.example"),
        other_lead=role(ProgrammeRoleKind.LEAD, east, "lead@east.example"),
        other_nurse=member(other, StaffRole.NURSE, "nurse@crowborough.example"),
        admin=UserFactory(email="admin@example.org", is_staff=True, is_superuser=True),
    )


@pytest.fixture(autouse=True)
def _fresh_programme_cache() -> None:
    """Each test counts its own figures: SQLite rolls the data version back between tests, so a
    version number can repeat with other data behind it."""
    from django.core.cache import caches

    caches["programme"].clear()
