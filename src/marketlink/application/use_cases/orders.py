"""Orders: booking a slot, moving an order through its lifecycle, and reading it back."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from marketlink.application.actors import Actor
from marketlink.application.errors import (
    ConcurrentUpdate,
    NotFound,
    TooManyUnpaidOrders,
)
from marketlink.application.ports import (
    Clock,
    Lock,
    OrderScope,
    Page,
    PageRequest,
    UnitOfWork,
    UnitOfWorkFactory,
)
from marketlink.domain.errors import InvalidTransition
from marketlink.domain.orders import EventSource, OrderEvent, OrderStatus, RepairOrder
from marketlink.domain.users import Role

# How often a status change is retried after losing its compare-and-set to another path.
CAS_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class BookingPolicy:
    reservation_ttl_seconds: int = 1800
    max_unpaid_orders: int = 5
    lock_ttl_seconds: float = 5.0
    lock_wait_seconds: float = 3.0


def variant_lock_key(variant_id: int) -> str:
    return f"variant_lock_{variant_id}"


class PlaceOrder:
    """Books one slot of a variant for a customer.

    The per-variant lock keeps contention off the database; the row lock, the
    domain invariant and the CHECK constraint are what make a double sale impossible.
    Nothing here talks to the payment gateway: the pay link is opened later.
    """

    def __init__(
        self, uow: UnitOfWorkFactory, lock: Lock, clock: Clock, policy: BookingPolicy
    ) -> None:
        self._uow = uow
        self._lock = lock
        self._clock = clock
        self._policy = policy

    def __call__(self, actor: Actor, variant_id: int) -> RepairOrder:
        actor.require(Role.CUSTOMER)
        policy = self._policy
        if policy.max_unpaid_orders:
            # The customer's own count needs no lock: checked before taking it.
            with self._uow() as uow:
                if uow.orders.count_unpaid(actor.user_id) >= policy.max_unpaid_orders:
                    raise TooManyUnpaidOrders()
        lock = self._lock.hold(
            variant_lock_key(variant_id),
            ttl=policy.lock_ttl_seconds,
            wait=policy.lock_wait_seconds,
        )
        # The unit of work opens (a pooled connection, its transaction begun) before the
        # lock is taken, and the lock is released only after the commit. Under the lock:
        # one read that row-locks the variant and brings its service and shop, then three
        # writes and the commit (which the SQL adapter sends in one round trip).
        with self._uow() as uow, lock:
            offer = uow.variants.get_offer_for_update(variant_id)
            if offer is None or not offer.on_sale:
                raise NotFound("variant not found")
            variant = offer.variant
            variant.reserve()
            now = self._clock.now()
            order = RepairOrder.place(
                customer_id=actor.user_id,
                vendor_id=offer.vendor_id,
                variant_id=variant_id,
                service_name=offer.service_name,
                variant_name=variant.name,
                price=variant.price,
                now=now,
                expires_at=now + timedelta(seconds=policy.reservation_ttl_seconds),
            )
            uow.variants.save(variant)
            uow.orders.add(order)
            uow.commit()
        return order


def _vendor_profile_id(uow: UnitOfWork, actor: Actor) -> int | None:
    if actor.role is not Role.VENDOR:
        return None
    vendor = uow.vendors.get_by_user(actor.user_id)
    return vendor.id if vendor else None


def visible_order(uow: UnitOfWork, actor: Actor, order_id: uuid.UUID) -> RepairOrder:
    """The order if the actor may see it; anyone else's is simply not found."""
    order = uow.orders.get(order_id)
    if order is None:
        raise NotFound("order not found")
    if actor.is_admin:
        return order
    if actor.role is Role.CUSTOMER and order.customer_id == actor.user_id:
        return order
    if actor.role is Role.VENDOR and order.vendor_id == _vendor_profile_id(uow, actor):
        return order
    raise NotFound("order not found")


def apply_transition(
    uow: UnitOfWork,
    order: RepairOrder,
    to_status: OrderStatus,
    *,
    now: datetime,
    source: EventSource,
    actor_id: int | None,
    reason: str = "",
) -> bool:
    """Inside an open unit of work: compare-and-set the order's status, release its slot once.

    Returns False, having written nothing, when another path changed the order first.
    """
    expected = order.status
    transition = order.transition(
        to_status, now=now, source=source, actor_id=actor_id, reason=reason
    )
    if not uow.orders.save_transition(order, expected):
        return False
    if transition.releases_slot:
        variant = uow.variants.get_for_update(order.variant_id)
        if variant is not None:
            variant.release()
            uow.variants.save(variant)
    return True


OrderHook = Callable[[UnitOfWork, RepairOrder], None]


def change_status(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    order_id: uuid.UUID,
    to_status: OrderStatus,
    *,
    source: EventSource,
    actor_id: int | None,
    reason: str = "",
    authorize: OrderHook | None = None,
    also: Callable[[UnitOfWork, RepairOrder, OrderStatus], None] | None = None,
) -> tuple[RepairOrder, OrderStatus]:
    """Moves an order in its own transaction, re-judging from the fresh status when it loses.

    `authorize` may refuse before anything is written; `also` runs in the same
    transaction once the change has won. Returns the order and the status it left.
    """
    for _ in range(CAS_ATTEMPTS):
        with uow_factory() as uow:
            order = uow.orders.get(order_id)
            if order is None:
                raise NotFound("order not found")
            if authorize is not None:
                authorize(uow, order)
            left = order.status
            try:
                won = apply_transition(
                    uow,
                    order,
                    to_status,
                    now=clock.now(),
                    source=source,
                    actor_id=actor_id,
                    reason=reason,
                )
            except ConcurrentUpdate:
                # A database that cannot tell "someone else won" from "try again" (SQLite:
                # a transaction that read before the winner committed may not write at
                # all) says so by raising: the same lost race, judged afresh next round.
                won = False
            if not won:
                continue
            if also is not None:
                also(uow, order, left)
            uow.commit()
            return order, left
    raise ConcurrentUpdate()


class RefundRequester(Protocol):
    """What a lifecycle step needs of the payment side: flag in-transaction, ask after."""

    def flag_order_payments(self, uow: UnitOfWork, order_id: uuid.UUID) -> list[str]: ...
    def request(self, tran_id: str) -> None: ...


class _ActorTransition:
    """A lifecycle step asked for by a user through the API."""

    to_status: OrderStatus

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def _authorize(self, actor: Actor, uow: UnitOfWork, order: RepairOrder) -> None:
        raise NotImplementedError

    def __call__(self, actor: Actor, order_id: uuid.UUID, reason: str = "") -> RepairOrder:
        order, _ = self._change(actor, order_id, reason)
        return order

    def _change(
        self,
        actor: Actor,
        order_id: uuid.UUID,
        reason: str,
        also: Callable[[UnitOfWork, RepairOrder, OrderStatus], None] | None = None,
    ) -> tuple[RepairOrder, OrderStatus]:
        def authorize(uow: UnitOfWork, order: RepairOrder) -> None:
            visible_order(uow, actor, order.id)
            self._authorize(actor, uow, order)

        return change_status(
            self._uow,
            self._clock,
            order_id,
            self.to_status,
            source=EventSource.ADMIN if actor.is_admin else EventSource.API,
            actor_id=actor.user_id,
            reason=reason,
            authorize=authorize,
            also=also,
        )


class _RefundingTransition(_ActorTransition):
    """A step that ends an order. Leaving `paid` or `processing` gives the customer's money
    back: the refund is flagged in the same transaction and requested after it commits.

    Without `refunds` the order's payments are left alone (tests of the orders alone).
    """

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, refunds: RefundRequester | None = None
    ) -> None:
        super().__init__(uow, clock)
        self._refunds = refunds

    def __call__(self, actor: Actor, order_id: uuid.UUID, reason: str = "") -> RepairOrder:
        refunds = self._refunds
        if refunds is None:
            return super().__call__(actor, order_id, reason)
        to_refund: list[str] = []

        def flag_refunds(uow: UnitOfWork, order: RepairOrder, left: OrderStatus) -> None:
            if left in (OrderStatus.PAID, OrderStatus.PROCESSING):
                to_refund.extend(refunds.flag_order_payments(uow, order.id))

        order, _ = self._change(actor, order_id, reason, also=flag_refunds)
        for tran_id in to_refund:
            refunds.request(tran_id)
        return order


class CancelOrder(_RefundingTransition):
    """The customer cancels a pending order; the shop or an admin a pending or paid one."""

    to_status = OrderStatus.CANCELLED

    def _authorize(self, actor: Actor, uow: UnitOfWork, order: RepairOrder) -> None:
        if actor.role is Role.CUSTOMER and order.status is not OrderStatus.PENDING:
            raise InvalidTransition(order.status, self.to_status)


class StartWork(_ActorTransition):
    to_status = OrderStatus.PROCESSING

    def _authorize(self, actor: Actor, uow: UnitOfWork, order: RepairOrder) -> None:
        actor.require(Role.VENDOR)


class CompleteWork(_ActorTransition):
    to_status = OrderStatus.COMPLETED

    def _authorize(self, actor: Actor, uow: UnitOfWork, order: RepairOrder) -> None:
        actor.require(Role.VENDOR)


class FailWork(_RefundingTransition):
    """The shop (or an admin) gives up on a job in progress."""

    to_status = OrderStatus.FAILED

    def _authorize(self, actor: Actor, uow: UnitOfWork, order: RepairOrder) -> None:
        actor.require(Role.VENDOR, Role.ADMIN)
        if order.status is not OrderStatus.PROCESSING:
            # pending -> failed belongs to the gateway, not to people.
            raise InvalidTransition(order.status, self.to_status)


class GetOrder:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, order_id: uuid.UUID) -> RepairOrder:
        with self._uow() as uow:
            return visible_order(uow, actor, order_id)


class ListOrders:
    """Customers see their own orders, vendors the orders for their services, admins all."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(
        self, actor: Actor, status: OrderStatus | None, page: PageRequest
    ) -> Page[RepairOrder]:
        with self._uow() as uow:
            if actor.is_admin:
                scope = OrderScope()
            elif actor.role is Role.CUSTOMER:
                scope = OrderScope(customer_id=actor.user_id)
            else:
                vendor_id = _vendor_profile_id(uow, actor)
                if vendor_id is None:
                    return Page([], 0)
                scope = OrderScope(vendor_id=vendor_id)
            return uow.orders.list(scope, status, page)


class GetOrderEvents:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, order_id: uuid.UUID) -> list[OrderEvent]:
        with self._uow() as uow:
            visible_order(uow, actor, order_id)
            return uow.orders.events(order_id)


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    cancelled: int
    skipped: int


class ExpireUnpaidOrders:
    """Cancels pending orders past their reservation and gives their slots back.

    Safe to run beside the API and beside itself: each cancel is a compare-and-set,
    so an order paid or cancelled a moment earlier is simply skipped.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, batch_size: int = 200) -> None:
        self._uow = uow
        self._clock = clock
        self._batch_size = batch_size

    def __call__(self) -> ExpiryReport:
        with self._uow() as uow:
            expired = uow.orders.expired_ids(self._clock.now(), self._batch_size)
        cancelled = skipped = 0
        for order_id in expired:
            try:
                change_status(
                    self._uow,
                    self._clock,
                    order_id,
                    OrderStatus.CANCELLED,
                    source=EventSource.EXPIRY,
                    actor_id=None,
                    reason="reservation expired",
                    authorize=self._still_expired,
                )
                cancelled += 1
            except (InvalidTransition, ConcurrentUpdate, _NotExpired):
                skipped += 1
        return ExpiryReport(cancelled, skipped)

    def _still_expired(self, uow: UnitOfWork, order: RepairOrder) -> None:
        if not order.is_expired(self._clock.now()):
            raise _NotExpired()


class _NotExpired(Exception):
    pass
