"""A repair order: one booked slot of a variant, from booking to the end of the job."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from marketlink.domain.errors import InvalidTransition
from marketlink.domain.money import Money


class OrderStatus(StrEnum):
    PENDING = "pending"
    PAID = "paid"
    PROCESSING = "processing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def holds_slot(self) -> bool:
        return self in ACTIVE_STATUSES

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


ACTIVE_STATUSES = frozenset({OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.PROCESSING})
FINAL_STATUSES = frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED, OrderStatus.FAILED})

# The whole lifecycle. Any pair not listed here is refused with InvalidTransition.
TRANSITIONS: frozenset[tuple[OrderStatus, OrderStatus]] = frozenset(
    {
        (OrderStatus.PENDING, OrderStatus.PAID),
        (OrderStatus.PENDING, OrderStatus.CANCELLED),
        (OrderStatus.PENDING, OrderStatus.FAILED),
        (OrderStatus.PAID, OrderStatus.PROCESSING),
        (OrderStatus.PAID, OrderStatus.CANCELLED),
        (OrderStatus.PROCESSING, OrderStatus.COMPLETED),
        (OrderStatus.PROCESSING, OrderStatus.FAILED),
    }
)


class EventSource(StrEnum):
    API = "api"
    WEBHOOK = "webhook"
    RETURN = "return"
    EXPIRY = "expiry"
    ADMIN = "admin"
    RECONCILE = "reconcile"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One entry of an order's history; the first has no `from_status`."""

    order_id: uuid.UUID
    at: datetime
    from_status: OrderStatus | None
    to_status: OrderStatus
    source: EventSource
    actor_id: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Transition:
    """What a status change did: its history entry, the status left, whether a slot came back."""

    event: OrderEvent
    from_status: OrderStatus
    releases_slot: bool


def can_transition(from_status: OrderStatus, to_status: OrderStatus) -> bool:
    return (from_status, to_status) in TRANSITIONS


@dataclass(eq=False)
class RepairOrder:
    id: uuid.UUID
    customer_id: int
    vendor_id: int
    variant_id: int
    service_name: str
    variant_name: str
    total_amount: Money
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    status: OrderStatus = OrderStatus.PENDING
    new_events: list[OrderEvent] = field(default_factory=list)

    @classmethod
    def place(
        cls,
        *,
        customer_id: int,
        vendor_id: int,
        variant_id: int,
        service_name: str,
        variant_name: str,
        price: Money,
        now: datetime,
        expires_at: datetime,
        order_id: uuid.UUID | None = None,
    ) -> RepairOrder:
        order = cls(
            id=order_id or uuid.uuid4(),
            customer_id=customer_id,
            vendor_id=vendor_id,
            variant_id=variant_id,
            service_name=service_name,
            variant_name=variant_name,
            total_amount=price,
            created_at=now,
            updated_at=now,
            expires_at=expires_at,
        )
        order.new_events.append(
            OrderEvent(order.id, now, None, OrderStatus.PENDING, EventSource.API, customer_id, "")
        )
        return order

    def transition(
        self,
        to_status: OrderStatus,
        *,
        now: datetime,
        source: EventSource,
        actor_id: int | None = None,
        reason: str = "",
    ) -> Transition:
        if not can_transition(self.status, to_status):
            raise InvalidTransition(self.status, to_status)
        from_status = self.status
        event = OrderEvent(self.id, now, from_status, to_status, source, actor_id, reason)
        self.status = to_status
        self.updated_at = now
        self.new_events.append(event)
        return Transition(event, from_status, from_status.holds_slot and not to_status.holds_slot)

    def is_expired(self, now: datetime) -> bool:
        return self.status is OrderStatus.PENDING and now >= self.expires_at
