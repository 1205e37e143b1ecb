"""Signing in and out: throttling wrong passwords, session lifetime, password reset and password rules."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from microsystems.models import User
from microsystems.tests.factories import PASSWORD

HOME = reverse("home")
NOON = datetime(2025, 3, 3, 12, 0, 0, tzinfo=UTC)
OFFICE = "10.0.0.1"
ELSEWHERE = "10.0.0.2"
LIMIT = 8


def sign_in(client: Client, email: str, password: str = PASSWORD, address: str = OFFICE):
    return client.post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=address)


def fail(client: Client, email: str, times: int, address: str = OFFICE) -> None:
    for _ in range(times):
        sign_in(client, email, "not-the-password", address)


def is_signed_in(client: Client) -> bool:
    return client.get(HOME).status_code == 200


def is_locked_out(response) -> bool:
    return response.status_code == 429 and "Too many attempts to sign in" in response.text


# Signing in


def test_signing_in_with_an_email_in_any_case_and_the_password_reaches_home(client, programme, caplog):
    with caplog.at_level(logging.INFO, logger="microsystems.security"):
        response = sign_in(client, "Coach@West.EXAMPLE")

    assert response.status_code == 302
    assert response["Location"] == HOME
    assert is_signed_in(client)
    assert f"login: user={programme.coach.pk} email=coach@west.example from={OFFICE}" in caplog.text


def test_a_wrong_password_shows_an_error_and_is_logged(client, programme, caplog):
    with caplog.at_level(logging.INFO, logger="microsystems.security"):
        response = sign_in(client, "coach@west.example", "not-the-password")

    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert "Please enter a correct e-mail address and password" in response.text
    assert f"failed login: email=coach@west.example from={OFFICE}" in caplog.text
    assert not is_signed_in(client)


def test_the_sign_in_page_explains_a_missing_email(client, db):
    response = client.post(reverse("login"), {"username": "", "password": PASSWORD})

    assert response.status_code == 200
    assert 'href="#id_username"' in response.text


def test_someone_signed_in_who_opens_the_sign_in_page_goes_home(client, programme):
    sign_in(client, programme.coach.email)

    response = client.get(reverse("login"))

    assert response.status_code == 302


# Throttling


def test_eight_wrong_passwords_lock_that_account_out_from_that_address(client, programme):
    email = programme.coach.email
    fail(client, email, LIMIT - 1)
    assert sign_in(client, email, "not-the-password").status_code == 429

    response = sign_in(client, email)

    assert is_locked_out(response)
    assert "Wait 20 minutes" in response.text
    assert not is_signed_in(client)


def test_seven_wrong_passwords_do_not_lock_anyone_out(client, programme):
    fail(client, programme.coach.email, LIMIT - 1)

    response = sign_in(client, programme.coach.email)

    assert response.status_code == 302
    assert is_signed_in(client)


def test_a_locked_out_account_can_still_sign_in_from_another_address(client, programme):
    fail(client, programme.coach.email, LIMIT)

    response = sign_in(client, programme.coach.email, address=ELSEWHERE)

    assert response.status_code == 302
    assert is_signed_in(client)


def test_someone_else_can_still_sign_in_from_a_locked_out_address(client, programme):
    fail(client, programme.coach.email, LIMIT)

    response = sign_in(client, programme.nurse.email)

    assert response.status_code == 302
    assert is_signed_in(client)


def test_signing_in_clears_the_count_of_wrong_passwords(client, programme):
    email = programme.coach.email
    fail(client, email, LIMIT - 1)
    assert sign_in(client, email).status_code == 302
    client.post(reverse("logout"))

    fail(client, email, LIMIT - 1)
    response = sign_in(client, email)

    assert response.status_code == 302


def test_a_lockout_lifts_after_twenty_minutes(client, programme):
    email = programme.coach.email
    with time_machine.travel(NOON, tick=False) as clock:
        fail(client, email, LIMIT)
        clock.shift(timedelta(minutes=19))
        assert is_locked_out(sign_in(client, email))

        clock.shift(timedelta(minutes=21))
        response = sign_in(client, email)
        signed_in = is_signed_in(client)

    assert response.status_code == 302
    assert signed_in


def test_changing_the_case_of_the_email_does_not_get_round_a_lockout(client, programme):
    fail(client, "coach@west.example", LIMIT)

    response = sign_in(client, "COACH@west.example", "not-the-password")

    assert is_locked_out(response)


# Session lifetime


def test_a_session_ends_after_thirty_minutes_without_a_request(client, programme):
    with time_machine.travel(NOON, tick=False) as clock:
        sign_in(client, programme.coach.email)
        clock.shift(timedelta(minutes=29))
        assert is_signed_in(client)

        clock.shift(timedelta(minutes=31))
        response = client.get("/practices/")
        signed_in = is_signed_in(client)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/practices/"
    assert not signed_in


def test_a_session_ends_after_twelve_hours_even_when_in_use(client, programme):
    with time_machine.travel(NOON, tick=False) as clock:
        sign_in(client, programme.coach.email)
        assert is_signed_in(client)  # the browser follows the redirect straight away
        for _ in range(12 * 60 // 25):
            clock.shift(timedelta(minutes=25))
            assert client.get(HOME).status_code == 200

        clock.shift(timedelta(minutes=25))
        response = client.get(HOME)
        ended = client.get(response["Location"])

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "Your session ended. Sign in again to carry on." in ended.text


# Signing out


def test_signing_out_needs_a_post_and_ends_the_session(client, programme, caplog):
    sign_in(client, programme.coach.email)
    assert client.get(reverse("logout")).status_code == 405
    assert is_signed_in(client)

    with caplog.at_level(logging.INFO, logger="microsystems.security"):
        response = client.post(reverse("logout"))

    assert response["Location"] == reverse("login")
    assert not is_signed_in(client)
    assert f"logout: user={programme.coach.pk}" in caplog.text


# Password reset and password rules


def reset_link() -> str:
    match = re.search(r"https?://[^/\s]+(/account/reset/\S+/)", str(mail.outbox[-1].body))
    assert match, mail.outbox[-1].body
    return match.group(1)


def test_a_password_reset_link_sets_a_new_password_once(client, programme):
    coach: User = programme.coach
    response = client.post(reverse("password_reset"), {"email": "COACH@west.example"})
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox[0].to == [coach.email]
    link = reset_link()

    form_page = client.get(link, follow=True)
    new_password = "lantern-orchard-42"
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})

    assert done["Location"] == reverse("password_reset_complete")
    assert sign_in(Client(), coach.email, new_password).status_code == 302
    assert sign_in(Client(), coach.email, PASSWORD).status_code == 200
    again = Client().get(link, follow=True)
    assert "This link has expired or been used" in again.text


def test_asking_for_a_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(client, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.example"})

    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Gx7-kq2", "This password is too short. It must contain at least 10 characters."),
        ("qwertyuiop", "This password is too common."),
        ("4815162342", "This password is entirely numeric."),
    ],
)
def test_a_weak_new_password_is_refused_at_the_field(client, programme, password, message):
    client.post(reverse("password_reset"), {"email": programme.coach.email})
    form_page = client.get(reset_link(), follow=True)

    response = client.post(form_page.redirect_chain[-1][0], {"new_password1": password, "new_password2": password})

    assert response.status_code == 200
    assert message in response.context["form"].errors["new_password2"]
    assert response.text.count(message) == 2  # in the summary at the top and at the field
    programme.coach.refresh_from_db()
    assert programme.coach.check_password(PASSWORD)
