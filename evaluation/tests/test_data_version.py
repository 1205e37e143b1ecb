"""The database bumps the programme's data version on every write the figures read, and pages count again then."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from coaching.models import Session
from coaching.tests.factories import SessionFactory
from evaluation import data_version
from evaluation.data_version import TRACKED, current, tracked_tables
from notifications.models import Preference
from projects.models import Project, Step
from projects.tests.factories import ProjectFactory, TeamMemberFactory


def test_every_tracked_table_has_its_trigger(db):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT DISTINCT event_object_table FROM information_schema.triggers")
        else:
            cursor.execute("SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger'")
        with_triggers = {row[0] for row in cursor.fetchall()}
    assert len(tracked_tables()) == len(TRACKED)
    assert set(tracked_tables()) <= with_triggers


def test_a_create_a_bulk_update_and_a_delete_each_move_the_version(programme):
    before = current()
    project = ProjectFactory(practice=programme.practice)
    created = current()
    assert created != before
    Project.objects.filter(pk=project.pk).update(step=Step.ASSESS)  # no signal: the trigger still sees it
    updated = current()
    assert updated != created
    Project.objects.filter(pk=project.pk).delete()
    assert current() != updated


def test_a_coaching_session_moves_it_and_an_unrelated_write_does_not(programme):
    project = ProjectFactory(practice=programme.practice, lead_coach=programme.coach)
    before = current()
    session = SessionFactory(project=project, coach=programme.coach)
    assert current() != before
    after_session = current()
    Preference.objects.create(
        user=programme.nurse, kind="session_tomorrow", enabled=False
    )  # notification preferences are not programme data
    assert current() == after_session
    Session.objects.filter(pk=session.pk).update(agenda="Review the buddy list")
    assert current() != after_session


@pytest.fixture
def west_projects(programme):
    dates = {"starts_on": date(2025, 5, 1), "planned_end_on": date(2025, 8, 1)}
    return [
        ProjectFactory(practice=programme.practice, step=Step.ORGANISE, **dates),
        ProjectFactory(practice=programme.sibling_practice, step=Step.ASSESS, **dates),
    ]


def test_the_dashboard_counts_once_then_again_as_soon_as_the_data_changes(client, programme, west_projects):
    client.force_login(programme.lead)
    url = reverse("programme:dashboard")
    client.get(url)
    with CaptureQueriesContext(connection) as first:
        page = client.get(url)
    assert page.context["figures"].no_champion.value == 2
    with CaptureQueriesContext(connection) as again:
        assert client.get(url).context["figures"].no_champion.value == 2
    assert len(again) == len(first)  # both served from the cache after the warm-up request

    TeamMemberFactory(project=west_projects[0], is_champion=True)
    with CaptureQueriesContext(connection) as counted:
        page = client.get(url)
    assert page.context["figures"].no_champion.value == 1
    assert len(counted) > len(again)  # counted afresh


def test_a_report_page_and_its_csv_follow_a_bulk_update_at_once(client, programme, west_projects):
    client.force_login(programme.lead)
    url = reverse("programme:report_csv", args=["typology"])
    before = client.get(url).content.decode("utf-8-sig")
    Project.objects.filter(pk=west_projects[0].pk).update(typology="health_outputs")
    after = client.get(url).content.decode("utf-8-sig")
    assert after != before
    assert "Health outputs" in after


def test_the_same_figures_for_another_scope_are_not_shared(client, programme, west_projects):
    ProjectFactory(practice=programme.other_practice, step=Step.ORGANISE)
    url = reverse("programme:dashboard")
    client.force_login(programme.lead)
    assert client.get(url).context["figures"].no_champion.value == 2
    client.force_login(programme.other_lead)
    assert client.get(url).context["figures"].no_champion.value == 1


def test_the_key_holds_the_day_so_due_and_overdue_move_with_the_date(programme):
    calls = []

    def count():
        calls.append(1)
        return len(calls)

    scope = {"c": programme.commissioner.pk}
    assert data_version.cached("x", scope, date(2025, 9, 1), count) == 1
    assert data_version.cached("x", scope, date(2025, 9, 1), count) == 1
    assert data_version.cached("x", scope, date(2025, 9, 2), count) == 2
