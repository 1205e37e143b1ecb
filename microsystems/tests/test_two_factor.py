"""Two-factor login: who is asked, setting up an app, codes from the app and backup codes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from microsystems.models import AuditEntry, User
from microsystems.tests.factories import PASSWORD
from microsystems.twofactor_forms import WRONG_CODE

ADDRESS = "10.0.0.1"
NOON = datetime(2025, 3, 3, 12, 0, 0, tzinfo=UTC)
BACKUP_CODE = "abcd2345"


@pytest.fixture
def two_factor_required(settings):
    settings.REQUIRE_TWO_FACTOR = True


@pytest.fixture
def lead_with_app(programme, two_factor_required) -> User:
    """A lead who set up an authenticator app and has one backup code left."""
    lead = programme.lead
    TOTPDevice.objects.create(user=lead, name="Authenticator app", confirmed=True)
    backup = StaticDevice.objects.create(user=lead, name="Backup codes", confirmed=True)
    StaticToken.objects.create(device=backup, token=BACKUP_CODE)
    return lead


@pytest.fixture
def client() -> Client:
    return Client(REMOTE_ADDR=ADDRESS)


def sign_in(client: Client, user: User) -> None:
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, "the password was not accepted"


def app_code(device: TOTPDevice) -> str:
    return f"{TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token():06d}"


def wrong_code(device: TOTPDevice) -> str:
    right = app_code(device)
    return next(code for code in ("123456", "654321") if code != right)


def enter_code(client: Client, code: str, next_url: str = "/practices/"):
    return client.post(f"{reverse('two_factor')}?next={next_url}", {"code": code, "next": next_url})


# Who is asked


def test_a_lead_who_signs_in_with_a_password_is_sent_to_set_up_two_factor_before_any_page(
    client, programme, two_factor_required
):
    sign_in(client, programme.lead)

    response = client.get("/practices/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('two_factor')}?next=/practices/"

    response = client.get(response["Location"])
    assert response["Location"] == f"{reverse('two_factor_setup')}?next=%2Fpractices%2F"

    assert client.get(reverse("home")).status_code == 302


@pytest.mark.parametrize("who", ["coach", "nurse"])
def test_coaches_and_practice_staff_are_not_asked_for_a_code(client, programme, two_factor_required, who):
    sign_in(client, getattr(programme, who))

    assert client.get(reverse("home")).status_code == 200


@pytest.mark.parametrize("who", ["finance", "admin"])
def test_finance_and_staff_admins_are_asked_for_a_code(client, programme, two_factor_required, who):
    sign_in(client, getattr(programme, who))

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor"))


def test_without_the_requirement_a_lead_reaches_pages_with_a_password_alone(client, programme, settings):
    settings.REQUIRE_TWO_FACTOR = False
    sign_in(client, programme.lead)

    assert client.get("/practices/").status_code == 200


def test_an_anonymous_visitor_is_sent_to_sign_in_not_to_the_code_page(client, db):
    response = client.get(reverse("two_factor"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# Setting up an app


def test_the_set_up_page_shows_a_qr_code_and_the_secret_to_type_in(client, programme, two_factor_required):
    sign_in(client, programme.lead)

    response = client.get(reverse("two_factor_setup"))

    device = TOTPDevice.objects.get(user=programme.lead)
    assert device.name == "Authenticator app"
    assert not device.confirmed
    assert "<svg" in response.text
    assert response.context["secret"] in response.text
    assert response.context["secret"].replace(" ", "") in device.config_url
    assert 'autocomplete="one-time-code"' in response.text
    assert response["Cache-Control"].startswith("max-age=0")


def test_reloading_the_set_up_page_keeps_the_same_secret(client, programme, two_factor_required):
    sign_in(client, programme.lead)

    first = client.get(reverse("two_factor_setup")).context["secret"]
    second = client.get(reverse("two_factor_setup")).context["secret"]

    assert first == second
    assert TOTPDevice.objects.filter(user=programme.lead).count() == 1


def test_a_wrong_code_is_refused_with_a_message_and_the_app_stays_unconfirmed(client, programme, two_factor_required):
    sign_in(client, programme.lead)
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=programme.lead)

    response = client.post(reverse("two_factor_setup"), {"code": wrong_code(device)})

    assert response.status_code == 200
    assert response.text.count(WRONG_CODE) == 2  # in the summary at the top and at the field
    assert 'href="#id_code"' in response.text
    device.refresh_from_db()
    assert not device.confirmed
    assert not StaticDevice.objects.filter(user=programme.lead).exists()
    assert client.get("/practices/").status_code == 302


def test_a_right_code_turns_two_factor_on_shows_backup_codes_once_and_lets_the_lead_in(
    client, programme, two_factor_required, caplog
):
    lead = programme.lead
    sign_in(client, lead)
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=lead)

    with caplog.at_level(logging.INFO, logger="microsystems.security"):
        response = client.post(
            f"{reverse('two_factor_setup')}?next=/practices/", {"code": app_code(device), "next": "/practices/"}
        )

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('two_factor_backup_codes')}?next=%2Fpractices%2F"
    device.refresh_from_db()
    assert device.confirmed
    assert f"two-factor enabled: user={lead.pk}" in caplog.text
    assert AuditEntry.objects.filter(action="account.two_factor_enabled", actor=lead).count() == 1

    page = client.get(response["Location"])
    codes = page.context["codes"]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert all(code in page.text for code in codes)
    assert set(codes) == set(StaticToken.objects.filter(device__user=lead).values_list("token", flat=True))
    assert 'href="/practices/"' in page.text

    assert client.get(reverse("two_factor_backup_codes")).status_code == 302  # shown once only
    assert client.get("/practices/").status_code == 200


def test_someone_with_two_factor_on_cannot_replace_their_app_without_entering_a_code(client, lead_with_app):
    sign_in(client, lead_with_app)

    response = client.get(f"{reverse('two_factor_setup')}?new=1")

    assert "Two-factor login is on" in response.text
    assert "<svg" not in response.text
    assert TOTPDevice.objects.filter(user=lead_with_app).count() == 1
    assert client.post(f"{reverse('two_factor_setup')}?new=1", {"code": "123456"}).status_code == 200
    assert TOTPDevice.objects.filter(user=lead_with_app, confirmed=True).count() == 1


def test_after_entering_a_code_someone_can_move_to_a_new_app_and_the_old_one_stops_working(client, lead_with_app):
    old = TOTPDevice.objects.get(user=lead_with_app)
    with time_machine.travel(NOON, tick=False) as clock:
        sign_in(client, lead_with_app)
        enter_code(client, app_code(old))
        client.get(f"{reverse('two_factor_setup')}?new=1")
        new = TOTPDevice.objects.get(user=lead_with_app, confirmed=False)
        clock.shift(60)

        response = client.post(f"{reverse('two_factor_setup')}?new=1", {"code": app_code(new)})
        reached = client.get("/practices/")

    assert response.status_code == 302
    assert list(TOTPDevice.objects.filter(user=lead_with_app)) == [new]
    assert reached.status_code == 200


# Signing in with a code


def test_the_next_sign_in_asks_for_a_code_from_the_app(client, programme, two_factor_required):
    lead = programme.lead
    with time_machine.travel(NOON, tick=False) as clock:
        sign_in(client, lead)
        client.get(reverse("two_factor_setup"))
        device = TOTPDevice.objects.get(user=lead)
        client.post(reverse("two_factor_setup"), {"code": app_code(device)})
        client.post(reverse("logout"))
        clock.shift(60)

        sign_in(client, lead)
        asked = client.get("/practices/", follow=True)
        response = enter_code(client, app_code(device))
        reached = client.get("/practices/")

    assert asked.redirect_chain == [(f"{reverse('two_factor')}?next=/practices/", 302)]
    assert "Enter your security code" in asked.text
    assert response.status_code == 302
    assert response["Location"] == "/practices/"
    assert reached.status_code == 200


def test_a_wrong_code_at_sign_in_is_refused_and_logged(client, lead_with_app, caplog):
    sign_in(client, lead_with_app)
    device = TOTPDevice.objects.get(user=lead_with_app)

    with caplog.at_level(logging.INFO, logger="microsystems.security"):
        response = enter_code(client, wrong_code(device))

    assert response.status_code == 200
    assert response.text.count(WRONG_CODE) == 2
    assert f"two-factor code refused: user={lead_with_app.pk} from={ADDRESS}" in caplog.text
    assert client.get("/practices/").status_code == 302


def test_a_code_from_the_app_works_only_once(client, lead_with_app):
    device = TOTPDevice.objects.get(user=lead_with_app)
    with time_machine.travel(NOON, tick=False):
        sign_in(client, lead_with_app)
        code = app_code(device)
        assert enter_code(client, code).status_code == 302
        client.post(reverse("logout"))

        sign_in(client, lead_with_app)
        response = enter_code(client, code)

    assert response.status_code == 200
    assert WRONG_CODE in response.text


def test_wrong_codes_in_quick_succession_make_the_lead_wait(client, lead_with_app):
    device = TOTPDevice.objects.get(user=lead_with_app)
    with time_machine.travel(NOON, tick=False) as clock:
        sign_in(client, lead_with_app)
        enter_code(client, wrong_code(device))

        response = enter_code(client, app_code(device))
        assert response.text.count("You entered too many wrong codes. Wait 1 second, then try again.") == 2

        clock.shift(2)
        assert enter_code(client, app_code(device)).status_code == 302


def test_a_backup_code_works_once_only(client, lead_with_app):
    sign_in(client, lead_with_app)
    form = client.get(f"{reverse('two_factor')}?backup=1&next=/practices/")
    assert 'inputmode="text"' in form.text

    response = enter_code(client, BACKUP_CODE.upper()[:4] + " " + BACKUP_CODE.upper()[4:])
    assert response["Location"] == "/practices/"
    client.post(reverse("logout"))

    sign_in(client, lead_with_app)
    response = enter_code(client, BACKUP_CODE)

    assert response.status_code == 200
    assert WRONG_CODE in response.text
    assert not StaticToken.objects.filter(device__user=lead_with_app).exists()


def test_an_open_redirect_in_next_is_ignored(client, lead_with_app):
    device = TOTPDevice.objects.get(user=lead_with_app)
    sign_in(client, lead_with_app)

    response = enter_code(client, app_code(device), next_url="https://evil.example/")

    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_an_open_redirect_in_next_is_not_offered_after_set_up(client, programme, two_factor_required):
    sign_in(client, programme.lead)
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=programme.lead)

    response = client.post(
        f"{reverse('two_factor_setup')}?next=//evil.example/", {"code": app_code(device), "next": "//evil.example/"}
    )
    page = client.get(response["Location"])

    assert "evil.example" not in page.text
    assert f'href="{reverse("home")}"' in page.text


# Backup codes


def test_new_backup_codes_need_a_code_entered_first(client, lead_with_app):
    sign_in(client, lead_with_app)

    response = client.post(reverse("two_factor_backup_codes"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor"))
    assert list(StaticToken.objects.values_list("token", flat=True)) == [BACKUP_CODE]
    assert "enter a security code first" in client.get(reverse("two_factor_setup")).text


def test_new_backup_codes_replace_the_old_ones_and_are_audited(client, lead_with_app, caplog):
    device = TOTPDevice.objects.get(user=lead_with_app)
    sign_in(client, lead_with_app)
    enter_code(client, app_code(device))
    assert "Get new backup codes" in client.get(reverse("two_factor_setup")).text

    with caplog.at_level(logging.INFO, logger="microsystems.security"):
        response = client.post(reverse("two_factor_backup_codes"), follow=True)

    codes = response.context["codes"]
    assert len(codes) == 10
    assert BACKUP_CODE not in codes
    assert set(StaticToken.objects.values_list("token", flat=True)) == set(codes)
    assert StaticDevice.objects.filter(user=lead_with_app).count() == 1
    assert AuditEntry.objects.filter(action="account.backup_codes_regenerated", actor=lead_with_app).exists()
    assert f"backup codes regenerated: user={lead_with_app.pk}" in caplog.text


def test_someone_signed_in_with_a_backup_code_stays_signed_in_after_getting_new_ones(client, lead_with_app):
    sign_in(client, lead_with_app)
    enter_code(client, BACKUP_CODE)

    client.post(reverse("two_factor_backup_codes"))

    assert client.get("/practices/").status_code == 200


def test_a_coach_can_turn_on_two_factor_login_from_the_menu(client, programme, two_factor_required):
    sign_in(client, programme.coach)
    assert f'href="{reverse("two_factor_setup")}"' in client.get(reverse("home")).text
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=programme.coach)

    response = client.post(reverse("two_factor_setup"), {"code": app_code(device)}, follow=True)

    assert len(response.context["codes"]) == 10
    assert TOTPDevice.objects.get(user=programme.coach).confirmed


def test_a_coach_who_turned_two_factor_on_is_asked_for_a_code_at_the_next_sign_in(client, programme, settings):
    settings.REQUIRE_TWO_FACTOR = False
    TOTPDevice.objects.create(user=programme.coach, name="Authenticator app", confirmed=True)

    sign_in(client, programme.coach)
    response = client.get("/practices/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor"))


def test_a_coach_without_a_device_is_never_asked_for_a_code(client, programme, two_factor_required):
    sign_in(client, programme.coach)
    assert client.get("/practices/").status_code == 200
