"""A project completed on 29 August 2025 through the real ``complete_project``, seen on 1 September 2025.

Its team: the nurse (champion) and the manager, both staff; one weekly measure with values.
The clock is frozen (``clock``) and moved with ``clock.move_to`` to hold the reviews.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from projects.models import MemberKind, Step
from projects.tests.factories import TeamMemberFactory
from projects.tests.improvement_factories import MeasureFactory, weekly_values
from projects.tests.payment_factories import complete, funded_project

TODAY = date(2025, 9, 1)
COMPLETED_ON = date(2025, 8, 29)
SIX_MONTHS, TWELVE_MONTHS = date(2026, 2, 28), date(2026, 8, 29)


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(noon(TODAY), tick=False) as traveller:
        yield traveller


@pytest.fixture
def project(programme, clock):
    project = funded_project(programme, step=Step.TREAT)
    TeamMemberFactory(
        project=project, kind=MemberKind.STAFF, user=programme.nurse, name="", team_role="Nurse", is_champion=True
    )
    TeamMemberFactory(project=project, kind=MemberKind.STAFF, user=programme.manager, name="", team_role="Manager")
    measure = MeasureFactory(project=project, name="Days from result to action")
    weekly_values(measure, [5, 4, 6, 5, 3, 4])
    return complete(project, on=COMPLETED_ON, lead=programme.lead)


@pytest.fixture
def six(project):
    return project.follow_ups.get(kind="6m")


@pytest.fixture
def twelve(project):
    return project.follow_ups.get(kind="12m")


@pytest.fixture
def as_(client, programme):
    def sign_in(who):
        client.force_login(getattr(programme, who) if isinstance(who, str) else who)
        return client

    return sign_in
