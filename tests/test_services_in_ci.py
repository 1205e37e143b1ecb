"""In CI the suite must run on the real services: these fail, never skip, when CI=true."""

import os

import pytest
from django.core.cache import cache, caches
from django.db import connection

IN_CI = os.environ.get("CI") == "true"


def test_ci_runs_on_postgresql(db):
    if not IN_CI and connection.vendor != "postgresql":
        pytest.skip("PostgreSQL is checked in CI (set DATABASE_URL to run it here).")
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("select 1")
        assert cursor.fetchone() == (1,)


def test_ci_runs_on_redis(settings):
    if not IN_CI and not settings.REDIS_URL:
        pytest.skip("Redis is checked in CI (set REDIS_URL to run it here).")
    assert settings.REDIS_URL.startswith("redis://")
    assert settings.CELERY_BROKER_URL == settings.REDIS_URL
    cache.set("ci-probe", "here", 5)
    assert cache.get("ci-probe") == "here"
    assert "redis" in type(caches["default"]).__module__
