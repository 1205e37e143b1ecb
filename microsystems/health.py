"""Health checks for load balancers and orchestrators: no login, no session, cheap enough to poll every few seconds.

``/healthz`` answers while the process can serve at all. ``/readyz`` also reaches the database
(``SELECT 1``), the cache (writes and reads back a tiny key) and the Celery broker (a Redis
``PING``, or the filesystem transport's folders), each with a short timeout, and answers 503
naming what failed. The body says why in a line with any credentials taken out; the full error
goes to the log.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

log = logging.getLogger(__name__)

# The broker's timeouts; the Redis cache has the same (settings). A down server refuses at once; a hung
# one costs 0.5 s a call: readyz answers within about 1.5 s (cache write and read, broker ping).
TIMEOUT_SECONDS = 0.5
# This process's own key, so two processes polling at once never read each other's value.
CACHE_KEY = f"microsystems:readyz:{socket.gethostname()}:{os.getpid()}"
_CREDENTIALS = [(re.compile(r"://[^/@\s]+@"), "://***@"), (re.compile(r"password=\S+", re.IGNORECASE), "password=***")]


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    results = {name: _run(name, check) for name, check in CHECKS.items()}
    ready = all(result == "ok" for result in results.values())
    return JsonResponse(results, status=200 if ready else 503)


def check_database() -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache() -> None:
    # A Redis cache set to ignore its errors fails quietly: reading the value back is the test.
    token = uuid.uuid4().hex
    cache.set(CACHE_KEY, token, timeout=60)
    if cache.get(CACHE_KEY) != token:
        raise ConnectionError("the cache did not return the value just written")


def check_broker() -> None:
    url: str = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
        for key in ("data_folder_in", "data_folder_out"):
            folder = Path(str(options.get(key, "")))
            if not (folder.is_dir() and os.access(folder, os.W_OK)):
                raise FileNotFoundError(f"the broker's folder {folder} is missing or not writable")
    elif url.startswith(("redis://", "rediss://", "unix://")):
        client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
        try:
            client.ping()
        finally:
            client.close()
    else:
        with Connection(url, connect_timeout=TIMEOUT_SECONDS) as connection:
            connection.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
}


def _run(name: str, check: Callable[[], None]) -> str:
    """ "ok", or why not: the error's type and first line, without credentials."""
    try:
        check()
    except Exception as error:  # any failure means not ready; the probe must answer, not raise
        log.warning("readyz: the %s check failed", name, exc_info=True)
        return f"failed: {type(error).__name__}" + (f": {reason}" if (reason := _reason(error)) else "")
    return "ok"


def _reason(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    reason = lines[0] if lines else ""
    for credentials, hidden in _CREDENTIALS:
        reason = credentials.sub(hidden, reason)
    return reason[:200]
