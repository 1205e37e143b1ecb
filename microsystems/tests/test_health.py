"""``/healthz`` and ``/readyz``: no login, no session, quick, and a 503 that names what is down.

A service that is down is a closed port: a port just bound and released, where nothing listens.
"""

from __future__ import annotations

import json
import socket
import time

import environ
import pytest
from django.db.utils import ConnectionHandler

from microsystems import health

REDIS_OPTIONS = {
    "CLIENT_CLASS": "django_redis.client.DefaultClient",
    "SOCKET_CONNECT_TIMEOUT": 0.5,
    "SOCKET_TIMEOUT": 0.5,
}


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def broker_folders(settings, tmp_path):
    """The filesystem transport's folders, as ``make var`` creates them (with Redis, as in CI, unused)."""
    for name in ("in", "out"):
        (tmp_path / name).mkdir()
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path / "in"),
        "data_folder_out": str(tmp_path / "out"),
    }


def readyz(client):
    started = time.monotonic()
    response = client.get("/readyz")
    return response, json.loads(response.content), time.monotonic() - started


def test_healthz_answers_without_login_session_or_query(client):
    response = client.get("/healthz")  # without the ``db`` fixture, any query would raise
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert "sessionid" not in response.cookies


def test_the_checks_answer_a_signed_in_lead_without_asking_for_two_factor(client, programme, settings, broker_folders):
    settings.REQUIRE_TWO_FACTOR = True
    client.force_login(programme.lead)
    assert client.get("/").status_code == 302  # the lead is asked for a code everywhere else
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_readyz_is_200_when_the_database_cache_and_broker_answer(client, db, broker_folders):
    response, body, seconds = readyz(client)
    assert response.status_code == 200, body
    assert body == {"database": "ok", "cache": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert seconds < 1


def test_readyz_names_the_database_when_it_is_on_a_closed_port(client, db, broker_folders, monkeypatch):
    url = f"postgres://postgres@127.0.0.1:{closed_port()}/microsystems"
    closed = ConnectionHandler({"default": environ.Env.db_url_config(url)})
    monkeypatch.setattr(health, "connections", closed)
    try:
        response, body, seconds = readyz(client)
    finally:
        closed.close_all()
    assert response.status_code == 503
    assert body["database"].startswith("failed: OperationalError")
    assert "refused" in body["database"].lower()
    assert body["broker"] == "ok"
    assert seconds < 2


def test_readyz_names_the_cache_when_redis_is_on_a_closed_port_even_with_errors_ignored(
    client, db, broker_folders, settings
):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": REDIS_OPTIONS,
        }
    }
    settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = True  # as in base.py: a page sees a cache miss, readyz a failure
    response, body, seconds = readyz(client)
    assert response.status_code == 503
    assert body == {
        "database": "ok",
        "cache": "failed: ConnectionError: the cache did not return the value just written",
        "broker": "ok",
    }
    assert seconds < 2


def test_readyz_names_the_cache_and_why_when_errors_are_not_ignored(client, db, broker_folders, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": REDIS_OPTIONS,
        }
    }
    settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = False
    response, body, _ = readyz(client)
    assert response.status_code == 503
    assert body["cache"].startswith("failed: ConnectionError")
    assert "refused" in body["cache"].lower()


def test_readyz_names_the_broker_when_redis_is_on_a_closed_port(client, db, settings):
    settings.CELERY_BROKER_URL = f"redis://:s3cret-password@127.0.0.1:{closed_port()}/0"
    response, body, seconds = readyz(client)
    assert response.status_code == 503
    assert body["database"] == body["cache"] == "ok"
    assert body["broker"].startswith("failed: ConnectionError")
    assert "s3cret" not in response.text
    assert seconds < 2


def test_readyz_gives_up_on_a_broker_that_accepts_connections_and_never_answers(client, db, settings):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen()
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{hung.getsockname()[1]}/0"
        response, body, seconds = readyz(client)
    assert response.status_code == 503
    assert body["broker"] == "failed: TimeoutError: Timeout reading from socket"
    assert seconds < 1.5


def test_readyz_names_the_broker_when_the_filesystem_transport_has_no_folder(client, db, settings, tmp_path):
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(tmp_path / "missing"),
        "data_folder_out": str(tmp_path / "missing"),
    }
    response, body, _ = readyz(client)
    assert response.status_code == 503
    missing = tmp_path / "missing"
    assert body["broker"] == f"failed: FileNotFoundError: the broker's folder {missing} is missing or not writable"


def test_readyz_logs_the_whole_error_for_the_operator(client, db, settings, caplog):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"
    client.get("/readyz")
    failure = next(r for r in caplog.records if r.name == "microsystems.health")
    assert failure.getMessage() == "readyz: the broker check failed"
    assert failure.exc_info is not None


def test_credentials_in_an_error_are_hidden():
    error = ConnectionError("cannot reach redis://user:hunter2@10.0.0.5:6379/0 (password=hunter2 host=x)\nmore")
    assert health._reason(error) == "cannot reach redis://***@10.0.0.5:6379/0 (password=*** host=x)"


def test_health_checks_are_exempt_from_the_https_redirect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/account/login/").status_code == 301
