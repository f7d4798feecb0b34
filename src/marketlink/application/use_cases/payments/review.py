"""An admin's review of a flagged payment: accept it, or refund it."""

from __future__ import annotations

from marketlink.application.actors import Actor
from marketlink.application.errors import InconsistentState, NotFound, NotPayable
from marketlink.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from marketlink.application.use_cases.order_transitions import apply_transition
from marketlink.application.use_cases.payments.gateway_ids import MAX_TRAN_ID_LENGTH, is_gateway_id
from marketlink.application.use_cases.payments.refund import Refunds, describe_amount
from marketlink.domain.orders import EventSource, OrderStatus, RepairOrder
from marketlink.domain.payments import Payment, PaymentEvent, PaymentFlag, RefundStatus
from marketlink.domain.users import Role


def _payment_or_not_found(uow: UnitOfWork, tran_id: str) -> Payment:
    payment = uow.payments.get(tran_id) if is_gateway_id(tran_id, MAX_TRAN_ID_LENGTH) else None
    if payment is None:
        raise NotFound("Payment not found.")
    return payment


def _order_of(uow: UnitOfWork, payment: Payment) -> RepairOrder:
    order = uow.orders.get(payment.order_id)
    if order is None:
        raise InconsistentState(f"Payment {payment.tran_id} has no order.")
    return order


class _Review:
    """An admin's verdict on a flagged payment, in one transaction; a refund it asks for is
    requested of the gateway after the commit."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, refunds: Refunds) -> None:
        self._uow = uow
        self._clock = clock
        self._refunds = refunds

    def __call__(self, actor: Actor, tran_id: str) -> Payment:
        actor.require(Role.ADMIN)
        with self._uow() as uow:
            payment = _payment_or_not_found(uow, tran_id)
            self._decide(uow, actor, payment)
            uow.payments.save(payment)
            uow.commit()
        if payment.refund_status is RefundStatus.PENDING:
            self._refunds.request(tran_id)
        # As it stands now (the refund request may have changed it), with its notices.
        with self._uow() as uow:
            return uow.payments.get_with_notices(tran_id) or payment

    def _decide(self, uow: UnitOfWork, actor: Actor, payment: Payment) -> None:
        raise NotImplementedError


class AcceptPayment(_Review):
    """An admin accepts a payment held for review: the order is paid if it still can be."""

    def _decide(self, uow: UnitOfWork, actor: Actor, payment: Payment) -> None:
        if not payment.can(PaymentEvent.ACCEPTED):
            raise NotPayable("Only a payment held for review can be accepted.")
        order = _order_of(uow, payment)
        now = self._clock.now()
        change = payment.accept(now, order_pending=order.status is OrderStatus.PENDING)
        if change.order_status is OrderStatus.PAID and not apply_transition(
            uow,
            order,
            OrderStatus.PAID,
            now=now,
            source=EventSource.ADMIN,
            actor_id=actor.user_id,
            reason=f"payment {payment.tran_id} accepted after review",
        ):
            payment.arrived_late(now)


class RefundPayment(_Review):
    """An admin refunds a flagged payment; a held order is cancelled and its slot released."""

    def _decide(self, uow: UnitOfWork, actor: Actor, payment: Payment) -> None:
        if payment.flag is None or not payment.bank_tran_id:
            raise NotPayable("Only a flagged payment that took money can be refunded.")
        if payment.refund_amount() is None:
            raise NotPayable(
                f"This payment ({describe_amount(payment.paid_amount)}) cannot be refunded "
                "through the gateway's API: refund it in the gateway's merchant panel."
            )
        order = _order_of(uow, payment)
        if payment.flag is PaymentFlag.REVIEW and order.status is OrderStatus.PENDING:
            apply_transition(
                uow,
                order,
                OrderStatus.CANCELLED,
                now=self._clock.now(),
                source=EventSource.ADMIN,
                actor_id=actor.user_id,
                reason=f"payment {payment.tran_id} rejected after review",
            )
        # Held for review, or refused by the gateway before (an admin asks again); a refund
        # already on its way or done is not asked for twice.
        if payment.can(PaymentEvent.REFUND_REQUESTED):
            payment.request_refund(self._clock.now())
