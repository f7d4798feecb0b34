"""Settling a notice: what the gateway says about an attempt, whoever tells us.

Money is never trusted from a browser: an order is paid only on an authentic notice
(or a return page, or the reconciler) whose `val_id` the gateway's validation API
confirms, server to server, for this order's `tran_id`, amount and currency; and an
order ends (failed, cancelled...) only when the gateway's transaction query reports that
ending too. No gateway call happens inside a transaction or a lock.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from marketlink.application.errors import GatewayUnavailable, InconsistentState, InvalidNotice
from marketlink.application.ports import (
    Clock,
    GatewayTransaction,
    PaymentGateway,
    UnitOfWorkFactory,
)
from marketlink.application.use_cases.order_transitions import apply_transition
from marketlink.application.use_cases.payments.gateway_ids import (
    MAX_TRAN_ID_LENGTH,
    MAX_VAL_ID_LENGTH,
    is_gateway_id,
)
from marketlink.application.use_cases.payments.refund import Refunds
from marketlink.domain.orders import EventSource, OrderStatus
from marketlink.domain.payments import (
    NOTICE_STATUSES,
    ORDER_NO_LONGER_PENDING,
    SUCCESS_STATUSES,
    Judgement,
    NoticeResult,
    RecordedNotice,
    RefundStatus,
    ValidatedFacts,
    Verdict,
    ending_the_gateway_reports,
    judge_failure,
    judge_success,
)

log = logging.getLogger(__name__)

# Why a notice that would end an order changed nothing.
NOT_CONFIRMED_BY_GATEWAY = "not confirmed by the gateway"


@dataclass(frozen=True, slots=True)
class NoticeOutcome:
    result: NoticeResult
    reason: str = ""
    order_id: uuid.UUID | None = None


class SettlePayment:
    """Applies what the gateway says about one attempt, once, whoever tells us.

    Used by the IPN webhook, the browser return page and the reconciler alike: the
    notice's unique key makes a replay or a parallel copy a no-op.
    """

    def __init__(
        self, uow: UnitOfWorkFactory, gateway: PaymentGateway, clock: Clock, refunds: Refunds
    ) -> None:
        self._uow = uow
        self._gateway = gateway
        self._clock = clock
        self._refunds = refunds

    def __call__(
        self,
        tran_id: str,
        status: str,
        val_id: str,
        source: EventSource,
        *,
        reported: Sequence[GatewayTransaction] | None = None,
    ) -> NoticeOutcome:
        """`reported`: what the transaction query API just said of `tran_id`, when the
        caller (the reconciler) has asked already, so the gateway is not asked twice."""
        key = f"{tran_id}:{status}:{val_id}"
        with self._uow() as uow:
            payment = uow.payments.get(tran_id)
            if payment is None:
                recorded = uow.payments.record_notice(
                    self._notice(
                        key, tran_id, status, NoticeResult.REJECTED, "unknown tran_id", source
                    )
                )
                uow.commit()
                if not recorded:
                    return NoticeOutcome(NoticeResult.DUPLICATE)
                return NoticeOutcome(NoticeResult.REJECTED, "unknown tran_id")
            if uow.payments.notice_seen(key):
                return NoticeOutcome(NoticeResult.DUPLICATE, order_id=payment.order_id)
        # Both gateway calls raise GatewayUnavailable: nothing is recorded, so the
        # gateway's retry counts.
        if status in SUCCESS_STATUSES:
            return self._apply(key, tran_id, status, source, self._gateway.validate(val_id))
        if reported is None:
            reported = self._gateway.query_transactions(tran_id)
        ending = ending_the_gateway_reports(transaction.status for transaction in reported)
        if ending is None:
            # Not recorded: the key would turn the gateway's own notice, when it comes,
            # into a duplicate.
            log.warning("notice %s for %s is not what the gateway reports", status, tran_id)
            return NoticeOutcome(NoticeResult.REJECTED, NOT_CONFIRMED_BY_GATEWAY, payment.order_id)
        return self._apply(key, tran_id, ending, source, None)

    def _apply(
        self,
        key: str,
        tran_id: str,
        status: str,
        source: EventSource,
        transaction: GatewayTransaction | None,
    ) -> NoticeOutcome:
        with self._uow() as uow:
            payment = uow.payments.get(tran_id)
            if payment is None:
                raise InconsistentState(f"Payment {tran_id} vanished.")
            order = uow.orders.get(payment.order_id)
            if order is None:
                raise InconsistentState(f"Payment {tran_id} has no order.")
            pending = order.status is OrderStatus.PENDING
            now = self._clock.now()
            if transaction is not None:
                facts = _validated_facts(transaction)
                judgement = judge_success(payment, pending, facts)
                change = payment.record_validation(judgement, facts, now)
            else:
                judgement = judge_failure(payment, pending, status)
                change = payment.record_failure(judgement, now)
            moves_to = None if change is None else change.order_status
            if moves_to is not None:
                paying = moves_to is OrderStatus.PAID
                moved = apply_transition(
                    uow,
                    order,
                    moves_to,
                    now=now,
                    source=source,
                    actor_id=None,
                    reason=f"payment {tran_id}" if paying else judgement.reason,
                )
                if paying and not moved:
                    # Another path (say the expiry) ended the order a moment ago: the money
                    # goes back.
                    payment.arrived_late(now)
                    judgement = Judgement(Verdict.LATE, ORDER_NO_LONGER_PENDING)
            result = judgement.notice_result
            if not uow.payments.record_notice(
                self._notice(key, tran_id, status, result, judgement.reason, source)
            ):
                return NoticeOutcome(NoticeResult.DUPLICATE, order_id=order.id)
            if change is not None:
                uow.payments.save(payment)
            uow.commit()
        if change is not None and payment.refund_status is RefundStatus.PENDING:
            self._refunds.request(tran_id)
        return NoticeOutcome(result, judgement.reason, order.id)

    def _notice(
        self,
        key: str,
        tran_id: str,
        status: str,
        result: NoticeResult,
        reason: str,
        source: EventSource,
    ) -> RecordedNotice:
        return RecordedNotice(
            key=key,
            tran_id=tran_id,
            received_at=self._clock.now(),
            status=status,
            result=result,
            reason=reason,
            source=str(source),
        )


class HandleGatewayNotice:
    """The IPN: authentic and well formed, or refused before anything is stored."""

    def __init__(self, gateway: PaymentGateway, settle: SettlePayment) -> None:
        self._gateway = gateway
        self._settle = settle

    def __call__(self, fields: Mapping[str, str]) -> NoticeOutcome:
        if not self._gateway.verify_notice(fields):
            raise InvalidNotice("The notice's signature does not verify.")
        tran_id = fields.get("tran_id", "").strip()
        status = fields.get("status", "").strip().upper()
        val_id = fields.get("val_id", "").strip()
        if not is_gateway_id(tran_id, MAX_TRAN_ID_LENGTH) or status not in NOTICE_STATUSES:
            raise InvalidNotice("The notice lacks a valid tran_id or status.")
        if status in SUCCESS_STATUSES and not val_id:
            raise InvalidNotice("A successful notice must carry a val_id.")
        if val_id and not is_gateway_id(val_id, MAX_VAL_ID_LENGTH):
            raise InvalidNotice("The notice's val_id is not well formed.")
        return self._settle(tran_id, status, val_id, EventSource.WEBHOOK)


@dataclass(frozen=True, slots=True)
class ReturnOutcome:
    order_id: uuid.UUID | None
    status: str


class ConfirmFromReturn:
    """The browser's landing page: it may confirm through the validation API, never from
    the posted fields. A forged POST can at most make us ask the gateway about a val_id."""

    def __init__(self, uow: UnitOfWorkFactory, settle: SettlePayment) -> None:
        self._uow = uow
        self._settle = settle

    def __call__(self, tran_id: str, val_id: str, *, succeeded: bool) -> ReturnOutcome:
        tran_id, val_id = tran_id.strip(), val_id.strip()
        if not is_gateway_id(tran_id, MAX_TRAN_ID_LENGTH):
            return ReturnOutcome(None, "unknown")
        with self._uow() as uow:
            payment = uow.payments.get(tran_id)
        if payment is None:
            return ReturnOutcome(None, "unknown")
        if succeeded and is_gateway_id(val_id, MAX_VAL_ID_LENGTH):
            try:
                self._settle(tran_id, "VALID", val_id, EventSource.RETURN)
            except GatewayUnavailable:
                log.warning("return page for %s could not reach the validation API", tran_id)
        with self._uow() as uow:
            order = uow.orders.get(payment.order_id)
        return ReturnOutcome(payment.order_id, str(order.status) if order else "unknown")


def _validated_facts(transaction: GatewayTransaction) -> ValidatedFacts:
    return ValidatedFacts(
        status=transaction.status,
        tran_id=transaction.tran_id,
        amount=transaction.amount,
        currency=transaction.currency,
        risk_level=transaction.risk_level,
        val_id=transaction.val_id,
        bank_tran_id=transaction.bank_tran_id,
        card_type=transaction.card_type,
        card_no=transaction.card_no,
    )
