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
        with another_process(client).hold("variant_lock_t2", ttl=5, wait=1):
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
    # Naps far longer than the wait: only the release's hand-over can end one early.
    lock = RedisLock(client, max_nap=30)
    checks = []
    original_check = lock._check

    def counting_check(*args, **kwargs):
        checks.append(args)
        return original_check(*args, **kwargs)

    lock._check = counting_check
    holding = threading.Event()
    release = threading.Event()

    def holder():
        with another_process(client).hold("variant_lock_t5", ttl=5, wait=1):
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
    assert checks == [], "handed over: no nap ended, no second look at the lock"


def another_process(client):
    """A RedisLock of its own: what another worker process would use."""
    return RedisLock(client)


def hold_in_thread(lock, key, *, wait, hold_for, log, name):
    def run():
        try:
            with lock.hold(key, ttl=5, wait=wait):
                log.append(name)
                time.sleep(hold_for)
        except LockTimeout:
            log.append(f"{name} gave up")

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_waiters_get_the_lock_in_the_order_they_came(client):
    lock = RedisLock(client)
    order = []
    key = "variant_lock_t7"
    with lock.hold(key, ttl=5, wait=1):
        threads = []
        for name in "abcdef":
            waiter = another_process(client)
            threads.append(hold_in_thread(waiter, key, wait=5, hold_for=0.01, log=order, name=name))
            time.sleep(0.03)  # each is queued before the next one comes
    for thread in threads:
        thread.join()
    assert order == list("abcdef")


def test_a_newcomer_does_not_jump_ahead_of_a_waiter(client):
    lock = RedisLock(client)
    key = "variant_lock_t8"
    log = []
    with lock.hold(key, ttl=5, wait=1):
        waiter = hold_in_thread(
            another_process(client), key, wait=5, hold_for=0.3, log=log, name="waiter"
        )
        time.sleep(0.05)
    # The release made the waiter the owner at once: the lock was never free to take.
    with pytest.raises(LockTimeout), another_process(client).hold(key, ttl=5, wait=0.1):
        pass
    waiter.join()
    assert log == ["waiter"]


def test_a_waiter_that_gave_up_leaves_the_queue(client):
    lock = RedisLock(client)
    key = "variant_lock_t9"
    log = []
    with lock.hold(key, ttl=5, wait=1):
        quitter = hold_in_thread(
            another_process(client), key, wait=0.05, hold_for=0, log=log, name="quitter"
        )
        quitter.join()
        patient = hold_in_thread(
            another_process(client), key, wait=5, hold_for=0, log=log, name="patient"
        )
        time.sleep(0.05)
        released = time.monotonic()
    patient.join()
    assert log == ["quitter gave up", "patient"]
    assert time.monotonic() - released < 0.2
    assert client.llen(f"{key}:queue") == 0


def test_a_dead_waiter_is_skipped_once_its_wait_is_over(client):
    lock = RedisLock(client, max_nap=30)
    key = "variant_lock_t10"
    log = []
    with lock.hold(key, ttl=5, wait=1):
        client.rpush(f"{key}:queue", "a-crashed-waiter|0")  # its wait ended long ago
        waiter = hold_in_thread(
            RedisLock(client, max_nap=30), key, wait=5, hold_for=0, log=log, name="waiter"
        )
        time.sleep(0.05)
        released = time.monotonic()
    waiter.join()
    assert log == ["waiter"]
    assert time.monotonic() - released < 0.2


def test_a_lapsed_lock_is_noticed_within_a_nap(client):
    # A holder that dies hands nothing on: the TTL frees the key, a nap ends the wait.
    client.set("variant_lock_t6", "a-crashed-holder", px=100)
    lock = RedisLock(client, max_nap=0.05)
    log = []
    second = hold_in_thread(
        RedisLock(client, max_nap=0.05),
        "variant_lock_t6",
        wait=2,
        hold_for=0,
        log=log,
        name="second",
    )
    time.sleep(0.02)
    started = time.monotonic()
    with lock.hold("variant_lock_t6", ttl=5, wait=2):
        waited = time.monotonic() - started
        log.append("third")
    second.join()
    assert 0.05 <= waited < 1
    assert log == ["second", "third"], "the lapsed lock went to the first in the queue"


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


def test_a_neighbour_in_the_same_process_gets_the_lock_without_asking_redis(client):
    lock = RedisLock(client)
    key = "variant_lock_t11"
    owners = []
    log = []
    with lock.hold(key, ttl=5, wait=1):
        owners.append(client.get(key))
        neighbour = hold_in_thread(lock, key, wait=5, hold_for=0, log=log, name="neighbour")
        time.sleep(0.05)
        scripts_before = client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
    neighbour.join()
    scripts_after = client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0)
    assert log == ["neighbour"]
    # Handed over in this process: one release, when the neighbour is done, and no acquire.
    assert scripts_after - scripts_before == 1
    assert client.get(key) is None


def test_local_hand_overs_are_bounded_so_other_processes_get_their_turn(client):
    lock = RedisLock(client, max_local_handoffs=2)
    key = "variant_lock_t12"
    log = []
    with lock.hold(key, ttl=5, wait=1):
        locals_ = [
            hold_in_thread(lock, key, wait=5, hold_for=0.02, log=log, name=f"local{i}")
            for i in range(5)
        ]
        time.sleep(0.05)
        remote = hold_in_thread(
            another_process(client), key, wait=5, hold_for=0.02, log=log, name="remote"
        )
        time.sleep(0.05)
    for thread in [*locals_, remote]:
        thread.join()
    # The first holder, then two hand-overs in the process, then the other process.
    assert log.index("remote") == 2


def test_a_lock_kept_for_a_neighbour_who_gave_up_is_freed(client):
    lock = RedisLock(client)
    lock._pass_on = lambda cohort, ttl: True  # kept, as if a neighbour were still waiting
    with lock.hold("variant_lock_t13", ttl=5, wait=1):
        pass
    assert client.get("variant_lock_t13") is None
