"""Revoked sessions in Redis: shared by every process, each entry gone when its tokens expire."""

from __future__ import annotations

import math
from datetime import datetime

import redis

from marketlink.adapters.clock import SystemClock
from marketlink.application.ports import Clock

# Sets the key, or lengthens its life; never shortens it: revoking a session again with an
# earlier expiry must not let its tokens back in sooner.
_REVOKE = """
local ttl = redis.call('ttl', KEYS[1])
if ttl < tonumber(ARGV[1]) then
    redis.call('set', KEYS[1], '1', 'EX', ARGV[1])
end
return 1
"""

# Session ids are URL-safe base64 (no ':'), so a user's key never meets a session's.
_USER = "user:"


class RedisTokenBlocklist:
    def __init__(
        self,
        client: redis.Redis,
        clock: Clock | None = None,
        prefix: str = "marketlink:revoked:",
    ) -> None:
        self._client = client
        self._clock = clock or SystemClock()
        self._prefix = prefix
        self._revoke = client.register_script(_REVOKE)

    def revoke(self, session_id: str, expires_at: datetime) -> None:
        seconds = math.ceil((expires_at - self._clock.now()).total_seconds())
        if seconds <= 0:
            return  # its tokens have expired already: nothing left to refuse
        self._revoke(keys=[self._key(session_id)], args=[seconds])

    def revoke_user(self, user_id: int, ttl_seconds: int) -> None:
        # A later switch-off always starts a full ttl: it is never shorter than what is left.
        self._client.set(self._user_key(user_id), "1", ex=ttl_seconds)

    def restore_user(self, user_id: int) -> None:
        self._client.delete(self._user_key(user_id))

    def is_revoked(self, session_id: str, user_id: int) -> bool:
        # One round trip for both: EXISTS counts how many of the keys exist.
        return bool(self._client.exists(self._key(session_id), self._user_key(user_id)))

    def _key(self, session_id: str) -> str:
        return self._prefix + session_id

    def _user_key(self, user_id: int) -> str:
        return f"{self._prefix}{_USER}{user_id}"
