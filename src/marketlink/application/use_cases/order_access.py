"""Who may see an order: shared by the order and payment use cases."""

from __future__ import annotations

import uuid

from marketlink.application.actors import Actor
from marketlink.application.errors import NotFound
from marketlink.application.ports import UnitOfWork
from marketlink.domain.orders import RepairOrder
from marketlink.domain.users import Role


def vendor_profile_id(uow: UnitOfWork, actor: Actor) -> int | None:
    if actor.role is not Role.VENDOR:
        return None
    vendor = uow.vendors.get_by_user(actor.user_id)
    return vendor.id if vendor else None


def visible_order(uow: UnitOfWork, actor: Actor, order_id: uuid.UUID) -> RepairOrder:
    """The order if the actor may see it; anyone else's is simply not found."""
    order = uow.orders.get(order_id)
    if order is None:
        raise NotFound("Order not found.")
    if actor.is_admin:
        return order
    if actor.role is Role.CUSTOMER and order.customer_id == actor.user_id:
        return order
    if actor.role is Role.VENDOR and order.vendor_id == vendor_profile_id(uow, actor):
        return order
    raise NotFound("Order not found.")
