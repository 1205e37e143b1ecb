"""Each role's home page, and the security headers every page carries."""

import re

import pytest
from django.urls import reverse


@pytest.mark.parametrize(
    ("who", "heading"),
    [
        ("lead", "Your programme"),
        ("coach", "Your caseload"),
        ("finance", "Finance"),
        ("nurse", "Your practice"),
        ("admin", "Site administration"),
    ],
)
def test_each_role_has_a_home_page(client, programme, who, heading):
    client.force_login(getattr(programme, who))
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert heading in response.text


def test_the_leads_home_counts_only_their_own_commissioners_practices(client, programme):
    client.force_login(programme.lead)
    response = client.get(reverse("home"))
    counts = {row["value"]: row["count"] for row in response.context["summary"]}
    assert counts["not_approached"] == 2


def test_a_practice_member_gets_no_directory_link(client, programme):
    client.force_login(programme.nurse)
    response = client.get(reverse("home"))
    assert f'href="{reverse("practices:directory")}"' not in response.text
    assert programme.practice.get_absolute_url() in response.text


def test_pages_carry_a_content_security_policy_without_inline_script(client, programme):
    client.force_login(programme.lead)
    response = client.get(reverse("practices:directory"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", response.text)
    assert " style=" not in response.text


def test_the_login_page_has_a_skip_link_and_labelled_fields(client, db):
    response = client.get(reverse("login"))
    assert 'href="#main"' in response.text
    assert re.search(r'<label\s+for="id_username"', response.text)
    assert re.search(r'<label\s+for="id_password"', response.text)
