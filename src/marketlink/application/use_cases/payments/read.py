"""Reading payments: an order's attempts, and the flagged ones for admins."""

from __future__ import annotations

import uuid

from marketlink.application.actors import Actor
from marketlink.application.ports import Page, PageRequest, UnitOfWorkFactory
from marketlink.application.use_cases.order_access import visible_order
from marketlink.domain.payments import Payment, PaymentFlag
from marketlink.domain.users import Role


class GetOrderPayments:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, order_id: uuid.UUID) -> list[Payment]:
        with self._uow() as uow:
            visible_order(uow, actor, order_id)
            return uow.payments.for_order(order_id)


class ListFlaggedPayments:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, flag: PaymentFlag | None, page: PageRequest) -> Page[Payment]:
        actor.require(Role.ADMIN)
        with self._uow() as uow:
            return uow.payments.flagged(str(flag) if flag else None, page)
