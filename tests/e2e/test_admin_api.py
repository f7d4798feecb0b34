"""The admin API for accounts and shops (the payment routes are in test_payment_flows.py)."""

from __future__ import annotations

import json

import pytest

from marketlink.application.use_cases.accounts import RegisterUser
from marketlink.containers import Container
from marketlink.domain.users import Role
from tests.e2e.conftest import PASSWORD, Account, ApiDriver, assert_error, bearer

pytestmark = pytest.mark.e2e

USER_FIELDS = {
    "id",
    "email",
    "first_name",
    "last_name",
    "phone_number",
    "role",
    "is_active",
    "date_joined",
}


@pytest.fixture
def admin(api: ApiDriver, container: Container) -> Account:
    user = container.register()(
        RegisterUser("root@example.com", PASSWORD, "Ada", "Admin", Role.ADMIN), allow_admin=True
    )
    assert user.id is not None
    tokens = api.login("root@example.com")
    return Account(
        id=user.id,
        email=user.email,
        role="admin",
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        headers=bearer(tokens["access_token"]),
    )


def test_an_admin_lists_every_account_page_by_page(client, api: ApiDriver, admin: Account):
    customer, vendor = api.account(), api.account("vendor")

    first = client.get("/api/v1/admin/users?page_size=2", headers=admin.headers)
    second = client.get("/api/v1/admin/users?page=2&page_size=2", headers=admin.headers)

    assert first.status_code == second.status_code == 200
    assert [u["id"] for u in first.json + second.json] == [admin.id, customer.id, vendor.id]
    assert json.loads(first.headers["X-Pagination"])["total"] == 3
    assert all(set(user) == USER_FIELDS for user in first.json)
    assert [u["role"] for u in first.json + second.json] == ["admin", "customer", "vendor"]


def test_only_admins_use_the_admin_api(client, api: ApiDriver):
    customer, vendor = api.account(), api.account("vendor")
    shop = client.post(
        "/api/v1/vendors/me", headers=vendor.headers, json={"business_name": "S", "address": "A"}
    ).json
    for someone in (customer, vendor):
        headers = someone.headers
        assert_error(client.get("/api/v1/admin/users", headers=headers), 403, "forbidden")
        patch = {"json": {"is_active": False}, "headers": headers}
        assert_error(client.patch(f"/api/v1/admin/users/{customer.id}", **patch), 403)
        assert_error(client.patch(f"/api/v1/admin/vendors/{shop['id']}", **patch), 403)
    assert_error(client.get("/api/v1/admin/users"), 401)
    assert_error(client.patch(f"/api/v1/admin/users/{customer.id}", json={}), 401)
    assert api.login(customer.email)["access_token"]
    assert client.get(f"/api/v1/vendors/{shop['id']}").status_code == 200


def test_a_switched_off_account_cannot_sign_in_until_switched_on(
    client, api: ApiDriver, admin: Account
):
    customer = api.account()
    path = f"/api/v1/admin/users/{customer.id}"

    off = client.patch(path, headers=admin.headers, json={"is_active": False})

    assert off.status_code == 200
    assert off.json["is_active"] is False and set(off.json) == USER_FIELDS
    login = {"email": customer.email, "password": PASSWORD}
    assert_error(client.post("/api/v1/auth/login", json=login), 401)
    assert_error(client.post("/api/v1/auth/refresh", headers=bearer(customer.refresh_token)), 401)
    on = client.patch(path, headers=admin.headers, json={"is_active": True})
    assert on.json["is_active"] is True
    assert client.post("/api/v1/auth/login", json=login).status_code == 200


def test_a_switched_off_account_loses_its_access_token_at_once(
    client, api: ApiDriver, admin: Account
):
    customer, vendor = api.account(), api.vendor()
    shop = api.service(vendor)
    variant = api.variant(vendor, shop["id"])
    order = {"json": {"variant_id": variant["id"]}, "headers": customer.headers}
    assert client.get("/api/v1/users/me", headers=customer.headers).status_code == 200

    for account in (customer, vendor):
        path = f"/api/v1/admin/users/{account.id}"
        assert (
            client.patch(path, headers=admin.headers, json={"is_active": False}).status_code == 200
        )

    # Not a quarter of an hour later, when the access tokens expire: the next request.
    body = assert_error(client.get("/api/v1/users/me", headers=customer.headers), 401)
    assert body["error"] == "token_revoked" and "switched off" in body["message"]
    assert_error(client.post("/api/v1/orders", **order), 401)
    assert_error(client.get("/api/v1/orders", headers=customer.headers), 401)
    assert_error(client.post("/api/v1/auth/refresh", headers=bearer(customer.refresh_token)), 401)
    assert_error(client.get("/api/v1/vendors/me", headers=vendor.headers), 401)
    assert_error(client.post("/api/v1/services", headers=vendor.headers, json={"name": "X"}), 401)
    assert client.get("/api/v1/users/me", headers=admin.headers).status_code == 200

    # Switched on again, the session (never revoked) works again.
    path = f"/api/v1/admin/users/{customer.id}"
    assert client.patch(path, headers=admin.headers, json={"is_active": True}).status_code == 200
    assert client.get("/api/v1/users/me", headers=customer.headers).status_code == 200
    assert client.post("/api/v1/orders", **order).status_code == 201
    refreshed = client.post("/api/v1/auth/refresh", headers=bearer(customer.refresh_token))
    assert refreshed.status_code == 200 and refreshed.json["access_token"]


def test_an_admin_cannot_switch_off_their_own_account(client, admin: Account):
    path = f"/api/v1/admin/users/{admin.id}"
    body = assert_error(
        client.patch(path, headers=admin.headers, json={"is_active": False}),
        409,
        "cannot_deactivate_self",
    )
    assert "own account" in body["message"]
    assert client.get("/api/v1/admin/users", headers=admin.headers).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"is_active": "no"}, {"is_active": 0}, {"is_active": None}, {"is_active": True, "x": 1}],
)
def test_a_patch_carries_is_active_and_nothing_else(client, api: ApiDriver, admin, body):
    customer = api.account()
    response = client.patch(f"/api/v1/admin/users/{customer.id}", headers=admin.headers, json=body)
    assert_error(response, 422)


def test_unknown_accounts_and_shops_are_not_found(client, admin: Account):
    for kind in ("users", "vendors"):
        for missing in ("999", "0", "abc"):
            response = client.patch(
                f"/api/v1/admin/{kind}/{missing}", headers=admin.headers, json={"is_active": True}
            )
            assert_error(response, 404)


def test_a_switched_off_shop_leaves_the_catalog_and_takes_no_bookings(
    client, api: ApiDriver, admin: Account
):
    vendor = api.vendor("Bay 4")
    shop = client.get("/api/v1/vendors/me", headers=vendor.headers).json
    service = api.service(vendor)
    variant = api.variant(vendor, service["id"])
    customer = api.account()
    path = f"/api/v1/admin/vendors/{shop['id']}"

    off = client.patch(path, headers=admin.headers, json={"is_active": False})

    assert off.status_code == 200
    assert off.json["is_active"] is False and off.json["business_name"] == "Bay 4"
    assert_error(client.get(f"/api/v1/vendors/{shop['id']}"), 404)
    assert client.get("/api/v1/services").json == []
    booking = client.post(
        "/api/v1/orders", headers=customer.headers, json={"variant_id": variant["id"]}
    )
    assert_error(booking, 404)
    assert client.patch(path, headers=admin.headers, json={"is_active": True}).json["is_active"]
    assert client.get(f"/api/v1/vendors/{shop['id']}").status_code == 200
    booking = client.post(
        "/api/v1/orders", headers=customer.headers, json={"variant_id": variant["id"]}
    )
    assert booking.status_code == 201, booking.json
