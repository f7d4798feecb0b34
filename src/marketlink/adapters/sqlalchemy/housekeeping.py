"""Occasional clean-up of rows that stopped mattering, without a scheduler."""

from __future__ import annotations

import threading
import time


class Every:
    """True at most once per `seconds` (per process), for whichever caller asks first.

    The stores purge their expired rows on the side of ordinary calls; this keeps the
    purge to one DELETE now and then instead of one per request.
    """

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._next = 0.0
        self._guard = threading.Lock()

    def due(self) -> bool:
        now = time.monotonic()
        with self._guard:
            if now < self._next:
                return False
            self._next = now + self._seconds
            return True
