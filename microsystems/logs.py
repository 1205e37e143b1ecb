"""Request ids and log lines: one id per request, on every log line it causes, here and in its tasks.

``RequestIdMiddleware`` takes the proxy's ``X-Request-ID`` when it looks like an id (else makes
one), keeps it in a context variable for the length of the request and returns it in the
response header. ``RequestIdFilter`` puts it on every log record. The Celery signal receivers
carry it into the tasks the request queues: a message header on publishing, the context variable
again while the worker runs the task. ``JsonFormatter`` writes a record as one JSON line
(``LOG_FORMAT=json``).

Log lines name objects by id, never by what people typed: workbook sections, session notes and
benefits are free text that may identify a patient.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

from celery._state import get_current_task
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve

HEADER = "X-Request-ID"
TASK_HEADER = "request_id"
# What a proxy's id may look like: a UUID, hex, or similar token; anything else (too long, spaces,
# new lines that would forge a log line) is replaced by a fresh id.
SANE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}$")
# Probes and files: polled or fetched many times a page, and not worth a line each.
QUIET_PREFIXES = ("/healthz", "/readyz", "/static/", "/charts/")
SECRET_URL_PARTS = {"token", "uidb64"}

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_task_tokens: dict[str, Token[str | None]] = {}

request_log = logging.getLogger("microsystems.requests")


def current_request_id() -> str | None:
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def sane_request_id(value: str | None) -> str:
    """The proxy's id when it looks like one, else a fresh id."""
    return value if value and SANE_ID.match(value) else new_request_id()


@contextmanager
def request_id_bound(value: str | None) -> Iterator[None]:
    """Run a block with ``value`` as the current request id (management commands, tests)."""
    token = _request_id.set(value)
    try:
        yield
    finally:
        _request_id.reset(token)


class RequestIdMiddleware:
    """Give each request an id, for its log lines, its tasks and the response header; log one line per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = sane_request_id(request.headers.get(HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        started = time.perf_counter()
        with request_id_bound(request_id):
            response = self.get_response(request)
            response[HEADER] = request_id
            if request_log.isEnabledFor(logging.INFO) and not request.path.startswith(QUIET_PREFIXES):
                path = logged_path(request)
                request_log.info(
                    "%s %s %s",
                    request.method,
                    path,
                    response.status_code,
                    extra={
                        "method": request.method,
                        "path": path,
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
        return response


def logged_path(request: HttpRequest) -> str:
    """The path as a log may keep it: no query string (searches and filters carry what people typed),
    and the secret parts of links (password reset, invitation, calendar feed) masked."""
    path = request.path
    try:
        match = request.resolver_match or resolve(request.path_info)
    except Resolver404:
        return path
    for name, value in match.kwargs.items():
        if name in SECRET_URL_PARTS and value:
            path = path.replace(str(value), "***")
    return path


class RequestIdFilter(logging.Filter):
    """Add ``request_id`` (``-`` outside a request or task) and, in a task, ``task`` and ``task_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        task = get_current_task()
        if task is not None and task.request.id is not None:
            record.task, record.task_id = task.name, task.request.id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, and what a few callers add."""

    # Only these extra fields: a record's other attributes can hold a whole request (``django.request``).
    EXTRA = ("task", "task_id", "method", "path", "status", "status_code", "duration_ms")

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", "-")
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if request_id == "-" else request_id,
        }
        line.update({name: getattr(record, name) for name in self.EXTRA if hasattr(record, name)})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


# Celery: the id travels with the message, and is the worker's current id while the task runs.


@before_task_publish.connect(dispatch_uid="microsystems.logs.add_request_id")
def add_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    request_id = _request_id.get()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


def _sent_request_id(task: Any) -> str | None:
    request = task.request
    value = (getattr(request, "headers", None) or {}).get(TASK_HEADER) or getattr(request, TASK_HEADER, None)
    return value if isinstance(value, str) and SANE_ID.match(value) else None


@task_prerun.connect(dispatch_uid="microsystems.logs.bind_task_request_id")
def bind_task_request_id(task_id: str, task: Any, **kwargs: Any) -> None:
    """The id of the request that queued the task; a task run in-process (eager) keeps its caller's."""
    request_id = _sent_request_id(task)
    if request_id is None and task.request.is_eager:
        request_id = _request_id.get()
    _task_tokens[task_id] = _request_id.set(request_id)


@task_postrun.connect(dispatch_uid="microsystems.logs.unbind_task_request_id")
def unbind_task_request_id(task_id: str, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id, None)
    try:
        if token is not None:
            _request_id.reset(token)
    except ValueError:  # set in another context (a pool that moves tasks between threads): clear it instead
        _request_id.set(None)


@setup_logging.connect(dispatch_uid="microsystems.logs.configure_worker_logging")
def configure_worker_logging(loglevel: int | str | None = None, **kwargs: Any) -> None:
    """Workers and beat log through ``settings.LOGGING`` (plain or JSON) rather than Celery's own format;
    ``--loglevel`` still sets the level."""
    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)
