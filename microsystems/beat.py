"""Exactly one beat scheduler, however many are started: a lock in Redis decides which one schedules.

Run one beat process (``celery -A microsystems beat``, the ``beat`` line of ``Procfile.dev``). If a
second is started by mistake, or as a standby on another machine, it finds the lock held and only
waits: it takes over within ``LOCK_SECONDS`` of the first one dying. The lock is renewed on every
tick (at most every ``max_interval``, 5 seconds), so it outlives a tick many times over.

Without ``REDIS_URL`` (the embedded filesystem broker, one machine) there is no lock: run one beat.
Two beats at once would only queue the periodic tasks twice, and those are idempotent (the sweep
creates each reminder once, by its unique key; a chart is drawn once per key), so the lock saves
work rather than guarding correctness.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

import redis
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler
from redis.exceptions import LockError, RedisError

log = logging.getLogger(__name__)

LOCK_NAME = "microsystems:beat"
LOCK_SECONDS = 30
STANDBY_SECONDS = 5.0


class SingleBeatScheduler(DatabaseScheduler):
    """django-celery-beat's database scheduler that runs entries only while it holds the beat lock."""

    lock_name = LOCK_NAME
    lock_seconds = LOCK_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.holding = False
        self._said_standby = False
        self._lock: Any = None
        if settings.REDIS_URL:
            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
            self._lock = client.lock(self.lock_name, timeout=self.lock_seconds, blocking=False, thread_local=False)
        super().__init__(*args, **kwargs)

    def hold(self) -> bool:
        """Take or renew the lock; True while this beat is the one that schedules."""
        if self._lock is None:
            return True
        was_holding = self.holding
        try:
            if was_holding:
                self._lock.reacquire()  # resets the expiry; raises if another beat has taken it
            self.holding = was_holding or bool(self._lock.acquire())
        except (LockError, RedisError) as error:
            self.holding = False
            if was_holding:
                log.warning("beat: lost the beat lock (%s); standing by", type(error).__name__)
        if self.holding and not was_holding:
            log.info("beat: holds the beat lock; scheduling")
        elif not self.holding and not self._said_standby:
            self._said_standby = True
            log.info("beat: another beat holds the lock; standing by")
        return self.holding

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self.hold():
            return STANDBY_SECONDS
        return float(super().tick(*args, **kwargs))

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._lock is not None and self.holding:
                with suppress(LockError, RedisError):  # expired or unreachable: it lapses by itself
                    self._lock.release()
                self.holding = False
