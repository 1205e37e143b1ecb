"""The follow-up pages: who sees and who writes, the review and move forms, and where follow-ups show elsewhere."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from evaluation.models import FollowUp, FollowUpReview, FollowUpStatus
from microsystems.tests.factories import UserFactory
from practices.models import ProgrammeRoleKind
from practices.tests.factories import ProgrammeRoleFactory
from projects.models import Step
from projects.tests.payment_factories import complete, funded_project

from .conftest import COMPLETED_ON, SIX_MONTHS, TWELVE_MONTHS, noon

READERS = ["lead", "coach", "nurse", "manager", "admin"]
WRITERS = ["lead", "coach"]
OUTSIDERS = ["sibling_nurse", "other_lead", "other_nurse", "finance"]


def url(name, *args):
    return reverse(f"evaluation:{name}", args=args)


def assert_message_at(response, field_id, message):
    """The message is in the error summary, linked to the field, and again at the field."""
    html, shown = response.text, escape(message)
    assert "There is a problem" in html
    assert f'<li><a href="#{field_id}">{shown}</a></li>' in html, html
    assert html.count(shown) >= 2


def review_data(project, **overrides):
    data = {
        "held_on": SIX_MONTHS.isoformat(),
        "attendees": [m.pk for m in project.team.all()],
        "other_attendees": "",
        "sustained": "partly",
        "reasons": ["lack_of_time"],
        "other_reason": "",
        "plans_another_project": "no",
        "next_project_idea": "",
        "notes": "",
    }
    return data | overrides


@pytest.fixture
def at_six_months(clock):
    clock.move_to(noon(SIX_MONTHS + timedelta(days=2)))


# Who sees


@pytest.mark.parametrize("who", READERS)
def test_everyone_who_sees_the_project_sees_its_follow_ups(as_, project, six, who):
    listed = as_(who).get(url("follow_ups"))
    assert listed.status_code == 200 and six.get_absolute_url() in listed.text
    page = as_(who).get(six.get_absolute_url())
    assert page.status_code == 200 and "28 February 2026" in page.text and project.title in page.text


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_404_on_every_follow_up_page_and_an_empty_list(as_, project, six, who):
    client = as_(who)
    assert six.get_absolute_url() not in client.get(url("follow_ups")).text
    assert client.get(six.get_absolute_url()).status_code == 404
    assert client.post(six.get_absolute_url(), review_data(project)).status_code == 404
    assert client.get(url("reschedule", six.pk)).status_code == 404
    assert client.post(url("reschedule", six.pk), {"to_date": "2026-03-10", "reason": "x"}).status_code == 404
    six.refresh_from_db()
    assert six.status == FollowUpStatus.SCHEDULED and six.due_on == SIX_MONTHS


def test_signed_out_visitors_are_sent_to_sign_in(client, six):
    response = client.get(six.get_absolute_url())
    assert response.status_code == 302 and "/account/login/" in response["Location"]


@pytest.mark.parametrize("who", ["nurse", "manager"])
def test_practice_staff_read_but_neither_record_nor_move(as_, project, six, at_six_months, who):
    client = as_(who)
    page = client.get(six.get_absolute_url())
    assert "Record the review" not in page.text and "Move the date" not in page.text
    assert client.post(six.get_absolute_url(), review_data(project)).status_code == 404
    assert client.get(url("reschedule", six.pk)).status_code == 404
    assert not FollowUpReview.objects.exists()


def test_the_coach_it_is_assigned_to_keeps_it_after_the_project_changes_coach(as_, programme, project, six):
    newcomer = UserFactory()
    ProgrammeRoleFactory(user=newcomer, commissioner=programme.commissioner, role=ProgrammeRoleKind.COACH)
    project.lead_coach = newcomer
    project.save(update_fields=["lead_coach"])
    assert as_("coach").get(six.get_absolute_url()).status_code == 200  # still assigned to them
    assert as_(newcomer).get(six.get_absolute_url()).status_code == 200  # now coaching the project


# The list


def test_the_list_puts_follow_ups_still_to_hold_first_and_filters(as_, programme, project, six, twelve, clock):
    FollowUp.objects.filter(pk=twelve.pk).update(status=FollowUpStatus.HELD)
    clock.move_to(noon(SIX_MONTHS + timedelta(days=31)))
    html = as_("lead").get(url("follow_ups")).text
    assert html.index(six.get_absolute_url()) < html.index(twelve.get_absolute_url())
    assert "Overdue" in html
    held = as_("lead").get(url("follow_ups"), {"status": "held"}).text
    assert twelve.get_absolute_url() in held and six.get_absolute_url() not in held
    six_only = as_("lead").get(url("follow_ups"), {"kind": "6m", "status": "nonsense"}).text
    assert six.get_absolute_url() in six_only and twelve.get_absolute_url() not in six_only


def test_the_list_runs_the_same_queries_for_1_and_12_projects(as_, programme, project, clock):
    client = as_("lead")
    client.get(url("follow_ups"))  # the first request of a session also reads the user's roles
    with CaptureQueriesContext(connection) as small:
        client.get(url("follow_ups"))
    for _ in range(11):
        complete(funded_project(programme, step=Step.TREAT), on=COMPLETED_ON, lead=programme.lead)
    with CaptureQueriesContext(connection) as large:
        response = client.get(url("follow_ups"))
    assert len(re.findall(r'href="/follow-ups/\d+/', response.text)) == 24
    assert len(large) == len(small)


def test_the_list_keeps_a_dashboard_links_filters_on_its_form_and_next_page(
    as_, programme, project, clock, monkeypatch
):
    monkeypatch.setattr("evaluation.views.PER_PAGE", 1)
    clock.move_to(noon(SIX_MONTHS + timedelta(days=31)))  # the 6-month one is overdue, the 12-month one is not
    query = {"state": "overdue", "commissioner": programme.commissioner.pk, "kind": ""}
    html = as_("lead").get(url("follow_ups"), query).text
    assert '<option value="overdue" selected>' in html
    assert f'name="commissioner" value="{programme.commissioner.pk}"' in html
    assert len(re.findall(r'href="/follow-ups/\d+/"', html)) == 1  # only the overdue one
    assert ">Next<" not in html
    both = as_("lead").get(url("follow_ups"), {"commissioner": programme.commissioner.pk}).text
    assert f"?commissioner={programme.commissioner.pk}&amp;page=2" in both


# The review form


def test_the_coach_records_the_review_with_a_refreshed_value(as_, project, six, at_six_months):
    measure = project.measures.get()
    data = review_data(project, **{f"value_{measure.pk}": "2.5", "notes": "<script>alert(1)</script>"})
    response = as_("coach").post(six.get_absolute_url(), data)
    assert response.status_code == 302 and response["Location"] == six.get_absolute_url()
    six.refresh_from_db()
    assert six.status == FollowUpStatus.HELD
    assert measure.values.get(follow_up_kind="6m").on == SIX_MONTHS
    page = as_("nurse").get(six.get_absolute_url()).text
    assert "Partly sustained" in page and "Lack of time" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "Record the review" not in as_("coach").get(six.get_absolute_url()).text


@pytest.mark.parametrize(
    ("overrides", "field_id", "message"),
    [
        ({"held_on": ""}, "id_held_on", "Enter the date the review was held."),
        ({"held_on": "2026-03-30"}, "id_held_on", "The date held cannot be in the future."),
        (
            {"sustained": ""},
            "id_sustained_0",
            "Say whether the change is sustained, partly sustained or not sustained.",
        ),
        ({"reasons": []}, "id_reasons_0", "Say why the change is not fully sustained: tick every reason that applies."),
        ({"reasons": ["other"]}, "id_other_reason", "Say what the other reason is."),
        (
            {"plans_another_project": "yes"},
            "id_next_project_idea",
            "Say what the practice's next project could be about.",
        ),
        ({"attendees": []}, "id_attendees_0", "Say who came: tick the team members who did, or name the others."),
    ],
)
def test_a_review_with_a_problem_shows_it_at_the_field_and_saves_nothing(
    as_, project, six, at_six_months, overrides, field_id, message
):
    response = as_("lead").post(six.get_absolute_url(), review_data(project, **overrides))
    assert response.status_code == 200
    assert_message_at(response, field_id, message)
    assert not FollowUpReview.objects.exists()


def test_a_value_that_is_not_a_number_is_refused_at_its_field(as_, project, six, at_six_months):
    measure = project.measures.get()
    response = as_("coach").post(six.get_absolute_url(), review_data(project, **{f"value_{measure.pk}": "lots"}))
    assert_message_at(response, f"id_value_{measure.pk}", f"Enter {measure.name} as a number, for example 4.5.")
    assert not FollowUpReview.objects.exists()


def test_the_12_month_review_completes_the_project(as_, project, twelve, clock):
    clock.move_to(noon(TWELVE_MONTHS))
    page = as_("coach").get(twelve.get_absolute_url())
    assert "recording it completes the project" in page.text
    response = as_("coach").post(
        twelve.get_absolute_url(), review_data(project, held_on=TWELVE_MONTHS.isoformat()), follow=True
    )
    assert f"{project.title} is now completed." in response.text
    project.refresh_from_db()
    assert project.step == Step.COMPLETED


# Moving the date


def test_the_coach_moves_the_date_with_a_reason(as_, six):
    response = as_("coach").post(url("reschedule", six.pk), {"to_date": "2026-03-10", "reason": "Leave"}, follow=True)
    assert "now due on 10 March 2026" in response.text
    assert "From 28 February 2026 to 10 March 2026" in response.text and "Leave" in response.text


@pytest.mark.parametrize(
    ("data", "field_id", "message"),
    [
        ({"to_date": "2026-03-10", "reason": ""}, "id_reason", "Say why the follow-up is moving."),
        ({"to_date": "", "reason": "Leave"}, "id_to_date", "Enter the new date for the follow-up."),
        ({"to_date": "2025-08-01", "reason": "Leave"}, "id_to_date", "The new date cannot be in the past."),
    ],
)
def test_moving_with_a_problem_shows_it_at_the_field(as_, six, data, field_id, message):
    response = as_("lead").post(url("reschedule", six.pk), data)
    assert_message_at(response, field_id, message)
    six.refresh_from_db()
    assert six.due_on == SIX_MONTHS


# Where follow-ups show elsewhere


def test_the_project_overview_lists_its_follow_ups_with_overdue(as_, project, six, twelve, clock):
    clock.move_to(noon(SIX_MONTHS + timedelta(days=31)))
    html = as_("nurse").get(project.get_absolute_url()).text
    section = html[html.index('id="follow-ups-heading"') :]
    assert six.get_absolute_url() in section and twelve.get_absolute_url() in section
    assert re.search(r"due 28 February 2026\s*<span class=\"badge text-bg-danger\">Overdue", section)


def test_the_coach_home_lists_follow_ups_due_soon_or_overdue_in_one_query(as_, programme, project, six, clock):
    clock.move_to(noon(SIX_MONTHS - timedelta(days=40)))
    assert six.get_absolute_url() not in as_("coach").get(reverse("coaching:home")).text
    clock.move_to(noon(SIX_MONTHS - timedelta(days=10)))
    client = as_("coach")  # signed in again: the session would have expired over the months
    client.get(reverse("coaching:home"))
    with CaptureQueriesContext(connection) as one:
        html = client.get(reverse("coaching:home")).text
    assert six.get_absolute_url() in html and "No follow-ups are due" not in html
    for _ in range(3):
        complete(funded_project(programme, step=Step.TREAT), on=COMPLETED_ON, lead=programme.lead)
    with CaptureQueriesContext(connection) as four:
        html = client.get(reverse("coaching:home")).text
    assert html.count("6-month follow-up:") == 4
    assert len(four) == len(one)


def test_the_coach_home_says_when_nothing_is_due(as_, programme, clock):
    assert "No follow-ups are due in the next 30 days." in as_("coach").get(reverse("coaching:home")).text
