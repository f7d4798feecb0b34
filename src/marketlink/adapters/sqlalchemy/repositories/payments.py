"""Payment attempts and the gateway notices about them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from marketlink.adapters.sqlalchemy.db_errors import is_unique_violation
from marketlink.adapters.sqlalchemy.repositories.base import SqlRepository, fields_of
from marketlink.adapters.sqlalchemy.tables import gateway_notices, payments, repair_orders
from marketlink.application.ports import Page, PageRequest
from marketlink.domain.money import Money
from marketlink.domain.orders import OrderStatus
from marketlink.domain.payments import (
    NoticeResult,
    Payment,
    PaymentFlag,
    PaymentStatus,
    RecordedNotice,
    RefundStatus,
)

# The columns that hold the entity's field of the same name as it is (see fields_of). The
# key, `tran_id`, is not among them: an update finds the row by it and leaves it alone.
_PAYMENT_FIELDS = (
    "order_id",
    "session_key",
    "gateway_url",
    "val_id",
    "bank_tran_id",
    "card_type",
    "card_no",
    "risk_level",
    "refund_ref_id",
    "created_at",
    "updated_at",
)
_NOTICE_FIELDS = ("key", "tran_id", "received_at", "status", "reason", "source")


def _payment(row: sa.Row[Any]) -> Payment:
    return Payment(
        tran_id=row.tran_id,
        amount=Money(row.amount, row.currency),
        status=PaymentStatus(row.status),
        flag=PaymentFlag(row.flag) if row.flag else None,
        refund_status=RefundStatus(row.refund_status) if row.refund_status else None,
        paid_amount=(
            Money(row.paid_amount, row.paid_currency)
            if row.paid_amount is not None and row.paid_currency is not None
            else None
        ),
        **fields_of(row, _PAYMENT_FIELDS),
    )


def _payment_values(payment: Payment) -> dict[str, Any]:
    return {
        **fields_of(payment, _PAYMENT_FIELDS),
        "amount": payment.amount.amount,
        "currency": payment.amount.currency,
        "status": payment.status.value,
        "flag": payment.flag.value if payment.flag else None,
        "refund_status": payment.refund_status.value if payment.refund_status else None,
        "paid_amount": payment.paid_amount.amount if payment.paid_amount else None,
        "paid_currency": payment.paid_amount.currency if payment.paid_amount else None,
    }


def _notice(row: sa.Row[Any]) -> RecordedNotice:
    return RecordedNotice(result=NoticeResult(row.result), **fields_of(row, _NOTICE_FIELDS))


def _notice_values(notice: RecordedNotice) -> dict[str, Any]:
    return {**fields_of(notice, _NOTICE_FIELDS), "result": notice.result.value}


_NEWEST_FIRST = [payments.c.created_at.desc(), payments.c.tran_id]
_OLDEST_FIRST = [payments.c.created_at, payments.c.tran_id]


class SqlPaymentRepository(SqlRepository):
    def add(self, payment: Payment) -> None:
        self._execute(
            sa.insert(payments).values(tran_id=payment.tran_id, **_payment_values(payment))
        )

    def get(self, tran_id: str) -> Payment | None:
        row = self._execute(sa.select(payments).where(payments.c.tran_id == tran_id)).first()
        return _payment(row) if row else None

    def get_with_notices(self, tran_id: str) -> Payment | None:
        payment = self.get(tran_id)
        if payment is not None:
            self._attach_notices([payment])
        return payment

    def save(self, payment: Payment) -> None:
        self._execute(
            sa.update(payments)
            .where(payments.c.tran_id == payment.tran_id)
            .values(_payment_values(payment))
        )

    def open_for_order(self, order_id: uuid.UUID) -> Payment | None:
        row = self._execute(
            sa.select(payments)
            .where(
                payments.c.order_id == order_id,
                payments.c.status == PaymentStatus.INITIATED.value,
                payments.c.flag.is_(None),
            )
            .order_by(*_NEWEST_FIRST)
            .limit(1)
        ).first()
        return _payment(row) if row else None

    def for_order(self, order_id: uuid.UUID) -> list[Payment]:
        rows = self._execute(
            sa.select(payments).where(payments.c.order_id == order_id).order_by(*_NEWEST_FIRST)
        )
        found = [_payment(row) for row in rows]
        self._attach_notices(found)
        return found

    def notice_seen(self, key: str) -> bool:
        query = sa.select(gateway_notices.c.id).where(gateway_notices.c.key == key)
        return self._execute(query).first() is not None

    def record_notice(self, notice: RecordedNotice) -> bool:
        try:
            # A savepoint: a duplicate must leave the caller's transaction usable.
            with self._savepoint():
                self._execute(sa.insert(gateway_notices).values(_notice_values(notice)))
        except IntegrityError as exc:
            if is_unique_violation(exc):
                return False
            raise
        return True

    def flagged(self, flag: str | None, page: PageRequest) -> Page[Payment]:
        query = sa.select(payments)
        if flag is None:
            query = query.where(payments.c.flag.is_not(None))
        else:
            query = query.where(payments.c.flag == flag)
        found = self._page(query, _NEWEST_FIRST, page, _payment)
        self._attach_notices(found.items)  # an admin judges a payment by what the gateway said
        return found

    def awaiting_notice(self, older_than: datetime, limit: int) -> list[Payment]:
        """Open gateway sessions whose notice never came, for orders still waiting on them."""
        rows = self._execute(
            sa.select(payments)
            .join(repair_orders, repair_orders.c.id == payments.c.order_id)
            .where(
                payments.c.status == PaymentStatus.INITIATED.value,
                payments.c.session_key != "",
                payments.c.created_at < older_than,
                repair_orders.c.status == OrderStatus.PENDING.value,
            )
            .order_by(*_OLDEST_FIRST)
            .limit(limit)
        )
        return [_payment(row) for row in rows]

    def refunds_pending(self, limit: int) -> list[Payment]:
        rows = self._execute(
            sa.select(payments)
            .where(payments.c.refund_status == RefundStatus.PENDING.value)
            .order_by(payments.c.updated_at, payments.c.tran_id)
            .limit(limit)
        )
        return [_payment(row) for row in rows]

    def _attach_notices(self, found: Sequence[Payment]) -> None:
        """Every payment's notices, oldest first, in one query."""
        if not found:
            return
        rows = self._execute(
            sa.select(gateway_notices)
            .where(gateway_notices.c.tran_id.in_([p.tran_id for p in found]))
            .order_by(gateway_notices.c.received_at, gateway_notices.c.id)
        )
        by_tran_id: defaultdict[str, list[RecordedNotice]] = defaultdict(list)
        for row in rows:
            by_tran_id[row.tran_id].append(_notice(row))
        for payment in found:
            payment.notices = by_tran_id[payment.tran_id]
