"""Payment attempts and gateway notices in the database."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from marketlink.application.ports import PageRequest
from marketlink.domain.money import Money
from marketlink.domain.orders import EventSource, OrderStatus
from marketlink.domain.payments import (
    NoticeResult,
    Payment,
    PaymentFlag,
    PaymentStatus,
    RecordedNotice,
    RefundStatus,
)
from tests.integration.conftest import T0, Builder

pytestmark = pytest.mark.integration


def notice(tran_id: str, key: str, minutes: int = 0, **fields) -> RecordedNotice:
    return RecordedNotice(
        key=key,
        tran_id=tran_id,
        received_at=T0 + timedelta(minutes=minutes),
        status=fields.pop("status", "VALID"),
        result=fields.pop("result", NoticeResult.PROCESSED),
        **fields,
    )


def test_a_payment_round_trips_and_saves_every_field(uow, build: Builder):
    order = build.order()
    payment = Payment("ML0001", order.id, Money.of("1500.00"), T0, T0)
    with uow() as work:
        work.payments.add(payment)
        work.commit()
    with uow() as work:
        loaded = work.payments.get("ML0001")
        assert work.payments.get("nope") is None
    assert (loaded.tran_id, loaded.order_id, loaded.amount) == (
        "ML0001",
        order.id,
        Money.of("1500.00"),
    )
    assert (loaded.status, loaded.flag, loaded.refund_status, loaded.risk_level) == (
        PaymentStatus.INITIATED,
        None,
        None,
        None,
    )
    assert (loaded.session_key, loaded.val_id, loaded.created_at) == ("", "", T0)
    assert loaded.paid_amount is None

    later = T0 + timedelta(minutes=3)
    changes = {
        "status": PaymentStatus.VALID,
        "session_key": "SK1",
        "gateway_url": "https://sandbox.test/pay/SK1",
        "val_id": "VAL1",
        "bank_tran_id": "BANK1",
        "card_type": "VISA-Dutch Bangla",
        "card_no": "418117XXXXXX6675",
        "risk_level": 1,
        "flag": PaymentFlag.REFUND,
        "refund_status": RefundStatus.PENDING,
        "refund_ref_id": "REF1",
        "paid_amount": Money.of("1600.50"),
        "updated_at": later,
    }
    for name, value in changes.items():
        setattr(loaded, name, value)
    with uow() as work:
        work.payments.save(loaded)
        work.commit()
    with uow() as work:
        saved = work.payments.get("ML0001")
    assert {name: getattr(saved, name) for name in changes} == changes
    assert saved.created_at == T0


@pytest.mark.parametrize(
    "paid", [Money.of("99999999.99"), Money.of("0.01", "USD"), Money.of("15", "EUR"), None]
)
def test_the_paid_amount_keeps_its_currency_and_can_be_cleared(uow, build: Builder, paid):
    payment = build.payment(build.order(), paid_amount=Money.of("1400.00"))
    payment.paid_amount = paid
    with uow() as work:
        assert work.payments.get(payment.tran_id).paid_amount == Money.of("1400.00")
        work.payments.save(payment)
        work.commit()
    with uow() as work:
        loaded = work.payments.get(payment.tran_id)
    assert loaded.paid_amount == paid
    if paid is not None:
        assert loaded.paid_amount.currency == paid.currency


def test_one_payment_comes_with_its_notices_oldest_first_only_when_asked(uow, build: Builder):
    order = build.order()
    payment, other = build.payment(order), build.payment(order)
    with uow() as work:
        work.payments.record_notice(notice(payment.tran_id, "k2", minutes=2, status="FAILED"))
        work.payments.record_notice(notice(payment.tran_id, "k1", minutes=1, reason="high risk"))
        work.payments.record_notice(notice(other.tran_id, "k3"))
        work.commit()
    with uow() as work:
        found = work.payments.get_with_notices(payment.tran_id)
        alone = work.payments.get(payment.tran_id)
        assert work.payments.get_with_notices("nope") is None
    assert [(n.key, n.reason) for n in found.notices] == [("k1", "high risk"), ("k2", "")]
    assert found.tran_id == payment.tran_id and found.amount == payment.amount
    assert alone.notices == []


def test_the_open_payment_is_the_newest_initiated_unflagged_one(uow, build: Builder):
    order = build.order()
    build.payment(order, created_at=T0)
    newest_open = build.payment(order, created_at=T0 + timedelta(minutes=1))
    build.payment(order, created_at=T0 + timedelta(minutes=2), status=PaymentStatus.FAILED)
    build.payment(order, created_at=T0 + timedelta(minutes=3), flag=PaymentFlag.REVIEW)
    with uow() as work:
        assert work.payments.open_for_order(order.id).tran_id == newest_open.tran_id
        assert work.payments.open_for_order(uuid.uuid4()) is None


def test_an_orders_payments_come_newest_first_each_with_its_notices_oldest_first(
    uow, build: Builder
):
    order = build.order()
    old = build.payment(order, created_at=T0)
    new = build.payment(order, created_at=T0 + timedelta(minutes=5))
    build.payment(build.order())  # another order's
    with uow() as work:
        work.payments.record_notice(notice(old.tran_id, "k2", minutes=2, status="FAILED"))
        work.payments.record_notice(
            notice(old.tran_id, "k1", minutes=1, reason="why", source="return")
        )
        work.commit()

    with uow() as work:
        found = work.payments.for_order(order.id)
        assert work.payments.for_order(uuid.uuid4()) == []
    assert [p.tran_id for p in found] == [new.tran_id, old.tran_id]
    assert found[0].notices == []
    assert found[1].notices == [
        RecordedNotice(
            "k1",
            old.tran_id,
            T0 + timedelta(minutes=1),
            "VALID",
            NoticeResult.PROCESSED,
            "why",
            "return",
        ),
        RecordedNotice(
            "k2", old.tran_id, T0 + timedelta(minutes=2), "FAILED", NoticeResult.PROCESSED
        ),
    ]


def test_a_notice_is_recorded_once_and_a_duplicate_leaves_the_transaction_usable(uow):
    first = notice("UNKNOWN-TRAN", "UNKNOWN-TRAN:VALID:v1", result=NoticeResult.REJECTED)
    with uow() as work:
        assert work.payments.notice_seen(first.key) is False
        assert work.payments.record_notice(first) is True
        work.commit()
    with uow() as work:
        assert work.payments.notice_seen(first.key) is True
        assert work.payments.record_notice(notice("UNKNOWN-TRAN", first.key)) is False
        assert work.payments.record_notice(notice("UNKNOWN-TRAN", "another")) is True
        work.commit()
    with uow() as work:
        assert work.payments.notice_seen("another")


def test_flagged_payments_newest_first_by_flag_or_any(uow, build: Builder):
    order = build.order()
    review = build.payment(order, created_at=T0, flag=PaymentFlag.REVIEW)
    refund = build.payment(order, created_at=T0 + timedelta(minutes=1), flag=PaymentFlag.REFUND)
    build.payment(order)

    def flagged(flag, page=None):
        with uow() as work:
            found = work.payments.flagged(flag, page or PageRequest())
        return [p.tran_id for p in found.items], found.total

    assert flagged(None) == ([refund.tran_id, review.tran_id], 2)
    assert flagged("review") == ([review.tran_id], 1)
    assert flagged(PaymentFlag.REFUND.value) == ([refund.tran_id], 1)
    assert flagged(None, PageRequest(2, 1)) == ([review.tran_id], 2)


def test_flagged_payments_come_with_their_notices(uow, build: Builder):
    order = build.order()
    held = build.payment(order, flag=PaymentFlag.REVIEW)
    with uow() as work:
        work.payments.record_notice(notice(held.tran_id, "k1", minutes=1, reason="high risk"))
        work.commit()
    with uow() as work:
        [found] = work.payments.flagged("review", PageRequest()).items
    assert [(n.key, n.reason) for n in found.notices] == [("k1", "high risk")]


def test_awaiting_notice_finds_old_open_sessions_of_pending_orders(uow, build: Builder):
    pending = build.order()
    cutoff = T0 + timedelta(minutes=10)
    oldest = build.payment(pending, created_at=T0)
    waiting = build.payment(pending, created_at=T0 + timedelta(minutes=1))
    build.payment(pending, created_at=T0 + timedelta(minutes=11))  # too recent
    build.payment(pending, created_at=T0, session_key="")  # the gateway never opened it
    build.payment(pending, created_at=T0, status=PaymentStatus.VALID)
    paid = build.order()
    build.payment(paid, created_at=T0)
    with uow() as work:
        order = work.orders.get(paid.id)
        order.transition(OrderStatus.PAID, now=T0, source=EventSource.WEBHOOK)
        work.orders.save_transition(order, OrderStatus.PENDING)
        work.commit()

    with uow() as work:
        assert [p.tran_id for p in work.payments.awaiting_notice(cutoff, 10)] == [
            oldest.tran_id,
            waiting.tran_id,
        ]
        assert [p.tran_id for p in work.payments.awaiting_notice(cutoff, 1)] == [oldest.tran_id]


def test_refunds_pending_lists_only_payments_waiting_for_their_refund(uow, build: Builder):
    order = build.order()
    asked = build.payment(order, flag=PaymentFlag.REFUND, refund_status=RefundStatus.PENDING)
    build.payment(order, flag=PaymentFlag.REFUND, refund_status=RefundStatus.REFUNDED)
    build.payment(order, flag=PaymentFlag.REFUND)
    with uow() as work:
        assert [p.tran_id for p in work.payments.refunds_pending(10)] == [asked.tran_id]
        assert work.payments.refunds_pending(0) == []
