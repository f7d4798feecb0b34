"""The admin panel's read model: one read-only query port, its queries and its rows.

Everything an operator reads in the panel comes through `AdminQueries`: the dashboard's
figures, one list per kind of record and an order's detail. Rows are small frozen
dataclasses of plain values (ids, names, statuses, Money, datetimes), never entities:
the panel shows them, and every change goes through a use case instead.

Each list has a `ListSpec`, data the panel reads to build its search box, filters and
sortable columns, and that `ListSpec.check` holds a `ListQuery` against: a column not
declared is refused (InvalidListQuery) before any SQL is built, and the adapter only
ever maps declared names to columns, never interpolates one.

Definitions the figures rest on (the adapter and its tests keep to them):

- A *day* is a calendar day in the time zone of the `now` given to `dashboard` (its
  tzinfo, midnight to midnight): pass `now` in UTC for UTC days, in Asia/Dhaka for
  Dhaka's.
- *Paid revenue* of a day is the sum of the total amounts of the orders whose history
  has their move to `paid` on that day: the order history, not the payments, because
  that move happens exactly once per order (pending -> paid), whichever path made it
  (the IPN, the return page, reconciliation, an admin accepting a reviewed payment),
  while a VALID payment may be one flagged for refund that never paid anything. It is
  gross: an order paid and later cancelled and refunded still counts on its paid day.
- *Today* is the calendar day of `now`; the *last 7 days* are today and the six before.
- *Expired holds* are orders moved to `cancelled` with source `expiry` in the 24 hours
  up to `now`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from marketlink.application.errors import InvalidListQuery
from marketlink.application.ports import Page
from marketlink.domain.money import Money
from marketlink.domain.orders import EventSource, OrderStatus
from marketlink.domain.payments import NoticeResult, PaymentFlag, PaymentStatus, RefundStatus
from marketlink.domain.users import Role

DEFAULT_PAGE_SIZE = 20
# Large enough for a CSV export of a filtered list in one page (the panel's
# `export_max_rows` should not exceed it), small enough that no request loads a table.
MAX_PAGE_SIZE = 10_000
# Words of a search beyond these are ignored: each is one more OR over the columns.
MAX_SEARCH_TERMS = 5
SERIES_DAYS = 14
REVENUE_WEEK_DAYS = 7


# Queries --------------------------------------------------------------------------------


class SortDirection(StrEnum):
    ASC = "asc"
    DESC = "desc"


@dataclass(frozen=True, slots=True)
class Sort:
    column: str
    direction: SortDirection = SortDirection.ASC

    @property
    def descending(self) -> bool:
        return self.direction is SortDirection.DESC


@dataclass(frozen=True, slots=True)
class ListQuery:
    """One page of one list, as the panel asks for it.

    `page` counts from 1 (Flask-Admin's page 0 is page 1 here). `search` is free text:
    split into words, every word must occur (case-blind, as a substring) in one of the
    list's searchable columns. `filters` maps a filterable column to the value it must
    equal; values may be given as the panel has them (strings: "true", "pending", "42")
    and `ListSpec.check` turns them into the column's type. `sort` None: the list's
    default order. Every order ends with the list's id, so pages never overlap.
    """

    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    search: str = ""
    filters: Mapping[str, object] = field(default_factory=dict)
    sort: Sort | None = None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def search_terms(self) -> tuple[str, ...]:
        return tuple(self.search.split()[:MAX_SEARCH_TERMS])


class FilterKind(StrEnum):
    CHOICE = "choice"  # one of `choices` (a status, a role, a flag)
    BOOL = "bool"  # true / false (also "1"/"0", "yes"/"no")
    INT = "int"  # an id
    UUID = "uuid"  # an order id


@dataclass(frozen=True, slots=True)
class FilterSpec:
    """A column the list can be filtered on: equality with one value of its kind."""

    column: str
    label: str
    kind: FilterKind
    choices: tuple[str, ...] = ()

    def coerce(self, value: object) -> object:
        """The value in the column's type (str, bool, int or UUID); InvalidListQuery if none."""
        try:
            return _COERCE[self.kind](self, value)
        except (TypeError, ValueError, AttributeError) as exc:
            raise InvalidListQuery(
                f"{value!r} is not a valid value for the filter {self.column!r}."
            ) from exc


def _choice(spec: FilterSpec, value: object) -> str:
    text = str(value).strip()
    if text not in spec.choices:
        raise ValueError(text)
    return text


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _bool(_spec: FilterSpec, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError(text)


def _int(_spec: FilterSpec, value: object) -> int:
    if isinstance(value, bool):
        raise TypeError(value)
    return int(str(value).strip()) if not isinstance(value, int) else value


def _uuid(_spec: FilterSpec, value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value).strip())


_COERCE = {
    FilterKind.CHOICE: _choice,
    FilterKind.BOOL: _bool,
    FilterKind.INT: _int,
    FilterKind.UUID: _uuid,
}


def choice(column: str, label: str, values: type[StrEnum]) -> FilterSpec:
    return FilterSpec(column, label, FilterKind.CHOICE, tuple(str(v) for v in values))


@dataclass(frozen=True, slots=True)
class ListSpec:
    """What one list shows and what it can be searched, filtered and sorted on.

    `columns`: the row's fields in display order (the panel's `column_list`);
    `searchable`: the columns the search text is looked for in (substring, case-blind);
    `filters`: the filterable columns, each with its kind (and choices);
    `sortable`: the columns the list can be ordered by; `default_sort` when none is asked.
    `id_column`: the row's primary key (the detail page's id, the final tie-break).
    """

    name: str
    id_column: str
    columns: tuple[str, ...]
    searchable: tuple[str, ...]
    filters: tuple[FilterSpec, ...]
    sortable: tuple[str, ...]
    default_sort: Sort

    def filter(self, column: str) -> FilterSpec:
        for spec in self.filters:
            if spec.column == column:
                return spec
        raise InvalidListQuery(f"The {self.name} list cannot be filtered on {column!r}.")

    def check(self, query: ListQuery) -> ListQuery:
        """The query with its filter values in their columns' types and its sort set.

        Raises InvalidListQuery for a page below 1, a page size outside 1..MAX_PAGE_SIZE,
        an undeclared filter or sort column, or a filter value of the wrong kind.
        """
        if query.page < 1:
            raise InvalidListQuery("The page number starts at 1.")
        if not 1 <= query.page_size <= MAX_PAGE_SIZE:
            raise InvalidListQuery(f"A page holds 1 to {MAX_PAGE_SIZE} rows.")
        filters = {column: self.filter(column).coerce(v) for column, v in query.filters.items()}
        sort = query.sort or self.default_sort
        if sort.column not in self.sortable:
            raise InvalidListQuery(f"The {self.name} list cannot be sorted on {sort.column!r}.")
        return ListQuery(query.page, query.page_size, query.search, filters, sort)


# Rows -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    email: str
    first_name: str
    last_name: str
    phone_number: str | None
    role: Role
    is_active: bool
    date_joined: datetime


@dataclass(frozen=True, slots=True)
class VendorRow:
    id: int
    user_id: int
    email: str  # the vendor user's
    business_name: str
    address: str
    is_active: bool  # the shop's switch
    is_approved: bool  # False while it waits for an admin (VENDOR_APPROVAL=manual)
    user_is_active: bool
    created_at: datetime
    service_count: int


@dataclass(frozen=True, slots=True)
class ServiceRow:
    id: int
    vendor_id: int
    vendor_name: str
    name: str
    description: str
    is_active: bool
    created_at: datetime
    variant_count: int


@dataclass(frozen=True, slots=True)
class VariantRow:
    id: int
    service_id: int
    service_name: str
    vendor_id: int
    vendor_name: str
    name: str
    price: Money
    estimated_minutes: int
    stock: int
    reserved: int
    available: int  # stock - reserved: the slots still free to book
    is_active: bool


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: uuid.UUID
    customer_id: int
    customer_email: str
    vendor_id: int
    vendor_name: str
    variant_id: int
    service_name: str
    variant_name: str
    status: OrderStatus
    total_amount: Money
    created_at: datetime
    updated_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """A payment attempt; its gateway session (key and URL) is left out on purpose."""

    tran_id: str
    order_id: uuid.UUID
    amount: Money
    status: PaymentStatus
    flag: PaymentFlag | None
    refund_status: RefundStatus | None
    risk_level: int | None
    val_id: str
    bank_tran_id: str
    card_type: str
    card_no: str
    refund_ref_id: str
    paid_amount: Money | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """A gateway notice as recorded (its dedup key left out); `order_id` is None for a
    notice about a tran_id MarketLink never issued."""

    id: int
    tran_id: str
    order_id: uuid.UUID | None
    received_at: datetime
    status: str
    result: NoticeResult
    reason: str
    source: str


@dataclass(frozen=True, slots=True)
class OrderEventRow:
    at: datetime
    from_status: OrderStatus | None
    to_status: OrderStatus
    source: EventSource
    actor_id: int | None
    reason: str


@dataclass(frozen=True, slots=True)
class OrderDetail:
    """An order with its whole history (oldest first), its payments (newest first) and
    the notices about those payments (oldest first)."""

    order: OrderRow
    events: Sequence[OrderEventRow]
    payments: Sequence[PaymentRow]
    notices: Sequence[NoticeRow]


# The dashboard ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayFigures:
    day: date
    orders_placed: int
    paid_revenue: Money


@dataclass(frozen=True, slots=True)
class DashboardFigures:
    """The marketplace at a glance (see the module docstring for what each figure means).

    Every mapping has every key of its enum, zeros included; `series` has SERIES_DAYS
    days, oldest first, ending with today, days without orders included.
    """

    now: datetime
    users_by_role: Mapping[Role, int]
    active_vendors: int  # switched on and approved: their shops are in the catalog
    orders_by_status: Mapping[OrderStatus, int]
    revenue_today: Money
    revenue_last_7_days: Money
    payments_flagged_refund: int
    payments_flagged_review: int
    # Payments flagged for refund by where the refund stands.
    refunds_by_status: Mapping[RefundStatus, int]
    expired_holds_last_24h: int
    series: Sequence[DayFigures]
    # Profiles not approved yet (VENDOR_APPROVAL=manual); last, with a default, so that
    # code building figures from before it still does.
    vendors_awaiting_approval: int = 0


# The port ------------------------------------------------------------------------------------


class AdminQueries(Protocol):
    """Read-only: none of these writes anything. Lists take a query already checked
    against their spec (`ListSpec.check`); the adapter refuses an undeclared column too."""

    def dashboard(self, now: datetime) -> DashboardFigures:
        """The figures as of `now` (timezone-aware; its offset defines the days)."""

    def users(self, query: ListQuery) -> Page[UserRow]: ...
    def vendors(self, query: ListQuery) -> Page[VendorRow]: ...
    def services(self, query: ListQuery) -> Page[ServiceRow]: ...
    def variants(self, query: ListQuery) -> Page[VariantRow]: ...
    def orders(self, query: ListQuery) -> Page[OrderRow]: ...
    def payments(self, query: ListQuery) -> Page[PaymentRow]: ...
    def notices(self, query: ListQuery) -> Page[NoticeRow]: ...

    def order_detail(self, order_id: uuid.UUID) -> OrderDetail | None:
        """None when there is no such order."""


# The lists' specs ------------------------------------------------------------------------------

_BOOL = FilterKind.BOOL
_INT = FilterKind.INT
_NEWEST = SortDirection.DESC

USERS = ListSpec(
    name="users",
    id_column="id",
    columns=(
        "id",
        "email",
        "first_name",
        "last_name",
        "phone_number",
        "role",
        "is_active",
        "date_joined",
    ),
    searchable=("email", "first_name", "last_name", "phone_number"),
    filters=(choice("role", "Role", Role), FilterSpec("is_active", "Active", _BOOL)),
    sortable=("id", "email", "first_name", "last_name", "role", "is_active", "date_joined"),
    default_sort=Sort("id"),
)

VENDORS = ListSpec(
    name="vendors",
    id_column="id",
    columns=(
        "id",
        "business_name",
        "email",
        "address",
        "is_active",
        "is_approved",
        "user_is_active",
        "service_count",
        "created_at",
    ),
    searchable=("business_name", "address", "email"),
    filters=(
        FilterSpec("is_active", "Active", _BOOL),
        FilterSpec("is_approved", "Approved", _BOOL),
        FilterSpec("user_id", "User id", _INT),
    ),
    sortable=(
        "id",
        "business_name",
        "email",
        "is_active",
        "is_approved",
        "service_count",
        "created_at",
    ),
    default_sort=Sort("id"),
)

SERVICES = ListSpec(
    name="services",
    id_column="id",
    columns=("id", "name", "vendor_name", "is_active", "variant_count", "created_at"),
    searchable=("name", "description", "vendor_name"),
    filters=(
        FilterSpec("is_active", "Active", _BOOL),
        FilterSpec("vendor_id", "Vendor id", _INT),
    ),
    sortable=("id", "name", "vendor_name", "is_active", "variant_count", "created_at"),
    default_sort=Sort("id"),
)

VARIANTS = ListSpec(
    name="variants",
    id_column="id",
    columns=(
        "id",
        "service_name",
        "name",
        "vendor_name",
        "price",
        "estimated_minutes",
        "stock",
        "reserved",
        "available",
        "is_active",
    ),
    searchable=("name", "service_name", "vendor_name"),
    filters=(
        FilterSpec("is_active", "Active", _BOOL),
        FilterSpec("service_id", "Service id", _INT),
        FilterSpec("vendor_id", "Vendor id", _INT),
    ),
    sortable=("id", "name", "service_name", "price", "stock", "reserved", "available"),
    default_sort=Sort("id"),
)

ORDERS = ListSpec(
    name="orders",
    id_column="id",
    columns=(
        "id",
        "created_at",
        "status",
        "customer_email",
        "vendor_name",
        "service_name",
        "variant_name",
        "total_amount",
        "updated_at",
        "expires_at",
    ),
    # A search that is a whole order id finds that order (ids are not substring-searched).
    searchable=("customer_email", "vendor_name", "service_name", "variant_name"),
    filters=(
        choice("status", "Status", OrderStatus),
        FilterSpec("customer_id", "Customer id", _INT),
        FilterSpec("vendor_id", "Vendor id", _INT),
        FilterSpec("variant_id", "Variant id", _INT),
    ),
    sortable=("created_at", "updated_at", "expires_at", "status", "total_amount"),
    default_sort=Sort("created_at", _NEWEST),
)

PAYMENTS = ListSpec(
    name="payments",
    id_column="tran_id",
    columns=(
        "tran_id",
        "order_id",
        "amount",
        "status",
        "flag",
        "refund_status",
        "risk_level",
        "val_id",
        "bank_tran_id",
        "card_type",
        "paid_amount",
        "refund_ref_id",
        "created_at",
        "updated_at",
    ),
    searchable=("tran_id", "val_id", "bank_tran_id", "refund_ref_id"),
    filters=(
        choice("status", "Status", PaymentStatus),
        choice("flag", "Flag", PaymentFlag),
        choice("refund_status", "Refund status", RefundStatus),
        FilterSpec("order_id", "Order id", FilterKind.UUID),
    ),
    sortable=("tran_id", "created_at", "updated_at", "amount", "status", "risk_level"),
    default_sort=Sort("created_at", _NEWEST),
)

NOTICES = ListSpec(
    name="notices",
    id_column="id",
    columns=("id", "received_at", "tran_id", "order_id", "status", "result", "reason", "source"),
    searchable=("tran_id", "reason", "status"),
    filters=(
        choice("result", "Result", NoticeResult),
        FilterSpec("order_id", "Order id", FilterKind.UUID),
    ),
    sortable=("id", "received_at", "tran_id", "status", "result"),
    default_sort=Sort("received_at", _NEWEST),
)

SPECS: Mapping[str, ListSpec] = {
    spec.name: spec for spec in (USERS, VENDORS, SERVICES, VARIANTS, ORDERS, PAYMENTS, NOTICES)
}
