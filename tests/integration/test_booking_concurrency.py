"""A slot is never sold twice: many processes and threads on real PostgreSQL and Redis.

Each scenario would fail without the mechanism it names: the row lock and CHECK
constraint when the Redis lock is lost or absent, the compare-and-set when two
paths race to end one order.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from marketlink.adapters.clock import SystemClock
from marketlink.adapters.local_lock import InProcessLock
from marketlink.adapters.redis_lock import RedisLock
from marketlink.adapters.sqlalchemy.engine import create_engine_for
from marketlink.application.actors import Actor
from marketlink.application.errors import ConcurrentUpdate, LockTimeout
from marketlink.application.use_cases.accounts import Register, RegisterUser
from marketlink.application.use_cases.catalog import AddVariant, NewVariant, PublishService
from marketlink.application.use_cases.orders import (
    BookingPolicy,
    CancelOrder,
    ExpireUnpaidOrders,
    PlaceOrder,
)
from marketlink.application.use_cases.vendors import CreateVendorProfile
from marketlink.domain.errors import InvalidTransition, OutOfStock
from marketlink.domain.money import Money
from marketlink.domain.users import Role
from tests.fakes import FakeClock, FakePasswordHasher
from tests.integration.conftest import uow_factory

pytestmark = [pytest.mark.integration, pytest.mark.concurrency]

PROCESSES = 4
THREADS = 16
STOCK = 7


@dataclass(frozen=True)
class Shop:
    vendor: Actor
    variant_id: int
    customers: list[Actor]


def open_shop(database_url: str, customers: int, stock: int = STOCK) -> Shop:
    engine = create_engine_for(database_url)
    uow = uow_factory(engine)
    clock = SystemClock()
    register = Register(uow, FakePasswordHasher(), clock)
    tag = time.monotonic_ns()

    def user(role: Role, n: int) -> Actor:
        created = register(RegisterUser(f"{role}{n}-{tag}@load.test", "password1", "L", "T", role))
        assert created.id is not None
        return Actor(created.id, role)

    vendor = user(Role.VENDOR, 0)
    CreateVendorProfile(uow, clock)(vendor, "Load Motors", "Dhaka")
    service = PublishService(uow, clock)(vendor, "Brakes")
    assert service.id is not None
    variant = AddVariant(uow)(vendor, service.id, NewVariant("Pads", Money.of("1500"), 60, stock))
    assert variant.id is not None
    shop = Shop(vendor, variant.id, [user(Role.CUSTOMER, n) for n in range(customers)])
    engine.dispose()
    return shop


def counts(database_url: str, variant_id: int) -> tuple[int, int]:
    engine = create_engine_for(database_url)
    with engine.connect() as conn:
        orders = conn.execute(
            sa.text(
                "SELECT count(*) FROM repair_orders WHERE variant_id = :v AND status = 'pending'"
            ),
            {"v": variant_id},
        ).scalar_one()
        reserved = conn.execute(
            sa.text("SELECT reserved FROM service_variants WHERE id = :v"), {"v": variant_id}
        ).scalar_one()
    engine.dispose()
    return int(orders), int(reserved)


class SlowRowLocks:
    """A unit-of-work factory whose transactions linger after taking the row lock, so that
    a short lock TTL lapses mid-booking."""

    def __init__(self, engine: sa.Engine, pause: float) -> None:
        self._uow = uow_factory(engine)
        self._pause = pause

    def __call__(self) -> _Lingering:
        return _Lingering(self._uow(), self._pause)


class _Lingering:
    def __init__(self, inner, pause: float) -> None:
        self._inner = inner
        self._pause = pause

    def __enter__(self):
        uow = self._inner.__enter__()
        get_offer_for_update = uow.variants.get_offer_for_update

        def lingering_get_offer_for_update(variant_id):
            offer = get_offer_for_update(variant_id)
            time.sleep(self._pause)
            return offer

        uow.variants.get_offer_for_update = lingering_get_offer_for_update
        return uow

    def __exit__(self, *exc_info):
        return self._inner.__exit__(*exc_info)


def book_in_process(
    database_url: str,
    redis_url: str | None,
    variant_id: int,
    customers: list[Actor],
    start: multiprocessing.synchronize.Event,
    lock_ttl: float,
    slow_transaction: float,
    results: multiprocessing.Queue,
) -> None:
    """One of several processes, each with its own engine, lock client and 16 threads."""
    import redis

    engine = create_engine_for(database_url, pool_size=THREADS)
    uow = SlowRowLocks(engine, slow_transaction) if slow_transaction else uow_factory(engine)
    lock = (
        RedisLock(redis.Redis.from_url(redis_url, socket_connect_timeout=0.5, socket_timeout=1))
        if redis_url
        else InProcessLock()
    )
    policy = BookingPolicy(max_unpaid_orders=0, lock_ttl_seconds=lock_ttl, lock_wait_seconds=30)
    place = PlaceOrder(uow, lock, SystemClock(), policy)
    outcomes: Counter[str] = Counter()
    guard = threading.Lock()

    def book(customer: Actor) -> None:
        start.wait(30)
        try:
            place(customer, variant_id)
            outcome = "booked"
        except OutOfStock:
            outcome = "out_of_stock"
        except (LockTimeout, ConcurrentUpdate) as exc:
            outcome = type(exc).__name__
        with guard:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=book, args=(c,)) for c in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    results.put(dict(outcomes))


def stampede(
    database_url: str, redis_url: str | None, *, lock_ttl=5.0, slow=0.0
) -> tuple[Counter, Shop]:
    shop = open_shop(database_url, PROCESSES * THREADS)
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(
            target=book_in_process,
            args=(
                database_url,
                redis_url,
                shop.variant_id,
                shop.customers[p * THREADS : (p + 1) * THREADS],
                start,
                lock_ttl,
                slow,
                results,
            ),
        )
        for p in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    time.sleep(1.5)  # let every process import, connect and park its threads at the gate
    start.set()
    total: Counter[str] = Counter()
    for _ in processes:
        total.update(results.get(timeout=240))
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    return total, shop


def test_64_clients_in_4_processes_book_exactly_the_stock(postgres_url, redis_url):
    outcomes, shop = stampede(postgres_url, redis_url)
    assert outcomes == {"booked": STOCK, "out_of_stock": PROCESSES * THREADS - STOCK}
    assert counts(postgres_url, shop.variant_id) == (STOCK, STOCK)


def test_a_lock_lost_mid_booking_still_sells_exactly_the_stock(postgres_url, redis_url):
    # The lock's TTL (20 ms) is far shorter than the transaction (100 ms after the row
    # lock): several holders are inside at once, and only the row lock serialises them.
    outcomes, shop = stampede(postgres_url, redis_url, lock_ttl=0.02, slow=0.1)
    assert outcomes == {"booked": STOCK, "out_of_stock": PROCESSES * THREADS - STOCK}
    assert counts(postgres_url, shop.variant_id) == (STOCK, STOCK)


def test_redis_unreachable_still_sells_exactly_the_stock(postgres_url):
    outcomes, shop = stampede(postgres_url, "redis://127.0.0.1:1/0")
    assert outcomes == {"booked": STOCK, "out_of_stock": PROCESSES * THREADS - STOCK}
    assert counts(postgres_url, shop.variant_id) == (STOCK, STOCK)


def run_together(*calls) -> list[object]:
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i, call):
        barrier.wait(10)
        try:
            results[i] = call()
        except Exception as exc:  # the outcome is what we count
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_twenty_parallel_cancels_make_one_transition_and_release_once(postgres_url):
    shop = open_shop(postgres_url, customers=1, stock=3)
    engine = create_engine_for(postgres_url, pool_size=25)
    uow = uow_factory(engine)
    clock = SystemClock()
    customer = shop.customers[0]
    place = PlaceOrder(uow, InProcessLock(), clock, BookingPolicy(max_unpaid_orders=0))
    order = place(customer, shop.variant_id)
    place(customer, shop.variant_id)  # a second booking keeps reserved above zero

    cancel = CancelOrder(uow, clock)
    results = run_together(*[lambda: cancel(customer, order.id)] * 20)

    winners = [r for r in results if not isinstance(r, Exception)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(e, (InvalidTransition, ConcurrentUpdate)) for e in losers), losers
    assert counts(postgres_url, shop.variant_id) == (1, 1)
    with engine.connect() as conn:
        cancels = conn.execute(
            sa.text(
                "SELECT count(*) FROM order_events WHERE order_id = :o AND to_status = 'cancelled'"
            ),
            {"o": order.id},
        ).scalar_one()
    assert cancels == 1
    engine.dispose()


def test_an_expiry_sweep_racing_a_cancel_ends_the_order_once(postgres_url):
    shop = open_shop(postgres_url, customers=1, stock=2)
    engine = create_engine_for(postgres_url, pool_size=10)
    uow = uow_factory(engine)
    clock = FakeClock(SystemClock().now())
    customer = shop.customers[0]
    place = PlaceOrder(
        uow, InProcessLock(), clock, BookingPolicy(max_unpaid_orders=0, reservation_ttl_seconds=60)
    )
    cancel = CancelOrder(uow, clock)
    for _ in range(10):
        order_id = place(customer, shop.variant_id).id
        clock.advance(61)
        results = run_together(
            ExpireUnpaidOrders(uow, clock),
            lambda order_id=order_id: cancel(customer, order_id),
        )
        report, cancelled = results
        swept = report.cancelled if not isinstance(report, Exception) else 0
        by_api = 0 if isinstance(cancelled, Exception) else 1
        assert swept + by_api == 1, results
        assert counts(postgres_url, shop.variant_id) == (0, 0)
    engine.dispose()
