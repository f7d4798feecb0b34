"""Changing an order's status safely: compare-and-set, the slot given back once, retries.

Shared by the order and payment use cases.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from marketlink.application.errors import ConcurrentUpdate, NotFound
from marketlink.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from marketlink.domain.orders import EventSource, OrderStatus, RepairOrder

# How often a status change is retried after losing its compare-and-set to another path.
CAS_ATTEMPTS = 3


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
                raise NotFound("Order not found.")
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
