"""Projects, follow-ups, sessions and actions for the reminder and digest tests.

``programme`` (the root conftest) gives West Kent with a lead, a coach and a practice whose
nurse and manager are staff. ``completed`` is a project at that practice coached by the
coach, with the nurse as its champion, completed on 31 March 2025 through the real
service: its follow-ups are due on 30 September 2025 (6 months) and 31 March 2026 (12).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, time, timedelta

import pytest

from coaching.models import SessionStatus
from coaching.tests.factories import ActionFactory, SessionFactory
from evaluation.models import FollowUp, FollowUpKind
from notifications import outbox
from notifications.finders import FINDERS, Finder
from notifications.models import Notification
from projects.models import MemberKind, Project, Step, TeamMember
from projects.tests.factories import ProjectFactory, TeamMemberFactory
from projects.tests.payment_factories import complete, funded_project

COMPLETED_ON = date(2025, 3, 31)
SIX_MONTHS = date(2025, 9, 30)
TWELVE_MONTHS = date(2026, 3, 31)


def staff_member(project: Project, user, *, champion: bool = False) -> TeamMember:  # type: ignore[no-untyped-def]
    return TeamMemberFactory(
        project=project, kind=MemberKind.STAFF, user=user, name="", team_role="Nurse", is_champion=champion
    )


@pytest.fixture
def completed(programme) -> Project:  # type: ignore[no-untyped-def]
    project = funded_project(programme, title="Results & letters <fast>")
    staff_member(project, programme.nurse, champion=True)
    complete(project, on=COMPLETED_ON, lead=programme.lead)
    project.refresh_from_db()
    return project


def six_month(project: Project) -> FollowUp:
    return FollowUp.objects.get(project=project, kind=FollowUpKind.SIX_MONTHS)


def coached_project(programme, **fields) -> Project:  # type: ignore[no-untyped-def]
    """A project in Treat at the programme's practice, coached by the programme's coach."""
    values = {"practice": programme.practice, "lead_coach": programme.coach, "step": Step.TREAT} | fields
    if "starts_on" in fields:
        values.setdefault("planned_end_on", fields["starts_on"] + timedelta(weeks=13))
    return ProjectFactory(**values)


def planned_session(project: Project, coach, on: date):  # type: ignore[no-untyped-def]
    return SessionFactory(
        project=project, coach=coach, status=SessionStatus.PLANNED, on=on, starts_at=time(13, 30), actual_minutes=None
    )


def action_for(member: TeamMember, due_on: date, **fields):  # type: ignore[no-untyped-def]
    session = SessionFactory(project=member.project, coach=member.project.lead_coach, on=date(2025, 1, 7))
    return ActionFactory(raised_in=session, owner=member, due_on=due_on, **fields)


def found(finder: Finder, today: date) -> list[Notification]:
    return list(finder(today))


def by_recipient(rows: Iterable[Notification]) -> dict[int, Notification]:
    return {row.recipient_id: row for row in rows}


def sweep_finders(today: date, finders: Iterable[Callable[[date], Iterable[Notification]]] = FINDERS) -> int:
    """What the sweep does with the finders: every row found goes to the outbox (once)."""
    return sum(outbox.add_many(finder(today)) for finder in finders)
