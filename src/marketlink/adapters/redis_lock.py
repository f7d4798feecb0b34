"""A Redis lock for many processes on many machines: token-owned, with a TTL and a bounded wait.

The lock only keeps contention off the database. When it lapses (TTL, a paused
process) or Redis is unreachable, the row lock and the CHECK constraint still
keep a slot from being sold twice, so an unreachable Redis lets bookings proceed
unlocked rather than fail.
"""

from __future__ import annotations

import logging
import random
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from marketlink.application.errors import LockTimeout

log = logging.getLogger(__name__)

# Deletes the key only if it still holds our token: never frees a lock someone else took
# after ours expired.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class RedisLock:
    def __init__(
        self,
        client: redis.Redis,
        *,
        min_sleep: float = 0.001,
        max_sleep: float = 0.010,
        outage_backoff: float = 5.0,
    ) -> None:
        self._client = client
        self._release = client.register_script(_RELEASE)
        self._min_sleep = min_sleep
        self._max_sleep = max_sleep
        self._outage_backoff = outage_backoff
        self._down_until = 0.0

    @contextmanager
    def hold(self, key: str, *, ttl: float, wait: float) -> Iterator[None]:
        if time.monotonic() < self._down_until:
            yield  # Redis was unreachable a moment ago: the database alone keeps us correct.
            return
        token = secrets.token_hex(16)
        try:
            acquired = self._acquire(key, token, ttl, wait)
        except redis.RedisError as exc:
            self._note_outage(exc)
            yield
            return
        if not acquired:
            raise LockTimeout()
        try:
            yield
        finally:
            try:
                self._release(keys=[key], args=[token])
            except redis.RedisError as exc:
                self._note_outage(exc)  # the TTL frees the key

    def _acquire(self, key: str, token: str, ttl: float, wait: float) -> bool:
        deadline = time.monotonic() + wait
        ttl_ms = max(int(ttl * 1000), 1)
        sleep = self._min_sleep
        while True:
            if self._client.set(key, token, nx=True, px=ttl_ms):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # Short, jittered naps: waiters wake within milliseconds of a release without
            # stampeding in step (redis-py's default 100 ms poll would idle most of that).
            time.sleep(min(random.uniform(self._min_sleep, sleep), remaining))  # noqa: S311
            sleep = min(sleep * 2, self._max_sleep)

    def _note_outage(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + self._outage_backoff
        log.warning("Redis lock unavailable, relying on database row locks: %s", exc)
