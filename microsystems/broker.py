"""Queue a Celery task without letting a down or hung broker fail the request that asked.

The broker's timeouts are short (settings: ``CELERY_BROKER_TRANSPORT_OPTIONS``), so a
publish gives up within about a second and a half; the work is already in the database,
and a periodic sweep queues whatever was left behind (charts: ``requeue_lost_charts``;
notifications: the notification sweep).
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)

try:
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - redis is installed with Celery's Redis extra
    RedisError = OperationalError  # type: ignore[misc,assignment]

# What a broker that is down or hung raises; a task's own errors (an eager task in tests) still propagate.
BROKER_ERRORS = (OperationalError, RedisError, OSError)


def publish(task: Any, *args: Any, **kwargs: Any) -> bool:
    """``task.delay(*args, **kwargs)``; False (logged) when the broker could not take it."""
    try:
        task.delay(*args, **kwargs)
    except BROKER_ERRORS:
        log.warning("could not queue %s (a sweep will pick it up)", getattr(task, "name", task), exc_info=True)
        return False
    return True
