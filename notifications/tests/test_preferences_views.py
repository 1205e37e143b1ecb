"""Choosing which reminders you get: a box per kind your roles can receive; a kind turned off is never sent."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from microsystems.models import AuditEntry
from notifications import outbox, reminders
from notifications.models import Kind, Notification, Preference, Status
from notifications.preferences import PreferenceError, set_preferences

from .reminder_data import SIX_MONTHS, completed, found, sweep_finders

__all__ = ["completed"]  # a fixture

pytestmark = pytest.mark.django_db

URL = reverse("notifications:preferences")


@pytest.fixture
def as_(client, programme):
    def sign_in(who):
        client.force_login(getattr(programme, who))
        return client

    return sign_in


def box(page: str, kind: str) -> str:
    """The checkbox for ``kind`` on the page."""
    found = re.search(rf'<input[^>]*name="{kind}"[^>]*>', page)
    assert found, kind
    return found.group(0)


def everything_on(kinds) -> dict[str, str]:
    return dict.fromkeys(kinds, "on")


def test_signing_in_is_needed(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("who", "offered", "not_offered"),
    [
        ("coach", [Kind.FOLLOW_UP_SOON, Kind.SESSION_TOMORROW, Kind.REFRESHER_DUE], [Kind.PRACTICE_MONTHLY]),
        ("nurse", [Kind.FOLLOW_UP_TODAY, Kind.ACTIONS_OVERDUE, Kind.PRACTICE_MONTHLY], [Kind.LEAD_WEEKLY]),
        ("lead", [Kind.LEAD_WEEKLY], [Kind.REFRESHER_DUE, Kind.ACTIONS_OVERDUE]),
    ],
)
def test_each_role_is_offered_the_kinds_it_can_get(as_, who, offered, not_offered):
    page = as_(who).get(URL).content.decode()

    for kind in offered:
        assert "checked" in box(page, kind)
    for kind in not_offered:
        assert f'name="{kind}"' not in page


def test_someone_with_no_role_is_told_there_is_nothing_to_choose(client, programme):
    client.force_login(programme.finance)

    page = client.get(URL).content.decode()

    assert "There are no reminders for your role yet" in page
    assert "<form" not in page.split("<main")[1]


def test_a_kind_already_received_is_offered_whatever_the_role(client, programme):
    Notification.objects.create(
        key="x", kind=Kind.FOLLOW_UP_SOON, recipient=programme.finance, subject="s", body_text="b"
    )
    client.force_login(programme.finance)

    assert f'name="{Kind.FOLLOW_UP_SOON}"' in client.get(URL).content.decode()


def test_turning_a_kind_off_is_stored_audited_and_shown(as_, programme):
    client = as_("coach")
    choices = everything_on([Kind.FOLLOW_UP_SOON, Kind.FOLLOW_UP_TODAY, Kind.REFRESHER_DUE])  # session unticked

    response = client.post(URL, choices, follow=True)

    assert Preference.objects.get(user=programme.coach, kind=Kind.SESSION_TOMORROW).enabled is False
    assert not Preference.objects.filter(user=programme.coach, enabled=True).exists()  # nothing else changed
    entry = AuditEntry.objects.get(action="notifications.preferences_changed")
    assert entry.actor == programme.coach and entry.changes == {Kind.SESSION_TOMORROW: False}
    assert "Your choices are saved." in response.content.decode()
    assert "checked" not in box(response.content.decode(), Kind.SESSION_TOMORROW)
    assert "checked" in box(response.content.decode(), Kind.REFRESHER_DUE)


def test_unticking_every_box_turns_everything_off(as_, programme):
    as_("lead").post(URL, {})

    assert list(Preference.objects.filter(user=programme.lead).values_list("kind", "enabled")) == [
        (Kind.LEAD_WEEKLY, False)
    ]


def test_ticking_a_kind_back_on_turns_it_on(as_, programme):
    Preference.objects.create(user=programme.lead, kind=Kind.LEAD_WEEKLY, enabled=False)

    as_("lead").post(URL, everything_on([Kind.LEAD_WEEKLY]))

    assert Preference.objects.get(user=programme.lead, kind=Kind.LEAD_WEEKLY).enabled is True


def test_a_kind_the_page_does_not_offer_cannot_be_posted(as_, programme):
    as_("lead").post(URL, {Kind.LEAD_WEEKLY: "on", Kind.PRACTICE_MONTHLY: ""})

    assert not Preference.objects.filter(user=programme.lead, kind=Kind.PRACTICE_MONTHLY).exists()


def test_the_service_refuses_an_unknown_kind_and_saves_nothing(programme):
    with pytest.raises(PreferenceError, match="no kind of notification called spam"):
        set_preferences(user=programme.lead, choices={"spam": False, Kind.LEAD_WEEKLY: False})

    assert not Preference.objects.exists()


def test_a_turned_off_kind_is_kept_as_skipped_and_never_sent(completed, programme):
    set_preferences(user=programme.nurse, choices={Kind.FOLLOW_UP_SOON: False})
    mail.outbox = []

    sweep_finders(SIX_MONTHS - timedelta(days=14), [reminders.follow_ups_soon])
    nurse_row = Notification.objects.get(recipient=programme.nurse)
    coach_row = Notification.objects.get(recipient=programme.coach)

    assert nurse_row.status == Status.SKIPPED
    assert outbox.send_now(nurse_row.pk) is False
    assert outbox.send_now(coach_row.pk) is True
    assert [m.to for m in mail.outbox] == [["coach@west.example"]]


def test_turning_a_kind_off_keeps_back_what_is_waiting_to_be_sent(completed, programme):
    outbox.add_many(found(reminders.follow_ups_soon, SIX_MONTHS - timedelta(days=14)))

    set_preferences(user=programme.nurse, choices={Kind.FOLLOW_UP_SOON: False})

    assert Notification.objects.get(recipient=programme.nurse).status == Status.SKIPPED
    assert Notification.objects.get(recipient=programme.coach).status == Status.PENDING


def test_turning_another_kind_off_keeps_this_one(completed, programme):
    set_preferences(user=programme.nurse, choices={Kind.SESSION_TOMORROW: False})

    sweep_finders(SIX_MONTHS - timedelta(days=14), [reminders.follow_ups_soon])

    assert Notification.objects.get(recipient=programme.nurse).status == Status.PENDING
