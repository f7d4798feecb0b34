"""Payments: one gateway attempt per `tran_id`, and what the gateway told us about it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from marketlink.domain.errors import InvalidMoney
from marketlink.domain.money import BDT, Money

# SSLCommerz's amounts are decimal(10, 2) (docs/sslcommerz.md §1.2, §5.3).
MAX_GATEWAY_AMOUNT = Decimal("99999999.99")
# The currency SSLCommerz settles and refunds in: its refund API takes a bare
# `refund_amount`, at most the transaction's original `amount`, which is in BDT
# (docs/sslcommerz.md §4 "Amount semantics", §5.3).
REFUND_CURRENCY = BDT


class PaymentStatus(StrEnum):
    INITIATED = "initiated"
    VALID = "valid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class PaymentFlag(StrEnum):
    REFUND = "refund"
    REVIEW = "review"


class RefundStatus(StrEnum):
    PENDING = "refund_pending"
    REFUNDED = "refunded"
    FAILED = "refund_failed"


class NoticeResult(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class RecordedNotice:
    """A gateway notice as stored: what it said and what we made of it (no secrets)."""

    key: str
    tran_id: str
    received_at: datetime
    status: str
    result: NoticeResult
    reason: str = ""
    source: str = "webhook"


@dataclass(eq=False)
class Payment:
    tran_id: str
    order_id: uuid.UUID
    amount: Money
    created_at: datetime
    updated_at: datetime
    status: PaymentStatus = PaymentStatus.INITIATED
    session_key: str = ""
    gateway_url: str = ""
    val_id: str = ""
    bank_tran_id: str = ""
    card_type: str = ""
    card_no: str = ""
    risk_level: int | None = None
    flag: PaymentFlag | None = None
    refund_status: RefundStatus | None = None
    refund_ref_id: str = ""
    # What the gateway's validation API says was paid (None until it has said so, or when
    # it reported nothing usable); `amount` is what we asked for.
    paid_amount: Money | None = None
    notices: list[RecordedNotice] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status is PaymentStatus.INITIATED and self.flag is None

    def refund_amount(self) -> Money | None:
        """What a refund gives back: what the gateway says was paid, not what we asked for.

        An underpayment refunded at the order's amount is refused (more than was paid),
        an overpayment only partly given back. A payment counted VALID was checked to equal
        the order's amount and currency, so without a recorded paid amount (a row older
        than the record) `amount` is what was paid.

        None when no refund can be asked of the gateway automatically, and an admin must
        see to it: the paid amount is unknown, or it is in another currency than BDT. For a
        foreign payment the validation API reports what the customer was asked in that
        currency (`currency_amount`, `currency_type`), while the refund API takes a bare
        BDT amount: sending that number would refund the wrong sum.
        """
        paid = self.paid_amount
        if paid is None and self.status is PaymentStatus.VALID:
            paid = self.amount
        if paid is None or paid.currency != REFUND_CURRENCY:
            return None
        return paid


def reported_money(amount: Decimal | None, currency: str) -> Money | None:
    """An amount the gateway reported, as Money; None when it is none a refund could use.

    That is: missing, not positive, beyond the gateway's decimal(10, 2), with more than
    two decimals, or without a three-letter upper-case currency code.
    """
    if amount is None or not amount.is_finite() or not 0 < amount <= MAX_GATEWAY_AMOUNT:
        return None
    if not currency.isascii():
        return None
    try:
        return Money(amount, currency)
    except InvalidMoney:
        return None


# What the gateway's statuses mean for us.
SUCCESS_STATUSES = frozenset({"VALID", "VALIDATED"})
FAILURE_STATUSES = frozenset({"FAILED"})
ABANDONED_STATUSES = frozenset({"CANCELLED", "UNATTEMPTED", "EXPIRED"})
NOTICE_STATUSES = SUCCESS_STATUSES | FAILURE_STATUSES | ABANDONED_STATUSES


class Verdict(StrEnum):
    CONFIRM = "confirm"  # the order is paid
    REVIEW = "review"  # paid, but risky: hold for an admin
    REFUND = "refund"  # money arrived that we must give back
    REJECT = "reject"  # not a payment of this order; nothing changes
    FAIL = "fail"  # the gateway says the payment failed
    ABANDON = "abandon"  # cancelled, unattempted or expired at the gateway
    IGNORE = "ignore"  # true but changes nothing (e.g. a failure for an order already ended)


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ValidatedFacts:
    """What the gateway's validation API (never the notice's own fields) says was paid."""

    status: str
    tran_id: str
    amount: Decimal | None
    currency: str
    risk_level: int


def judge_success(payment: Payment, order_is_pending: bool, facts: ValidatedFacts) -> Judgement:
    """Decides what a notice of success for `payment` means, from server-side facts only.

    Money that arrived is never ignored: unless this very payment was already counted,
    it either pays the order, waits for review, or is flagged for a refund.
    """
    if facts.status not in SUCCESS_STATUSES:
        return Judgement(Verdict.REJECT, f"validation status {facts.status or 'missing'}")
    if facts.tran_id != payment.tran_id:
        return Judgement(Verdict.REJECT, "tran_id does not belong to this payment")
    if facts.amount is None or facts.amount != payment.amount.amount:
        return Judgement(Verdict.REFUND, "amount_mismatch")
    if facts.currency != payment.amount.currency:
        return Judgement(Verdict.REFUND, "currency_mismatch")
    if payment.status is PaymentStatus.VALID:
        return Judgement(Verdict.IGNORE, "payment already counted")
    if not order_is_pending:
        return Judgement(Verdict.REFUND, "order no longer pending")
    if facts.risk_level >= 1:
        return Judgement(Verdict.REVIEW, "high risk")
    return Judgement(Verdict.CONFIRM)


def judge_failure(payment: Payment, order_is_pending: bool, gateway_status: str) -> Judgement:
    """A failed or abandoned attempt ends the order only while it is this order's open attempt."""
    if not payment.is_open or not order_is_pending:
        return Judgement(Verdict.IGNORE, f"{gateway_status} for a settled payment")
    if gateway_status in FAILURE_STATUSES:
        return Judgement(Verdict.FAIL, "payment failed at the gateway")
    return Judgement(Verdict.ABANDON, f"payment {gateway_status.lower()} at the gateway")
