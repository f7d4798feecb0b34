"""The audit trail through the API: every admin action leaves exactly one entry."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest

from marketlink.application.use_cases.accounts import RegisterUser
from marketlink.domain.users import Role
from tests.e2e.conftest import PASSWORD, Account, ApiDriver, assert_error, bearer
from tests.e2e.test_orders_api import Shop, act, booked, mark_paid, slots, status_of

pytestmark = pytest.mark.e2e

ADMIN = "/api/v1/admin"
ENTRY_FIELDS = {"id", "at", "actor_id", "action", "object_kind", "object_id", "outcome", "detail"}


@pytest.fixture
def admin(api: ApiDriver, container) -> Account:
    user = container.register()(
        RegisterUser("root@example.com", PASSWORD, "Ada", "Admin", Role.ADMIN), allow_admin=True
    )
    token = api.login("root@example.com")["access_token"]
    return Account(user.id, user.email, "admin", token, "", bearer(token))


@pytest.fixture
def shop(client, api: ApiDriver) -> Shop:
    vendor = api.vendor()
    service = api.service(vendor, "Brake repair")
    variant = api.variant(vendor, service["id"], stock=3)
    profile = client.get("/api/v1/vendors/me", headers=vendor.headers).json
    return Shop(vendor, profile["id"], service, variant)


def trail(client, admin: Account) -> list[dict]:
    response = client.get(f"{ADMIN}/audit?page_size=100", headers=admin.headers)
    assert response.status_code == 200, response.json
    return list(reversed(response.json))  # oldest first, to read along with the test


def test_every_admin_action_leaves_exactly_one_entry(client, api, admin, shop, container):
    customer = api.account()
    paid = booked(client, customer, shop)["id"]
    mark_paid(container, paid)
    pending = booked(client, customer, shop)["id"]
    own = booked(client, api.account(), shop)["id"]
    unknown = str(uuid.UUID(int=7))
    actions = [
        ("PATCH", f"{ADMIN}/users/{customer.id}", {"is_active": False}, 200),
        ("PATCH", f"{ADMIN}/users/{customer.id}", {"is_active": True}, 200),
        ("PATCH", f"{ADMIN}/users/{admin.id}", {"is_active": False}, 409),
        ("PATCH", f"{ADMIN}/users/999", {"is_active": False}, 404),
        ("PATCH", f"{ADMIN}/vendors/{shop.vendor_id}", {"is_active": False}, 200),
        ("PATCH", f"{ADMIN}/vendors/{shop.vendor_id}", {"is_active": True}, 200),
        ("POST", f"{ADMIN}/vendors/{shop.vendor_id}/approve", None, 200),
        ("POST", f"{ADMIN}/vendors/999/approve", None, 404),
        ("POST", f"/api/v1/orders/{paid}/cancel", {"reason": "Shop closed today"}, 200),
        ("POST", f"/api/v1/orders/{pending}/fail", None, 409),
        ("POST", f"/api/v1/orders/{unknown}/cancel", None, 404),
        ("POST", f"{ADMIN}/payments/NOSUCH/accept", None, 404),
        ("POST", f"{ADMIN}/payments/NOSUCH/refund", None, 404),
    ]
    for method, path, body, status in actions:
        response = client.open(path, method=method, json=body, headers=admin.headers)
        assert response.status_code == status, (path, response.json)
    # Not admin actions: a customer cancelling their own order, a refused non-admin.
    act(client, customer, pending, "cancel")
    assert (
        client.patch(
            f"{ADMIN}/users/{customer.id}", json={"is_active": False}, headers=customer.headers
        ).status_code
        == 403
    )

    entries = trail(client, admin)

    assert all(set(entry) == ENTRY_FIELDS for entry in entries)
    assert {entry["actor_id"] for entry in entries} == {admin.id}
    assert [(e["action"], e["object_id"], e["outcome"]) for e in entries] == [
        ("user.deactivate", str(customer.id), "done"),
        ("user.reactivate", str(customer.id), "done"),
        ("user.deactivate", str(admin.id), "refused: cannot_deactivate_self"),
        ("user.deactivate", "999", "refused: not_found"),
        ("vendor.deactivate", str(shop.vendor_id), "done"),
        ("vendor.reactivate", str(shop.vendor_id), "done"),
        ("vendor.approve", str(shop.vendor_id), "done"),
        ("vendor.approve", "999", "refused: not_found"),
        ("order.cancel", paid, "done"),
        ("order.fail", pending, "refused: invalid_transition"),
        ("order.cancel", unknown, "refused: not_found"),
        ("payment.accept", "NOSUCH", "refused: not_found"),
        ("payment.refund", "NOSUCH", "refused: not_found"),
    ]
    assert [e["object_kind"] for e in entries[::4]] == ["user", "vendor", "order", "payment"]
    assert entries[8]["detail"] == "Shop closed today"
    times = [datetime.fromisoformat(e["at"]) for e in entries]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    assert own not in {e["object_id"] for e in entries}

    # The admin's cancel of a paid order: in its history with source admin, refund asked.
    history = client.get(f"/api/v1/orders/{paid}/events", headers=admin.headers).json
    assert (history[-1]["source"], history[-1]["actor_id"]) == ("admin", admin.id)
    assert status_of(client, customer, paid) == "cancelled"
    assert slots(client, shop) == (1, 2)  # `own` still holds one; the two others came back


def test_the_trail_is_paginated_newest_first_and_for_admins_only(client, api, admin):
    customer = api.account()
    for active in (False, True, False):
        client.patch(
            f"{ADMIN}/users/{customer.id}", json={"is_active": active}, headers=admin.headers
        )

    first = client.get(f"{ADMIN}/audit?page_size=2", headers=admin.headers)
    second = client.get(f"{ADMIN}/audit?page=2&page_size=2", headers=admin.headers)

    assert first.status_code == second.status_code == 200
    assert json.loads(first.headers["X-Pagination"])["total"] == 3
    assert [e["action"] for e in first.json + second.json] == [
        "user.deactivate",
        "user.reactivate",
        "user.deactivate",
    ]
    assert first.json[0]["id"] > first.json[1]["id"] > second.json[0]["id"]
    for someone in (api.account(), api.account("vendor")):  # `customer` is switched off
        assert_error(client.get(f"{ADMIN}/audit", headers=someone.headers), 403, "forbidden")
    assert_error(client.get(f"{ADMIN}/audit"), 401)


def test_approving_a_vendor_is_for_admins_only(client, api, admin, shop):
    path = f"{ADMIN}/vendors/{shop.vendor_id}/approve"
    for someone in (api.account(), shop.vendor):
        assert_error(client.post(path, headers=someone.headers), 403, "forbidden")
    assert_error(client.post(path), 401)
    assert_error(client.post(f"{ADMIN}/vendors/999/approve", headers=admin.headers), 404)
    approved = client.post(path, headers=admin.headers)
    assert approved.status_code == 200 and approved.json["is_approved"] is True
    assert approved.json["id"] == shop.vendor_id


def test_with_automatic_approval_a_new_vendor_is_approved_and_listed(client, api, shop):
    profile = client.get("/api/v1/vendors/me", headers=shop.vendor.headers).json
    assert profile["is_approved"] is True
    listed = client.get("/api/v1/services").json
    assert [s["id"] for s in listed] == [shop.service["id"]]
