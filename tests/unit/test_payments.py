from datetime import timedelta
from decimal import Decimal

import pytest

from marketlink.application.errors import (
    Forbidden,
    GatewayUnavailable,
    InvalidNotice,
    NotFound,
    NotPayable,
)
from marketlink.application.ports import GatewayTransaction, PageRequest
from marketlink.application.use_cases.orders import (
    BookingPolicy,
    CancelOrder,
    ExpireUnpaidOrders,
    FailWork,
    PlaceOrder,
    StartWork,
)
from marketlink.application.use_cases.payments import (
    AcceptPayment,
    CallbackUrls,
    ConfirmFromReturn,
    GetOrderPayments,
    HandleGatewayNotice,
    ListFlaggedPayments,
    ReconcilePayments,
    RefundPayment,
    Refunds,
    SettlePayment,
    StartPayment,
)
from marketlink.application.use_cases.payments.settle import NOT_CONFIRMED_BY_GATEWAY
from marketlink.domain.money import Money
from marketlink.domain.orders import EventSource, OrderStatus
from marketlink.domain.payments import (
    NoticeResult,
    PaymentFlag,
    PaymentStatus,
    RefundStatus,
    reported_money,
)
from marketlink.domain.users import Role
from tests.fakes import FakeLock, FakePaymentGateway


class Payments:
    """The payment use cases wired to fakes, plus helpers that act like the gateway."""

    def __init__(self, world) -> None:
        self.world = world
        self.gateway = FakePaymentGateway()
        uow, clock = world.uow, world.clock
        self.refunds = Refunds(uow, self.gateway, clock)
        self.settle = SettlePayment(uow, self.gateway, clock, self.refunds)
        self.start = StartPayment(uow, self.gateway, clock, CallbackUrls.under("http://ml.test"))
        self.notice = HandleGatewayNotice(self.gateway, self.settle)
        self.confirm_return = ConfirmFromReturn(uow, self.settle)
        self.reconcile = ReconcilePayments(uow, self.gateway, clock, self.settle, self.refunds)
        self.place = PlaceOrder(uow, FakeLock(), clock, BookingPolicy())
        self.shop = world.vendor()
        self.variant = world.variant(self.shop, stock=1, price="1500.00")
        self.customer = world.user()

    def book_and_open(self):
        order = self.place(self.customer, self.variant.id)
        opened = self.start(order.id, self.customer)
        return order, opened.tran_id

    def gateway_paid(self, tran_id, *, amount="1500.00", currency="BDT", risk=0, val_id=None):
        val_id = val_id or f"VAL{tran_id}"
        self.gateway.validations[val_id] = GatewayTransaction(
            "VALID",
            tran_id,
            val_id=val_id,
            amount=None if amount is None else Decimal(amount),
            currency=currency,
            bank_tran_id=f"BANK{tran_id}",
            card_type="BKASH-BKash",
            risk_level=risk,
        )
        return {"tran_id": tran_id, "status": "VALID", "val_id": val_id, "amount": amount}

    def gateway_ended(self, tran_id, status):
        """The gateway's records say the attempt ended so; returns the notice it sends."""
        self.gateway.transactions[tran_id] = [GatewayTransaction(status, tran_id)]
        return {"tran_id": tran_id, "status": status}

    def order(self, order_id):
        return self.world.uow.db.orders[order_id]

    def payment(self, tran_id):
        return self.world.uow.db.payments[tran_id]

    @property
    def reserved(self):
        return self.world.uow.db.variants[self.variant.id].reserved


@pytest.fixture
def pay(world):
    return Payments(world)


def test_start_payment_opens_a_session_with_the_server_side_amount(pay):
    order, tran_id = pay.book_and_open()
    [request] = pay.gateway.sessions
    assert request.tran_id == tran_id and len(tran_id) <= 30
    assert str(request.amount) == "1500.00"
    assert request.ipn_url == "http://ml.test/api/v1/webhooks/sslcommerz/"
    assert request.order_ref == str(order.id)
    assert pay.payment(tran_id).session_key == "SESSION1"


def test_start_payment_reuses_the_open_session(pay):
    order, tran_id = pay.book_and_open()
    again = pay.start(order.id)
    assert again.tran_id == tran_id
    assert len(pay.gateway.sessions) == 1


def test_only_the_customer_starts_a_payment_of_a_pending_order(pay, world):
    order = pay.place(pay.customer, pay.variant.id)
    with pytest.raises(Forbidden):
        pay.start(order.id, pay.shop)
    with pytest.raises(NotFound):
        pay.start(order.id, world.user())
    CancelOrder(world.uow, world.clock)(pay.customer, order.id)
    with pytest.raises(NotPayable):
        pay.start(order.id, pay.customer)


def test_an_expired_reservation_is_not_payable(pay, world):
    order = pay.place(pay.customer, pay.variant.id)
    world.clock.advance(1800)
    with pytest.raises(NotPayable):
        pay.start(order.id)


def test_gateway_down_leaves_the_booking_standing(pay):
    order = pay.place(pay.customer, pay.variant.id)
    pay.gateway.down = True
    with pytest.raises(GatewayUnavailable):
        pay.start(order.id)
    assert pay.order(order.id).status is OrderStatus.PENDING
    [attempt] = pay.world.uow.db.payments.values()
    assert attempt.status is PaymentStatus.FAILED
    pay.gateway.down = False
    assert pay.start(order.id).tran_id != attempt.tran_id


def test_an_authentic_valid_notice_pays_the_order_once(pay):
    order, tran_id = pay.book_and_open()
    fields = pay.gateway_paid(tran_id)

    first = pay.notice(fields)
    replay = pay.notice(fields)

    assert (first.result, replay.result) == (NoticeResult.PROCESSED, NoticeResult.DUPLICATE)
    assert pay.order(order.id).status is OrderStatus.PAID
    payment = pay.payment(tran_id)
    assert (payment.status, payment.bank_tran_id, payment.flag) == (
        PaymentStatus.VALID,
        f"BANK{tran_id}",
        None,
    )
    assert len(pay.gateway.validate_calls) == 1, "a replay does not even ask the gateway"
    events = pay.world.uow.db.events
    assert [e.source for e in events if e.to_status is OrderStatus.PAID] == [EventSource.WEBHOOK]


def test_a_forged_notice_is_refused_and_nothing_is_stored(pay):
    order, tran_id = pay.book_and_open()
    pay.gateway.authentic = False
    with pytest.raises(InvalidNotice):
        pay.notice(pay.gateway_paid(tran_id))
    assert pay.world.uow.db.notices == {}
    assert pay.order(order.id).status is OrderStatus.PENDING


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"tran_id": "X"},
        {"status": "VALID"},
        {"tran_id": "X", "status": "PAID"},
        {"tran_id": "X", "status": "VALID"},
        {"tran_id": "X" * 31, "status": "FAILED"},
        # Bounded, printable ids only: a NUL or an over-long val_id would otherwise reach
        # PostgreSQL (text cannot hold NUL; the notice key is a varchar(512)) as a 500.
        {"tran_id": "X\x00", "status": "FAILED"},
        {"tran_id": "X Y", "status": "FAILED"},
        {"tran_id": "X", "status": "VALID", "val_id": "V" * 51},
        {"tran_id": "X", "status": "VALID", "val_id": "V" * 600},
        {"tran_id": "X", "status": "VALID", "val_id": "V\x00"},
        {"tran_id": "X", "status": "FAILED", "val_id": "\u00e9t\u00e9"},
    ],
)
def test_a_malformed_notice_is_refused(pay, fields):
    with pytest.raises(InvalidNotice):
        pay.notice(fields)
    assert pay.world.uow.db.notices == {}
    assert pay.gateway.validate_calls == []


def test_a_notice_for_an_unknown_tran_id_is_rejected(pay):
    outcome = pay.notice({"tran_id": "NOPE", "status": "FAILED"})
    assert outcome.result is NoticeResult.REJECTED


@pytest.mark.parametrize(
    ("amount", "currency", "reason"),
    [
        ("15.00", "BDT", "amount_mismatch"),
        ("1500.00", "USD", "currency_mismatch"),
        ("1500.01", "BDT", "amount_mismatch"),
        (None, "BDT", "amount_mismatch"),
    ],
)
def test_a_tampered_amount_or_currency_is_flagged_for_refund_not_paid(
    pay, amount, currency, reason
):
    order, tran_id = pay.book_and_open()
    outcome = pay.notice(pay.gateway_paid(tran_id, amount=amount, currency=currency))
    assert (outcome.result, outcome.reason) == (NoticeResult.REJECTED, reason)
    assert pay.order(order.id).status is OrderStatus.PENDING
    payment = pay.payment(tran_id)
    assert (payment.status, payment.flag) == (PaymentStatus.REJECTED, PaymentFlag.REFUND)


@pytest.mark.parametrize(
    "paid",
    [
        "15.00",  # underpaid: refunding the order's 1500.00 would be refused as too much
        "1499.99",
        "1500.01",  # overpaid: refunding 1500.00 would keep a paisa of the customer's
        "2000.00",
    ],
)
def test_a_mismatched_payment_is_refunded_what_was_paid_not_the_orders_amount(pay, paid):
    _, tran_id = pay.book_and_open()
    pay.notice(pay.gateway_paid(tran_id, amount=paid))
    payment = pay.payment(tran_id)
    assert payment.paid_amount == Money.of(paid)
    assert [(bank, amount) for bank, amount, _ in pay.gateway.refunds] == [
        (f"BANK{tran_id}", Money.of(paid))
    ]
    assert (payment.refund_status, payment.refund_ref_id) == (RefundStatus.PENDING, "REF-1")


def test_a_payment_that_matched_records_what_was_paid(pay):
    _, tran_id = pay.book_and_open()
    pay.notice(pay.gateway_paid(tran_id))
    assert pay.payment(tran_id).paid_amount == Money.of("1500.00")


@pytest.mark.parametrize(
    ("amount", "currency"), [("1500.00", "USD"), ("15.00", "EUR"), (None, "BDT")]
)
def test_a_payment_the_refund_api_cannot_give_back_is_left_to_an_admin(
    pay, world, amount, currency
):
    # SSLCommerz refunds a bare BDT amount (docs/sslcommerz.md §5.3): a foreign payment, reported
    # in its own currency, or one whose amount the gateway did not say, is not guessed at.
    _, tran_id = pay.book_and_open()
    pay.notice(pay.gateway_paid(tran_id, amount=amount, currency=currency))

    payment = pay.payment(tran_id)
    assert pay.gateway.refunds == [], "no refund of the wrong sum is asked for"
    assert (payment.flag, payment.refund_status) == (PaymentFlag.REFUND, RefundStatus.FAILED)
    assert payment.paid_amount == (Money.of(amount, currency) if amount else None)
    admin = world.user(Role.ADMIN)
    with pytest.raises(NotPayable, match="merchant panel"):
        RefundPayment(world.uow, world.clock, pay.refunds)(admin, tran_id)
    assert pay.gateway.refunds == []
    pay.reconcile()
    assert pay.gateway.refunds == []


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1500", "BDT", Money.of("1500.00")),
        ("1500.000", "BDT", Money.of("1500.00")),
        ("99.50", "USD", Money.of("99.50", "USD")),
        (None, "BDT", None),
        ("0", "BDT", None),
        ("-1", "BDT", None),
        ("NaN", "BDT", None),
        ("1500.005", "BDT", None),
        ("100000000.00", "BDT", None),  # beyond the gateway's decimal(10, 2)
        ("1500.00", "", None),
        ("1500.00", "bdt", None),
        ("1500.00", "\u00c4\u00d6\u00dc", None),
    ],
)
def test_only_an_amount_a_refund_could_use_is_recorded_as_paid(amount, currency, expected):
    assert reported_money(None if amount is None else Decimal(amount), currency) == expected


def test_a_counted_payment_without_a_recorded_paid_amount_refunds_its_amount(pay):
    # Rows from before the paid amount was recorded: VALID means it equalled the order's.
    _, tran_id = pay.book_and_open()
    payment = pay.payment(tran_id)
    assert payment.refund_amount() is None, "nothing paid yet"
    payment.status = PaymentStatus.VALID
    assert payment.refund_amount() == payment.amount
    payment.status = PaymentStatus.REJECTED
    assert payment.refund_amount() is None
    payment.paid_amount = Money.of("10.00")
    assert payment.refund_amount() == Money.of("10.00")


def test_a_notice_resigned_onto_another_orders_tran_id_is_rejected(pay, world):
    _, tran_id = pay.book_and_open()
    other_variant = world.variant(pay.shop, stock=1)
    other = pay.place(world.user(), other_variant.id)
    other_tran = pay.start(other.id).tran_id
    genuine = pay.gateway_paid(tran_id)
    forged = {**genuine, "tran_id": other_tran}  # signed with a leaked secret, say

    outcome = pay.notice(forged)

    assert outcome.result is NoticeResult.REJECTED
    assert pay.order(other.id).status is OrderStatus.PENDING
    assert pay.notice(genuine).result is NoticeResult.PROCESSED


def test_validation_must_say_valid(pay):
    order, tran_id = pay.book_and_open()
    outcome = pay.notice({"tran_id": tran_id, "status": "VALID", "val_id": "made-up"})
    assert outcome.result is NoticeResult.REJECTED
    assert pay.order(order.id).status is OrderStatus.PENDING


def test_a_risky_payment_waits_for_review_and_does_not_expire(pay, world):
    order, tran_id = pay.book_and_open()
    pay.notice(pay.gateway_paid(tran_id, risk=1))
    assert pay.order(order.id).status is OrderStatus.PENDING
    assert pay.payment(tran_id).flag is PaymentFlag.REVIEW
    world.clock.advance(3600)
    assert ExpireUnpaidOrders(world.uow, world.clock)().cancelled == 0
    admin = world.user(Role.ADMIN)
    assert [
        p.tran_id
        for p in ListFlaggedPayments(world.uow)(admin, PaymentFlag.REVIEW, PageRequest()).items
    ] == [tran_id]
    accepted = AcceptPayment(world.uow, world.clock, pay.refunds)(admin, tran_id)
    assert pay.order(order.id).status is OrderStatus.PAID
    assert pay.payment(tran_id).flag is None
    assert accepted.flag is None
    assert [(n.status, n.reason) for n in accepted.notices] == [("VALID", "high risk")]


def test_an_admin_may_reject_a_risky_payment_and_refund_it(pay, world):
    order, tran_id = pay.book_and_open()
    pay.notice(pay.gateway_paid(tran_id, risk=1))
    admin = world.user(Role.ADMIN)
    with pytest.raises(Forbidden):
        RefundPayment(world.uow, world.clock, pay.refunds)(pay.customer, tran_id)
    payment = RefundPayment(world.uow, world.clock, pay.refunds)(admin, tran_id)
    assert payment.refund_status is RefundStatus.PENDING and payment.refund_ref_id == "REF-1"
    assert [(n.status, n.reason) for n in payment.notices] == [("VALID", "high risk")]
    assert pay.order(order.id).status is OrderStatus.CANCELLED
    assert pay.reserved == 0


def test_a_late_payment_after_expiry_is_kept_and_refunded(pay, world):
    order, tran_id = pay.book_and_open()
    world.clock.advance(1801)
    ExpireUnpaidOrders(world.uow, world.clock)()
    outcome = pay.notice(pay.gateway_paid(tran_id))
    assert outcome.result is NoticeResult.PROCESSED
    assert pay.order(order.id).status is OrderStatus.CANCELLED
    payment = pay.payment(tran_id)
    assert (payment.status, payment.flag, payment.refund_status) == (
        PaymentStatus.VALID,
        PaymentFlag.REFUND,
        RefundStatus.PENDING,
    )
    assert pay.gateway.refunds[0][1] == payment.amount
    assert pay.reserved == 0


@pytest.mark.parametrize(
    ("status", "ends_as", "payment_status"),
    [
        ("FAILED", OrderStatus.FAILED, PaymentStatus.FAILED),
        ("CANCELLED", OrderStatus.CANCELLED, PaymentStatus.CANCELLED),
        ("UNATTEMPTED", OrderStatus.CANCELLED, PaymentStatus.CANCELLED),
        ("EXPIRED", OrderStatus.CANCELLED, PaymentStatus.CANCELLED),
    ],
)
def test_a_failed_or_abandoned_payment_ends_the_order_and_frees_the_slot(
    pay, status, ends_as, payment_status
):
    order, tran_id = pay.book_and_open()
    notice = pay.gateway_ended(tran_id, status)
    outcome = pay.notice(notice)
    assert outcome.result is NoticeResult.PROCESSED
    assert pay.order(order.id).status is ends_as
    assert pay.payment(tran_id).status is payment_status
    assert pay.reserved == 0
    assert pay.notice(notice).result is NoticeResult.DUPLICATE
    assert pay.reserved == 0


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED", "UNATTEMPTED", "EXPIRED"])
@pytest.mark.parametrize(
    "gateway_reports", [[], ["PENDING"], ["VALID"], ["FAILED", "VALIDATED"]], ids=repr
)
def test_an_ending_notice_the_gateway_does_not_report_changes_nothing(pay, status, gateway_reports):
    order, tran_id = pay.book_and_open()
    pay.gateway.transactions[tran_id] = [GatewayTransaction(s, tran_id) for s in gateway_reports]
    outcome = pay.notice({"tran_id": tran_id, "status": status})
    assert (outcome.result, outcome.reason) == (NoticeResult.REJECTED, NOT_CONFIRMED_BY_GATEWAY)
    assert pay.gateway.query_calls == [tran_id]
    assert pay.order(order.id).status is OrderStatus.PENDING
    assert pay.payment(tran_id).status is PaymentStatus.INITIATED
    assert pay.reserved == 1
    # Nothing recorded: when the gateway's records do say so, the same notice counts.
    assert pay.world.uow.db.notices == {}
    pay.gateway_ended(tran_id, status)
    assert pay.notice({"tran_id": tran_id, "status": status}).result is NoticeResult.PROCESSED
    assert pay.order(order.id).status is not OrderStatus.PENDING


def test_an_ending_is_judged_by_what_the_gateway_reports_not_by_the_notice(pay):
    order, tran_id = pay.book_and_open()
    pay.gateway_ended(tran_id, "CANCELLED")
    assert pay.notice({"tran_id": tran_id, "status": "FAILED"}).result is NoticeResult.PROCESSED
    assert pay.order(order.id).status is OrderStatus.CANCELLED


def test_an_unreachable_query_api_records_nothing_so_the_retry_counts(pay):
    order, tran_id = pay.book_and_open()
    notice = pay.gateway_ended(tran_id, "FAILED")
    pay.gateway.down = True
    with pytest.raises(GatewayUnavailable):
        pay.notice(notice)
    assert pay.world.uow.db.notices == {}
    assert pay.order(order.id).status is OrderStatus.PENDING
    pay.gateway.down = False
    assert pay.notice(notice).result is NoticeResult.PROCESSED
    assert pay.order(order.id).status is OrderStatus.FAILED


def test_a_failure_notice_after_payment_changes_nothing(pay):
    order, tran_id = pay.book_and_open()
    pay.notice(pay.gateway_paid(tran_id))
    pay.notice(pay.gateway_ended(tran_id, "FAILED"))
    assert pay.order(order.id).status is OrderStatus.PAID
    assert pay.reserved == 1


def test_an_unreachable_validation_api_records_nothing_so_the_retry_counts(pay):
    order, tran_id = pay.book_and_open()
    fields = pay.gateway_paid(tran_id)
    pay.gateway.down = True
    with pytest.raises(GatewayUnavailable):
        pay.notice(fields)
    assert pay.world.uow.db.notices == {}
    pay.gateway.down = False
    assert pay.notice(fields).result is NoticeResult.PROCESSED
    assert pay.order(order.id).status is OrderStatus.PAID


def test_a_forged_browser_post_to_the_success_page_never_pays(pay):
    order, tran_id = pay.book_and_open()
    outcome = pay.confirm_return(tran_id, "forged-val-id", succeeded=True)
    assert outcome.status == "pending"
    assert pay.order(order.id).status is OrderStatus.PENDING


@pytest.mark.parametrize(
    ("tran_id", "val_id"),
    [("ML\x00", "VAL"), ("", "VAL"), ("X" * 31, "VAL"), (None, "V" * 51), (None, "V\x00")],
)
def test_the_return_page_asks_nothing_about_ids_no_one_issued(pay, tran_id, val_id):
    _order, issued = pay.book_and_open()
    outcome = pay.confirm_return(issued if tran_id is None else tran_id, val_id, succeeded=True)
    assert pay.gateway.validate_calls == []
    assert pay.world.uow.db.notices == {}
    assert outcome.status == ("unknown" if tran_id is not None else "pending")


def test_the_success_page_confirms_through_the_validation_api_when_the_ipn_is_lost(pay):
    order, tran_id = pay.book_and_open()
    fields = pay.gateway_paid(tran_id)
    outcome = pay.confirm_return(tran_id, fields["val_id"], succeeded=True)
    assert (outcome.order_id, outcome.status) == (order.id, "paid")
    # The IPN arriving afterwards is the same notice: a duplicate.
    assert pay.notice(fields).result is NoticeResult.DUPLICATE


def test_reconcile_applies_what_the_gateway_says_about_a_lost_notice(pay, world):
    order, tran_id = pay.book_and_open()
    fields = pay.gateway_paid(tran_id)
    pay.gateway.transactions[tran_id] = [
        GatewayTransaction("FAILED", tran_id),
        pay.gateway.validations[fields["val_id"]],
    ]
    assert pay.reconcile().settled == 0, "too recent: the notice may still come"
    world.clock.advance(301)
    report = pay.reconcile()
    assert report.settled == 1
    assert pay.order(order.id).status is OrderStatus.PAID
    events = [e for e in world.uow.db.events if e.to_status is OrderStatus.PAID]
    assert [e.source for e in events] == [EventSource.RECONCILE]


def test_reconcile_ends_an_abandoned_attempt_asking_the_gateway_once(pay, world):
    order, tran_id = pay.book_and_open()
    pay.gateway_ended(tran_id, "EXPIRED")
    world.clock.advance(301)
    assert pay.reconcile().settled == 1
    assert pay.order(order.id).status is OrderStatus.CANCELLED
    assert pay.gateway.query_calls == [tran_id]


def test_reconcile_polls_pending_refunds(pay, world):
    order, tran_id = pay.book_and_open()
    pay.notice(pay.gateway_paid(tran_id))
    CancelOrder(world.uow, world.clock, pay.refunds)(pay.shop, order.id)
    assert pay.payment(tran_id).refund_status is RefundStatus.PENDING
    pay.reconcile()
    assert pay.payment(tran_id).refund_status is RefundStatus.REFUNDED


def test_cancelling_a_paid_order_or_failing_work_requests_a_refund(pay, world):
    order, tran_id = pay.book_and_open()
    pay.notice(pay.gateway_paid(tran_id))
    StartWork(world.uow, world.clock)(pay.shop, order.id)
    FailWork(world.uow, world.clock, pay.refunds)(pay.shop, order.id, reason="no parts")
    payment = pay.payment(tran_id)
    assert (payment.flag, payment.refund_status, payment.refund_ref_id) == (
        PaymentFlag.REFUND,
        RefundStatus.PENDING,
        "REF-1",
    )
    assert [r[0] for r in pay.gateway.refunds] == [f"BANK{tran_id}"]
    assert pay.reserved == 0


def test_a_refund_the_gateway_cannot_take_now_is_retried_by_reconcile(pay, world):
    order, tran_id = pay.book_and_open()
    pay.notice(pay.gateway_paid(tran_id))
    pay.gateway.down = True
    CancelOrder(world.uow, world.clock, pay.refunds)(pay.shop, order.id)
    assert pay.payment(tran_id).refund_ref_id == ""
    pay.gateway.down = False
    pay.reconcile()
    assert pay.payment(tran_id).refund_ref_id == "REF-1"


def test_order_payments_are_visible_to_the_order_parties_only(pay, world):
    order, tran_id = pay.book_and_open()
    pay.notice(pay.gateway_paid(tran_id))
    [payment] = GetOrderPayments(world.uow)(pay.customer, order.id)
    assert [n.result for n in payment.notices] == [NoticeResult.PROCESSED]
    assert GetOrderPayments(world.uow)(pay.shop, order.id)[0].tran_id == tran_id
    with pytest.raises(NotFound):
        GetOrderPayments(world.uow)(world.user(), order.id)


def test_the_reservation_clock_does_not_matter_once_paid(pay, world):
    order, tran_id = pay.book_and_open()
    pay.notice(pay.gateway_paid(tran_id))
    world.clock.advance(timedelta(hours=2).total_seconds())
    ExpireUnpaidOrders(world.uow, world.clock)()
    assert pay.order(order.id).status is OrderStatus.PAID
