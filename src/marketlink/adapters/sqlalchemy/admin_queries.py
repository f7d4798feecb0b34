"""The admin panel's read model in SQL: aggregates and pages, never whole tables in Python.

Each call reads through a connection of its own from the engine, in one read-only
transaction that is rolled back when the connection goes back to the pool (as the
idempotency store and the SQL blocklist use the engine, apart from any unit of work).

A list is a `_ListSql`: its FROM clause, and for every column name of its spec the SQL
expression behind it. Search, filters and sorting only ever look names up in that
mapping: an undeclared name is refused (InvalidListQuery), never put into SQL. Search
terms are bound parameters with `%`, `_` and the escape character escaped; ILIKE on
PostgreSQL, lower() LIKE lower() on SQLite (SQLAlchemy's `ilike`).

The day series buckets rows with a CASE over the day boundaries, computed in Python in
the time zone of `now` and bound as parameters: the same SQL on both databases, and
correct for any zone, with a range condition the indexes of migration 0005 answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from marketlink.adapters.sqlalchemy.tables import (
    gateway_notices,
    order_events,
    payments,
    repair_orders,
    service_variants,
    services,
    users,
    vendor_profiles,
)
from marketlink.application.admin_queries import (
    NOTICES,
    ORDERS,
    PAYMENTS,
    REVENUE_WEEK_DAYS,
    SERIES_DAYS,
    SERVICES,
    USERS,
    VARIANTS,
    VENDORS,
    DashboardFigures,
    DayFigures,
    ListQuery,
    ListSpec,
    NoticeRow,
    OrderDetail,
    OrderEventRow,
    OrderRow,
    PaymentRow,
    ServiceRow,
    UserRow,
    VariantRow,
    VendorRow,
)
from marketlink.application.errors import InvalidListQuery
from marketlink.application.ports import Page
from marketlink.domain.money import CATALOGUE_CURRENCY, Money
from marketlink.domain.orders import EventSource, OrderStatus
from marketlink.domain.payments import NoticeResult, PaymentFlag, PaymentStatus, RefundStatus
from marketlink.domain.users import Role

R = TypeVar("R")

EXPIRED_HOLDS_WINDOW = timedelta(hours=24)
_ESCAPE = "\\"


def like_pattern(term: str) -> str:
    """`%term%`, with LIKE's wildcards in the term matched as themselves."""
    escaped = term.replace(_ESCAPE, _ESCAPE * 2).replace("%", r"\%").replace("_", r"\_")
    return f"%{escaped}%"


def _money(amount: Decimal | None, currency: str | None = CATALOGUE_CURRENCY) -> Money:
    return Money.rounded(Decimal(amount or 0), currency or CATALOGUE_CURRENCY)


@dataclass(frozen=True)
class _ListSql(Generic[R]):
    spec: ListSpec
    source: sa.FromClause
    # Every column name of the spec (shown, searched, filtered or sorted) -> its SQL.
    columns: Mapping[str, ColumnElement[Any]]
    row: Callable[[sa.Row[Any]], R]
    # Extra search conditions for one term (e.g. a whole order id), OR-ed with the rest.
    term_matches: Callable[[str], Sequence[ColumnElement[bool]]] = lambda _term: ()
    # How to search a column other than by ILIKE on its expression: given the pattern.
    search_via: Mapping[str, Callable[[str], ColumnElement[bool]]] = field(default_factory=dict)

    def column(self, name: str, allowed: Sequence[str], what: str) -> ColumnElement[Any]:
        if name not in allowed or name not in self.columns:
            raise InvalidListQuery(f"The {self.spec.name} list cannot be {what} {name!r}.")
        return self.columns[name]

    def conditions(self, query: ListQuery) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        searchable = {
            name: self.column(name, self.spec.searchable, "searched on")
            for name in self.spec.searchable
        }
        for term in query.search_terms:
            pattern = like_pattern(term)
            matches = [
                self.search_via[name](pattern)
                if name in self.search_via
                else column.ilike(pattern, escape=_ESCAPE)
                for name, column in searchable.items()
            ]
            found.append(sa.or_(*matches, *self.term_matches(term)))
        filterable = [f.column for f in self.spec.filters]
        for name, value in query.filters.items():
            column = self.column(name, filterable, "filtered on")
            found.append(column.is_(None) if value is None else column == value)
        return found

    def ordering(self, query: ListQuery) -> list[ColumnElement[Any]]:
        sort = query.sort or self.spec.default_sort
        column = self.column(sort.column, self.spec.sortable, "sorted on")
        key = self.columns[self.spec.id_column]
        if sort.descending:
            return [column.desc().nulls_first(), key.desc()]
        return [column.asc().nulls_last(), key.asc()]

    def select(self) -> sa.Select[Any]:
        return sa.select(*(c.label(n) for n, c in self.columns.items())).select_from(self.source)

    def page(self, connection: sa.Connection, query: ListQuery) -> Page[R]:
        where = self.conditions(query)
        rows = connection.execute(
            self.select()
            .where(*where)
            .order_by(*self.ordering(query))
            .limit(query.page_size)
            .offset(query.offset)
        ).all()
        if query.page == 1 and len(rows) < query.page_size:
            total = len(rows)  # the whole list fits on this page: no count needed
        else:
            count = sa.select(sa.func.count()).select_from(self.source).where(*where)
            total = int(connection.execute(count).scalar_one())
        return Page([self.row(row) for row in rows], total)


# The lists ---------------------------------------------------------------------------------

_customer = users.alias("customer")
_vendor_user = users.alias("vendor_user")

_USERS = _ListSql(
    USERS,
    users,
    {name: users.c[name] for name in USERS.columns},
    lambda r: UserRow(
        r.id,
        r.email,
        r.first_name,
        r.last_name,
        r.phone_number,
        Role(r.role),
        r.is_active,
        r.date_joined,
    ),
)

_service_count = (
    sa.select(sa.func.count())
    .where(services.c.vendor_id == vendor_profiles.c.id)
    .correlate(vendor_profiles)
    .scalar_subquery()
)
_VENDORS = _ListSql(
    VENDORS,
    vendor_profiles.join(_vendor_user, _vendor_user.c.id == vendor_profiles.c.user_id),
    {
        "id": vendor_profiles.c.id,
        "user_id": vendor_profiles.c.user_id,
        "email": _vendor_user.c.email,
        "business_name": vendor_profiles.c.business_name,
        "address": vendor_profiles.c.address,
        "is_active": vendor_profiles.c.is_active,
        "is_approved": vendor_profiles.c.is_approved,
        "user_is_active": _vendor_user.c.is_active,
        "created_at": vendor_profiles.c.created_at,
        "service_count": _service_count,
    },
    lambda r: VendorRow(
        r.id,
        r.user_id,
        r.email,
        r.business_name,
        r.address,
        r.is_active,
        r.is_approved,
        r.user_is_active,
        r.created_at,
        int(r.service_count),
    ),
)

_variant_count = (
    sa.select(sa.func.count())
    .where(service_variants.c.service_id == services.c.id)
    .correlate(services)
    .scalar_subquery()
)
_SERVICES = _ListSql(
    SERVICES,
    services.join(vendor_profiles, vendor_profiles.c.id == services.c.vendor_id),
    {
        "id": services.c.id,
        "vendor_id": services.c.vendor_id,
        "vendor_name": vendor_profiles.c.business_name,
        "name": services.c.name,
        "description": services.c.description,
        "is_active": services.c.is_active,
        "created_at": services.c.created_at,
        "variant_count": _variant_count,
    },
    lambda r: ServiceRow(
        r.id,
        r.vendor_id,
        r.vendor_name,
        r.name,
        r.description,
        r.is_active,
        r.created_at,
        int(r.variant_count),
    ),
)

_VARIANTS = _ListSql(
    VARIANTS,
    service_variants.join(services, services.c.id == service_variants.c.service_id).join(
        vendor_profiles, vendor_profiles.c.id == services.c.vendor_id
    ),
    {
        "id": service_variants.c.id,
        "service_id": service_variants.c.service_id,
        "service_name": services.c.name,
        "vendor_id": services.c.vendor_id,
        "vendor_name": vendor_profiles.c.business_name,
        "name": service_variants.c.name,
        "price": service_variants.c.price,
        "estimated_minutes": service_variants.c.estimated_minutes,
        "stock": service_variants.c.stock,
        "reserved": service_variants.c.reserved,
        "available": service_variants.c.stock - service_variants.c.reserved,
        "is_active": service_variants.c.is_active,
    },
    lambda r: VariantRow(
        r.id,
        r.service_id,
        r.service_name,
        r.vendor_id,
        r.vendor_name,
        r.name,
        _money(r.price),
        r.estimated_minutes,
        r.stock,
        r.reserved,
        r.available,
        r.is_active,
    ),
)


def _order_row(r: sa.Row[Any]) -> OrderRow:
    return OrderRow(
        r.id,
        r.customer_id,
        r.customer_email,
        r.vendor_id,
        r.vendor_name,
        r.variant_id,
        r.service_name,
        r.variant_name,
        OrderStatus(r.status),
        _money(r.total_amount, r.currency),
        r.created_at,
        r.updated_at,
        r.expires_at,
    )


def _whole_id(term: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(term)
    except ValueError:
        return None


def _order_id_matches(term: str) -> Sequence[ColumnElement[bool]]:
    order_id = _whole_id(term)
    return () if order_id is None else (repair_orders.c.id == order_id,)


# Outer joins to rows the foreign keys guarantee: the same rows as inner joins, and
# PostgreSQL leaves them out of a count that does not read them.
_ORDERS = _ListSql(
    ORDERS,
    repair_orders.outerjoin(_customer, _customer.c.id == repair_orders.c.customer_id).outerjoin(
        vendor_profiles, vendor_profiles.c.id == repair_orders.c.vendor_id
    ),
    {
        "id": repair_orders.c.id,
        "customer_id": repair_orders.c.customer_id,
        "customer_email": _customer.c.email,
        "vendor_id": repair_orders.c.vendor_id,
        "vendor_name": vendor_profiles.c.business_name,
        "variant_id": repair_orders.c.variant_id,
        "service_name": repair_orders.c.service_name,
        "variant_name": repair_orders.c.variant_name,
        "status": repair_orders.c.status,
        "total_amount": repair_orders.c.total_amount,
        "currency": repair_orders.c.currency,
        "created_at": repair_orders.c.created_at,
        "updated_at": repair_orders.c.updated_at,
        "expires_at": repair_orders.c.expires_at,
    },
    _order_row,
    _order_id_matches,
    # A customer's or a shop's name looked up in its own (small) table first, so that a
    # search reads the orders once instead of joining each of them to both.
    {
        "customer_email": lambda pattern: repair_orders.c.customer_id.in_(
            sa.select(users.c.id).where(users.c.email.ilike(pattern, escape=_ESCAPE))
        ),
        "vendor_name": lambda pattern: repair_orders.c.vendor_id.in_(
            sa.select(vendor_profiles.c.id).where(
                vendor_profiles.c.business_name.ilike(pattern, escape=_ESCAPE)
            )
        ),
    },
)


def _payment_row(r: sa.Row[Any]) -> PaymentRow:
    paid = r.paid_amount
    return PaymentRow(
        r.tran_id,
        r.order_id,
        _money(r.amount, r.currency),
        PaymentStatus(r.status),
        PaymentFlag(r.flag) if r.flag else None,
        RefundStatus(r.refund_status) if r.refund_status else None,
        r.risk_level,
        r.val_id,
        r.bank_tran_id,
        r.card_type,
        r.card_no,
        r.refund_ref_id,
        None if paid is None else _money(paid, r.paid_currency),
        r.created_at,
        r.updated_at,
    )


_PAYMENT_COLUMNS = (
    "tran_id",
    "order_id",
    "amount",
    "currency",
    "status",
    "flag",
    "refund_status",
    "risk_level",
    "val_id",
    "bank_tran_id",
    "card_type",
    "card_no",
    "refund_ref_id",
    "paid_amount",
    "paid_currency",
    "created_at",
    "updated_at",
)
_PAYMENTS = _ListSql(
    PAYMENTS, payments, {name: payments.c[name] for name in _PAYMENT_COLUMNS}, _payment_row
)


def _notice_row(r: sa.Row[Any]) -> NoticeRow:
    return NoticeRow(
        r.id,
        r.tran_id,
        r.order_id,
        r.received_at,
        r.status,
        NoticeResult(r.result),
        r.reason,
        r.source,
    )


_NOTICES = _ListSql(
    NOTICES,
    gateway_notices.outerjoin(payments, payments.c.tran_id == gateway_notices.c.tran_id),
    {
        **{
            name: gateway_notices.c[name]
            for name in ("id", "tran_id", "received_at", "status", "result", "reason", "source")
        },
        "order_id": payments.c.order_id,
    },
    _notice_row,
)


# The dashboard -------------------------------------------------------------------------------


def day_starts(now: datetime, days: int = SERIES_DAYS) -> list[datetime]:
    """Midnights of the last `days` days in `now`'s zone, oldest first, and the next one."""
    if now.tzinfo is None:
        raise ValueError(f"the dashboard needs an aware time, got {now!r}")
    today = now.date()
    return [
        datetime.combine(today - timedelta(days=days - 1 - i), time(), tzinfo=now.tzinfo)
        for i in range(days + 1)
    ]


def _day_of(column: ColumnElement[datetime], bounds: Sequence[datetime]) -> ColumnElement[int]:
    """The index of the day (0 = the oldest) a timestamp in [bounds[0], bounds[-1]) falls on."""
    last = len(bounds) - 2
    return sa.case(*((column < bound, i) for i, bound in enumerate(bounds[1:-1])), else_=last)


def _per_day(
    connection: sa.Connection,
    column: ColumnElement[datetime],
    amount: ColumnElement[Any],
    source: sa.FromClause,
    conditions: Sequence[ColumnElement[bool]],
    bounds: Sequence[datetime],
) -> dict[int, tuple[int, Decimal]]:
    inner = (
        sa.select(_day_of(column, bounds).label("day"), amount.label("amount"))
        .select_from(source)
        .where(column >= bounds[0], column < bounds[-1], *conditions)
        .subquery()
    )
    rows = connection.execute(
        sa.select(inner.c.day, sa.func.count(), sa.func.sum(inner.c.amount)).group_by(inner.c.day)
    )
    return {int(day): (int(count), Decimal(total or 0)) for day, count, total in rows}


def _count_where(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return sa.func.sum(sa.case((condition, 1), else_=0))


def _counts(connection: sa.Connection, column: ColumnElement[Any]) -> dict[str, int]:
    rows = connection.execute(sa.select(column, sa.func.count()).group_by(column))
    return {str(key): int(count) for key, count in rows}


class SqlAdminQueries:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def dashboard(self, now: datetime) -> DashboardFigures:
        bounds = day_starts(now)
        with self._engine.connect() as connection:
            roles = _counts(connection, users.c.role)
            statuses = _counts(connection, repair_orders.c.status)
            active_vendors, awaiting = connection.execute(
                sa.select(
                    _count_where(vendor_profiles.c.is_active & vendor_profiles.c.is_approved),
                    _count_where(~vendor_profiles.c.is_approved),
                )
            ).one()
            flagged = connection.execute(
                sa.select(payments.c.flag, payments.c.refund_status, sa.func.count())
                .where(payments.c.flag.is_not(None))
                .group_by(payments.c.flag, payments.c.refund_status)
            ).all()
            expired = connection.execute(
                sa.select(sa.func.count())
                .select_from(order_events)
                .where(
                    order_events.c.to_status == OrderStatus.CANCELLED.value,
                    order_events.c.source == EventSource.EXPIRY.value,
                    order_events.c.at > now - EXPIRED_HOLDS_WINDOW,
                    order_events.c.at <= now,
                )
            ).scalar_one()
            placed = _per_day(
                connection,
                repair_orders.c.created_at,
                sa.literal(0),
                repair_orders,
                (),
                bounds,
            )
            paid = _per_day(
                connection,
                order_events.c.at,
                repair_orders.c.total_amount,
                order_events.join(repair_orders, repair_orders.c.id == order_events.c.order_id),
                (
                    order_events.c.to_status == OrderStatus.PAID.value,
                    repair_orders.c.currency == CATALOGUE_CURRENCY,
                ),
                bounds,
            )
        series = [
            DayFigures(
                bounds[i].date(),
                placed.get(i, (0, Decimal(0)))[0],
                _money(paid.get(i, (0, Decimal(0)))[1]),
            )
            for i in range(SERIES_DAYS)
        ]
        week = series[-REVENUE_WEEK_DAYS:]
        by_flag: dict[str, int] = {}
        refunds = {status: 0 for status in RefundStatus}
        for flag, refund_status, count in flagged:
            by_flag[flag] = by_flag.get(flag, 0) + int(count)
            if flag == PaymentFlag.REFUND.value and refund_status:
                refunds[RefundStatus(refund_status)] += int(count)
        return DashboardFigures(
            now=now,
            users_by_role={role: roles.get(role.value, 0) for role in Role},
            active_vendors=int(active_vendors or 0),
            vendors_awaiting_approval=int(awaiting or 0),
            orders_by_status={status: statuses.get(status.value, 0) for status in OrderStatus},
            revenue_today=series[-1].paid_revenue,
            revenue_last_7_days=_money(sum((d.paid_revenue.amount for d in week), Decimal(0))),
            payments_flagged_refund=by_flag.get(PaymentFlag.REFUND.value, 0),
            payments_flagged_review=by_flag.get(PaymentFlag.REVIEW.value, 0),
            refunds_by_status=refunds,
            expired_holds_last_24h=int(expired),
            series=series,
        )

    def users(self, query: ListQuery) -> Page[UserRow]:
        return self._page(_USERS, query)

    def vendors(self, query: ListQuery) -> Page[VendorRow]:
        return self._page(_VENDORS, query)

    def services(self, query: ListQuery) -> Page[ServiceRow]:
        return self._page(_SERVICES, query)

    def variants(self, query: ListQuery) -> Page[VariantRow]:
        return self._page(_VARIANTS, query)

    def orders(self, query: ListQuery) -> Page[OrderRow]:
        return self._page(_ORDERS, query)

    def payments(self, query: ListQuery) -> Page[PaymentRow]:
        return self._page(_PAYMENTS, query)

    def notices(self, query: ListQuery) -> Page[NoticeRow]:
        return self._page(_NOTICES, query)

    def order_detail(self, order_id: uuid.UUID) -> OrderDetail | None:
        with self._engine.connect() as connection:
            found = connection.execute(_ORDERS.select().where(repair_orders.c.id == order_id))
            order = found.first()
            if order is None:
                return None
            events = connection.execute(
                sa.select(order_events)
                .where(order_events.c.order_id == order_id)
                .order_by(order_events.c.at, order_events.c.id)
            ).all()
            attempts = connection.execute(
                _PAYMENTS.select()
                .where(payments.c.order_id == order_id)
                .order_by(payments.c.created_at.desc(), payments.c.tran_id.desc())
            ).all()
            notices = connection.execute(
                _NOTICES.select()
                .where(payments.c.order_id == order_id)
                .order_by(gateway_notices.c.received_at, gateway_notices.c.id)
            ).all()
        return OrderDetail(
            order=_order_row(order),
            events=[
                OrderEventRow(
                    e.at,
                    OrderStatus(e.from_status) if e.from_status else None,
                    OrderStatus(e.to_status),
                    EventSource(e.source),
                    e.actor_id,
                    e.reason,
                )
                for e in events
            ],
            payments=[_payment_row(p) for p in attempts],
            notices=[_notice_row(n) for n in notices],
        )

    def _page(self, sql: _ListSql[R], query: ListQuery) -> Page[R]:
        with self._engine.connect() as connection:
            return sql.page(connection, query)
