"""gunicorn's threaded worker, taking only its share of the server's connections.

It also hands the GIL over sooner than Python's default (see SWITCH_INTERVAL_SECONDS).

Every gthread worker accepts from one listening socket, and the kernel wakes them
in an order of its own: the same idle worker can win most of the connections a
client pool or a proxy opens in a row. A keep-alive connection then stays where
it landed, and one worker (one interpreter, one core at most) serves many times
the clients of another; its clients wait that many times longer. Measured with
`make bench` (64 keep-alive clients, 4 workers): 44 / 11 / 7 / 2 connections per
worker, and per-client mean latencies from 70 ms to 580 ms.

Here each worker posts how many connections it holds on a board in shared
memory, and stops accepting while it holds more than one above the least loaded
live worker, so new connections go to those that have fewer.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import sys
import time
from multiprocessing.sharedctypes import SynchronizedBase
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

# A worker that has not posted for this long is gone or stuck; its count is ignored,
# so that it cannot stop the others from accepting. gthread's loop posts at least
# once a second (its poll timeout).
STALE_AFTER_MS = 5_000
# How many connections a worker may hold above the least loaded one and still accept.
SLACK = 1
# How often a worker that refuses new connections looks at the board again.
REFUSING_RECHECK_SECONDS = 0.02
# How long a thread may keep the GIL while another waits (Python's default: 5 ms). A
# thread back from the database or Redis waits for the GIL behind threads parsing
# requests; on the booking path it is the holder of the variant lock that waits, and
# every booking behind it. Measured with `make bench`, three runs each way, interleaved:
# 186-195 -> 208-227 bookings/s, lock hold 3.1-3.3 -> 2.7-3.0 ms.
SWITCH_INTERVAL_SECONDS = 0.0005

_PID, _CONNECTIONS, _POSTED_MS = range(3)


def _now_ms() -> int:
    return time.monotonic_ns() // 1_000_000


class ConnectionBoard:
    """Per worker: pid, open connections, when posted. Created before the workers fork.

    Each worker writes only its own slot; the slots are machine words, so a reader sees
    either the old value or the new one. Claiming a slot is the one step under a lock.
    """

    def __init__(self, slots: int) -> None:
        self._cells: Any = multiprocessing.RawArray(ctypes.c_longlong, 3 * slots)
        self._claim_lock: SynchronizedBase[Any] | Any = multiprocessing.Lock()
        self._slots = slots

    def claim(self, pid: int) -> int:
        """A slot for this worker: a free one, or one whose worker is gone."""
        with self._claim_lock:
            now = _now_ms()
            for slot in range(self._slots):
                owner = self._cells[3 * slot + _PID]
                if owner == 0 or now - self._cells[3 * slot + _POSTED_MS] > STALE_AFTER_MS:
                    self._write(slot, pid, 0, now)
                    return slot
        raise RuntimeError("no free slot on the connection board")

    def post(self, slot: int, pid: int, connections: int) -> int:
        """Posts on the worker's slot; returns the slot, a new one if its own was taken.

        A worker that stopped posting for a while (a stopped process) looks gone, and a
        new worker may have claimed its slot: it claims another rather than overwrite
        the newcomer's count.
        """
        if self._cells[3 * slot + _PID] != pid:
            slot = self.claim(pid)
        self._write(slot, pid, connections, _now_ms())
        return slot

    def leave(self, slot: int) -> None:
        self._write(slot, 0, 0, 0)

    def over_share(self, slot: int, connections: int) -> bool:
        """Holding more than SLACK above the least loaded live worker."""
        now = _now_ms()
        fewest = connections
        for other in range(self._slots):
            base = 3 * other
            if other == slot or self._cells[base + _PID] == 0:
                continue
            if now - self._cells[base + _POSTED_MS] > STALE_AFTER_MS:
                continue
            fewest = min(fewest, self._cells[base + _CONNECTIONS])
        return connections > fewest + SLACK

    def _write(self, slot: int, pid: int, connections: int, posted_ms: int) -> None:
        base = 3 * slot
        self._cells[base + _PID] = pid
        self._cells[base + _CONNECTIONS] = connections
        self._cells[base + _POSTED_MS] = posted_ms


class BalancedThreadWorker(ThreadWorker):  # type: ignore[misc]
    """A gthread worker that accepts only while it is not holding more than its share."""

    # Set in the master before the workers fork (see `prepare`), inherited by each.
    board: ConnectionBoard | None = None

    @classmethod
    def prepare(cls, workers: int) -> None:
        # Room for replacements starting while the workers they replace still post.
        cls.board = ConnectionBoard(slots=2 * workers + 2)

    def init_process(self) -> None:
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        if self.board is not None:
            self._pid = os.getpid()
            try:
                self._slot = self.board.claim(self._pid)
            except RuntimeError:  # no free slot: accept like a plain gthread worker
                self.board = None
        super().init_process()

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self.board is not None and not self._accepting and self.alive:
            # Refusing for now: look again soon, not at the loop's next second, or new
            # connections could sit in the backlog while every worker waits for others
            # to catch up with counts it read a moment ago.
            timeout = min(timeout, REFUSING_RECHECK_SECONDS)
        super().wait_for_and_dispatch_events(timeout)
        if self.board is None or not self.alive:
            # Shutting down: the slot was given up and may already be a new worker's.
            return
        try:
            self._slot = self.board.post(self._slot, self._pid, self.nr_conns)
        except RuntimeError:  # no free slot left: accept like a plain gthread worker
            self.board = None
            return
        if self._accepting and self.board.over_share(self._slot, self.nr_conns):
            self.set_accept_enabled(False)

    def set_accept_enabled(self, enabled: bool) -> None:
        # gthread's loop asks again on every turn while it may accept, so a refusal here
        # lasts only until the other workers have caught up.
        if enabled and self.board is not None and self.board.over_share(self._slot, self.nr_conns):
            enabled = False
        super().set_accept_enabled(enabled)

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.board is not None:
            self.board.leave(self._slot)
        super().handle_exit(sig, frame)
