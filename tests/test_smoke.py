from django.urls import reverse


def test_home_asks_an_anonymous_visitor_to_sign_in(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_lead_sees_the_directory(client, programme):
    client.force_login(programme.lead)
    response = client.get(reverse("practices:directory"))
    assert response.status_code == 200
    assert "Amherst Medical Practice" in response.text
    assert "Crowborough Surgery" not in response.text
