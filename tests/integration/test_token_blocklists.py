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
    assert not sql_blocklist.is_revoked(session)
    sql_blocklist.revoke(session, clock.now() + HOUR)
    assert sql_blocklist.is_revoked(session)
    assert not sql_blocklist.is_revoked(unique())
    clock.advance(HOUR.total_seconds())
    assert not sql_blocklist.is_revoked(session)


def test_sql_revoking_twice_keeps_the_later_expiry(sql_blocklist, clock):
    session = unique()
    sql_blocklist.revoke(session, clock.now() + 2 * HOUR)
    sql_blocklist.revoke(session, clock.now() + HOUR)  # must not cut the entry short
    clock.advance(1.5 * HOUR.total_seconds())
    assert sql_blocklist.is_revoked(session)
    sql_blocklist.revoke(session, clock.now() + 3 * HOUR)
    clock.advance(HOUR.total_seconds())
    assert sql_blocklist.is_revoked(session)


def test_sql_expired_entries_are_purged(sql_blocklist, clock):
    sql_blocklist.revoke(unique(), clock.now() + HOUR)
    kept = unique()
    sql_blocklist.revoke(kept, clock.now() + 3 * HOUR)
    clock.advance(2 * HOUR.total_seconds())
    assert sql_blocklist.purge_expired() == 1
    assert sql_blocklist.is_revoked(kept)


def test_redis_a_revoked_session_is_revoked_until_its_tokens_expire(
    redis_blocklist, redis_client, clock, prefix
):
    session = unique()
    assert not redis_blocklist.is_revoked(session)
    redis_blocklist.revoke(session, clock.now() + HOUR)
    assert redis_blocklist.is_revoked(session)
    assert not redis_blocklist.is_revoked(unique())
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
    assert not redis_blocklist.is_revoked(session)
