"""A Redis lock for many processes on many machines: token-owned, with a TTL and a bounded wait.

The lock only keeps contention off the database. When it lapses (TTL, a paused
process) or Redis is unreachable, the row lock and the CHECK constraint still
keep a slot from being sold twice, so an unreachable Redis lets bookings proceed
unlocked rather than fail.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from marketlink.application.errors import LockTimeout

log = logging.getLogger(__name__)

# Deletes the key only if it still holds our token (never frees a lock someone else took
# after ours expired), then leaves one wake-up token for the longest waiter. The wake-up
# list is reset first, so stale tokens never pile up, and expires with the lock's TTL.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    redis.call('del', KEYS[1], KEYS[2])
    redis.call('rpush', KEYS[2], '1')
    redis.call('pexpire', KEYS[2], ARGV[2])
    return 1
end
return 0
"""


def wake_key(key: str) -> str:
    return f"{key}:wake"


class RedisLock:
    """Waiters block in BLPOP on the lock's wake-up list instead of polling.

    A release hands its wake-up token to the waiter that has been blocked longest
    (Redis serves BLPOP clients first come, first served), so the next owner starts
    within a round trip and idle waiters cost neither CPU nor Redis commands. A lock
    that lapses through its TTL sends no token: waiters also retry every `max_nap`.
    (redis-py's own Lock polls every 100 ms, which idles the hot variant between owners.)
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        max_nap: float = 0.05,
        outage_backoff: float = 5.0,
    ) -> None:
        self._client = client
        self._release = client.register_script(_RELEASE)
        self._max_nap = max_nap
        self._outage_backoff = outage_backoff
        self._down_until = 0.0

    @contextmanager
    def hold(self, key: str, *, ttl: float, wait: float) -> Iterator[None]:
        if time.monotonic() < self._down_until:
            yield  # Redis was unreachable a moment ago: the database alone keeps us correct.
            return
        token = secrets.token_hex(16)
        ttl_ms = max(int(ttl * 1000), 1)
        try:
            acquired = self._acquire(key, token, ttl_ms, wait)
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
                self._release(keys=[key, wake_key(key)], args=[token, ttl_ms])
            except redis.RedisError as exc:
                self._note_outage(exc)  # the TTL frees the key

    def _acquire(self, key: str, token: str, ttl_ms: int, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while True:
            if self._client.set(key, token, nx=True, px=ttl_ms):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # Redis takes fractional BLPOP timeouts (>= 6.0); 0 would mean "forever".
            nap = max(min(remaining, self._max_nap), 0.001)
            self._client.blpop([wake_key(key)], timeout=nap)

    def _note_outage(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + self._outage_backoff
        log.warning("Redis lock unavailable, relying on database row locks: %s", exc)
