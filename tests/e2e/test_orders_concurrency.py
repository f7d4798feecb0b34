"""Booking over real HTTP at the same moment: a threaded server on PostgreSQL and Redis.

Every client waits at a barrier and then sends its request, so they arrive together.
Each test would fail without the mechanism it names: the per-variant lock with the row
lock and CHECK constraint (never more bookings than stock), the idempotency store's
unique claim (one order for one Idempotency-Key).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from marketlink.config import Settings
from tests.e2e.conftest import Account, ApiDriver

pytestmark = [pytest.mark.e2e, pytest.mark.concurrency]

TIMEOUT = 60


@pytest.fixture
def settings(tmp_path: Path, postgres_url: str, redis_url: str) -> Settings:
    return Settings(
        secret_key="e2e-secret-key-0123456789abcdef0123456789",
        jwt_secret_key="e2e-jwt-secret-key-0123456789abcdef012345",
        database_url=postgres_url,
        redis_url=redis_url,
        instance_dir=tmp_path,
    )


@pytest.fixture
def server(app) -> Iterator[str]:
    """The app behind werkzeug's threaded server (a thread per request), on a free port."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(10)


def all_at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], requests.Response]) -> None:
        barrier.wait(TIMEOUT)
        try:
            answers[i] = call()
        except Exception as exc:  # shows up in the assertion on the answers
            answers[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert all(isinstance(a, requests.Response) for a in answers), answers
    return answers


def open_shop(api: ApiDriver, stock: int) -> tuple[Account, int]:
    vendor = api.vendor()
    service = api.service(vendor)
    return vendor, int(api.variant(vendor, service["id"], stock=stock)["id"])


def variant_slots(base: str, variant_id: int) -> tuple[int, int]:
    variant = requests.get(f"{base}/api/v1/variants/{variant_id}", timeout=TIMEOUT).json()
    return variant["reserved"], variant["available"]


def orders_seen_by(base: str, who: Account) -> int:
    response = requests.get(f"{base}/api/v1/orders", headers=who.headers, timeout=TIMEOUT)
    assert response.status_code == 200
    return int(json.loads(response.headers["X-Pagination"])["total"])


@pytest.mark.parametrize(("stock", "booked"), [(5, 5), (20, 20)])
def test_twenty_customers_at_once_book_exactly_the_free_slots(server, api, stock, booked):
    vendor, variant_id = open_shop(api, stock)
    customers = [api.account() for _ in range(20)]

    def booking(customer: Account) -> Callable[[], requests.Response]:
        return lambda: requests.post(
            f"{server}/api/v1/orders",
            headers=customer.headers,
            json={"variant_id": variant_id},
            timeout=TIMEOUT,
        )

    answers = all_at_once([booking(c) for c in customers])

    statuses = Counter(a.status_code for a in answers)
    assert statuses == Counter({201: booked, 409: 20 - booked}), [a.text for a in answers]
    assert {a.json()["error"] for a in answers if a.status_code == 409} <= {"out_of_stock"}
    orders = [a.json() for a in answers if a.status_code == 201]
    assert len({o["id"] for o in orders}) == booked
    assert {o["customer_id"] for o in orders} <= {c.id for c in customers}
    assert variant_slots(server, variant_id) == (booked, stock - booked)
    assert orders_seen_by(server, vendor) == booked


def test_one_idempotency_key_sent_ten_times_at_once_books_one_order(server, api):
    _, variant_id = open_shop(api, stock=10)
    customer = api.account()
    headers = {**customer.headers, "Idempotency-Key": "ten-at-once"}

    def booking() -> requests.Response:
        return requests.post(
            f"{server}/api/v1/orders",
            headers=headers,
            json={"variant_id": variant_id},
            timeout=TIMEOUT,
        )

    answers = all_at_once([booking] * 10)

    created = [a for a in answers if a.status_code == 201]
    busy = [a for a in answers if a.status_code == 409]
    assert len(created) + len(busy) == 10, [a.text for a in answers]
    assert created, "at least the first request books"
    assert {a.content for a in created} == {created[0].content}
    assert all(a.json()["error"] == "idempotency_key_in_progress" for a in busy)
    assert variant_slots(server, variant_id) == (1, 9)
    assert orders_seen_by(server, customer) == 1

    # Once the first is done, the key answers with the stored 201 every time.
    replay = booking()
    assert replay.status_code == 201
    assert replay.content == created[0].content
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert orders_seen_by(server, customer) == 1
