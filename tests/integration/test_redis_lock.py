import logging
import threading
import time

import pytest
import redis

from marketlink.adapters.redis_lock import RedisLock
from marketlink.application.errors import LockTimeout

pytestmark = pytest.mark.integration


@pytest.fixture
def client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def test_one_holder_at_a_time_and_the_wait_is_bounded(client):
    lock = RedisLock(client)
    with lock.hold("variant_lock_t1", ttl=5, wait=1):
        other = RedisLock(client)
        started = time.monotonic()
        with pytest.raises(LockTimeout), other.hold("variant_lock_t1", ttl=5, wait=0.1):
            pass
        assert 0.09 <= time.monotonic() - started < 0.5
    assert client.get("variant_lock_t1") is None


def test_a_waiter_gets_the_lock_soon_after_release(client):
    lock = RedisLock(client)
    released_at = []
    got_it_at = []
    holding = threading.Event()

    def holder():
        with lock.hold("variant_lock_t2", ttl=5, wait=1):
            holding.set()
            time.sleep(0.05)
            released_at.append(time.monotonic())

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait(2)
    with lock.hold("variant_lock_t2", ttl=5, wait=2):
        got_it_at.append(time.monotonic())
    thread.join()
    # The release wakes the waiter: it does not sleep out a 100 ms poll.
    assert got_it_at[0] - released_at[0] < 0.05


def test_a_release_wakes_a_blocked_waiter_without_polling(client):
    # Naps far longer than the wait: only the release's wake-up token can end one early.
    lock = RedisLock(client, max_nap=30)
    attempts = []
    original_set = client.set

    def counting_set(*args, **kwargs):
        attempts.append(args[0])
        return original_set(*args, **kwargs)

    client.set = counting_set
    holding = threading.Event()
    release = threading.Event()

    def holder():
        with lock.hold("variant_lock_t5", ttl=5, wait=1):
            holding.set()
            release.wait(2)

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait(2)
    started = time.monotonic()
    threading.Timer(0.3, release.set).start()
    with lock.hold("variant_lock_t5", ttl=5, wait=5):
        waited = time.monotonic() - started
    thread.join()
    assert 0.25 <= waited < 2, "woken by the release, long before a nap or the wait ran out"
    assert attempts.count("variant_lock_t5") <= 3, "one try, a block, one more try"


def test_a_lapsed_lock_is_noticed_within_a_nap(client):
    # A holder that dies sends no wake-up token: the TTL frees the key, a nap ends the wait.
    client.set("variant_lock_t6", "a-crashed-holder", px=100)
    lock = RedisLock(client, max_nap=0.05)
    started = time.monotonic()
    with lock.hold("variant_lock_t6", ttl=5, wait=2):
        waited = time.monotonic() - started
    assert 0.05 <= waited < 1


def test_an_expired_holder_does_not_release_the_next_owners_lock(client):
    lock = RedisLock(client)
    with lock.hold("variant_lock_t3", ttl=0.05, wait=1):
        time.sleep(0.1)  # our lease lapses; someone else takes the key
        assert client.set("variant_lock_t3", "someone-else", nx=True, px=5000)
    assert client.get("variant_lock_t3") == b"someone-else"
    client.delete("variant_lock_t3")


def test_unreachable_redis_lets_the_caller_proceed_and_warns(caplog):
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    lock = RedisLock(dead)
    ran = []
    with caplog.at_level(logging.WARNING), lock.hold("variant_lock_t4", ttl=1, wait=1):
        ran.append(True)
    assert ran == [True]
    assert "relying on database row locks" in caplog.text
    started = time.monotonic()
    with lock.hold("variant_lock_t4", ttl=1, wait=1):
        pass
    assert time.monotonic() - started < 0.05, "a known outage is not retried on every booking"
