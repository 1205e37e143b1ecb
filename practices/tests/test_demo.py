"""The demo programme: believable, safe to build twice, and every login works."""

import json

import pytest
from django.core.management import call_command

from microsystems.models import User
from practices.demo import DEMO_PASSWORD
from practices.models import Commissioner, Engagement, EngagementChange, Pcn, Practice, PracticeMembership


def seed_json(capsys) -> list[dict]:
    call_command("seed_demo", "--json")
    return json.loads(capsys.readouterr().out)


@pytest.mark.django_db
def test_the_demo_models_west_kent_and_a_second_commissioner(capsys):
    logins = seed_json(capsys)

    west = Commissioner.objects.get(ods_code="99J")
    active = Practice.objects.filter(commissioner=west, ods_status="A")
    assert 45 <= active.count() <= 60
    assert Pcn.objects.filter(commissioner=west, practices__isnull=False).distinct().count() == 8
    engagements = set(active.values_list("engagement", flat=True))
    assert engagements == set(Engagement.values)
    assert set(active.values_list("cohort", flat=True)) >= {"early_adopter", "late_majority"}
    assert Practice.objects.filter(commissioner__ods_code="99K").exists()
    assert PracticeMembership.objects.values("practice").distinct().count() >= 6

    roles = {(login["role"], login["commissioner"]) for login in logins}
    for commissioner in ("99J", "99K"):
        assert {("lead", commissioner), ("coach", commissioner), ("finance", commissioner)} <= roles
    assert {login["role"] for login in logins} == {"lead", "coach", "practice", "finance", "admin"}
    assert all(set(login) == {"email", "password", "role", "commissioner", "practice"} for login in logins)
    assert all(login["practice"] for login in logins if login["role"] == "practice")
    assert all(login["practice"] is None for login in logins if login["role"] != "practice")


@pytest.mark.django_db
def test_seeding_twice_never_duplicates(capsys):
    first = seed_json(capsys)
    counts = [model.objects.count() for model in (User, Practice, Pcn, PracticeMembership, EngagementChange)]
    second = seed_json(capsys)
    assert [model.objects.count() for model in (User, Practice, Pcn, PracticeMembership, EngagementChange)] == counts
    assert first == second


@pytest.mark.django_db
def test_every_demo_login_signs_in_with_its_password(client, capsys):
    for login in seed_json(capsys):
        assert login["password"] == DEMO_PASSWORD
        response = client.post("/account/login/", {"username": login["email"], "password": login["password"]})
        assert response.status_code == 302, login["email"]
        client.post("/account/logout/")
