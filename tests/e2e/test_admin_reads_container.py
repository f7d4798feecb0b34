"""The admin read use cases through the real container: what the panel calls."""

from __future__ import annotations

import uuid

import pytest

from marketlink.application.actors import Actor
from marketlink.application.admin_queries import ListQuery
from marketlink.application.errors import Forbidden
from marketlink.domain.orders import EventSource, OrderStatus
from marketlink.domain.users import Role
from tests.e2e.conftest import ApiDriver

pytestmark = pytest.mark.e2e


def test_the_panels_reads_see_what_the_api_did(client, api: ApiDriver, container):
    vendor = api.vendor("Mirpur Motors")
    service = api.service(vendor, "Brake repair")
    variant = api.variant(vendor, service["id"], price="1200.00", stock=3)
    customer = api.account()
    placed = client.post(
        "/api/v1/orders", headers=customer.headers, json={"variant_id": variant["id"]}
    )
    assert placed.status_code == 201, placed.json
    admin = Actor(1, Role.ADMIN)  # the use cases decide from the actor alone

    figures = container.admin_dashboard()(admin)
    assert figures.orders_by_status[OrderStatus.PENDING] == 1
    assert figures.users_by_role[Role.CUSTOMER] == 1 and figures.active_vendors == 1
    assert figures.series[-1].orders_placed == 1

    pending = container.admin_list_orders()(admin, ListQuery(filters={"status": "pending"}))
    (row,) = pending.items
    assert (row.customer_email, row.vendor_name) == (customer.email, "Mirpur Motors")
    (slot,) = container.admin_list_variants()(admin, ListQuery()).items
    assert (slot.stock, slot.reserved, slot.available) == (3, 1, 2)
    detail = container.admin_order_detail()(admin, uuid.UUID(placed.json["id"]))
    assert [(e.to_status, e.source) for e in detail.events] == [
        (OrderStatus.PENDING, EventSource.API)
    ]
    for name in ("users", "vendors", "services", "payments", "notices"):
        assert container.providers[f"admin_list_{name}"]()(admin, ListQuery()).total >= 0

    with pytest.raises(Forbidden):
        container.admin_list_users()(Actor(customer.id, Role.CUSTOMER), ListQuery())
