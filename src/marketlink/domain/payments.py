"""Payments: one gateway attempt per `tran_id`, and what the gateway told us about it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from marketlink.domain.errors import InvalidMoney, InvalidPaymentTransition
from marketlink.domain.money import CATALOGUE_CURRENCY, Money
from marketlink.domain.orders import OrderStatus

# SSLCommerz's amounts are decimal(10, 2) (docs/sslcommerz.md §1.2, §5.3).
MAX_GATEWAY_AMOUNT = Decimal("99999999.99")
# The currency SSLCommerz settles and refunds in, which is the catalogue's: a payment in it
# is judged by the gateway's `amount`, one in another by what it was asked in that currency
# (`currency_amount`), and its refund API takes a bare `refund_amount`, at most the original
# `amount` (docs/sslcommerz.md §4 "Amount semantics", §5.3).
SETTLEMENT_CURRENCY = CATALOGUE_CURRENCY


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


class PaymentEvent(StrEnum):
    """What can happen to a payment; `TRANSITIONS` says where each event takes it."""

    SESSION_OPENED = "session_opened"  # the gateway opened its checkout session
    SESSION_FAILED = "session_failed"  # the gateway could not open one
    VALIDATED = "validated"  # the validation API confirms this order's amount and currency
    VALIDATED_RISKY = "validated_risky"  # ... and rates it risky: held for an admin's review
    MISMATCH = "mismatch"  # the validation API reports another amount or currency
    LATE = "late"  # validated and matching, but the order is no longer pending
    FAILED = "failed"  # the gateway says the payment failed
    ABANDONED = "abandoned"  # cancelled, unattempted or expired at the gateway
    ACCEPTED = "accepted"  # an admin accepts a payment held for review
    REFUND_REQUESTED = "refund_requested"  # the money is to go back
    REFUND_ACCEPTED = "refund_accepted"  # the gateway took the refund request
    REFUND_REFUSED = "refund_refused"  # the gateway refused it, or cannot be asked at all
    REFUND_COMPLETED = "refund_completed"  # the gateway gave the money back


@dataclass(frozen=True, slots=True)
class PaymentState:
    """Where a payment stands: its status, its flag and how its refund goes."""

    status: PaymentStatus
    flag: PaymentFlag | None = None
    refund_status: RefundStatus | None = None

    def __str__(self) -> str:
        return "/".join(str(part) for part in (self.status, self.flag, self.refund_status) if part)


@dataclass(frozen=True, slots=True)
class PaymentStep:
    """One row of the lifecycle: where an event takes a payment, and the status its order
    must move to, if any (the use case moves it, or finds that another path came first)."""

    to: PaymentState
    order_status: OrderStatus | None = None


_OPEN = PaymentState(PaymentStatus.INITIATED)
_FAILED = PaymentState(PaymentStatus.FAILED)
_CANCELLED = PaymentState(PaymentStatus.CANCELLED)
_PAID = PaymentState(PaymentStatus.VALID)
_HELD = PaymentState(PaymentStatus.VALID, PaymentFlag.REVIEW)
# Flagged for refund: money that was valid but cannot stay (late, or the order ended after
# it was paid), or money refused as a mismatch; and where the refund stands.
_VALID_REFUND_PENDING = PaymentState(PaymentStatus.VALID, PaymentFlag.REFUND, RefundStatus.PENDING)
_VALID_REFUND_FAILED = PaymentState(PaymentStatus.VALID, PaymentFlag.REFUND, RefundStatus.FAILED)
_VALID_REFUNDED = PaymentState(PaymentStatus.VALID, PaymentFlag.REFUND, RefundStatus.REFUNDED)
_REJECTED_REFUND_PENDING = PaymentState(
    PaymentStatus.REJECTED, PaymentFlag.REFUND, RefundStatus.PENDING
)
_REJECTED_REFUND_FAILED = PaymentState(
    PaymentStatus.REJECTED, PaymentFlag.REFUND, RefundStatus.FAILED
)
_REJECTED_REFUNDED = PaymentState(PaymentStatus.REJECTED, PaymentFlag.REFUND, RefundStatus.REFUNDED)

_E = PaymentEvent
_PAY, _FAIL, _CANCEL = OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.CANCELLED

# The whole lifecycle. Any (state, event) pair not listed here raises InvalidPaymentTransition.
TRANSITIONS: Mapping[tuple[PaymentState, PaymentEvent], PaymentStep] = MappingProxyType(
    {
        # Opening the gateway's session.
        (_OPEN, _E.SESSION_OPENED): PaymentStep(_OPEN),
        (_OPEN, _E.SESSION_FAILED): PaymentStep(_FAILED),
        # The gateway gives up on the open attempt: so does its order.
        (_OPEN, _E.FAILED): PaymentStep(_FAILED, _FAIL),
        (_OPEN, _E.ABANDONED): PaymentStep(_CANCELLED, _CANCEL),
        # Money the validation API confirms, on an attempt that took none yet (even one whose
        # session seemed to fail, or that was given up on: money that arrived is never
        # ignored): it pays the order, waits for review, or goes back if the order is gone.
        (_OPEN, _E.VALIDATED): PaymentStep(_PAID, _PAY),
        (_FAILED, _E.VALIDATED): PaymentStep(_PAID, _PAY),
        (_CANCELLED, _E.VALIDATED): PaymentStep(_PAID, _PAY),
        (_OPEN, _E.VALIDATED_RISKY): PaymentStep(_HELD),
        (_FAILED, _E.VALIDATED_RISKY): PaymentStep(_HELD),
        (_CANCELLED, _E.VALIDATED_RISKY): PaymentStep(_HELD),
        (_OPEN, _E.LATE): PaymentStep(_VALID_REFUND_PENDING),
        (_FAILED, _E.LATE): PaymentStep(_VALID_REFUND_PENDING),
        (_CANCELLED, _E.LATE): PaymentStep(_VALID_REFUND_PENDING),
        # A counted payment whose order another path ended first goes back.
        (_PAID, _E.LATE): PaymentStep(_VALID_REFUND_PENDING),
        # Held for review: an admin accepts it (the order is paid) or refunds it.
        (_HELD, _E.ACCEPTED): PaymentStep(_PAID, _PAY),
        (_HELD, _E.REFUND_REQUESTED): PaymentStep(_VALID_REFUND_PENDING),
        # The order of a counted payment ends (cancelled when paid, failed in progress).
        (_PAID, _E.REFUND_REQUESTED): PaymentStep(_VALID_REFUND_PENDING),
        # A mismatch is never counted, whatever came before: the money goes back. A refund
        # already asked for is not asked for again.
        (_OPEN, _E.MISMATCH): PaymentStep(_REJECTED_REFUND_PENDING),
        (_FAILED, _E.MISMATCH): PaymentStep(_REJECTED_REFUND_PENDING),
        (_CANCELLED, _E.MISMATCH): PaymentStep(_REJECTED_REFUND_PENDING),
        (_PAID, _E.MISMATCH): PaymentStep(_REJECTED_REFUND_PENDING),
        (_HELD, _E.MISMATCH): PaymentStep(_REJECTED_REFUND_PENDING),
        (_VALID_REFUND_PENDING, _E.MISMATCH): PaymentStep(_REJECTED_REFUND_PENDING),
        (_VALID_REFUND_FAILED, _E.MISMATCH): PaymentStep(_REJECTED_REFUND_FAILED),
        (_VALID_REFUNDED, _E.MISMATCH): PaymentStep(_REJECTED_REFUNDED),
        (_REJECTED_REFUND_PENDING, _E.MISMATCH): PaymentStep(_REJECTED_REFUND_PENDING),
        (_REJECTED_REFUND_FAILED, _E.MISMATCH): PaymentStep(_REJECTED_REFUND_FAILED),
        (_REJECTED_REFUNDED, _E.MISMATCH): PaymentStep(_REJECTED_REFUNDED),
        # The refund: the gateway takes the request, refuses it or completes it. A refused
        # refund stays flagged, and an admin may ask again.
        (_VALID_REFUND_PENDING, _E.REFUND_ACCEPTED): PaymentStep(_VALID_REFUND_PENDING),
        (_VALID_REFUND_PENDING, _E.REFUND_REFUSED): PaymentStep(_VALID_REFUND_FAILED),
        (_VALID_REFUND_PENDING, _E.REFUND_COMPLETED): PaymentStep(_VALID_REFUNDED),
        (_VALID_REFUND_FAILED, _E.REFUND_REQUESTED): PaymentStep(_VALID_REFUND_PENDING),
        (_REJECTED_REFUND_PENDING, _E.REFUND_ACCEPTED): PaymentStep(_REJECTED_REFUND_PENDING),
        (_REJECTED_REFUND_PENDING, _E.REFUND_REFUSED): PaymentStep(_REJECTED_REFUND_FAILED),
        (_REJECTED_REFUND_PENDING, _E.REFUND_COMPLETED): PaymentStep(_REJECTED_REFUNDED),
        (_REJECTED_REFUND_FAILED, _E.REFUND_REQUESTED): PaymentStep(_REJECTED_REFUND_PENDING),
    }
)


@dataclass(frozen=True, slots=True)
class PaymentChange:
    """What applying an event (or two, see `Payment.accept`) did to a payment."""

    before: PaymentState
    after: PaymentState
    order_status: OrderStatus | None = None

    @property
    def requests_refund(self) -> bool:
        """True when this change asked for the money to go back (not when it was asked before)."""
        return (
            self.after.refund_status is RefundStatus.PENDING
            and self.before.refund_status is not RefundStatus.PENDING
        )


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
    """One gateway attempt for an order. Its state changes only through the methods below,
    each of which applies an event of `TRANSITIONS` or raises InvalidPaymentTransition."""

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
    def state(self) -> PaymentState:
        return PaymentState(self.status, self.flag, self.refund_status)

    @property
    def is_open(self) -> bool:
        return self.status is PaymentStatus.INITIATED and self.flag is None

    def can(self, event: PaymentEvent) -> bool:
        return (self.state, event) in TRANSITIONS

    # The gateway's session ----------------------------------------------------------------

    def open_session(self, session_key: str, gateway_url: str, now: datetime) -> PaymentChange:
        change = self._apply(PaymentEvent.SESSION_OPENED, now)
        self.session_key = session_key
        self.gateway_url = gateway_url
        return change

    def fail_session(self, now: datetime) -> PaymentChange:
        change = self._apply(PaymentEvent.SESSION_FAILED, now)
        self.session_key = ""
        self.gateway_url = ""
        return change

    # What the gateway says ----------------------------------------------------------------

    def record_validation(
        self, judgement: Judgement, facts: ValidatedFacts, now: datetime
    ) -> PaymentChange | None:
        """Applies the judgement of a validated notice (see `judge_success`) and keeps the
        validation API's references; None when the judgement changes nothing."""
        event = judgement.event
        if event is None:
            return None
        change = self._apply(event, now)
        self.val_id = facts.val_id
        self.bank_tran_id = facts.bank_tran_id or self.bank_tran_id
        self.card_type = facts.card_type
        self.card_no = facts.card_no
        self.risk_level = facts.risk_level
        # The validation API's word on what was paid: what a refund gives back.
        self.paid_amount = reported_money(facts.amount, facts.currency)
        return change

    def record_failure(self, judgement: Judgement, now: datetime) -> PaymentChange | None:
        """Applies the judgement of a failure notice (see `judge_failure`); None: no change."""
        event = judgement.event
        return None if event is None else self._apply(event, now)

    def arrived_late(self, now: datetime) -> PaymentChange:
        """The order this payment was to pay was ended first by another path: it goes back."""
        return self._apply(PaymentEvent.LATE, now)

    # An admin's review --------------------------------------------------------------------

    def accept(self, now: datetime, *, order_pending: bool) -> PaymentChange:
        """An admin accepts a payment held for review: it pays its order if that is still
        pending, and goes back otherwise."""
        accepted = self._apply(PaymentEvent.ACCEPTED, now)
        if order_pending:
            return accepted
        late = self._apply(PaymentEvent.LATE, now)
        return PaymentChange(accepted.before, late.after)

    # Refunds ------------------------------------------------------------------------------

    def request_refund(self, now: datetime) -> PaymentChange:
        change = self._apply(PaymentEvent.REFUND_REQUESTED, now)
        self.refund_ref_id = ""  # a new request: the gateway names it when it takes it
        return change

    def refund_accepted(self, refund_ref_id: str, now: datetime) -> PaymentChange:
        change = self._apply(PaymentEvent.REFUND_ACCEPTED, now)
        self.refund_ref_id = refund_ref_id or self.refund_ref_id
        return change

    def refund_refused(self, now: datetime) -> PaymentChange:
        return self._apply(PaymentEvent.REFUND_REFUSED, now)

    def refund_completed(self, now: datetime) -> PaymentChange:
        return self._apply(PaymentEvent.REFUND_COMPLETED, now)

    def refund_amount(self) -> Money | None:
        """What a refund gives back: what the gateway says was paid, not what we asked for.

        An underpayment refunded at the order's amount is refused (more than was paid),
        an overpayment only partly given back. A payment counted VALID was checked to equal
        the order's amount and currency, so without a recorded paid amount (a row older
        than the record) `amount` is what was paid.

        None when no refund can be asked of the gateway automatically, and an admin must
        see to it: the paid amount is unknown, or it is in another currency than the
        settlement currency. For a foreign payment the validation API reports what the
        customer was asked in that currency (`currency_amount`, `currency_type`), while the
        refund API takes a bare BDT amount: sending that number would refund the wrong sum.
        """
        paid = self.paid_amount
        if paid is None and self.status is PaymentStatus.VALID:
            paid = self.amount
        if paid is None or paid.currency != SETTLEMENT_CURRENCY:
            return None
        return paid

    def _apply(self, event: PaymentEvent, now: datetime) -> PaymentChange:
        before = self.state
        step = TRANSITIONS.get((before, event))
        if step is None:
            raise InvalidPaymentTransition(before, event)
        self.status = step.to.status
        self.flag = step.to.flag
        self.refund_status = step.to.refund_status
        self.updated_at = now
        return PaymentChange(before, step.to, step.order_status)


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

ENDING_STATUSES = FAILURE_STATUSES | ABANDONED_STATUSES


def ending_the_gateway_reports(reported: Iterable[str]) -> str | None:
    """The ending (failed, cancelled...) the gateway's own records give an attempt, if any.

    A notice that would end an order is believed only when the gateway, asked server to
    server, says the same: anyone holding the webhook secret (or, in the sandbox, its
    public one) could otherwise end another customer's order. Money wins: an attempt the
    gateway reports as paid has no ending, whatever else it reports.
    """
    statuses = [status.strip().upper() for status in reported]
    if any(status in SUCCESS_STATUSES for status in statuses):
        return None
    endings = [status for status in statuses if status in ENDING_STATUSES]
    return endings[-1] if endings else None


# The reason recorded with a valid payment for an order that no longer waits for one.
ORDER_NO_LONGER_PENDING = "order no longer pending"


class Verdict(StrEnum):
    CONFIRM = "confirm"  # the order is paid
    REVIEW = "review"  # paid, but risky: hold for an admin
    MISMATCH = "mismatch"  # not what the order asked for (amount, currency): it goes back
    LATE = "late"  # paid, but the order no longer waits for it: it goes back
    REJECT = "reject"  # not a payment of this order; nothing changes
    FAIL = "fail"  # the gateway says the payment failed
    ABANDON = "abandon"  # cancelled, unattempted or expired at the gateway
    IGNORE = "ignore"  # true but changes nothing (e.g. a failure for an order already ended)


_EVENT_OF_VERDICT = {
    Verdict.CONFIRM: PaymentEvent.VALIDATED,
    Verdict.REVIEW: PaymentEvent.VALIDATED_RISKY,
    Verdict.MISMATCH: PaymentEvent.MISMATCH,
    Verdict.LATE: PaymentEvent.LATE,
    Verdict.FAIL: PaymentEvent.FAILED,
    Verdict.ABANDON: PaymentEvent.ABANDONED,
}


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    reason: str = ""

    @property
    def event(self) -> PaymentEvent | None:
        """The event the verdict applies to the payment; None when it leaves it as it is."""
        return _EVENT_OF_VERDICT.get(self.verdict)

    @property
    def notice_result(self) -> NoticeResult:
        """How the notice is recorded: refused when it is no payment of this order's."""
        if self.verdict in (Verdict.REJECT, Verdict.MISMATCH):
            return NoticeResult.REJECTED
        return NoticeResult.PROCESSED


@dataclass(frozen=True, slots=True)
class ValidatedFacts:
    """What the gateway's validation API (never the notice's own fields) says was paid."""

    status: str
    tran_id: str
    amount: Decimal | None
    currency: str
    risk_level: int
    val_id: str = ""
    bank_tran_id: str = ""
    card_type: str = ""
    card_no: str = ""


def judge_success(payment: Payment, order_is_pending: bool, facts: ValidatedFacts) -> Judgement:
    """Decides what a notice of success for `payment` means, from server-side facts only.

    Money that arrived is never ignored: unless this very payment was already counted,
    or already refused and flagged for refund, it either pays the order, waits for
    review, or is flagged for a refund.
    """
    if facts.status not in SUCCESS_STATUSES:
        return Judgement(Verdict.REJECT, f"validation status {facts.status or 'missing'}")
    if facts.tran_id != payment.tran_id:
        return Judgement(Verdict.REJECT, "tran_id does not belong to this payment")
    if facts.amount is None or facts.amount != payment.amount.amount:
        return Judgement(Verdict.MISMATCH, "amount_mismatch")
    if facts.currency != payment.amount.currency:
        return Judgement(Verdict.MISMATCH, "currency_mismatch")
    if payment.status is PaymentStatus.VALID:
        return Judgement(Verdict.IGNORE, "payment already counted")
    if payment.flag is PaymentFlag.REFUND:
        # Refused as a mismatch, its refund asked for: it can pay nothing any more.
        return Judgement(Verdict.IGNORE, "payment flagged for refund")
    if not order_is_pending:
        return Judgement(Verdict.LATE, ORDER_NO_LONGER_PENDING)
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
