import itertools
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from marketlink.domain.errors import InvalidTransition
from marketlink.domain.money import Money
from marketlink.domain.orders import EventSource, OrderStatus, RepairOrder

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
S = OrderStatus

ALLOWED = {
    (S.PENDING, S.PAID),
    (S.PENDING, S.CANCELLED),
    (S.PENDING, S.FAILED),
    (S.PAID, S.PROCESSING),
    (S.PAID, S.CANCELLED),
    (S.PROCESSING, S.COMPLETED),
    (S.PROCESSING, S.FAILED),
}


def order_in(status: OrderStatus) -> RepairOrder:
    order = RepairOrder.place(
        customer_id=1,
        vendor_id=2,
        variant_id=3,
        service_name="Brakes",
        variant_name="Front pads",
        price=Money.of("1500.00"),
        now=NOW,
        expires_at=NOW + timedelta(minutes=30),
    )
    order.status = status
    order.new_events.clear()
    return order


@pytest.mark.parametrize(("from_status", "to_status"), list(itertools.product(S, S)))
def test_every_pair_of_statuses_is_either_allowed_or_refused(from_status, to_status):
    order = order_in(from_status)
    if (from_status, to_status) in ALLOWED:
        transition = order.transition(to_status, now=NOW, source=EventSource.API, actor_id=9)
        assert order.status is to_status
        assert transition.event.from_status is from_status
        assert order.new_events == [transition.event]
        assert transition.releases_slot == (
            from_status in {S.PENDING, S.PAID, S.PROCESSING}
            and to_status in {S.COMPLETED, S.CANCELLED, S.FAILED}
        )
    else:
        with pytest.raises(InvalidTransition):
            order.transition(to_status, now=NOW, source=EventSource.API)
        assert order.status is from_status
        assert order.new_events == []


def test_placing_an_order_records_its_creation_and_copies_the_price():
    order = RepairOrder.place(
        customer_id=1,
        vendor_id=2,
        variant_id=3,
        service_name="Brakes",
        variant_name="Front pads",
        price=Money.of("1500.00"),
        now=NOW,
        expires_at=NOW + timedelta(minutes=30),
        order_id=uuid.UUID(int=7),
    )
    assert order.status is S.PENDING
    assert order.total_amount == Money.of("1500.00")
    [created] = order.new_events
    assert (created.from_status, created.to_status, created.actor_id) == (None, S.PENDING, 1)


def test_an_order_expires_only_while_pending_and_past_its_reservation():
    order = order_in(S.PENDING)
    assert not order.is_expired(NOW)
    assert order.is_expired(NOW + timedelta(minutes=30))
    order.status = S.PAID
    assert not order.is_expired(NOW + timedelta(hours=1))


def test_a_slot_is_released_only_when_leaving_an_active_status_for_an_ending_one():
    order = order_in(S.PROCESSING)
    assert order.transition(S.COMPLETED, now=NOW, source=EventSource.API).releases_slot
    order = order_in(S.PAID)
    assert not order.transition(S.PROCESSING, now=NOW, source=EventSource.API).releases_slot
