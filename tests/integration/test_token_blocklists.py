"""Revoked sessions, in the database (embedded default) and in Redis (production)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis

from marketlink.adapters.redis_blocklist import RedisTokenBlocklist
from marketlink.adapters.sqlalchemy.blocklist import SqlTokenBlocklist
from tests.fakes import FakeClock
from tests.integration.conftest import unique

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)
USER = 1
WEEK_SECONDS = 7 * 24 * 3600


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sql_blocklist(clean_engine, clock) -> SqlTokenBlocklist:
    return SqlTokenBlocklist(clean_engine, clock)


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def prefix() -> str:
    return f"test:{unique()}:"


@pytest.fixture
def redis_blocklist(redis_client, clock, prefix) -> RedisTokenBlocklist:
    return RedisTokenBlocklist(redis_client, clock, prefix=prefix)


def test_sql_a_revoked_session_is_revoked_until_its_tokens_expire(sql_blocklist, clock):
    session = unique()
    assert not sql_blocklist.is_revoked(session, USER)
    sql_blocklist.revoke(session, clock.now() + HOUR)
    assert sql_blocklist.is_revoked(session, USER)
    assert not sql_blocklist.is_revoked(unique(), USER)
    clock.advance(HOUR.total_seconds())
    assert not sql_blocklist.is_revoked(session, USER)


def test_sql_revoking_twice_keeps_the_later_expiry(sql_blocklist, clock):
    session = unique()
    sql_blocklist.revoke(session, clock.now() + 2 * HOUR)
    sql_blocklist.revoke(session, clock.now() + HOUR)  # must not cut the entry short
    clock.advance(1.5 * HOUR.total_seconds())
    assert sql_blocklist.is_revoked(session, USER)
    sql_blocklist.revoke(session, clock.now() + 3 * HOUR)
    clock.advance(HOUR.total_seconds())
    assert sql_blocklist.is_revoked(session, USER)


def test_sql_expired_entries_are_purged(sql_blocklist, clock):
    sql_blocklist.revoke(unique(), clock.now() + HOUR)
    kept = unique()
    sql_blocklist.revoke(kept, clock.now() + 3 * HOUR)
    clock.advance(2 * HOUR.total_seconds())
    assert sql_blocklist.purge_expired() == 1
    assert sql_blocklist.is_revoked(kept, USER)


def test_redis_a_revoked_session_is_revoked_until_its_tokens_expire(
    redis_blocklist, redis_client, clock, prefix
):
    session = unique()
    assert not redis_blocklist.is_revoked(session, USER)
    redis_blocklist.revoke(session, clock.now() + HOUR)
    assert redis_blocklist.is_revoked(session, USER)
    assert not redis_blocklist.is_revoked(unique(), USER)
    ttl = redis_client.ttl(prefix + session)
    assert 3590 <= ttl <= 3600  # Redis forgets it when its tokens expire


def test_redis_revoking_twice_never_shortens_the_entry(
    redis_blocklist, redis_client, clock, prefix
):
    session = unique()
    redis_blocklist.revoke(session, clock.now() + 2 * HOUR)
    redis_blocklist.revoke(session, clock.now() + HOUR)
    assert redis_client.ttl(prefix + session) > 7000
    redis_blocklist.revoke(session, clock.now() + 3 * HOUR)
    assert redis_client.ttl(prefix + session) > 10_000


def test_redis_an_already_expired_session_is_not_stored(redis_blocklist, clock):
    session = unique()
    redis_blocklist.revoke(session, clock.now() - HOUR)
    assert not redis_blocklist.is_revoked(session, USER)


def _switching_a_user_off_revokes_every_session_until_restored(blocklist) -> None:
    session = unique()
    assert not blocklist.is_revoked(session, USER)
    blocklist.revoke_user(USER, WEEK_SECONDS)
    assert blocklist.is_revoked(session, USER)
    assert blocklist.is_revoked(unique(), USER)
    assert not blocklist.is_revoked(session, USER + 1)
    blocklist.restore_user(USER)
    assert not blocklist.is_revoked(session, USER)
    blocklist.restore_user(USER)  # restoring twice is fine


def _restoring_a_user_keeps_their_logged_out_sessions_revoked(blocklist, clock) -> None:
    session = unique()
    blocklist.revoke(session, clock.now() + HOUR)
    blocklist.revoke_user(USER, WEEK_SECONDS)
    blocklist.restore_user(USER)
    assert blocklist.is_revoked(session, USER)
    assert not blocklist.is_revoked(unique(), USER)


def test_sql_a_switched_off_user_is_revoked_in_every_session_until_restored(sql_blocklist):
    _switching_a_user_off_revokes_every_session_until_restored(sql_blocklist)


def test_redis_a_switched_off_user_is_revoked_in_every_session_until_restored(
    redis_blocklist,
):
    _switching_a_user_off_revokes_every_session_until_restored(redis_blocklist)


def test_sql_restoring_a_user_keeps_their_logged_out_sessions_revoked(sql_blocklist, clock):
    _restoring_a_user_keeps_their_logged_out_sessions_revoked(sql_blocklist, clock)


def test_redis_restoring_a_user_keeps_their_logged_out_sessions_revoked(redis_blocklist, clock):
    _restoring_a_user_keeps_their_logged_out_sessions_revoked(redis_blocklist, clock)


def test_sql_a_user_is_revoked_for_the_ttl_then_purged(sql_blocklist, clock):
    sql_blocklist.revoke_user(USER, WEEK_SECONDS)
    clock.advance(WEEK_SECONDS - 1)
    assert sql_blocklist.is_revoked(unique(), USER)
    clock.advance(1)
    assert not sql_blocklist.is_revoked(unique(), USER)
    assert sql_blocklist.purge_expired() == 1


def test_redis_a_user_entry_expires_after_the_ttl(redis_blocklist, redis_client, prefix):
    redis_blocklist.revoke_user(USER, WEEK_SECONDS)
    assert WEEK_SECONDS - 10 <= redis_client.ttl(f"{prefix}user:{USER}") <= WEEK_SECONDS
