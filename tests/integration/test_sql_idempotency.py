"""The idempotency store: one claim per (user, key), its response replayed for 24 hours."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from marketlink.adapters.sqlalchemy.idempotency import SqlIdempotencyStore
from marketlink.application.errors import IdempotencyKeyInProgress, IdempotencyKeyReused
from marketlink.application.ports import StoredResponse
from tests.fakes import FakeClock
from tests.integration.conftest import unique

pytestmark = pytest.mark.integration

USER = 7


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clean_engine, clock) -> SqlIdempotencyStore:
    return SqlIdempotencyStore(clean_engine, clock)


def test_the_first_claim_runs_and_a_replay_gets_the_stored_response(store):
    key = unique()
    assert store.claim(USER, key, "fp") is None
    store.complete(USER, key, StoredResponse(201, '{"id": "x"}'))
    assert store.claim(USER, key, "fp") == StoredResponse(201, '{"id": "x"}')
    assert store.claim(USER, key, "fp") == StoredResponse(201, '{"id": "x"}')


def test_the_same_key_with_another_request_is_refused(store):
    key = unique()
    store.claim(USER, key, "fp")
    with pytest.raises(IdempotencyKeyReused):
        store.claim(USER, key, "another body")
    store.complete(USER, key, StoredResponse(201, "{}"))
    with pytest.raises(IdempotencyKeyReused):
        store.claim(USER, key, "another body")


def test_a_claim_still_running_is_in_progress(store):
    key = unique()
    store.claim(USER, key, "fp")
    with pytest.raises(IdempotencyKeyInProgress):
        store.claim(USER, key, "fp")


def test_keys_belong_to_one_user(store):
    key = unique()
    store.claim(USER, key, "fp")
    assert store.claim(USER + 1, key, "other") is None


def test_a_released_claim_may_be_claimed_again(store):
    key = unique()
    store.claim(USER, key, "fp")
    store.release(USER, key)
    assert store.claim(USER, key, "fp") is None


def test_release_never_forgets_a_stored_response(store):
    key = unique()
    store.claim(USER, key, "fp")
    store.complete(USER, key, StoredResponse(200, "done"))
    store.release(USER, key)
    assert store.claim(USER, key, "fp") == StoredResponse(200, "done")


def test_after_24_hours_a_key_is_as_good_as_new(store, clock):
    key = unique()
    store.claim(USER, key, "fp")
    store.complete(USER, key, StoredResponse(201, "old"))
    clock.advance(timedelta(hours=24).total_seconds())
    assert store.claim(USER, key, "another body") is None
    with pytest.raises(IdempotencyKeyInProgress):
        store.claim(USER, key, "another body")


def test_stale_keys_are_purged(store, clock):
    store.claim(USER, unique(), "fp")
    clock.advance(timedelta(hours=25).total_seconds())
    fresh = unique()
    store.claim(USER, fresh, "fp")
    assert store.purge_stale() == 1
    with pytest.raises(IdempotencyKeyInProgress):
        store.claim(USER, fresh, "fp")


def test_a_claim_is_its_own_transaction_and_survives_the_callers_rollback(store, uow):
    key = unique()
    with uow():
        store.claim(USER, key, "fp")
    with pytest.raises(IdempotencyKeyInProgress):
        store.claim(USER, key, "fp")


def test_of_many_simultaneous_claims_exactly_one_runs(store):
    key = unique()
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def claim() -> None:
        barrier.wait(5)
        try:
            outcomes.append("run" if store.claim(USER, key, "fp") is None else "replay")
        except IdempotencyKeyInProgress:
            outcomes.append("busy")

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["busy"] * 7 + ["run"]
