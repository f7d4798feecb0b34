"""A Redis lock for many processes on many machines: token-owned, first come first served.

The lock only keeps contention off the database. When it lapses (TTL, a paused
process) or Redis is unreachable, the row lock and the CHECK constraint still
keep a slot from being sold twice, so an unreachable Redis lets bookings proceed
unlocked rather than fail.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis

from marketlink.application.errors import LockTimeout

log = logging.getLogger(__name__)

# Shared by the scripts below. KEYS[1] is the lock, KEYS[2] its queue of waiters; a
# waiter's entry is "<token>|<the Redis time, in ms, after which it has given up>".
# Handing on pops the first waiter still waiting, makes it the owner, and wakes it
# through its own list (<lock>:wake:<token>), on which it blocks. A single Redis
# instance is assumed: the wake-up keys are derived from the lock's name.
_HAND_ON = """
local function now_ms()
    local now = redis.call('time')
    return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
end

local function hand_on(ttl_ms)
    local now = now_ms()
    while true do
        local entry = redis.call('lpop', KEYS[2])
        if not entry then
            redis.call('del', KEYS[1])
            return false
        end
        local bar = string.find(entry, '|', 1, true)
        local waiter = string.sub(entry, 1, bar - 1)
        if tonumber(string.sub(entry, bar + 1)) > now then
            redis.call('set', KEYS[1], waiter, 'px', ttl_ms)
            local wake = KEYS[1] .. ':wake:' .. waiter
            redis.call('rpush', wake, '1')
            redis.call('pexpire', wake, ttl_ms)
            return waiter
        end
    end
end
"""

# ARGV: token, ttl_ms, wait_ms. Returns 1 when the caller owns the lock, else its entry
# in the queue. A free lock with waiters queued has lapsed: it goes to them first.
_ACQUIRE = (
    _HAND_ON
    + """
if redis.call('exists', KEYS[1]) == 0 then
    if redis.call('llen', KEYS[2]) > 0 then
        hand_on(tonumber(ARGV[2]))
    end
    if redis.call('exists', KEYS[1]) == 0 then
        redis.call('set', KEYS[1], ARGV[1], 'px', ARGV[2])
        return 1
    end
end
local entry = ARGV[1] .. '|' .. (now_ms() + tonumber(ARGV[3]))
redis.call('rpush', KEYS[2], entry)
redis.call('pexpire', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]))
return entry
"""
)

# ARGV: token, ttl_ms. After a nap without a wake-up: is the lock ours, or has it lapsed
# with nobody left to hand it on (its owner died)? Then it goes to the queue's head.
_CHECK = (
    _HAND_ON
    + """
if redis.call('exists', KEYS[1]) == 0 then
    hand_on(tonumber(ARGV[2]))
end
if redis.call('get', KEYS[1]) == ARGV[1] then
    redis.call('del', KEYS[1] .. ':wake:' .. ARGV[1])
    return 1
end
return 0
"""
)

# ARGV: token, entry. The wait is over: keep the lock if it was handed over meanwhile,
# otherwise leave the queue.
_LEAVE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    redis.call('del', KEYS[1] .. ':wake:' .. ARGV[1])
    return 1
end
redis.call('lrem', KEYS[2], 0, ARGV[2])
return 0
"""

# ARGV: token, ttl_ms. Only the owner releases (never a lock someone else took after
# ours lapsed), handing it straight to the next waiter.
_RELEASE = (
    _HAND_ON
    + """
if redis.call('get', KEYS[1]) ~= ARGV[1] then
    return 0
end
hand_on(tonumber(ARGV[2]))
return 1
"""
)


def queue_key(key: str) -> str:
    return f"{key}:queue"


def wake_key(key: str, token: str) -> str:
    return f"{key}:wake:{token}"


class _FifoMutex:
    """A mutex that goes to its waiters in the order they came, handed over directly."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float) -> bool:
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True
        with self._guard:
            if turn in self._waiters:
                self._waiters.remove(turn)
                return False
        return True  # handed over just as the wait ran out: ours all the same

    def release(self) -> None:
        with self._guard:
            if self._waiters:
                self._waiters.popleft().release()  # the next waiter owns it now
            else:
                self._held = False


@dataclass
class _Cohort:
    """This process's threads after one key: they queue here, one at a time in Redis."""

    mutex: _FifoMutex = field(default_factory=_FifoMutex)
    users: int = 0  # holding or waiting
    token: str | None = None  # the Redis lock, when this process holds it
    acquired_at: float = 0.0
    handoffs: int = 0


class RedisLock:
    """Waiters queue in arrival order; a release makes the next one the owner and wakes it.

    The new owner starts as soon as its blocking pop returns: no retry of the SET, and
    no newcomer can slip in ahead of those already waiting, which kept some waiters
    waiting many times longer than the rest. A waiter that gives up leaves the queue; one
    that died is skipped once its wait is over. A lock that lapses (its owner died) is
    handed on by the next waiter to wake from a nap, every `max_nap` seconds at most.

    Within one process, threads after the same key first queue on a local mutex, so only
    one of them waits in Redis; and an owner whose neighbours are waiting passes the
    Redis lock to the next of them without releasing it, up to `max_local_handoffs`
    times in a row and for at most half the TTL, then lets other processes have it. A
    local hand-over costs no Redis round trip and no wake-up across processes.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        max_nap: float = 0.25,
        outage_backoff: float = 5.0,
        max_local_handoffs: int = 8,
    ) -> None:
        self._client = client
        self._acquire_script = client.register_script(_ACQUIRE)
        self._check = client.register_script(_CHECK)
        self._leave = client.register_script(_LEAVE)
        self._release = client.register_script(_RELEASE)
        self._max_nap = max_nap
        self._outage_backoff = outage_backoff
        self._down_until = 0.0
        self._max_local_handoffs = max_local_handoffs
        self._guard = threading.Lock()
        self._cohorts: dict[str, _Cohort] = {}

    @contextmanager
    def hold(self, key: str, *, ttl: float, wait: float) -> Iterator[None]:
        deadline = time.monotonic() + wait
        ttl_ms = max(int(ttl * 1000), 1)
        cohort = self._join(key)
        try:
            if not cohort.mutex.acquire(timeout=max(wait, 0)):
                raise LockTimeout()
            try:
                self._own(key, cohort, ttl, ttl_ms, deadline)
                yield
            finally:
                if cohort.token is not None and not self._pass_on(cohort, ttl):
                    self._give_back(key, cohort, ttl_ms)
                cohort.mutex.release()
        finally:
            self._quit(key, cohort, ttl_ms)

    def _own(self, key: str, cohort: _Cohort, ttl: float, ttl_ms: int, deadline: float) -> None:
        """Makes sure this process holds the Redis lock (or Redis is down) for the holder."""
        if cohort.token is not None:
            if time.monotonic() - cohort.acquired_at < ttl / 2:
                cohort.handoffs += 1
                return  # handed over by the previous holder in this process
            self._give_back(key, cohort, ttl_ms)  # held long enough: queue again in Redis
        if time.monotonic() < self._down_until:
            return  # Redis was unreachable a moment ago: the database alone keeps us correct.
        token = secrets.token_hex(16)
        try:
            acquired = self._acquire(key, token, ttl_ms, deadline - time.monotonic())
        except redis.RedisError as exc:
            self._note_outage(exc)
            return
        if not acquired:
            raise LockTimeout()
        cohort.token, cohort.acquired_at, cohort.handoffs = token, time.monotonic(), 0

    def _pass_on(self, cohort: _Cohort, ttl: float) -> bool:
        with self._guard:
            others_waiting = cohort.users > 1
        return (
            others_waiting
            and cohort.handoffs < self._max_local_handoffs
            and time.monotonic() - cohort.acquired_at < ttl / 2
        )

    def _give_back(self, key: str, cohort: _Cohort, ttl_ms: int) -> None:
        token, cohort.token = cohort.token, None
        if token is None:
            return
        try:
            self._release(keys=[key, queue_key(key)], args=[token, ttl_ms])
        except redis.RedisError as exc:
            self._note_outage(exc)  # the TTL frees the key

    def _join(self, key: str) -> _Cohort:
        with self._guard:
            cohort = self._cohorts.setdefault(key, _Cohort())
            cohort.users += 1
            return cohort

    def _quit(self, key: str, cohort: _Cohort, ttl_ms: int) -> None:
        with self._guard:
            cohort.users -= 1
            if cohort.users:
                return
            # Nobody left in this process: forget the key, and free a lock kept for a
            # neighbour who gave up waiting meanwhile.
            del self._cohorts[key]
            kept = cohort.token is not None
        if kept:
            self._give_back(key, cohort, ttl_ms)

    def _acquire(self, key: str, token: str, ttl_ms: int, wait: float) -> bool:
        keys = [key, queue_key(key)]
        deadline = time.monotonic() + wait
        entry = self._acquire_script(keys=keys, args=[token, ttl_ms, max(int(wait * 1000), 1)])
        if entry == 1:
            return True
        while (remaining := deadline - time.monotonic()) > 0:
            # Redis takes fractional BLPOP timeouts (>= 6.0); 0 would mean "forever".
            nap = max(min(remaining, self._max_nap), 0.001)
            if self._client.blpop([wake_key(key, token)], timeout=nap):
                return True  # handed over by the previous owner's release
            if self._check(keys=keys, args=[token, ttl_ms]) == 1:
                return True
        return bool(self._leave(keys=keys, args=[token, entry]) == 1)

    def _note_outage(self, exc: Exception) -> None:
        self._down_until = time.monotonic() + self._outage_backoff
        log.warning("Redis lock unavailable, relying on database row locks: %s", exc)
