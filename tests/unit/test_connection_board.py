"""The board on which gunicorn workers post their connections, to take only their share."""

from __future__ import annotations

import pytest

from marketlink.entrypoints import balanced_worker
from marketlink.entrypoints.balanced_worker import (
    REFUSING_RECHECK_SECONDS,
    SLACK,
    STALE_AFTER_MS,
    BalancedThreadWorker,
    ConnectionBoard,
)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    now = [1_000_000]
    monkeypatch.setattr(balanced_worker, "_now_ms", lambda: now[0])
    return now


def test_a_worker_above_the_least_loaded_by_more_than_the_slack_is_over_its_share(clock):
    board = ConnectionBoard(slots=4)
    first, second = board.claim(101), board.claim(102)
    board.post(second, 102, 3)
    assert not board.over_share(first, 3 + SLACK)
    assert board.over_share(first, 3 + SLACK + 1)
    board.post(first, 101, 3 + SLACK + 1)
    assert not board.over_share(second, 3), "the least loaded always accepts"


def test_a_lone_worker_is_never_over_its_share(clock):
    board = ConnectionBoard(slots=4)
    only = board.claim(101)
    assert not board.over_share(only, 500)


def test_a_worker_that_stopped_posting_does_not_hold_the_others_back(clock):
    board = ConnectionBoard(slots=4)
    stuck, busy = board.claim(101), board.claim(102)
    board.post(stuck, 101, 0)
    clock[0] += STALE_AFTER_MS + 1
    assert not board.over_share(busy, 50)


def test_a_worker_that_left_frees_its_slot_and_is_not_counted(clock):
    board = ConnectionBoard(slots=2)
    leaving, staying = board.claim(101), board.claim(102)
    board.leave(leaving)
    assert not board.over_share(staying, 50)
    assert board.claim(103) == leaving


def test_a_stale_slot_is_claimed_again_and_a_full_board_says_so(clock):
    board = ConnectionBoard(slots=2)
    board.claim(101)
    board.claim(102)
    with pytest.raises(RuntimeError):
        board.claim(103)
    clock[0] += STALE_AFTER_MS + 1
    assert board.claim(103) in (0, 1)


def test_a_worker_refusing_connections_looks_at_the_board_again_soon(monkeypatch, clock):
    waits = []
    monkeypatch.setattr(
        balanced_worker.ThreadWorker,
        "wait_for_and_dispatch_events",
        lambda self, timeout: waits.append(timeout),
    )
    worker = BalancedThreadWorker.__new__(BalancedThreadWorker)  # no gunicorn arbiter here
    worker.board = ConnectionBoard(slots=2)
    worker._pid = 101
    worker._slot = worker.board.claim(101)
    worker.alive, worker.nr_conns = True, 0
    worker._accepting = False  # refused a moment ago
    worker.wait_for_and_dispatch_events(1.0)
    worker._accepting = True
    worker.wait_for_and_dispatch_events(1.0)
    assert waits == [REFUSING_RECHECK_SECONDS, 1.0]


def test_a_worker_shutting_down_no_longer_posts_on_the_slot_it_gave_up(monkeypatch, clock):
    monkeypatch.setattr(
        balanced_worker.ThreadWorker, "wait_for_and_dispatch_events", lambda self, timeout: None
    )
    monkeypatch.setattr(balanced_worker.ThreadWorker, "handle_exit", lambda self, sig, frame: None)
    board = ConnectionBoard(slots=2)
    old = BalancedThreadWorker.__new__(BalancedThreadWorker)
    old.board, old._slot, old.nr_conns, old._accepting = board, board.claim(101), 9, True
    old._pid = 101
    other = board.claim(102)
    board.post(other, 102, 3)
    old.handle_exit(15, None)
    old.alive = False  # what gthread's own handle_exit does
    successor = board.claim(103)  # the slot it gave up, taken by its replacement
    assert successor == old._slot
    board.post(successor, 103, 1)
    old.wait_for_and_dispatch_events(1.0)  # the old worker's loop, draining its connections
    # The replacement's count still reads 1, so the other worker (3) is over its share.
    assert board.over_share(other, 3)


def test_a_worker_whose_slot_was_taken_while_it_was_stopped_moves_to_another(clock):
    board = ConnectionBoard(slots=3)
    paused = board.claim(101)
    clock[0] += STALE_AFTER_MS + 1  # stopped: looks gone
    newcomer = board.claim(102)
    assert newcomer == paused
    board.post(newcomer, 102, 1)
    moved = board.post(paused, 101, 7)  # back, and posting again
    assert moved != newcomer
    other = board.claim(103)
    board.post(other, 103, 3)
    # The newcomer's count still reads 1 (so 3 is over its share), and 7 is counted too.
    assert board.over_share(other, 3)
    assert board.over_share(moved, 7)


def test_a_worker_finding_the_board_full_accepts_like_a_plain_worker(monkeypatch, clock):
    monkeypatch.setattr(
        balanced_worker.ThreadWorker, "wait_for_and_dispatch_events", lambda self, timeout: None
    )
    board = ConnectionBoard(slots=1)
    worker = BalancedThreadWorker.__new__(BalancedThreadWorker)
    worker.board, worker._pid, worker._slot = board, 101, board.claim(101)
    worker.alive, worker.nr_conns, worker._accepting = True, 5, True
    clock[0] += STALE_AFTER_MS + 1
    board.claim(102)  # took the only slot
    worker.wait_for_and_dispatch_events(1.0)
    assert worker.board is None
    assert BalancedThreadWorker.board is None  # only this worker stopped using it
