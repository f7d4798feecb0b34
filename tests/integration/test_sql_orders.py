"""Repair orders: storage, the compare-and-set on status, listings and the expiry query."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from marketlink.application.errors import ConcurrentUpdate
from marketlink.application.ports import OrderScope, PageRequest
from marketlink.domain.money import Money
from marketlink.domain.orders import EventSource, OrderStatus
from marketlink.domain.payments import PaymentFlag
from tests.integration.conftest import T0, Builder

pytestmark = pytest.mark.integration


def test_an_order_and_its_creation_event_are_stored(uow, build: Builder):
    customer = build.user()
    variant = build.bookable("1500.50")
    order = build.order(customer, variant)
    assert order.new_events == []  # handed to the database

    with uow() as work:
        loaded = work.orders.get(order.id)
        events = work.orders.events(order.id)
        assert work.orders.get(uuid.uuid4()) is None
    assert loaded.id == order.id
    assert (loaded.customer_id, loaded.vendor_id, loaded.variant_id) == (
        customer.id,
        order.vendor_id,
        variant.id,
    )
    assert (loaded.service_name, loaded.variant_name) == ("Brake repair", "Front")
    assert (loaded.status, loaded.total_amount) == (OrderStatus.PENDING, Money.of("1500.50"))
    assert (loaded.created_at, loaded.updated_at, loaded.expires_at) == (
        T0,
        T0,
        T0 + timedelta(minutes=30),
    )
    assert loaded.new_events == []
    assert [(e.from_status, e.to_status, e.source, e.actor_id) for e in events] == [
        (None, OrderStatus.PENDING, EventSource.API, customer.id)
    ]


def test_a_transition_is_a_compare_and_set_on_the_status(uow, build: Builder):
    order = build.order()
    admin = build.user()
    later = T0 + timedelta(minutes=5)

    with uow() as work:
        mine = work.orders.get(order.id)
        mine.transition(OrderStatus.PAID, now=later, source=EventSource.WEBHOOK, reason="ok")
        assert work.orders.save_transition(mine, OrderStatus.PENDING) is True
        assert mine.new_events == []
        work.commit()

    with uow() as work:
        # Another path still believes the order is pending: it loses and writes nothing.
        stale = work.orders.get(order.id)
        stale.status = OrderStatus.PENDING
        stale.transition(
            OrderStatus.CANCELLED, now=later, source=EventSource.EXPIRY, actor_id=admin.id
        )
        assert work.orders.save_transition(stale, OrderStatus.PENDING) is False
        work.commit()

    with uow() as work:
        saved = work.orders.get(order.id)
        events = work.orders.events(order.id)
    assert (saved.status, saved.updated_at) == (OrderStatus.PAID, later)
    assert [(e.from_status, e.to_status, e.source, e.reason, e.at) for e in events] == [
        (None, OrderStatus.PENDING, EventSource.API, "", T0),
        (OrderStatus.PENDING, OrderStatus.PAID, EventSource.WEBHOOK, "ok", later),
    ]


def test_the_loser_of_two_concurrent_transitions_writes_nothing(uow, build: Builder, engine):
    order = build.order()
    with uow() as first, uow() as second:
        mine = first.orders.get(order.id)
        theirs = second.orders.get(order.id)
        mine.transition(OrderStatus.CANCELLED, now=T0, source=EventSource.API)
        assert first.orders.save_transition(mine, OrderStatus.PENDING)
        first.commit()
        theirs.transition(OrderStatus.PAID, now=T0, source=EventSource.WEBHOOK)
        if engine.dialect.name == "sqlite":
            # A SQLite transaction that read before the other committed cannot write at
            # all (its snapshot is stale): the whole unit of work must start over.
            with pytest.raises(ConcurrentUpdate):
                second.orders.save_transition(theirs, OrderStatus.PENDING)
        else:
            assert second.orders.save_transition(theirs, OrderStatus.PENDING) is False
    with uow() as work:
        assert work.orders.get(order.id).status is OrderStatus.CANCELLED
        assert len(work.orders.events(order.id)) == 2


def test_orders_are_listed_newest_first_within_scope_and_status(uow, build: Builder):
    customer, other = build.user(), build.user()
    variant = build.bookable(stock=10)
    older = build.order(customer, variant, now=T0)
    newer = build.order(customer, variant, now=T0 + timedelta(hours=1))
    theirs = build.order(other, variant, now=T0 + timedelta(hours=2))
    with uow() as work:
        paid = work.orders.get(older.id)
        paid.transition(OrderStatus.PAID, now=T0, source=EventSource.WEBHOOK)
        work.orders.save_transition(paid, OrderStatus.PENDING)
        work.commit()

    def ids(scope: OrderScope, status: OrderStatus | None = None, page=None) -> list:
        with uow() as work:
            found = work.orders.list(scope, status, page or PageRequest())
        return [o.id for o in found.items], found.total

    assert ids(OrderScope(customer_id=customer.id)) == ([newer.id, older.id], 2)
    assert ids(OrderScope(customer_id=customer.id), OrderStatus.PAID) == ([older.id], 1)
    assert ids(OrderScope(vendor_id=older.vendor_id)) == ([theirs.id, newer.id, older.id], 3)
    assert ids(OrderScope(vendor_id=10**9)) == ([], 0)
    assert ids(OrderScope(), page=PageRequest(2, 2)) == ([older.id], 3)


def test_unpaid_orders_are_counted_per_customer(uow, build: Builder):
    customer = build.user()
    variant = build.bookable(stock=10)
    first = build.order(customer, variant)
    build.order(customer, variant)
    build.order(build.user(), variant)
    with uow() as work:
        paid = work.orders.get(first.id)
        paid.transition(OrderStatus.PAID, now=T0, source=EventSource.WEBHOOK)
        work.orders.save_transition(paid, OrderStatus.PENDING)
        work.commit()
    with uow() as work:
        assert work.orders.count_unpaid(customer.id) == 1
        assert work.orders.count_unpaid(10**9) == 0


def test_expired_ids_are_pending_orders_past_their_time_oldest_first(uow, build: Builder):
    variant = build.bookable(stock=10)
    customer = build.user()
    now = T0 + timedelta(hours=1)

    def order(expires_in_minutes: int):
        return build.order(
            customer, variant, expires_at=now + timedelta(minutes=expires_in_minutes)
        )

    later_expired = order(-5)
    first_expired = order(-50)
    exactly_now = order(0)
    order(10)  # still running
    paid = order(-40)
    under_review = order(-30)
    with uow() as work:
        loaded = work.orders.get(paid.id)
        loaded.transition(OrderStatus.PAID, now=now, source=EventSource.WEBHOOK)
        work.orders.save_transition(loaded, OrderStatus.PENDING)
        work.commit()
    build.payment(under_review, flag=PaymentFlag.REVIEW)
    build.payment(later_expired, flag=PaymentFlag.REFUND)  # only review holds an order

    with uow() as work:
        assert work.orders.expired_ids(now, 10) == [
            first_expired.id,
            later_expired.id,
            exactly_now.id,
        ]
        assert work.orders.expired_ids(now, 1) == [first_expired.id]
