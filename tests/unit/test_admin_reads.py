"""The admin read use cases and the list specs they hold queries against."""

from __future__ import annotations

import uuid
from dataclasses import fields
from datetime import UTC, datetime

import pytest

from marketlink.application.actors import Actor
from marketlink.application.admin_queries import (
    MAX_PAGE_SIZE,
    ORDERS,
    PAYMENTS,
    SPECS,
    USERS,
    FilterKind,
    ListQuery,
    NoticeRow,
    OrderRow,
    PaymentRow,
    ServiceRow,
    Sort,
    SortDirection,
    UserRow,
    VariantRow,
    VendorRow,
)
from marketlink.application.errors import Forbidden, InvalidListQuery, NotFound
from marketlink.application.ports import Page
from marketlink.application.use_cases import admin_reads
from marketlink.domain.orders import OrderStatus
from marketlink.domain.users import Role

ADMIN = Actor(1, Role.ADMIN)
NOW = datetime(2026, 12, 2, 15, tzinfo=UTC)


class RecordingQueries:
    """An AdminQueries that answers empty pages and remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, object]] = []

    def __getattr__(self, name: str):
        def answer(argument: object) -> object:
            self.asked.append((name, argument))
            return None if name in ("dashboard", "order_detail") else Page([], 0)

        return answer


class FixedClock:
    def now(self) -> datetime:
        return NOW


LISTS = [
    (admin_reads.AdminListUsers, "users"),
    (admin_reads.AdminListVendors, "vendors"),
    (admin_reads.AdminListServices, "services"),
    (admin_reads.AdminListVariants, "variants"),
    (admin_reads.AdminListOrders, "orders"),
    (admin_reads.AdminListPayments, "payments"),
    (admin_reads.AdminListNotices, "notices"),
]


@pytest.mark.parametrize(("use_case", "method"), LISTS)
def test_each_list_asks_its_query_with_the_default_sort_of_its_spec(use_case, method):
    queries = RecordingQueries()
    use_case(queries)(ADMIN, ListQuery(page=2, page_size=5, search="x"))
    ((asked, query),) = queries.asked
    assert asked == method
    assert (query.page, query.page_size, query.search) == (2, 5, "x")
    assert query.sort == use_case.spec.default_sort == SPECS[method].default_sort


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.VENDOR])
@pytest.mark.parametrize(("use_case", "_method"), LISTS)
def test_only_an_admin_may_read_a_list(use_case, _method, role):
    queries = RecordingQueries()
    with pytest.raises(Forbidden):
        use_case(queries)(Actor(2, role), ListQuery())
    assert queries.asked == []


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.VENDOR])
def test_only_an_admin_may_see_the_dashboard_or_an_order(role):
    queries = RecordingQueries()
    with pytest.raises(Forbidden):
        admin_reads.AdminDashboard(queries, FixedClock())(Actor(2, role))
    with pytest.raises(Forbidden):
        admin_reads.AdminOrderDetail(queries)(Actor(2, role), uuid.uuid4())
    assert queries.asked == []


def test_the_dashboard_is_as_of_the_clock_unless_told_a_time():
    queries = RecordingQueries()
    dashboard = admin_reads.AdminDashboard(queries, FixedClock())
    dashboard(ADMIN)
    later = datetime(2026, 12, 3, tzinfo=UTC)
    dashboard(ADMIN, now=later)
    assert queries.asked == [("dashboard", NOW), ("dashboard", later)]


def test_an_unknown_order_is_not_found():
    with pytest.raises(NotFound):
        admin_reads.AdminOrderDetail(RecordingQueries())(ADMIN, uuid.uuid4())


def test_filter_values_arrive_as_the_panel_has_them_and_leave_typed():
    order_id = uuid.uuid4()
    checked = PAYMENTS.check(
        ListQuery(filters={"flag": "refund", "refund_status": "refund_failed"})
    )
    assert checked.filters == {"flag": "refund", "refund_status": "refund_failed"}
    assert ORDERS.check(ListQuery(filters={"customer_id": " 42 "})).filters == {"customer_id": 42}
    assert PAYMENTS.check(ListQuery(filters={"order_id": str(order_id)})).filters == {
        "order_id": order_id
    }
    for text, value in [("true", True), ("0", False), ("Yes", True), (False, False)]:
        assert USERS.check(ListQuery(filters={"is_active": text})).filters == {"is_active": value}


@pytest.mark.parametrize(
    "query",
    [
        ListQuery(filters={"password_hash": "x"}),
        ListQuery(filters={"status": "lost"}),
        ListQuery(filters={"customer_id": "forty-two"}),
        ListQuery(filters={"customer_id": True}),
        ListQuery(sort=Sort("customer_email; DROP TABLE users")),
        ListQuery(page=0),
        ListQuery(page_size=0),
        ListQuery(page_size=MAX_PAGE_SIZE + 1),
    ],
)
def test_a_query_the_spec_does_not_allow_is_refused_before_any_sql(query):
    queries = RecordingQueries()
    with pytest.raises(InvalidListQuery):
        admin_reads.AdminListOrders(queries)(ADMIN, query)
    assert queries.asked == []


ROWS = {
    "users": UserRow,
    "vendors": VendorRow,
    "services": ServiceRow,
    "variants": VariantRow,
    "orders": OrderRow,
    "payments": PaymentRow,
    "notices": NoticeRow,
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_column_a_spec_names_is_a_field_of_its_row(name):
    spec = SPECS[name]
    named = {spec.id_column, spec.default_sort.column, *spec.columns, *spec.searchable}
    named |= {*spec.sortable, *(f.column for f in spec.filters)}
    assert named <= {f.name for f in fields(ROWS[name])}
    assert all(f.choices for f in spec.filters if f.kind is FilterKind.CHOICE)


def test_the_orders_spec_filters_on_every_status_newest_first():
    assert ORDERS.filter("status").choices == tuple(str(s) for s in OrderStatus)
    assert ORDERS.default_sort == Sort("created_at", SortDirection.DESC)


def test_search_keeps_at_most_five_words():
    assert ListQuery(search="  a b  c d e f g ").search_terms == ("a", "b", "c", "d", "e")
