import threading
import time
import uuid

import pytest

from marketlink.adapters.local_lock import InProcessLock
from marketlink.adapters.pay_links import SignedPayLinks
from marketlink.application.errors import LockTimeout


def test_a_pay_link_is_valid_for_its_order_only():
    links = SignedPayLinks("secret", "http://127.0.0.1:8000/", max_age_seconds=60)
    order_id, other = uuid.uuid4(), uuid.uuid4()
    url = links.url_for(order_id)
    assert url.startswith(f"http://127.0.0.1:8000/pay/{order_id}?token=")
    token = url.split("token=", 1)[1]
    assert links.is_valid(order_id, token)
    assert not links.is_valid(other, token)
    assert not links.is_valid(order_id, token[:-2] + "xx")
    assert not SignedPayLinks("other", "http://x", 60).is_valid(order_id, token)


def test_a_pay_link_expires():
    links = SignedPayLinks("secret", "http://x", max_age_seconds=-1)
    order_id = uuid.uuid4()
    token = links.url_for(order_id).split("token=", 1)[1]
    assert not links.is_valid(order_id, token)


def test_in_process_lock_excludes_and_times_out():
    lock = InProcessLock()
    entered = threading.Event()
    leave = threading.Event()

    def holder():
        with lock.hold("variant_lock_1", ttl=5, wait=1):
            entered.set()
            leave.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    entered.wait(5)
    started = time.monotonic()
    with pytest.raises(LockTimeout), lock.hold("variant_lock_1", ttl=5, wait=0.05):
        pass
    assert time.monotonic() - started < 1
    with lock.hold("variant_lock_2", ttl=5, wait=0.05):
        pass  # another key is independent
    leave.set()
    thread.join()
    with lock.hold("variant_lock_1", ttl=5, wait=0.05):
        pass
    assert lock._locks == {}
