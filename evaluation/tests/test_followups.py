"""Scheduling: a completed project gets one follow-up of each kind, whatever happens, and a withdrawal cancels them."""

from __future__ import annotations

from datetime import date

import pytest

from evaluation.followups import due_dates, ensure_follow_ups, schedule_follow_ups
from evaluation.models import FollowUp, FollowUpStatus
from projects.models import Project, Step
from projects.services import ProjectError, withdraw_project
from projects.tests.payment_factories import complete, funded_project

from .conftest import COMPLETED_ON, SIX_MONTHS, TWELVE_MONTHS


def test_completing_a_project_schedules_its_6_and_12_month_follow_ups_with_the_lead_coach(programme, project):
    rows = {f.kind: f for f in project.follow_ups.all()}
    assert set(rows) == {"6m", "12m"}
    assert rows["6m"].due_on == SIX_MONTHS and rows["12m"].due_on == TWELVE_MONTHS
    assert {f.assigned_to for f in rows.values()} == {programme.coach}
    assert {f.status for f in rows.values()} == {FollowUpStatus.SCHEDULED}
    assert project.step == Step.FOLLOW_UP and project.completed_on == COMPLETED_ON


def test_the_end_of_a_month_falls_on_the_last_day_of_a_shorter_month():
    assert due_dates(date(2025, 8, 31)) == {"6m": date(2026, 2, 28), "12m": date(2026, 8, 31)}
    assert due_dates(date(2023, 8, 31))["6m"] == date(2024, 2, 29)


def test_completing_twice_is_refused_and_still_leaves_one_follow_up_of_each_kind(programme, project):
    with pytest.raises(ProjectError):
        complete(project, on=COMPLETED_ON, lead=programme.lead)
    schedule_follow_ups(project)
    schedule_follow_ups(project)
    assert project.follow_ups.count() == 2


def test_scheduling_keeps_a_follow_up_already_moved(programme, project, six):
    FollowUp.objects.filter(pk=six.pk).update(due_on=date(2026, 3, 10))
    schedule_follow_ups(project)
    six.refresh_from_db()
    assert six.due_on == date(2026, 3, 10) and project.follow_ups.count() == 2


def test_the_repair_creates_follow_ups_a_completed_project_is_missing(programme, project, six, clock):
    six.delete()
    legacy = funded_project(programme, step=Step.COMPLETED, completed_on=date(2025, 3, 3))
    still_in_treat = funded_project(programme, step=Step.TREAT)
    assert ensure_follow_ups() == 2
    assert ensure_follow_ups() == 0
    assert project.follow_ups.filter(kind="6m", due_on=SIX_MONTHS).exists()
    assert sorted(legacy.follow_ups.values_list("due_on", flat=True)) == [date(2025, 9, 3), date(2026, 3, 3)]
    assert not still_in_treat.follow_ups.exists()


def test_withdrawing_a_project_in_follow_up_cancels_its_follow_ups_and_the_repair_leaves_them(programme, project):
    withdraw_project(project=project, on=date(2025, 9, 1), reason="The partners retired.", by=programme.lead)
    assert set(project.follow_ups.values_list("status", flat=True)) == {FollowUpStatus.CANCELLED}
    assert ensure_follow_ups() == 0
    assert Project.objects.get(pk=project.pk).step == Step.WITHDRAWN
