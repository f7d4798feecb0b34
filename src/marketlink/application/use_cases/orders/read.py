"""Reading orders and their history, as far as the actor may see them."""

from __future__ import annotations

import uuid

from marketlink.application.actors import Actor
from marketlink.application.ports import OrderScope, Page, PageRequest, UnitOfWorkFactory
from marketlink.application.use_cases.order_access import vendor_profile_id, visible_order
from marketlink.domain.orders import OrderEvent, OrderStatus, RepairOrder
from marketlink.domain.users import Role


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
                vendor_id = vendor_profile_id(uow, actor)
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
