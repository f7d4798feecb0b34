"""Refunds: asked of the gateway after the request is recorded, and followed up."""

from __future__ import annotations

import logging
import uuid

from marketlink.application.errors import GatewayUnavailable
from marketlink.application.ports import (
    Clock,
    PaymentGateway,
    RefundAnswer,
    UnitOfWork,
    UnitOfWorkFactory,
)
from marketlink.application.use_cases.payments.gateway_ids import MAX_TRAN_ID_LENGTH
from marketlink.domain.money import Money
from marketlink.domain.payments import PaymentStatus, RefundStatus

log = logging.getLogger(__name__)


def describe_amount(money: Money | None) -> str:
    return f"{money} {money.currency}" if money is not None else "an unknown amount"


class Refunds:
    """Asks the gateway to give money back; the request is recorded before it is sent."""

    def __init__(self, uow: UnitOfWorkFactory, gateway: PaymentGateway, clock: Clock) -> None:
        self._uow = uow
        self._gateway = gateway
        self._clock = clock

    def flag_order_payments(self, uow: UnitOfWork, order_id: uuid.UUID) -> list[str]:
        """Inside the caller's transaction: flags every counted payment of the order."""
        flagged = []
        for payment in uow.payments.for_order(order_id):
            if payment.status is PaymentStatus.VALID and payment.refund_status is None:
                payment.request_refund(self._clock.now())
                uow.payments.save(payment)
                flagged.append(payment.tran_id)
        return flagged

    def request(self, tran_id: str) -> None:
        """Asks the gateway to give back what was paid (see `Payment.refund_amount`).

        A payment whose paid amount the gateway cannot be asked to refund (unknown, or in
        another currency than BDT) is marked refund_failed at once, without a call: it
        stays flagged for refund, and an admin refunds it by hand in the gateway's panel.
        """
        with self._uow() as uow:
            payment = uow.payments.get(tran_id)
        if payment is None or payment.refund_status is not RefundStatus.PENDING:
            return
        if payment.refund_ref_id or not payment.bank_tran_id:
            return
        amount = payment.refund_amount()
        if amount is None:
            log.warning(
                "refund of %s needs an admin: paid %s, which the gateway cannot refund",
                tran_id,
                describe_amount(payment.paid_amount),
            )
            self._record(tran_id, None)
            return
        try:
            answer = self._gateway.refund(
                payment.bank_tran_id,
                amount,
                refund_trans_id=f"RF{tran_id}"[:MAX_TRAN_ID_LENGTH],
                remarks=f"MarketLink refund for order {payment.order_id}",
            )
        except GatewayUnavailable:
            log.warning("refund of %s deferred: gateway unavailable", tran_id)
            return  # still refund_pending: the reconciler asks again
        self._record(tran_id, answer)

    def _record(self, tran_id: str, answer: RefundAnswer | None) -> None:
        """The gateway's answer to a refund request; None: it could not be asked (failed)."""
        with self._uow() as uow:
            payment = uow.payments.get(tran_id)
            if payment is None or payment.refund_status is not RefundStatus.PENDING:
                return
            if answer is not None and answer.status in ("success", "processing"):
                payment.refund_accepted(answer.refund_ref_id, self._clock.now())
            else:
                payment.refund_refused(self._clock.now())
            uow.payments.save(payment)
            uow.commit()

    def poll(self, tran_id: str) -> None:
        with self._uow() as uow:
            payment = uow.payments.get(tran_id)
        if payment is None or payment.refund_status is not RefundStatus.PENDING:
            return
        if not payment.refund_ref_id:
            self.request(tran_id)
            return
        answer = self._gateway.refund_status(payment.refund_ref_id)
        if answer.status not in ("refunded", "cancelled"):
            return
        with self._uow() as uow:
            payment = uow.payments.get(tran_id)
            if payment is None or payment.refund_status is not RefundStatus.PENDING:
                return
            if answer.status == "refunded":
                payment.refund_completed(self._clock.now())
            else:
                payment.refund_refused(self._clock.now())
            uow.payments.save(payment)
            uow.commit()
