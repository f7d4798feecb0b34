"""Driving the admin panel as a browser would: its sign-in form, its CSRF tokens.

Until the admin read model's SQL adapter is in the container, `ensure_admin_reads` gives
the container empty read use cases over a stand-in of the AdminQueries port, so that the
panel's own behaviour (sign-in, access, CSRF, actions) is tested through the real app.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

from dependency_injector import providers
from flask.testing import FlaskClient

from marketlink.application.admin_queries import (
    SERIES_DAYS,
    DashboardFigures,
    DayFigures,
    ListQuery,
)
from marketlink.application.ports import Page
from marketlink.application.use_cases import admin_reads
from marketlink.application.use_cases.accounts import RegisterUser
from marketlink.containers import Container
from marketlink.domain.money import Money
from marketlink.domain.orders import OrderStatus
from marketlink.domain.payments import RefundStatus
from marketlink.domain.users import Role, User

PASSWORD = "correct-horse-battery"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class EmptyAdminQueries:
    """The AdminQueries port with no data: zero figures, empty lists."""

    def dashboard(self, now: datetime) -> DashboardFigures:
        zero = Money.of("0")
        return DashboardFigures(
            now=now,
            users_by_role=dict.fromkeys(Role, 0),
            active_vendors=0,
            orders_by_status=dict.fromkeys(OrderStatus, 0),
            revenue_today=zero,
            revenue_last_7_days=zero,
            payments_flagged_refund=0,
            payments_flagged_review=0,
            refunds_by_status=dict.fromkeys(RefundStatus, 0),
            expired_holds_last_24h=0,
            series=[
                DayFigures((now - timedelta(days=n)).date(), 0, zero)
                for n in reversed(range(SERIES_DAYS))
            ],
        )

    def _empty(self, query: ListQuery) -> Page[object]:
        return Page([], 0)

    users = vendors = services = variants = orders = payments = notices = _empty

    def order_detail(self, order_id: uuid.UUID) -> None:
        return None


READS = {
    "admin_list_users": admin_reads.AdminListUsers,
    "admin_list_vendors": admin_reads.AdminListVendors,
    "admin_list_services": admin_reads.AdminListServices,
    "admin_list_variants": admin_reads.AdminListVariants,
    "admin_list_orders": admin_reads.AdminListOrders,
    "admin_list_payments": admin_reads.AdminListPayments,
    "admin_list_notices": admin_reads.AdminListNotices,
    "admin_order_detail": admin_reads.AdminOrderDetail,
}


def ensure_admin_reads(container: Container) -> None:
    """Adds the admin read use cases the container does not have yet (see above)."""
    queries = providers.Object(EmptyAdminQueries())
    if not hasattr(container, "admin_dashboard"):
        container.set_provider(
            "admin_dashboard",
            providers.Factory(admin_reads.AdminDashboard, queries, container.clock),
        )
    for name, use_case in READS.items():
        if not hasattr(container, name):
            container.set_provider(name, providers.Factory(use_case, queries))


def make_user(container: Container, role: Role = Role.ADMIN, email: str | None = None) -> User:
    email = email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
    return container.register()(
        RegisterUser(email, PASSWORD, "Test", role.value.title(), role), allow_admin=True
    )


def csrf_token(client: FlaskClient, path: str = "/admin/login") -> str:
    page = client.get(path)
    match = _TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD):
    token = csrf_token(client)
    return client.post(
        "/admin/login", data={"email": email, "password": password, "csrf_token": token}
    )
