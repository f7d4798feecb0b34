"""The admin panel's read model against SQLite and PostgreSQL: figures from data made here."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command

from marketlink.adapters.sqlalchemy.admin_queries import SqlAdminQueries, like_pattern
from marketlink.adapters.sqlalchemy.engine import create_engine_for
from marketlink.adapters.sqlalchemy.migrate import alembic_config, upgrade_database
from marketlink.application.admin_queries import (
    ORDERS,
    PAYMENTS,
    USERS,
    VENDORS,
    ListQuery,
    Sort,
    SortDirection,
)
from marketlink.application.errors import InvalidListQuery
from marketlink.domain.money import Money
from marketlink.domain.orders import EventSource, OrderStatus, RepairOrder
from marketlink.domain.payments import (
    NoticeResult,
    PaymentFlag,
    PaymentStatus,
    RecordedNotice,
    RefundStatus,
)
from marketlink.domain.users import Role
from tests.integration.conftest import Builder

pytestmark = pytest.mark.integration

TABLES = ("repair_orders", "order_events", "payments", "gateway_notices")
READ_INDEXES = {
    "ix_repair_orders_created_at",
    "ix_repair_orders_status_created_at",
    "ix_order_events_to_status_at",
    "ix_payments_flag_refund_status",
    "ix_payments_created_at",
    "ix_gateway_notices_received_at",
}

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
TODAY = datetime(2026, 12, 2, tzinfo=UTC)


@pytest.fixture
def queries(clean_engine) -> SqlAdminQueries:
    return SqlAdminQueries(clean_engine)


def move(build: Builder, order: RepairOrder, to: OrderStatus, at: datetime, **how) -> None:
    """Moves a stored order along its lifecycle at `at`, as a use case would."""
    with build.uow() as work:
        stored = work.orders.get(order.id)
        before = stored.status
        stored.transition(to, now=at, source=how.pop("source", EventSource.WEBHOOK), **how)
        assert work.orders.save_transition(stored, before)
        work.commit()


def paid_order(build: Builder, price: str, placed: datetime, paid: datetime) -> RepairOrder:
    order = build.order(variant=build.bookable(price, stock=5), now=placed)
    move(build, order, OrderStatus.PAID, paid)
    return order


def notice(tran_id: str, key: str, at: datetime, **fields) -> RecordedNotice:
    return RecordedNotice(
        key=key,
        tran_id=tran_id,
        received_at=at,
        status=fields.pop("status", "VALID"),
        result=fields.pop("result", NoticeResult.PROCESSED),
        **fields,
    )


def check(spec, **fields) -> ListQuery:
    return spec.check(ListQuery(**fields))


# The dashboard -----------------------------------------------------------------------------


def test_the_dashboard_counts_users_vendors_orders_and_flagged_payments(queries, build):
    build.user(Role.CUSTOMER)
    build.user(Role.ADMIN)
    shop = build.vendor()
    build.vendor(is_active=False)
    build.vendor(is_approved=False)
    variant = build.variant(build.service(shop), stock=10)
    customer = build.user()
    pending = [build.order(customer, variant, now=NOW - timedelta(hours=1)) for _ in range(3)]
    move(build, pending[0], OrderStatus.PAID, NOW - timedelta(minutes=30))
    move(build, pending[0], OrderStatus.PROCESSING, NOW - timedelta(minutes=20))
    move(build, pending[1], OrderStatus.CANCELLED, NOW - timedelta(minutes=10))
    flagged = [
        {"flag": PaymentFlag.REVIEW, "status": PaymentStatus.VALID},
        {"flag": PaymentFlag.REFUND, "refund_status": RefundStatus.PENDING},
        {"flag": PaymentFlag.REFUND, "refund_status": RefundStatus.PENDING},
        {"flag": PaymentFlag.REFUND, "refund_status": RefundStatus.FAILED},
        {"flag": PaymentFlag.REFUND, "refund_status": RefundStatus.REFUNDED},
        {},
    ]
    for fields in flagged:
        build.payment(pending[2], **fields)

    figures = queries.dashboard(NOW)

    # The customer made first and the one who ordered, three vendors, one admin.
    assert figures.users_by_role == {Role.CUSTOMER: 2, Role.VENDOR: 3, Role.ADMIN: 1}
    assert (figures.active_vendors, figures.vendors_awaiting_approval) == (1, 1)
    assert figures.orders_by_status == {
        OrderStatus.PENDING: 1,
        OrderStatus.PAID: 0,
        OrderStatus.PROCESSING: 1,
        OrderStatus.COMPLETED: 0,
        OrderStatus.CANCELLED: 1,
        OrderStatus.FAILED: 0,
    }
    assert (figures.payments_flagged_refund, figures.payments_flagged_review) == (4, 1)
    assert figures.refunds_by_status == {
        RefundStatus.PENDING: 2,
        RefundStatus.FAILED: 1,
        RefundStatus.REFUNDED: 1,
    }


def test_paid_revenue_counts_each_order_once_on_the_day_it_was_paid(queries, build):
    paid_order(build, "1000.00", TODAY - timedelta(days=1), NOW - timedelta(hours=2))
    paid_order(build, "250.50", TODAY, TODAY + timedelta(minutes=5))
    # Paid three days ago, then cancelled (refunded): still counted, on its paid day.
    refunded = paid_order(build, "400.00", TODAY - timedelta(days=3), TODAY - timedelta(days=3))
    move(build, refunded, OrderStatus.CANCELLED, NOW - timedelta(hours=1), source=EventSource.API)
    paid_order(build, "99.99", TODAY - timedelta(days=6), TODAY - timedelta(days=6))
    paid_order(build, "700.00", TODAY - timedelta(days=7), TODAY - timedelta(days=7))  # not in 7
    paid_order(build, "5.00", TODAY - timedelta(days=13), TODAY - timedelta(days=13))  # 14th day
    paid_order(build, "8.00", TODAY - timedelta(days=14), TODAY - timedelta(days=14))  # outside
    build.order(now=NOW - timedelta(minutes=1))  # placed, never paid

    figures = queries.dashboard(NOW)

    assert figures.revenue_today == Money.of("1250.50")
    assert figures.revenue_last_7_days == Money.of("1750.49")
    series = figures.series
    assert [d.day for d in series] == [date(2026, 11, 19) + timedelta(days=i) for i in range(14)]
    assert [str(d.paid_revenue) for d in series] == [
        "5.00",
        *["0.00"] * 5,
        "700.00",
        "99.99",
        "0.00",
        "0.00",
        "400.00",
        "0.00",
        "0.00",
        "1250.50",
    ]
    assert [d.orders_placed for d in series] == [1, *[0] * 5, 1, 1, 0, 0, 1, 0, 1, 2]
    assert all(d.paid_revenue.currency == "BDT" for d in series)


def test_an_empty_marketplace_has_fourteen_zero_days(queries):
    figures = queries.dashboard(NOW)
    assert len(figures.series) == 14
    assert {(d.orders_placed, d.paid_revenue) for d in figures.series} == {(0, Money.of("0"))}
    assert figures.revenue_today == figures.revenue_last_7_days == Money.of("0")
    assert set(figures.users_by_role.values()) == {0}
    assert figures.expired_holds_last_24h == 0


def test_the_days_are_those_of_the_zone_now_is_given_in(queries, build):
    dhaka = timezone(timedelta(hours=6))
    # 20:00 UTC on 1 December is 02:00 on 2 December in Dhaka.
    paid_order(build, "300.00", NOW - timedelta(days=1), datetime(2026, 12, 1, 20, tzinfo=UTC))

    in_utc = queries.dashboard(NOW)
    in_dhaka = queries.dashboard(NOW.astimezone(dhaka))

    assert in_utc.revenue_today == Money.of("0") and in_utc.series[-2].paid_revenue.is_positive
    assert in_dhaka.revenue_today == Money.of("300.00")
    assert in_dhaka.series[-1].day == date(2026, 12, 2)


def test_expired_holds_are_expiry_cancellations_of_the_last_24_hours(queries, build):
    for hours_ago, source in [(2, EventSource.EXPIRY), (23, EventSource.EXPIRY)]:
        order = build.order(now=NOW - timedelta(hours=hours_ago + 1))
        move(build, order, OrderStatus.CANCELLED, NOW - timedelta(hours=hours_ago), source=source)
    old = build.order(now=NOW - timedelta(hours=40))
    move(build, old, OrderStatus.CANCELLED, NOW - timedelta(hours=30), source=EventSource.EXPIRY)
    by_customer = build.order(now=NOW - timedelta(hours=2))
    move(
        build, by_customer, OrderStatus.CANCELLED, NOW - timedelta(hours=1), source=EventSource.API
    )

    assert queries.dashboard(NOW).expired_holds_last_24h == 2


# Lists ---------------------------------------------------------------------------------------


def test_users_are_searched_case_blind_with_wildcards_taken_literally(queries, build):
    build.user(email="under_score@example.com")
    build.user(email="underxscore@example.com")
    build.user(email="fifty%off@example.com")

    def emails(text: str) -> list[str]:
        return [u.email for u in queries.users(check(USERS, search=text)).items]

    assert emails("UNDER_") == ["under_score@example.com"]
    assert emails("y%o") == ["fifty%off@example.com"]
    assert emails("under example") == ["under_score@example.com", "underxscore@example.com"]
    assert emails("nobody") == []
    assert like_pattern(r"a\b%_") == r"%a\\b\%\_%"


def test_users_are_filtered_by_role_and_active_as_the_panel_sends_them(queries, build):
    admin = build.user(Role.ADMIN)
    build.user(Role.CUSTOMER)
    with build.uow() as work:
        off = work.users.get(build.user(Role.ADMIN).id)
        off.is_active = False
        work.users.save(off)
        work.commit()

    page = queries.users(check(USERS, filters={"role": "admin", "is_active": "true"}))
    assert [u.id for u in page.items] == [admin.id] and page.total == 1
    inactive = queries.users(check(USERS, filters={"is_active": "0"}))
    assert [(u.id, u.is_active, u.role) for u in inactive.items] == [(off.id, False, Role.ADMIN)]


def test_orders_filter_by_status_sort_on_declared_columns_and_page(queries, build):
    customer = build.user()
    orders = [
        build.order(customer, build.bookable(price), now=NOW - timedelta(minutes=i))
        for i, price in enumerate(["300.00", "100.00", "500.00", "200.00", "400.00"])
    ]
    move(build, orders[0], OrderStatus.CANCELLED, NOW, source=EventSource.API)

    newest_first = queries.orders(check(ORDERS, page_size=2))
    assert [o.id for o in newest_first.items] == [orders[0].id, orders[1].id]
    assert newest_first.total == 5
    page_3 = queries.orders(check(ORDERS, page=3, page_size=2))
    assert [o.id for o in page_3.items] == [orders[4].id] and page_3.total == 5

    pending = queries.orders(check(ORDERS, filters={"status": "pending"}))
    assert pending.total == 4 and {o.status for o in pending.items} == {OrderStatus.PENDING}
    cheapest = queries.orders(check(ORDERS, sort=Sort("total_amount"), page_size=3))
    assert [str(o.total_amount) for o in cheapest.items] == ["100.00", "200.00", "300.00"]
    dearest = queries.orders(
        check(ORDERS, sort=Sort("total_amount", SortDirection.DESC), page_size=1)
    )
    assert [str(o.total_amount) for o in dearest.items] == ["500.00"] and dearest.total == 5
    row = cheapest.items[0]
    assert (row.customer_id, row.customer_email) == (customer.id, customer.email)
    assert (row.vendor_name, row.service_name, row.variant_name) == (
        "Dhaka Motors",
        "Brake repair",
        "Front",
    )


def test_an_order_is_found_by_its_whole_id_and_orders_by_their_customer(queries, build):
    wanted = build.order()
    other = build.order()

    by_id = queries.orders(check(ORDERS, search=str(wanted.id)))
    assert [o.id for o in by_id.items] == [wanted.id]
    customer = queries.orders(check(ORDERS, filters={"customer_id": str(other.customer_id)}))
    assert [o.id for o in customer.items] == [other.id]
    email = customer.items[0].customer_email
    by_email = queries.orders(check(ORDERS, search=email.split("@")[0].upper()))
    assert [o.id for o in by_email.items] == [other.id]
    by_shop = queries.orders(check(ORDERS, search="dhaka MOT brake"))
    assert {o.id for o in by_shop.items} == {wanted.id, other.id}
    assert queries.orders(check(ORDERS, search="dhaka nowhere")).total == 0


def test_undeclared_columns_are_refused_by_the_spec_and_by_the_adapter(queries):
    with pytest.raises(InvalidListQuery):
        check(ORDERS, filters={"password_hash": "x"})
    with pytest.raises(InvalidListQuery):
        check(ORDERS, sort=Sort("id; DROP TABLE users"))
    with pytest.raises(InvalidListQuery):
        check(ORDERS, filters={"status": "lost"})
    # A query that skipped the spec is refused all the same.
    with pytest.raises(InvalidListQuery):
        queries.users(ListQuery(filters={"password_hash": "x"}))
    with pytest.raises(InvalidListQuery):
        queries.users(ListQuery(sort=Sort("password_hash")))


def test_payments_filter_by_flag_and_refund_status(queries, build):
    order = build.order()
    review = build.payment(order, status=PaymentStatus.VALID, flag=PaymentFlag.REVIEW)
    failed = build.payment(
        order, flag=PaymentFlag.REFUND, refund_status=RefundStatus.FAILED, risk_level=1
    )
    build.payment(order, flag=PaymentFlag.REFUND, refund_status=RefundStatus.PENDING)
    build.payment(order)

    def tran_ids(**filters) -> set[str]:
        return {p.tran_id for p in queries.payments(check(PAYMENTS, filters=filters)).items}

    assert tran_ids(flag="review") == {review.tran_id}
    assert tran_ids(flag="refund", refund_status="refund_failed") == {failed.tran_id}
    assert len(tran_ids(flag="refund")) == 2
    assert len(tran_ids(order_id=str(order.id))) == 4
    row = queries.payments(check(PAYMENTS, search=failed.tran_id[-6:])).items[0]
    assert (row.amount, row.flag, row.refund_status, row.risk_level) == (
        order.total_amount,
        PaymentFlag.REFUND,
        RefundStatus.FAILED,
        1,
    )


def test_vendors_services_and_variants_show_their_counts_and_free_slots(queries, build):
    shop = build.vendor()
    brakes = build.service(shop, "Brake repair")
    build.service(shop, "Oil change")
    build.variant(brakes, stock=5, reserved=2, name="Front")
    build.variant(brakes, stock=1, reserved=1, name="Rear")

    waiting = build.vendor(is_approved=False)

    vendors = queries.vendors(ListQuery()).items
    assert [(v.id, v.service_count, v.is_active, v.is_approved) for v in vendors] == [
        (shop.id, 2, True, True),
        (waiting.id, 0, True, False),
    ]
    unapproved = queries.vendors(VENDORS.check(ListQuery(filters={"is_approved": "false"})))
    assert [v.id for v in unapproved.items] == [waiting.id]
    services = queries.services(ListQuery(sort=Sort("name"))).items
    assert [(s.name, s.variant_count, s.vendor_name) for s in services] == [
        ("Brake repair", 2, "Dhaka Motors"),
        ("Oil change", 0, "Dhaka Motors"),
    ]
    variants = queries.variants(ListQuery(sort=Sort("available", SortDirection.DESC))).items
    assert [(v.name, v.stock, v.reserved, v.available) for v in variants] == [
        ("Front", 5, 2, 3),
        ("Rear", 1, 1, 0),
    ]
    assert variants[0].price == Money.of("1500.00") and variants[0].vendor_id == shop.id


def test_notices_name_the_order_of_their_payment_when_there_is_one(queries, build):
    order = build.order()
    payment = build.payment(order)
    with build.uow() as work:
        work.payments.record_notice(notice(payment.tran_id, "k1", NOW - timedelta(minutes=2)))
        work.payments.record_notice(
            notice("NOT-OURS", "k2", NOW, result=NoticeResult.REJECTED, reason="unknown tran_id")
        )
        work.commit()

    newest_first = queries.notices(ListQuery()).items
    assert [(n.tran_id, n.order_id) for n in newest_first] == [
        ("NOT-OURS", None),
        (payment.tran_id, order.id),
    ]
    rejected = queries.notices(ListQuery(filters={"result": "rejected"})).items
    assert [n.reason for n in rejected] == ["unknown tran_id"]


def test_an_orders_detail_has_its_history_payments_and_notices(queries, build):
    order = build.order(now=NOW - timedelta(hours=1))
    build.order()  # another order, with nothing of it in the detail
    first = build.payment(order, created_at=NOW - timedelta(minutes=50))
    second = build.payment(order, created_at=NOW - timedelta(minutes=40))
    with build.uow() as work:
        work.payments.record_notice(notice(second.tran_id, "n2", NOW - timedelta(minutes=30)))
        work.payments.record_notice(notice(first.tran_id, "n1", NOW - timedelta(minutes=45)))
        work.commit()
    move(build, order, OrderStatus.PAID, NOW - timedelta(minutes=30))
    move(build, order, OrderStatus.CANCELLED, NOW, source=EventSource.ADMIN, actor_id=None)

    detail = queries.order_detail(order.id)

    assert detail.order.id == order.id and detail.order.status is OrderStatus.CANCELLED
    assert [(e.from_status, e.to_status, e.source) for e in detail.events] == [
        (None, OrderStatus.PENDING, EventSource.API),
        (OrderStatus.PENDING, OrderStatus.PAID, EventSource.WEBHOOK),
        (OrderStatus.PAID, OrderStatus.CANCELLED, EventSource.ADMIN),
    ]
    assert [p.tran_id for p in detail.payments] == [second.tran_id, first.tran_id]
    assert [n.tran_id for n in detail.notices] == [first.tran_id, second.tran_id]
    assert queries.order_detail(uuid.uuid4()) is None


def test_0005_adds_the_read_indexes_and_its_downgrade_removes_them(empty_postgres_url):
    url = empty_postgres_url
    upgrade_database(url, "0004")
    engine = create_engine_for(url)
    try:

        def indexes() -> set[str]:
            engine.dispose()
            inspector = sa.inspect(engine)
            return {i["name"] for t in TABLES for i in inspector.get_indexes(t)}

        assert not indexes() & READ_INDEXES
        upgrade_database(url)
        assert indexes() >= READ_INDEXES
        command.downgrade(alembic_config(url), "0004")
        assert not indexes() & READ_INDEXES
    finally:
        engine.dispose()
