"""Expiry: unpaid orders past their reservation give their slots back."""

from __future__ import annotations

from dataclasses import dataclass

from marketlink.application.errors import ConcurrentUpdate
from marketlink.application.ports import Clock, UnitOfWork, UnitOfWorkFactory
from marketlink.application.use_cases.order_transitions import change_status
from marketlink.domain.errors import InvalidTransition
from marketlink.domain.orders import EventSource, OrderStatus, RepairOrder


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    cancelled: int
    skipped: int


class ExpireUnpaidOrders:
    """Cancels pending orders past their reservation and gives their slots back.

    Safe to run beside the API and beside itself: each cancel is a compare-and-set,
    so an order paid or cancelled a moment earlier is simply skipped.
    """

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, batch_size: int = 200) -> None:
        self._uow = uow
        self._clock = clock
        self._batch_size = batch_size

    def __call__(self) -> ExpiryReport:
        with self._uow() as uow:
            expired = uow.orders.expired_ids(self._clock.now(), self._batch_size)
        cancelled = skipped = 0
        for order_id in expired:
            try:
                change_status(
                    self._uow,
                    self._clock,
                    order_id,
                    OrderStatus.CANCELLED,
                    source=EventSource.EXPIRY,
                    actor_id=None,
                    reason="reservation expired",
                    authorize=self._still_expired,
                )
                cancelled += 1
            except (InvalidTransition, ConcurrentUpdate, _NotExpired):
                skipped += 1
        return ExpiryReport(cancelled, skipped)

    def _still_expired(self, _uow: UnitOfWork, order: RepairOrder) -> None:
        """An OrderHook: refuses an order that is no longer expired (paid meanwhile, say)."""
        if not order.is_expired(self._clock.now()):
            raise _NotExpired()


class _NotExpired(Exception):
    pass
