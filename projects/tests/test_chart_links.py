"""Signed chart links: served from storage without a session, only while valid, and only for chart files."""

import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from projects.chart_links import PREFIX, signed_url

KEY = "a" * 64
NAME = f"charts/{KEY}-run.png"


@pytest.fixture
def stored():
    default_storage.save(NAME, ContentFile(b"\x89PNG fake"))
    yield NAME
    default_storage.delete(NAME)


def test_a_signed_link_serves_the_file_without_signing_in(db, client, stored, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(signed_url(stored))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png" and response.content == b"\x89PNG fake"
    assert response["ETag"] == f'"{KEY}"' and response["Cache-Control"] == "private, max-age=3600"


def test_the_same_hour_gives_the_same_link_so_the_browser_cache_works(stored):
    now = time.time() // 3600 * 3600
    assert signed_url(stored, now=now + 1) == signed_url(stored, now=now + 3000)


def test_a_revalidation_with_the_etag_is_not_modified(client, stored):
    response = client.get(signed_url(stored), headers={"If-None-Match": f'"{KEY}"'})
    assert response.status_code == 304


def test_an_expired_link_is_not_found(client, stored):
    assert client.get(signed_url(stored, now=time.time() - 14 * 3600)).status_code == 404


def test_a_tampered_link_is_not_found(client, stored):
    url = signed_url(stored)
    assert client.get(url[:-2] + ("AA" if not url.endswith("AA") else "BB")).status_code == 404
    assert client.get(PREFIX + "charts/" + KEY + "-run.png").status_code == 404


def test_a_signed_link_to_anything_but_a_chart_is_not_found(client):
    default_storage.save("agreements/secret.pdf", ContentFile(b"%PDF"))
    assert client.get(signed_url("agreements/secret.pdf")).status_code == 404
    assert client.get(signed_url("../settings.py")).status_code == 404


def test_a_missing_file_is_not_found(client):
    assert client.get(signed_url(f"charts/{'b' * 64}-xmr.svg")).status_code == 404


def test_a_post_is_refused(client, stored):
    assert client.post(signed_url(stored)).status_code == 404


def test_a_signed_link_serves_a_programme_report_chart(db, client):
    name = f"charts/{KEY}-report.png"
    default_storage.save(name, ContentFile(b"\x89PNG report"))
    try:
        response = client.get(signed_url(name))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png" and response.content == b"\x89PNG report"
    finally:
        default_storage.delete(name)


def test_a_report_chart_is_only_ever_a_png(client):
    name = f"charts/{KEY}-report.svg"
    default_storage.save(name, ContentFile(b"<svg/>"))
    try:
        assert client.get(signed_url(name)).status_code == 404
    finally:
        default_storage.delete(name)
