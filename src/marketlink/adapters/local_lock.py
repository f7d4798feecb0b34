"""The embedded default's lock: per-key mutexes inside one process."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from marketlink.application.errors import LockTimeout


class InProcessLock:
    """Serialises holders of one key within this process; `ttl` cannot lapse here."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, key: str, *, ttl: float, wait: float) -> Iterator[None]:
        lock = self._checkout(key)
        try:
            if not lock.acquire(timeout=max(wait, 0)):
                raise LockTimeout()
            try:
                yield
            finally:
                lock.release()
        finally:
            self._checkin(key)

    def _checkout(self, key: str) -> threading.Lock:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
            return lock

    def _checkin(self, key: str) -> None:
        # Forget a key nobody waits on, so the table does not grow with every variant.
        with self._guard:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
