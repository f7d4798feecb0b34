"""VENDOR_APPROVAL=manual: a new shop is out of the catalog and not bookable until approved."""

from __future__ import annotations

import dataclasses

import pytest

from marketlink.application.use_cases.accounts import RegisterUser
from marketlink.config import Settings
from marketlink.domain.users import Role
from tests.e2e.conftest import PASSWORD, ApiDriver, assert_error, bearer

pytestmark = pytest.mark.e2e


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, vendor_approval="manual")


def test_a_new_vendor_waits_for_approval_then_is_bookable(client, api: ApiDriver, container):
    vendor = api.vendor("Waiting Motors")
    service = api.service(vendor, "Brake repair")
    variant = api.variant(vendor, service["id"], stock=1)
    shop = client.get("/api/v1/vendors/me", headers=vendor.headers).json
    customer = api.account()

    def book():
        return client.post(
            "/api/v1/orders", headers=customer.headers, json={"variant_id": variant["id"]}
        )

    assert shop["is_approved"] is False and shop["is_active"] is True
    assert client.get("/api/v1/services").json == []
    assert client.get(f"/api/v1/services?vendor_id={shop['id']}").json == []
    assert_error(client.get(f"/api/v1/services/{service['id']}"), 404, "not_found")
    assert_error(client.get(f"/api/v1/variants/{variant['id']}"), 404, "not_found")
    assert client.get("/api/v1/vendors").json == []
    assert_error(client.get(f"/api/v1/vendors/{shop['id']}"), 404, "not_found")
    assert_error(book(), 404, "not_found")
    # The vendor still manages their own shop while waiting.
    assert client.get("/api/v1/vendors/me", headers=vendor.headers).status_code == 200

    admin = container.register()(
        RegisterUser("root@example.com", PASSWORD, "Ada", "Admin", Role.ADMIN), allow_admin=True
    )
    token = api.login(admin.email)["access_token"]
    approved = client.post(f"/api/v1/admin/vendors/{shop['id']}/approve", headers=bearer(token))
    assert approved.status_code == 200 and approved.json["is_approved"] is True

    assert [s["id"] for s in client.get("/api/v1/services").json] == [service["id"]]
    assert client.get(f"/api/v1/services/{service['id']}").status_code == 200
    assert [v["id"] for v in client.get("/api/v1/vendors").json] == [shop["id"]]
    assert client.get(f"/api/v1/vendors/{shop['id']}").json["is_approved"] is True
    booked = book()
    assert booked.status_code == 201, booked.json
    trail = client.get("/api/v1/admin/audit", headers=bearer(token)).json
    assert [(e["action"], e["outcome"]) for e in trail] == [("vendor.approve", "done")]
