"""The lifecycle steps people take: cancel, start, complete and fail a job."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Protocol

from marketlink.application.actors import Actor
from marketlink.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from marketlink.application.use_cases.order_access import visible_order
from marketlink.application.use_cases.order_transitions import change_status
from marketlink.domain.errors import InvalidTransition
from marketlink.domain.orders import EventSource, OrderStatus, RepairOrder
from marketlink.domain.users import Role


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

    def _authorize(self, actor: Actor, order: RepairOrder) -> None:
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
            self._authorize(actor, order)

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

    def _authorize(self, actor: Actor, order: RepairOrder) -> None:
        if actor.role is Role.CUSTOMER and order.status is not OrderStatus.PENDING:
            raise InvalidTransition(order.status, self.to_status)


class StartWork(_ActorTransition):
    to_status = OrderStatus.PROCESSING

    def _authorize(self, actor: Actor, order: RepairOrder) -> None:
        actor.require(Role.VENDOR)


class CompleteWork(_ActorTransition):
    to_status = OrderStatus.COMPLETED

    def _authorize(self, actor: Actor, order: RepairOrder) -> None:
        actor.require(Role.VENDOR)


class FailWork(_RefundingTransition):
    """The shop (or an admin) gives up on a job in progress."""

    to_status = OrderStatus.FAILED

    def _authorize(self, actor: Actor, order: RepairOrder) -> None:
        actor.require(Role.VENDOR, Role.ADMIN)
        if order.status is not OrderStatus.PROCESSING:
            # pending -> failed belongs to the gateway, not to people.
            raise InvalidTransition(order.status, self.to_status)
