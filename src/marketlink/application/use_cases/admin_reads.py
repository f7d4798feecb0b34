"""What the admin panel reads: the dashboard, the lists and an order's detail, admins only.

Thin on purpose: each checks that the actor is an admin, holds a list query against its
list's spec (an undeclared column or a wrong value is refused before any SQL), and asks
the read-only `AdminQueries` port. Each list use case carries its `spec`, which the
panel reads to build its search, filters and sortable columns.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Generic, TypeVar

from marketlink.application.actors import Actor
from marketlink.application.admin_queries import (
    NOTICES,
    ORDERS,
    PAYMENTS,
    SERVICES,
    USERS,
    VARIANTS,
    VENDORS,
    AdminQueries,
    DashboardFigures,
    ListQuery,
    ListSpec,
    NoticeRow,
    OrderDetail,
    OrderRow,
    PaymentRow,
    ServiceRow,
    UserRow,
    VariantRow,
    VendorRow,
)
from marketlink.application.errors import NotFound
from marketlink.application.ports import Clock, Page
from marketlink.domain.users import Role

R = TypeVar("R")


class AdminDashboard:
    """The dashboard's figures as of now; `now` may be given in the zone whose days to use."""

    def __init__(self, queries: AdminQueries, clock: Clock) -> None:
        self._queries = queries
        self._clock = clock

    def __call__(self, actor: Actor, *, now: datetime | None = None) -> DashboardFigures:
        actor.require(Role.ADMIN)
        return self._queries.dashboard(now or self._clock.now())


class _AdminList(Generic[R]):
    spec: ClassVar[ListSpec]

    def __init__(self, queries: AdminQueries) -> None:
        self._queries = queries

    def __call__(self, actor: Actor, query: ListQuery) -> Page[R]:
        actor.require(Role.ADMIN)
        return self._run(self.spec.check(query))

    def _run(self, query: ListQuery) -> Page[R]:
        raise NotImplementedError


class AdminListUsers(_AdminList[UserRow]):
    spec = USERS

    def _run(self, query: ListQuery) -> Page[UserRow]:
        return self._queries.users(query)


class AdminListVendors(_AdminList[VendorRow]):
    spec = VENDORS

    def _run(self, query: ListQuery) -> Page[VendorRow]:
        return self._queries.vendors(query)


class AdminListServices(_AdminList[ServiceRow]):
    spec = SERVICES

    def _run(self, query: ListQuery) -> Page[ServiceRow]:
        return self._queries.services(query)


class AdminListVariants(_AdminList[VariantRow]):
    spec = VARIANTS

    def _run(self, query: ListQuery) -> Page[VariantRow]:
        return self._queries.variants(query)


class AdminListOrders(_AdminList[OrderRow]):
    spec = ORDERS

    def _run(self, query: ListQuery) -> Page[OrderRow]:
        return self._queries.orders(query)


class AdminListPayments(_AdminList[PaymentRow]):
    spec = PAYMENTS

    def _run(self, query: ListQuery) -> Page[PaymentRow]:
        return self._queries.payments(query)


class AdminListNotices(_AdminList[NoticeRow]):
    spec = NOTICES

    def _run(self, query: ListQuery) -> Page[NoticeRow]:
        return self._queries.notices(query)


class AdminOrderDetail:
    """One order with its history, payments and notices; NotFound when there is none."""

    def __init__(self, queries: AdminQueries) -> None:
        self._queries = queries

    def __call__(self, actor: Actor, order_id: uuid.UUID) -> OrderDetail:
        actor.require(Role.ADMIN)
        detail = self._queries.order_detail(order_id)
        if detail is None:
            raise NotFound("Order not found.")
        return detail
