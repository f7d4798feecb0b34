"""Payments through the gateway: opening a session, settling what the gateway says, refunds.

Money is never trusted from a browser: an order is paid only on an authentic notice
(or a return page, or the reconciler) whose `val_id` the gateway's validation API
confirms, server to server, for this order's `tran_id`, amount and currency. No
gateway call happens inside a transaction or a lock.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from marketlink.application.actors import Actor
from marketlink.application.errors import (
    Forbidden,
    GatewayRejected,
    GatewayUnavailable,
    InconsistentState,
    InvalidNotice,
    NotFound,
    NotPayable,
)
from marketlink.application.ports import (
    Clock,
    GatewaySession,
    GatewayTransaction,
    Page,
    PageRequest,
    PaymentGateway,
    RefundAnswer,
    SessionRequest,
    UnitOfWork,
    UnitOfWorkFactory,
)
from marketlink.application.use_cases.orders import apply_transition, visible_order
from marketlink.domain.money import Money
from marketlink.domain.orders import EventSource, OrderStatus, RepairOrder
from marketlink.domain.payments import (
    NOTICE_STATUSES,
    ORDER_NO_LONGER_PENDING,
    SUCCESS_STATUSES,
    Judgement,
    NoticeResult,
    OrderEffect,
    Payment,
    PaymentEvent,
    PaymentFlag,
    PaymentStatus,
    RecordedNotice,
    RefundStatus,
    ValidatedFacts,
    Verdict,
    judge_failure,
    judge_success,
)
from marketlink.domain.users import Role

log = logging.getLogger(__name__)

MAX_TRAN_ID_LENGTH = 30
MAX_VAL_ID_LENGTH = 50
# How long the reconciler leaves an open session alone: its notice may still be on its way.
RECONCILE_QUIET_PERIOD = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class CallbackUrls:
    success: str
    fail: str
    cancel: str
    ipn: str

    @classmethod
    def under(cls, public_base_url: str) -> CallbackUrls:
        base = public_base_url.rstrip("/")
        return cls(
            success=f"{base}/api/v1/payments/sslcommerz/success",
            fail=f"{base}/api/v1/payments/sslcommerz/fail",
            cancel=f"{base}/api/v1/payments/sslcommerz/cancel",
            ipn=f"{base}/api/v1/webhooks/sslcommerz/",
        )


def is_gateway_id(value: str, max_length: int) -> bool:
    """Looks like a tran_id or val_id: printable ASCII without spaces, of a bounded length.

    Anything else (a NUL byte, a megabyte of text) is no id the gateway or we ever
    issued, and must not reach the database, whose columns and keys are bounded.
    """
    return (
        0 < len(value) <= max_length
        and value.isascii()
        and value.isprintable()
        and " " not in value
    )


def _describe(money: Money | None) -> str:
    return f"{money} {money.currency}" if money is not None else "an unknown amount"


def new_tran_id(order_id: uuid.UUID) -> str:
    """Unique per attempt and recognisably this order's: "ML", then 12 hex digits of the
    order's id and 12 random ones; 26 characters, within MAX_TRAN_ID_LENGTH."""
    return f"ML{order_id.hex[:12].upper()}{secrets.token_hex(6).upper()}"


@dataclass(frozen=True, slots=True)
class OpenedPayment:
    order_id: uuid.UUID
    tran_id: str
    gateway_url: str


class StartPayment:
    """Opens a gateway session for a pending order, or reuses the one already open."""

    def __init__(
        self, uow: UnitOfWorkFactory, gateway: PaymentGateway, clock: Clock, urls: CallbackUrls
    ) -> None:
        self._uow = uow
        self._gateway = gateway
        self._clock = clock
        self._urls = urls

    def __call__(self, order_id: uuid.UUID, actor: Actor | None = None) -> OpenedPayment:
        """`actor` is None when the caller proved itself with the order's signed pay link."""
        with self._uow() as uow:
            order = self._payable_order(uow, order_id, actor)
            current = uow.payments.open_for_order(order.id)
            if current is not None and current.gateway_url:
                return OpenedPayment(order.id, current.tran_id, current.gateway_url)
            customer = uow.users.get(order.customer_id)
            now = self._clock.now()
            payment = Payment(
                tran_id=new_tran_id(order.id),
                order_id=order.id,
                amount=order.total_amount,
                created_at=now,
                updated_at=now,
            )
            # Stored before the gateway hears of it, so any notice for this tran_id finds it.
            uow.payments.add(payment)
            uow.commit()
        request = SessionRequest(
            tran_id=payment.tran_id,
            amount=order.total_amount,
            product_name=f"{order.service_name} - {order.variant_name}"[:255],
            customer_name=(f"{customer.first_name} {customer.last_name}" if customer else "")[:50],
            customer_email=(customer.email if customer else "")[:50],
            customer_phone=((customer.phone_number or "") if customer else "")[:20],
            success_url=self._urls.success,
            fail_url=self._urls.fail,
            cancel_url=self._urls.cancel,
            ipn_url=self._urls.ipn,
            order_ref=str(order.id),
        )
        try:
            session = self._gateway.create_session(request)
        except (GatewayUnavailable, GatewayRejected):
            self._record_session(payment.tran_id, None)
            raise
        self._record_session(payment.tran_id, session)
        return OpenedPayment(order.id, payment.tran_id, session.gateway_url)

    def _payable_order(
        self, uow: UnitOfWork, order_id: uuid.UUID, actor: Actor | None
    ) -> RepairOrder:
        if actor is None:
            order = uow.orders.get(order_id)
            if order is None:
                raise NotFound("order not found")
        else:
            order = visible_order(uow, actor, order_id)
            if actor.role is not Role.CUSTOMER:
                raise Forbidden("only the customer pays for an order")
        if order.status is not OrderStatus.PENDING or order.is_expired(self._clock.now()):
            raise NotPayable(f"this order is {order.status} and cannot be paid")
        return order

    def _record_session(self, tran_id: str, session: GatewaySession | None) -> None:
        """The session the gateway opened, or None when it could not open one."""
        with self._uow() as uow:
            payment = uow.payments.get(tran_id)
            if payment is None or not payment.can(PaymentEvent.SESSION_OPENED):
                return  # settled meanwhile: what the gateway said since wins
            if session is None:
                payment.fail_session(self._clock.now())
            else:
                payment.open_session(session.session_key, session.gateway_url, self._clock.now())
            uow.payments.save(payment)
            uow.commit()


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
                _describe(payment.paid_amount),
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
        self, tran_id: str, status: str, val_id: str, source: EventSource
    ) -> NoticeOutcome:
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
        transaction = None
        if status in SUCCESS_STATUSES:
            # Raises GatewayUnavailable: nothing is recorded, so the gateway's retry counts.
            transaction = self._gateway.validate(val_id)
        return self._apply(key, tran_id, status, source, transaction)

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
                raise InconsistentState(f"payment {tran_id} vanished")
            order = uow.orders.get(payment.order_id)
            if order is None:
                raise InconsistentState(f"payment {tran_id} has no order")
            pending = order.status is OrderStatus.PENDING
            now = self._clock.now()
            if transaction is not None:
                facts = _validated_facts(transaction)
                judgement = judge_success(payment, pending, facts)
                change = payment.record_validation(judgement, facts, now)
            else:
                judgement = judge_failure(payment, pending, status)
                change = payment.record_failure(judgement, now)
            effect = OrderEffect.NONE if change is None else change.order
            if effect is OrderEffect.PAY and not apply_transition(
                uow,
                order,
                OrderStatus.PAID,
                now=now,
                source=source,
                actor_id=None,
                reason=f"payment {tran_id}",
            ):
                # Another path (say the expiry) ended the order a moment ago: the money goes back.
                payment.arrived_late(now)
                judgement = Judgement(Verdict.LATE, ORDER_NO_LONGER_PENDING)
            elif effect in (OrderEffect.FAIL, OrderEffect.CANCEL):
                apply_transition(
                    uow,
                    order,
                    OrderStatus.FAILED if effect is OrderEffect.FAIL else OrderStatus.CANCELLED,
                    now=now,
                    source=source,
                    actor_id=None,
                    reason=judgement.reason,
                )
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
            raise InvalidNotice("the notice's signature does not verify")
        tran_id = fields.get("tran_id", "").strip()
        status = fields.get("status", "").strip().upper()
        val_id = fields.get("val_id", "").strip()
        if not is_gateway_id(tran_id, MAX_TRAN_ID_LENGTH) or status not in NOTICE_STATUSES:
            raise InvalidNotice("the notice lacks a valid tran_id or status")
        if status in SUCCESS_STATUSES and not val_id:
            raise InvalidNotice("a successful notice must carry a val_id")
        if val_id and not is_gateway_id(val_id, MAX_VAL_ID_LENGTH):
            raise InvalidNotice("the notice's val_id is not well formed")
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
                    payment.tran_id, status, answer.val_id, EventSource.RECONCILE
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


def _decisive(transactions: list[GatewayTransaction]) -> GatewayTransaction | None:
    """A successful attempt wins over failed ones for the same tran_id."""
    for transaction in transactions:
        if transaction.status in SUCCESS_STATUSES and transaction.val_id:
            return transaction
    for transaction in reversed(transactions):
        if transaction.status in NOTICE_STATUSES - SUCCESS_STATUSES:
            return transaction
    return None


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


def _payment_or_not_found(uow: UnitOfWork, tran_id: str) -> Payment:
    payment = uow.payments.get(tran_id) if is_gateway_id(tran_id, MAX_TRAN_ID_LENGTH) else None
    if payment is None:
        raise NotFound("payment not found")
    return payment


def _order_of(uow: UnitOfWork, payment: Payment) -> RepairOrder:
    order = uow.orders.get(payment.order_id)
    if order is None:
        raise InconsistentState(f"payment {payment.tran_id} has no order")
    return order


def _as_stored(uow_factory: UnitOfWorkFactory, payment: Payment) -> Payment:
    """The payment as it stands now (a refund request may have changed it), with its notices."""
    with uow_factory() as uow:
        return uow.payments.get_with_notices(payment.tran_id) or payment


class AcceptPayment:
    """An admin accepts a payment held for review: the order is paid if it still can be."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, refunds: Refunds) -> None:
        self._uow = uow
        self._clock = clock
        self._refunds = refunds

    def __call__(self, actor: Actor, tran_id: str) -> Payment:
        actor.require(Role.ADMIN)
        with self._uow() as uow:
            payment = _payment_or_not_found(uow, tran_id)
            if not payment.can(PaymentEvent.ACCEPTED):
                raise NotPayable("only a payment held for review can be accepted")
            order = _order_of(uow, payment)
            now = self._clock.now()
            change = payment.accept(now, order_pending=order.status is OrderStatus.PENDING)
            if change.order is OrderEffect.PAY and not apply_transition(
                uow,
                order,
                OrderStatus.PAID,
                now=now,
                source=EventSource.ADMIN,
                actor_id=actor.user_id,
                reason=f"payment {tran_id} accepted after review",
            ):
                payment.arrived_late(now)
            uow.payments.save(payment)
            uow.commit()
        if payment.refund_status is RefundStatus.PENDING:
            self._refunds.request(tran_id)
        return _as_stored(self._uow, payment)


class RefundPayment:
    """An admin refunds a flagged payment; a held order is cancelled and its slot released."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, refunds: Refunds) -> None:
        self._uow = uow
        self._clock = clock
        self._refunds = refunds

    def __call__(self, actor: Actor, tran_id: str) -> Payment:
        actor.require(Role.ADMIN)
        with self._uow() as uow:
            payment = _payment_or_not_found(uow, tran_id)
            if payment.flag is None or not payment.bank_tran_id:
                raise NotPayable("only a flagged payment that took money can be refunded")
            if payment.refund_amount() is None:
                raise NotPayable(
                    f"this payment ({_describe(payment.paid_amount)}) cannot be refunded "
                    "through the gateway's API: refund it in the gateway's merchant panel"
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
                    reason=f"payment {tran_id} rejected after review",
                )
            # Held for review, or refused by the gateway before (an admin asks again); a
            # refund already on its way or done is not asked for twice.
            if payment.can(PaymentEvent.REFUND_REQUESTED):
                payment.request_refund(self._clock.now())
            uow.payments.save(payment)
            uow.commit()
        self._refunds.request(tran_id)
        return _as_stored(self._uow, payment)
