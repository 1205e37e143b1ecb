"""Observability settings: logging (plain or JSON lines), request ids. Imported at the end of ``base``.

``LOG_FORMAT=json`` writes one JSON object a line (time, level, logger, message, request_id),
for a log collector; the default is plain text for a terminal. Either way each line carries
the id of the request it belongs to (``microsystems.logs``), in the web process and in the
tasks that request queued.
"""

from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

__all__ = ["LOG_FORMAT", "LOGGING", "SECURE_REDIRECT_EXEMPT"]

_env = environ.Env()

LOG_FORMAT = _env("LOG_FORMAT", default="plain").lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}.")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "microsystems.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "microsystems.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": _env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # SQL with its parameters (DEBUG) would put what people typed in the log.
        "django.db.backends": {"level": "INFO"},
        "microsystems.security": {"level": "INFO"},
        # One line a request (at LOG_LEVEL) for a log collector; in a terminal the server already prints one.
        "microsystems.requests": {"level": "NOTSET" if LOG_FORMAT == "json" else "WARNING"},
    },
}
# Celery workers and beat log through LOGGING too: microsystems.logs.configure_worker_logging.

# A load balancer probes over plain HTTP: the health checks answer it rather than redirect to HTTPS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
