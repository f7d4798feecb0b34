"""Placing an order: booking one slot of a variant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from marketlink.application.actors import Actor
from marketlink.application.errors import NotFound, TooManyUnpaidOrders
from marketlink.application.ports import Clock, Lock, UnitOfWorkFactory
from marketlink.domain.orders import RepairOrder
from marketlink.domain.users import Role


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
                raise NotFound("Variant not found.")
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
