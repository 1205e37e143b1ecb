"""What is due when: follow-up reminders at -14 and 0 days, sessions the day before, refreshers, and the digests.

The finders take the day the sweep runs; the schedule tests move the clock with time-machine
and put what the finders find in the outbox, as the sweep does.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coaching.models import ActionStatus, SessionStatus
from coaching.tests.factories import CoachProfileFactory, SessionFactory, TrainingRecordFactory
from evaluation.models import FollowUp, FollowUpKind, FollowUpReschedule, FollowUpStatus
from microsystems.tests.factories import UserFactory
from notifications import digests, reminders
from notifications.finders import FINDERS
from notifications.models import Kind, Notification
from practices.models import Engagement
from practices.tests.factories import MembershipFactory, PracticeFactory
from projects.models import Measure, MeasureValue, Step
from projects.tests.factories import ProjectFactory, TeamMemberFactory

from .reminder_data import (
    SIX_MONTHS,
    action_for,
    by_recipient,
    coached_project,
    completed,
    found,
    planned_session,
    six_month,
    staff_member,
    sweep_finders,
)

__all__ = ["completed"]  # a fixture

pytestmark = pytest.mark.django_db


# Follow-ups


def test_a_follow_up_reminds_its_coach_and_champion_14_days_before(completed, programme):
    rows = by_recipient(found(reminders.follow_ups_soon, SIX_MONTHS - timedelta(days=14)))

    assert set(rows) == {programme.coach.pk, programme.nurse.pk}
    coach = rows[programme.coach.pk]
    assert coach.kind == Kind.FOLLOW_UP_SOON
    assert coach.key == f"follow-up:{six_month(completed).pk}:2025-09-30:due-14-days:user-{programme.coach.pk}"
    assert coach.subject == "6-month follow-up of Results & letters <fast>: due in 14 days, on 30 September 2025"
    assert coach.link == f"/follow-ups/{six_month(completed).pk}/"
    assert "DTSTART;VALUE=DATE:20250930" in coach.ics
    assert "Agree a time with the practice" in coach.body_text
    assert "Your coach Coach West will agree a time with you" in rows[programme.nurse.pk].body_text


def test_nothing_is_due_15_days_before(completed):
    assert found(reminders.follow_ups_soon, SIX_MONTHS - timedelta(days=15)) == []
    assert found(reminders.follow_ups_today, SIX_MONTHS - timedelta(days=15)) == []


def test_on_the_day_the_day_reminder_goes_and_not_the_14_day_one(completed, programme):
    assert found(reminders.follow_ups_soon, SIX_MONTHS) == []
    rows = by_recipient(found(reminders.follow_ups_today, SIX_MONTHS))

    assert set(rows) == {programme.coach.pk, programme.nurse.pk}
    assert rows[programme.coach.pk].kind == Kind.FOLLOW_UP_TODAY
    assert rows[programme.coach.pk].subject.endswith(": due today")
    assert rows[programme.coach.pk].ics


def test_a_sweep_that_missed_the_14th_day_still_reminds_saying_how_long_is_left(completed):
    rows = found(reminders.follow_ups_soon, SIX_MONTHS - timedelta(days=10))

    assert len(rows) == 2
    assert "due in 10 days, on 30 September 2025" in rows[0].subject
    assert rows[0].key.endswith(f"due-14-days:user-{rows[0].recipient_id}")  # the same key as on the 14th day


def test_the_day_reminder_waits_two_days_for_a_missed_sweep_and_no_longer(completed):
    assert len(found(reminders.follow_ups_today, SIX_MONTHS + timedelta(days=2))) == 2
    assert found(reminders.follow_ups_today, SIX_MONTHS + timedelta(days=3)) == []


def test_the_schedule_sends_each_reminder_once_at_minus_14_and_on_the_day(completed, programme):
    day = SIX_MONTHS - timedelta(days=20)
    while day <= SIX_MONTHS + timedelta(days=5):
        with time_machine.travel(datetime(day.year, day.month, day.day, 6, 0), tick=False):
            sweep_finders(day, [reminders.follow_ups_soon, reminders.follow_ups_today])
            sweep_finders(day, [reminders.follow_ups_soon, reminders.follow_ups_today])  # a second sweep that day
        day += timedelta(days=1)

    rows = Notification.objects.order_by("created_at", "kind", "recipient_id")
    assert [(row.kind, row.recipient_id, row.created_at.date()) for row in rows] == [
        (Kind.FOLLOW_UP_SOON, programme.coach.pk, date(2025, 9, 16)),
        (Kind.FOLLOW_UP_SOON, programme.nurse.pk, date(2025, 9, 16)),
        (Kind.FOLLOW_UP_TODAY, programme.coach.pk, date(2025, 9, 30)),
        (Kind.FOLLOW_UP_TODAY, programme.nurse.pk, date(2025, 9, 30)),
    ]


def test_a_rescheduled_follow_up_reminds_again_for_its_new_date(completed, programme):
    follow_up = six_month(completed)
    sweep_finders(SIX_MONTHS - timedelta(days=14), [reminders.follow_ups_soon])
    new_date = SIX_MONTHS + timedelta(days=21)
    FollowUpReschedule.objects.create(
        follow_up=follow_up, from_date=SIX_MONTHS, to_date=new_date, reason="The practice manager is away.", by=None
    )
    FollowUp.objects.filter(pk=follow_up.pk).update(due_on=new_date)

    rows = by_recipient(found(reminders.follow_ups_soon, new_date - timedelta(days=14)))

    assert set(rows) == {programme.coach.pk, programme.nurse.pk}
    assert ":2025-10-21:due-14-days:" in rows[programme.coach.pk].key
    assert "SEQUENCE:1" in rows[programme.coach.pk].ics  # the calendar moves the same event
    assert f"UID:follow-up-{follow_up.pk}@" in rows[programme.coach.pk].ics


def test_held_and_cancelled_follow_ups_and_withdrawn_projects_are_not_reminded(completed, programme):
    FollowUp.objects.filter(pk=six_month(completed).pk).update(status=FollowUpStatus.HELD)
    other = coached_project(programme, step=Step.WITHDRAWN)
    FollowUp.objects.create(project=other, kind=FollowUpKind.SIX_MONTHS, due_on=SIX_MONTHS)
    cancelled = coached_project(programme, step=Step.FOLLOW_UP)
    FollowUp.objects.create(
        project=cancelled, kind=FollowUpKind.SIX_MONTHS, due_on=SIX_MONTHS, status=FollowUpStatus.CANCELLED
    )

    assert found(reminders.follow_ups_soon, SIX_MONTHS - timedelta(days=14)) == []
    assert found(reminders.follow_ups_today, SIX_MONTHS) == []


def test_a_co_coach_and_the_assigned_coach_hear_once_each_and_a_patient_champion_not_at_all(programme):
    co_coach = UserFactory(full_name="Cora Coach")
    project = coached_project(programme, co_coach=co_coach, step=Step.FOLLOW_UP)
    TeamMemberFactory(project=project, is_champion=True)  # a partner, with no login
    FollowUp.objects.create(
        project=project, kind=FollowUpKind.SIX_MONTHS, due_on=SIX_MONTHS, assigned_to=programme.coach
    )

    rows = found(reminders.follow_ups_today, SIX_MONTHS)

    assert sorted(row.recipient_id for row in rows) == sorted([programme.coach.pk, co_coach.pk])


# Coaching sessions


def test_a_planned_session_reminds_its_coach_and_the_champion_the_day_before(programme):
    project = coached_project(programme)
    staff_member(project, programme.nurse, champion=True)
    session = planned_session(project, programme.coach, date(2025, 6, 11))
    planned_session(project, programme.coach, date(2025, 6, 12))  # two days ahead: not yet
    SessionFactory(project=project, coach=programme.coach, status=SessionStatus.CANCELLED, on=date(2025, 6, 11))

    rows = by_recipient(found(reminders.sessions_tomorrow, date(2025, 6, 10)))

    assert set(rows) == {programme.coach.pk, programme.nurse.pk}
    assert rows[programme.coach.pk].key == f"session:{session.pk}:2025-06-11:day-before:user-{programme.coach.pk}"
    assert rows[programme.coach.pk].subject == f"Coaching session tomorrow at 13:30: {project.title}"
    assert rows[programme.coach.pk].link == f"/coaching/sessions/{session.pk}/"
    assert not rows[programme.coach.pk].ics


def test_a_session_reminder_missed_the_day_before_goes_on_the_morning(programme):
    project = coached_project(programme)
    planned_session(project, programme.coach, date(2025, 6, 11))

    rows = found(reminders.sessions_tomorrow, date(2025, 6, 11))

    assert [row.subject.split(":")[0] for row in rows] == ["Coaching session today at 13"]
    assert found(reminders.sessions_tomorrow, date(2025, 6, 12)) == []


# Refreshers


def coach_profile(programme, *, trained_on: date):  # type: ignore[no-untyped-def]
    return CoachProfileFactory(user=programme.coach, commissioner=programme.commissioner, trained_on=trained_on)


def test_a_refresher_reminds_the_coach_a_month_before_it_falls_due(programme):
    profile = CoachProfileFactory(
        user=programme.coach, commissioner=programme.commissioner, trained_on=date(2024, 1, 5)
    )
    TrainingRecordFactory(coach=profile, completed_on=date(2024, 10, 1))  # refresher due 1 October 2025

    assert found(reminders.refreshers_due, date(2025, 8, 31)) == []
    rows = found(reminders.refreshers_due, date(2025, 9, 1))

    assert [(row.recipient_id, row.key) for row in rows] == [
        (programme.coach.pk, f"refresher:{programme.coach.pk}:2025-10-01")
    ]
    assert rows[0].subject == "Your coaching refresher is due in 30 days, on 1 October 2025"
    assert rows[0].link == f"/coaching/coaches/{profile.pk}/"


def test_a_refresher_done_moves_the_reminder_a_year_on(programme):
    profile = CoachProfileFactory(
        user=programme.coach, commissioner=programme.commissioner, trained_on=date(2024, 9, 20)
    )
    sweep_finders(date(2025, 9, 1), [reminders.refreshers_due])
    TrainingRecordFactory(coach=profile, completed_on=date(2025, 9, 10), is_refresher=True)

    assert found(reminders.refreshers_due, date(2025, 9, 12)) == []
    assert [row.key for row in found(reminders.refreshers_due, date(2026, 9, 1))] == [
        f"refresher:{programme.coach.pk}:2026-09-10"
    ]


# Overdue actions: one digest a day per person


def test_overdue_actions_come_in_one_digest_per_person_grouped_by_project(programme):
    first, second = coached_project(programme, title="Repeat prescriptions"), coached_project(programme, title="Zoom")
    nurse_on_first, nurse_on_second = staff_member(first, programme.nurse), staff_member(second, programme.nurse)
    manager = staff_member(first, programme.manager)
    action_for(nurse_on_first, date(2025, 6, 1), description="Draft the buddy list")
    action_for(nurse_on_first, date(2025, 6, 5), description="Ask reception")
    action_for(nurse_on_second, date(2025, 6, 9), description="Count the calls")
    action_for(nurse_on_second, date(2025, 6, 10), description="Due today: not overdue")
    action_for(nurse_on_second, date(2025, 6, 2), description="Done already", status=ActionStatus.DONE)
    action_for(manager, date(2025, 6, 3), description="Book the room")

    rows = by_recipient(found(digests.overdue_actions, date(2025, 6, 10)))

    assert set(rows) == {programme.nurse.pk, programme.manager.pk}
    nurse = rows[programme.nurse.pk]
    assert nurse.key == f"actions:{programme.nurse.pk}:2025-06-10"
    assert nurse.subject == "You have 3 overdue actions"
    text = nurse.body_text
    assert text.index("Repeat prescriptions") < text.index("Draft the buddy list") < text.index("Ask reception")
    assert text.index("Zoom") < text.index("Count the calls")
    assert "Due today" not in text and "Done already" not in text
    assert "due 1 June 2025, 9 days ago" in text
    assert nurse.link == "/projects/"  # two projects: the list; each project links to its sessions in the body
    assert rows[programme.manager.pk].subject == "You have an overdue action"
    assert rows[programme.manager.pk].link == f"/coaching/projects/{first.pk}/sessions/"


def test_the_action_digest_goes_once_a_day_and_again_the_next_day(programme):
    member = staff_member(coached_project(programme), programme.nurse)
    action_for(member, date(2025, 6, 1))

    assert sweep_finders(date(2025, 6, 10), [digests.overdue_actions]) == 1
    assert sweep_finders(date(2025, 6, 10), [digests.overdue_actions]) == 0
    assert found(digests.overdue_actions, date(2025, 6, 10)) == []  # the finder itself skips what is in the outbox
    assert sweep_finders(date(2025, 6, 11), [digests.overdue_actions]) == 1


def test_no_digest_for_someone_without_overdue_actions(programme):
    member = staff_member(coached_project(programme), programme.nurse)
    action_for(member, date(2025, 6, 20))
    action_for(member, date(2025, 6, 1), status=ActionStatus.DROPPED)

    assert found(digests.overdue_actions, date(2025, 6, 10)) == []


# The lead's weekly digest


@pytest.fixture
def programme_with_news(programme, completed):
    """Something for each section of West's weekly digest on Monday 10 November 2025."""
    member = staff_member(coached_project(programme, title="Quiet one", starts_on=date(2025, 8, 4)), programme.manager)
    action_for(member, date(2025, 10, 1), description="Overdue")
    SessionFactory(project=member.project, coach=programme.coach, on=date(2025, 10, 6))  # 5 weeks ago
    programme.sibling_practice.engagement = Engagement.INVITED
    programme.sibling_practice.engagement_since = date(2025, 3, 1)
    programme.sibling_practice.save()
    return programme


MONDAY = date(2025, 11, 10)


def test_the_lead_hears_weekly_about_overdue_follow_ups_actions_quiet_projects_and_practices(programme_with_news):
    programme = programme_with_news
    rows = by_recipient(found(digests.lead_weekly, MONDAY))

    assert set(rows) == {programme.lead.pk}  # the other commissioner's lead has nothing to hear about
    digest = rows[programme.lead.pk]
    assert digest.key == f"lead-weekly:{programme.lead.pk}:2025-W46"
    text = digest.body_text
    assert "FOLLOW-UPS OVERDUE" in text and "6-month follow-up of Results & letters <fast>" in text
    assert "OVERDUE ACTIONS BY PROJECT\n- Quiet one (Amherst Medical Practice): 1 overdue" in text
    assert "PROJECTS WITH NO SESSION FOR 4 WEEKS\n- Quiet one" in text and "last session 6 October 2025" in text
    assert "Kingswood Surgery (invited): last contact 1 March 2025" in text
    assert "Amherst Medical Practice (" not in text.split("PRACTICES NOT CONTACTED")[1]  # sessions held there
    assert "Results &amp; letters &lt;fast&gt;" in digest.body_html


def test_the_weekly_digest_goes_once_a_week(programme_with_news):
    programme = programme_with_news
    assert sweep_finders(MONDAY, [digests.lead_weekly]) == 1
    assert sweep_finders(MONDAY + timedelta(days=2), [digests.lead_weekly]) == 0  # Wednesday, the same week
    assert sweep_finders(MONDAY + timedelta(days=7), [digests.lead_weekly]) == 1
    assert Notification.objects.filter(recipient=programme.lead, kind=Kind.LEAD_WEEKLY).count() == 2


def test_a_lead_with_nothing_to_hear_about_gets_no_digest(programme):
    coached_project(programme, starts_on=MONDAY - timedelta(days=7))  # new: not quiet yet

    assert found(digests.lead_weekly, MONDAY) == []


def test_a_lead_sees_only_their_own_commissioners_news(programme_with_news):
    programme = programme_with_news
    other = ProjectFactory(practice=programme.other_practice, step=Step.TREAT, starts_on=date(2025, 1, 6))

    rows = by_recipient(found(digests.lead_weekly, MONDAY))

    assert other.title in rows[programme.other_lead.pk].body_text
    assert other.title not in rows[programme.lead.pk].body_text


def test_long_sections_are_cut_with_a_count_and_a_link_to_the_rest(programme):
    for n in range(digests.MAX_ROWS + 3):
        coached_project(programme, title=f"Quiet {n:02d}", starts_on=date(2025, 1, 6))

    text = found(digests.lead_weekly, MONDAY)[0].body_text

    assert text.count("no session yet") == digests.MAX_ROWS
    assert "- and 3 more: http://127.0.0.1:8000/projects/" in text


# The practice's monthly digest


def test_each_member_of_staff_hears_monthly_where_their_practice_is(programme):
    project = coached_project(programme, title="Repeat prescriptions", step=Step.DIAGNOSE)
    measure = Measure.objects.create(
        project=project,
        name="Requests done in 48 hours",
        kind="process",
        definition="Counted weekly.",
        unit="percentage",
    )
    MeasureValue.objects.create(measure=measure, on=date(2025, 10, 28), period=date(2025, 10, 27), value="87.500")
    planned_session(project, programme.coach, date(2025, 11, 12))
    ProjectFactory(practice=programme.sibling_practice, step=Step.COMPLETED)  # nothing under way at Kingswood

    rows = by_recipient(found(digests.practice_monthly, date(2025, 11, 1)))

    assert set(rows) == {programme.manager.pk, programme.nurse.pk}
    nurse = rows[programme.nurse.pk]
    assert nurse.key == f"practice-monthly:{programme.practice.pk}:{programme.nurse.pk}:2025-11"
    assert nurse.subject == "Where Amherst Medical Practice is: November 2025"
    assert nurse.link == "/practices/G82013/"
    assert "Repeat prescriptions: Diagnose" in nurse.body_text
    assert "Next coaching session: 12 November 2025" in nurse.body_text
    assert (
        f"- Requests done in 48 hours: 87.5 (percentage) on 28 October 2025. "
        f"Charts: http://127.0.0.1:8000/projects/{project.pk}/measures/{measure.pk}/"
    ) in nurse.body_text


def test_the_monthly_digest_goes_once_a_month_and_never_empty(programme):
    project = coached_project(programme)
    assert sweep_finders(date(2025, 11, 1), [digests.practice_monthly]) == 2
    assert sweep_finders(date(2025, 11, 28), [digests.practice_monthly]) == 0
    project.step = Step.COMPLETED
    project.save()
    assert sweep_finders(date(2025, 12, 1), [digests.practice_monthly]) == 0  # nothing under way: no digest


# Every finder


def test_running_every_finder_twice_creates_the_same_rows(completed, programme):
    member = staff_member(coached_project(programme), programme.manager)
    action_for(member, SIX_MONTHS - timedelta(days=20))
    planned_session(member.project, programme.coach, SIX_MONTHS)
    today = SIX_MONTHS - timedelta(days=1)

    first = sweep_finders(today)
    keys = set(Notification.objects.values_list("key", flat=True))
    second = sweep_finders(today)

    assert first == len(keys) >= 6  # follow-up soon ×2, session ×2, actions, practice monthly ×2
    assert second == 0
    assert set(Notification.objects.values_list("key", flat=True)) == keys


def _world(programme, n: int) -> None:
    """``n`` projects, each with a follow-up due today, a session tomorrow, a champion with an overdue action."""
    for i in range(n):
        practice = PracticeFactory(commissioner=programme.commissioner, engagement=Engagement.ENGAGED)
        staff = MembershipFactory(practice=practice).user
        project = coached_project(programme, practice=practice, starts_on=date(2025, 1, 6))
        FollowUp.objects.create(project=project, kind=FollowUpKind.SIX_MONTHS, due_on=SIX_MONTHS)
        FollowUp.objects.create(project=project, kind=FollowUpKind.TWELVE_MONTHS, due_on=SIX_MONTHS + timedelta(days=7))
        member = staff_member(project, staff, champion=True)
        action_for(member, SIX_MONTHS - timedelta(days=3 + i % 5))
        planned_session(project, programme.coach, SIX_MONTHS + timedelta(days=1))
        measure = Measure.objects.create(project=project, name="Calls", kind="process", definition="x", unit="count")
        MeasureValue.objects.create(measure=measure, on=SIX_MONTHS, period=SIX_MONTHS, value=i)
        CoachProfileFactory(trained_on=SIX_MONTHS - timedelta(days=360 + i % 7))


@pytest.mark.parametrize("finder", FINDERS, ids=lambda finder: finder.__name__)
def test_each_finder_reads_as_many_queries_for_50_projects_as_for_5(programme, finder):
    def queries(n: int) -> tuple[int, int]:
        Notification.objects.all().delete()
        _world(programme, n)
        with CaptureQueriesContext(connection) as captured:
            rows = list(finder(SIX_MONTHS))
        return len(captured), len(rows)

    few, found_few = queries(5)
    many, found_many = queries(45)  # 50 in all

    assert found_many > found_few > 0 or finder.__name__ == "lead_weekly"
    assert many == few
