"""The unit of work: one transaction, rolled back unless committed."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from marketlink.adapters.sqlalchemy.engine import create_engine_for, sqlite_file
from marketlink.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from marketlink.application.errors import ConcurrentUpdate, EmailTaken
from marketlink.domain.orders import RepairOrder
from marketlink.domain.users import Role, User
from tests.integration.conftest import T0, Builder, unique, uow_factory

pytestmark = pytest.mark.integration


def new_user(email: str | None = None) -> User:
    return User(email or f"{unique()}@example.com", "hash", "A", "B", Role.CUSTOMER, T0)


def test_commit_persists(uow):
    user = new_user()
    with uow() as work:
        work.users.add(user)
        work.commit()
    with uow() as work:
        assert work.users.get(user.id) is not None


def test_leaving_without_commit_rolls_back(uow):
    user = new_user()
    with uow() as work:
        work.users.add(user)
        assert work.users.get(user.id) is not None  # visible inside its own transaction
    with uow() as work:
        assert work.users.get(user.id) is None


def test_an_error_in_the_block_rolls_back(uow):
    user = new_user()

    def add_then_fail() -> None:
        with uow() as work:
            work.users.add(user)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        add_then_fail()
    with uow() as work:
        assert work.users.get_by_email(user.email) is None


def test_rollback_drops_what_came_before_it(uow):
    first, second = new_user(), new_user()
    with uow() as work:
        work.users.add(first)
        work.rollback()
        work.users.add(second)
        work.commit()
    with uow() as work:
        assert work.users.get_by_email(first.email) is None
        assert work.users.get_by_email(second.email) is not None


def test_a_refused_insert_leaves_the_transaction_usable(uow):
    email = f"{unique()}@example.com"
    with uow() as work:
        work.users.add(new_user(email))
        work.commit()
    other = new_user()
    with uow() as work:
        with pytest.raises(EmailTaken):
            work.users.add(new_user(email.upper()))
        work.users.add(other)  # the savepoint kept the outer transaction alive
        work.commit()
    with uow() as work:
        assert work.users.get_by_email(other.email) is not None


def test_calling_the_factory_gives_a_fresh_unit_of_work_each_time(uow):
    first, second = uow(), uow()
    assert isinstance(first, SqlAlchemyUnitOfWork)
    assert first is not second
    with first, second:  # two transactions side by side
        pass


def test_an_open_unit_of_work_cannot_be_entered_again(uow):
    work = uow()
    with work, pytest.raises(RuntimeError, match="already open"), work:
        pass
    with work:  # closed again: it may be reused
        pass


def test_the_connection_goes_back_to_the_pool(uow, clean_engine):
    for _ in range(30):  # more than the pool holds
        with uow() as work:
            work.users.get(1)
    assert clean_engine.pool.checkedout() == 0


def place(work: SqlAlchemyUnitOfWork, customer: User, variant_id: int) -> RepairOrder:
    """A booking's writes, as the use case makes them: the variant row-locked first."""
    offer = work.variants.get_offer_for_update(variant_id)
    assert offer is not None and customer.id is not None
    offer.variant.reserve()
    order = RepairOrder.place(
        customer_id=customer.id,
        vendor_id=offer.vendor_id,
        variant_id=variant_id,
        service_name=offer.service_name,
        variant_name=offer.variant.name,
        price=offer.variant.price,
        now=T0,
        expires_at=T0 + timedelta(minutes=30),
    )
    work.variants.save(offer.variant)
    work.orders.add(order)
    return order


def test_a_bookings_writes_are_all_kept_by_the_commit(uow, build: Builder):
    variant, customer = build.bookable(stock=2), build.user()
    with uow() as work:
        order = place(work, customer, variant.id)
        work.commit()
    with uow() as work:
        assert work.variants.get(variant.id).reserved == 1
        assert work.orders.get(order.id) is not None
        assert [event.to_status for event in work.orders.events(order.id)] == [order.status]


def test_a_read_after_a_write_sees_it(uow, build: Builder):
    variant, customer = build.bookable(stock=2), build.user()
    with uow() as work:
        order = place(work, customer, variant.id)
        assert work.orders.get(order.id) is not None
        assert work.orders.count_unpaid(customer.id) == 1
        assert work.variants.get(variant.id).reserved == 1


def test_writes_left_without_commit_are_dropped(uow, build: Builder):
    variant, customer = build.bookable(stock=2), build.user()
    with uow() as work:
        order = place(work, customer, variant.id)
    with uow() as work:
        assert work.orders.get(order.id) is None
        assert work.variants.get(variant.id).reserved == 0


def test_a_failed_savepoint_does_not_take_earlier_writes_with_it(uow, build: Builder):
    variant, customer = build.bookable(stock=2), build.user()
    with uow() as work:
        order = place(work, customer, variant.id)
        with pytest.raises(EmailTaken):
            work.users.add(new_user(customer.email))  # refused inside its own savepoint
        work.commit()
    with uow() as work:
        assert work.orders.get(order.id) is not None
        assert work.variants.get(variant.id).reserved == 1


def test_a_refused_write_fails_the_commit_and_keeps_nothing(uow, build: Builder):
    variant, customer = build.bookable(stock=2), build.user()
    with uow() as work:
        first = place(work, customer, variant.id)
        work.commit()
    with uow() as work:
        second = place(work, customer, variant.id)
        second.id = first.id  # a duplicate key, refused by the database

        def add_and_commit() -> None:
            work.orders.add(second)
            work.commit()  # on PostgreSQL the insert goes out, and is refused, with the commit

        with pytest.raises(IntegrityError):
            add_and_commit()
    with uow() as work:
        assert work.variants.get(variant.id).reserved == 1
        assert work.orders.count_unpaid(customer.id) == 1


# SQLite: writers wait for each other; a stale reader is told to try again -----------------------


@pytest.fixture
def sqlite_uow(sqlite_url):
    engine = create_engine_for(sqlite_url)
    yield uow_factory(engine)
    engine.dispose()


def _holding_the_write_lock(sqlite_url: str) -> sqlite3.Connection:
    """Another connection, in the middle of a write transaction (until it rolls back)."""
    connection = sqlite3.connect(
        sqlite_file(sqlite_url), isolation_level=None, check_same_thread=False
    )
    connection.execute("BEGIN IMMEDIATE")
    return connection


def test_sqlite_a_transaction_that_writes_first_waits_for_the_writer_before_it(
    sqlite_uow, sqlite_url
):
    connection = _holding_the_write_lock(sqlite_url)
    user = new_user()
    released = threading.Timer(0.5, connection.rollback)
    released.start()
    try:
        started = time.monotonic()
        with sqlite_uow() as work:
            work.users.add(user)  # waits out the other writer (busy_timeout), then writes
            work.commit()
        assert time.monotonic() - started >= 0.4
    finally:
        released.join()
        connection.close()
    with sqlite_uow() as work:
        assert work.users.get_by_email(user.email) is not None


def test_sqlite_a_write_after_a_read_while_another_writes_is_a_concurrent_update(
    sqlite_uow, sqlite_url
):
    # SQLite cannot let a reader wait for the write lock (its snapshot would be stale by
    # then) and answers "database is locked" at once: the caller may run it again (409).
    with sqlite_uow() as work:
        work.users.get_by_email("nobody@example.com")
        connection = _holding_the_write_lock(sqlite_url)
        try:
            with pytest.raises(ConcurrentUpdate):
                work.users.add(new_user())
        finally:
            connection.rollback()
            connection.close()
