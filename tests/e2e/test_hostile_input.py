"""Hostile input at the HTTP edge: refused with a 4xx in the contract's shape, never a 5xx."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.e2e.conftest import ApiDriver, assert_error

MAX_INT4 = 2**31 - 1

# Money in is a JSON string of ASCII digits with at most two decimals, nothing else.
NOT_MONEY: list[Any] = [
    1.5,
    150,
    "\uff11\uff12\uff13",  # full-width digits
    "\u0661\u0662\u0663",  # Arabic-Indic digits
    "12.5e1",
    "1_000",
    " 12.00",
    "+12.00",
    "12.",
    ".50",
    "1.505",
    "NaN",
    "Infinity",
    True,
    None,
]


@pytest.mark.parametrize("price", NOT_MONEY)
def test_a_price_that_is_not_ascii_digits_is_refused(api: ApiDriver, price: Any) -> None:
    vendor = api.vendor()
    service = api.service(vendor)
    body = {"name": "Front", "price": price, "stock": 1, "estimated_minutes": 30}
    created = api.client.post(
        f"/api/v1/services/{service['id']}/variants", headers=vendor.headers, json=body
    )
    assert created.status_code == 422, created.json
    assert "price" in created.json["errors"]["json"]

    variant = api.variant(vendor, service["id"])
    patched = api.client.patch(
        f"/api/v1/variants/{variant['id']}", headers=vendor.headers, json={"price": price}
    )
    assert patched.status_code == 422, patched.json
    assert "price" in patched.json["errors"]["json"]


@pytest.mark.parametrize("price", ["1500", "1500.5", "1500.50"])
def test_a_price_of_ascii_digits_is_taken(api: ApiDriver, price: str) -> None:
    vendor = api.vendor()
    service = api.service(vendor)
    assert api.variant(vendor, service["id"], price=price)["price"] == f"{float(price):.2f}"


@pytest.mark.parametrize(
    "text", ["\uff11\uff12\uff13", "\u0661\u0662\u0663", "12.5e1", "1_000", "1.505", "-1", "nan"]
)
@pytest.mark.parametrize("name", ["min_price", "max_price"])
def test_a_price_filter_that_is_not_ascii_digits_is_refused(
    client: FlaskClient, name: str, text: str
) -> None:
    response = client.get("/api/v1/services", query_string={name: text})
    assert response.status_code == 422, response.json
    assert name in response.json["errors"]["query"]


def test_a_price_filter_of_ascii_digits_is_taken(client: FlaskClient) -> None:
    response = client.get("/api/v1/services", query_string={"min_price": "0", "max_price": "10.5"})
    assert response.status_code == 200, response.json


@pytest.mark.parametrize("variant_id", [MAX_INT4 + 1, 2**63 - 1, 0, -1])
def test_a_variant_id_outside_int4_is_refused_when_booking(api: ApiDriver, variant_id: int) -> None:
    customer = api.account()
    response = api.client.post(
        "/api/v1/orders", headers=customer.headers, json={"variant_id": variant_id}
    )
    assert response.status_code == 422, response.json
    assert "variant_id" in response.json["errors"]["json"]


@pytest.mark.parametrize("vendor_id", [str(MAX_INT4 + 1), str(2**63 - 1), "0", "-1"])
def test_a_vendor_filter_outside_int4_is_refused(client: FlaskClient, vendor_id: str) -> None:
    response = client.get("/api/v1/services", query_string={"vendor_id": vendor_id})
    assert response.status_code == 422, response.json
    assert "vendor_id" in response.json["errors"]["query"]


class TestDeeplyNestedJson:
    """A body nested thousands deep once exhausted the parser's recursion: a 500."""

    @pytest.mark.parametrize("depth", [33, 1_000, 100_000])
    def test_a_deep_body_is_refused_as_invalid_json(self, client, depth):
        body = "[" * depth + "]" * depth
        for path in ("/api/v1/auth/login", "/api/v1/auth/register"):
            response = client.post(path, data=body, content_type="application/json")
            refused = assert_error(response, 400)
            assert refused["message"] == "Invalid JSON body."

    def test_a_deep_object_is_refused_too(self, client):
        body = '{"a":' * 5_000 + "1" + "}" * 5_000
        assert_error(
            client.post("/api/v1/auth/login", data=body, content_type="application/json"), 400
        )

    def test_a_body_within_the_limit_reaches_the_fields(self, client):
        body = {"email": [[[["x"]]]], "password": "p"}
        assert_error(client.post("/api/v1/auth/login", json=body), 422)
