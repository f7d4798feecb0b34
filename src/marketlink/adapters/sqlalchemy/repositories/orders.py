"""Repair orders and their history."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from marketlink.adapters.sqlalchemy.repositories.base import SqlRepository, fields_of
from marketlink.adapters.sqlalchemy.tables import order_events, payments, repair_orders
from marketlink.application.ports import OrderScope, Page, PageRequest
from marketlink.domain.money import Money
from marketlink.domain.orders import EventSource, OrderEvent, OrderStatus, RepairOrder
from marketlink.domain.payments import PaymentFlag

# The columns that hold the entity's field of the same name as it is (see fields_of).
_ORDER_FIELDS = (
    "customer_id",
    "vendor_id",
    "variant_id",
    "service_name",
    "variant_name",
    "created_at",
    "updated_at",
    "expires_at",
)
_EVENT_FIELDS = ("order_id", "at", "actor_id", "reason")


def _order(row: sa.Row[Any]) -> RepairOrder:
    return RepairOrder(
        id=row.id,
        total_amount=Money(row.total_amount, row.currency),
        status=OrderStatus(row.status),
        **fields_of(row, _ORDER_FIELDS),
    )


def _order_values(order: RepairOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        **fields_of(order, _ORDER_FIELDS),
        "status": order.status.value,
        "total_amount": order.total_amount.amount,
        "currency": order.total_amount.currency,
    }


def _event(row: sa.Row[Any]) -> OrderEvent:
    return OrderEvent(
        from_status=OrderStatus(row.from_status) if row.from_status else None,
        to_status=OrderStatus(row.to_status),
        source=EventSource(row.source),
        **fields_of(row, _EVENT_FIELDS),
    )


def _event_values(event: OrderEvent) -> dict[str, Any]:
    return {
        **fields_of(event, _EVENT_FIELDS),
        "from_status": event.from_status.value if event.from_status else None,
        "to_status": event.to_status.value,
        "source": event.source.value,
    }


# Built once, so that SQLAlchemy finds their compiled form by identity (booking's hot path).
_INSERT_ORDER = sa.insert(repair_orders)
# The events' ids are not read back: no RETURNING, even for a single row.
_INSERT_EVENTS = sa.insert(order_events).inline()


class SqlOrderRepository(SqlRepository):
    def add(self, order: RepairOrder) -> None:
        self._writes.add(_INSERT_ORDER, _order_values(order))
        self._append_events(order)

    def get(self, order_id: uuid.UUID) -> RepairOrder | None:
        row = self._execute(sa.select(repair_orders).where(repair_orders.c.id == order_id)).first()
        return _order(row) if row else None

    def save_transition(self, order: RepairOrder, expected: OrderStatus) -> bool:
        # The status in the WHERE clause is the whole point: of two paths racing to end
        # one order (a cancel and the expiry, a late payment), only one matches a row.
        won = self._execute(
            sa.update(repair_orders)
            .where(repair_orders.c.id == order.id, repair_orders.c.status == expected.value)
            .values(status=order.status.value, updated_at=order.updated_at)
        ).rowcount
        if won != 1:
            return False
        self._append_events(order)
        return True

    def list(
        self, scope: OrderScope, status: OrderStatus | None, page: PageRequest
    ) -> Page[RepairOrder]:
        query = sa.select(repair_orders)
        if scope.customer_id is not None:
            query = query.where(repair_orders.c.customer_id == scope.customer_id)
        if scope.vendor_id is not None:
            query = query.where(repair_orders.c.vendor_id == scope.vendor_id)
        if status is not None:
            query = query.where(repair_orders.c.status == status.value)
        newest_first = [repair_orders.c.created_at.desc(), repair_orders.c.id]
        return self._page(query, newest_first, page, _order)

    def count_unpaid(self, customer_id: int) -> int:
        count = self._execute(
            sa.select(sa.func.count())
            .select_from(repair_orders)
            .where(
                repair_orders.c.customer_id == customer_id,
                repair_orders.c.status == OrderStatus.PENDING.value,
            )
        ).scalar_one()
        return int(count)

    def expired_ids(self, now: datetime, limit: int) -> builtins.list[uuid.UUID]:
        # A payment held for review keeps its order: the money is in, an admin decides.
        under_review = sa.exists().where(
            payments.c.order_id == repair_orders.c.id,
            payments.c.flag == PaymentFlag.REVIEW.value,
        )
        rows = self._execute(
            sa.select(repair_orders.c.id)
            .where(
                repair_orders.c.status == OrderStatus.PENDING.value,
                repair_orders.c.expires_at <= now,
                ~under_review,
            )
            .order_by(repair_orders.c.expires_at, repair_orders.c.id)
            .limit(limit)
        )
        return [row.id for row in rows]

    def events(self, order_id: uuid.UUID) -> builtins.list[OrderEvent]:
        rows = self._execute(
            sa.select(order_events)
            .where(order_events.c.order_id == order_id)
            .order_by(order_events.c.at, order_events.c.id)
        )
        return [_event(row) for row in rows]

    def _append_events(self, order: RepairOrder) -> None:
        self._insert_events(order.new_events)
        order.new_events.clear()

    def _insert_events(self, events: Iterable[OrderEvent]) -> None:
        values = [_event_values(event) for event in events]
        if values:
            self._writes.add(_INSERT_EVENTS, values)
