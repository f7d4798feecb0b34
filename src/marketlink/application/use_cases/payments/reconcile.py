"""Reconciliation: asking the gateway about notices that never came and refunds under way."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from marketlink.application.errors import GatewayUnavailable
from marketlink.application.ports import (
    Clock,
    GatewayTransaction,
    PaymentGateway,
    UnitOfWorkFactory,
)
from marketlink.application.use_cases.payments.refund import Refunds
from marketlink.application.use_cases.payments.settle import SettlePayment
from marketlink.domain.orders import EventSource
from marketlink.domain.payments import NOTICE_STATUSES, SUCCESS_STATUSES, NoticeResult

log = logging.getLogger(__name__)

# How long the reconciler leaves an open session alone: its notice may still be on its way.
RECONCILE_QUIET_PERIOD = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    checked: int
    settled: int
    refunds_polled: int


class ReconcilePayments:
    """For attempts whose notice never came, asks the gateway and applies its answer."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        clock: Clock,
        settle: SettlePayment,
        refunds: Refunds,
        quiet_period: timedelta = RECONCILE_QUIET_PERIOD,
        batch_size: int = 100,
    ) -> None:
        self._uow = uow
        self._gateway = gateway
        self._clock = clock
        self._settle = settle
        self._refunds = refunds
        self._quiet_period = quiet_period
        self._batch_size = batch_size

    def __call__(self) -> ReconcileReport:
        with self._uow() as uow:
            waiting = uow.payments.awaiting_notice(
                self._clock.now() - self._quiet_period, self._batch_size
            )
            refunding = uow.payments.refunds_pending(self._batch_size)
        settled = 0
        for payment in waiting:
            try:
                transactions = self._gateway.query_transactions(payment.tran_id)
            except GatewayUnavailable:
                log.warning("reconcile: gateway unavailable for %s", payment.tran_id)
                continue
            answer = _decisive(transactions)
            if answer is None:
                continue
            status = "VALID" if answer.status in SUCCESS_STATUSES else answer.status
            try:
                outcome = self._settle(
                    payment.tran_id,
                    status,
                    answer.val_id,
                    EventSource.RECONCILE,
                    reported=transactions,
                )
            except GatewayUnavailable:
                continue
            settled += outcome.result is not NoticeResult.DUPLICATE
        for payment in refunding:
            try:
                self._refunds.poll(payment.tran_id)
            except GatewayUnavailable:
                continue
        return ReconcileReport(len(waiting), settled, len(refunding))


def _decisive(transactions: list[GatewayTransaction]) -> GatewayTransaction | None:
    """A successful attempt wins over failed ones for the same tran_id."""
    for transaction in transactions:
        if transaction.status in SUCCESS_STATUSES and transaction.val_id:
            return transaction
    for transaction in reversed(transactions):
        if transaction.status in NOTICE_STATUSES - SUCCESS_STATUSES:
            return transaction
    return None
