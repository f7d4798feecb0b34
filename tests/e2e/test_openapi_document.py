"""The OpenAPI document: what a client generator reads, and the copy in docs/openapi.json."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from marketlink.domain.orders import OrderStatus
from marketlink.entrypoints.cli import DEMO_CUSTOMER
from marketlink.entrypoints.http.openapi import render

pytestmark = pytest.mark.e2e

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"

# Output fields that are not in every answer; every other output field is required.
OPTIONAL_OUTPUT = {
    "ErrorOut": {"message", "error", "errors"},
    "NotReadyOut": {"errors"},
    "HealthOut": {"checks"},
    "NoticeResultOut": {"reason"},
    "PaginationMetadata": {"first_page", "last_page", "page", "previous_page", "next_page"},
}


@pytest.fixture
def spec(client) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete", "head"}:
                yield path, method, operation


def codes(response: dict[str, Any]) -> list[str]:
    """The `error` codes an error response lists, one a line."""
    return re.findall(r"^- `(\w+)`", response.get("description", ""), re.MULTILINE)


def schemas_in(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema object below `node`, however deep."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from schemas_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from schemas_in(value)


def test_the_committed_document_is_the_served_one(spec):
    assert COMMITTED.exists(), "docs/openapi.json is missing: run `make openapi`"
    committed = COMMITTED.read_text(encoding="utf-8")
    document = json.loads(committed)
    if document != spec:
        changed = sorted(
            f"{section}: {name}"
            for section in ("paths", *(f"components.{c}" for c in spec["components"]))
            for name in set(_at(document, section)) | set(_at(spec, section))
            if _at(document, section).get(name) != _at(spec, section).get(name)
        )
        pytest.fail(f"the API changed, run `make openapi` and commit it: {changed or 'info'}")
    assert committed == render(spec), "docs/openapi.json is not as `make openapi` writes it"


def _at(document: dict[str, Any], dotted: str) -> dict[str, Any]:
    for key in dotted.split("."):
        document = document.get(key, {})
    return document


def test_every_operation_has_a_readable_unique_operation_id(spec):
    ids = [operation.get("operationId") for _, _, operation in operations(spec)]
    assert all(ids), [f"{m} {p}" for p, m, o in operations(spec) if "operationId" not in o]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]*)*", name) for name in ids), ids
    by_id = {
        operation["operationId"]: (method, path) for path, method, operation in operations(spec)
    }
    assert by_id["login"] == ("post", "/api/v1/auth/login")
    assert by_id["listServices"] == ("get", "/api/v1/services")
    assert by_id["placeOrder"] == ("post", "/api/v1/orders")
    assert by_id["cancelOrder"] == ("post", "/api/v1/orders/{order_id}/cancel")


def test_every_output_field_that_is_always_sent_is_required(spec):
    schemas = spec["components"]["schemas"]
    outputs = {name for name in schemas if name.endswith("Out")} | {"PaginationMetadata"}
    for name in sorted(outputs):
        schema = schemas[name]
        optional = set(schema["properties"]) - set(schema.get("required", []))
        assert optional == OPTIONAL_OUTPUT.get(name, set()), name


def test_every_enum_has_a_type_and_a_nullable_one_allows_null(spec):
    for schema in schemas_in(spec):
        if "enum" in schema:
            assert "type" in schema, schema
            if schema.get("nullable"):
                assert None in schema["enum"], schema


def test_the_order_status_is_one_enum_component(spec):
    statuses = [status.value for status in OrderStatus]
    component = spec["components"]["schemas"]["OrderStatus"]
    assert component["type"] == "string" and component["enum"] == statuses
    assert component["x-enum-varnames"] == [status.name for status in OrderStatus]
    inline = [
        s
        for s in schemas_in(spec)
        if s is not component and set(statuses) <= set(s.get("enum") or [])
    ]
    assert inline == []
    reference = {"$ref": "#/components/schemas/OrderStatus"}
    schemas = spec["components"]["schemas"]
    assert schemas["OrderOut"]["properties"]["status"] == reference
    assert schemas["OrderEventOut"]["properties"]["to_status"] == reference
    assert reference in schemas["OrderEventOut"]["properties"]["from_status"]["anyOf"]
    [status] = [
        p for p in spec["paths"]["/api/v1/orders"]["get"]["parameters"] if p["name"] == "status"
    ]
    assert status["schema"]["allOf"] == [reference]


def test_a_payments_flag_and_refund_status_may_be_null(spec):
    payment = spec["components"]["schemas"]["PaymentOut"]["properties"]
    for name, component in (("flag", "PaymentFlag"), ("refund_status", "RefundStatus")):
        branches = payment[name]["anyOf"]
        assert {"$ref": f"#/components/schemas/{component}"} in branches
        assert any(None in branch.get("enum", []) for branch in branches), name
    for name in ("val_id", "bank_tran_id"):
        assert payment[name]["nullable"] is True


def test_sort_values_have_readable_names(spec):
    sort = spec["components"]["schemas"]["CatalogSort"]
    assert dict(zip(sort["x-enum-varnames"], sort["enum"], strict=True)) == {
        "PRICE": "price",
        "PRICE_DESC": "-price",
        "NAME": "name",
        "NEWEST": "-created_at",
    }


def test_the_error_shape_is_typed(spec):
    errors = spec["components"]["schemas"]["ErrorOut"]["properties"]["errors"]
    by_field = errors["additionalProperties"]
    assert by_field["type"] == "object"
    assert by_field["additionalProperties"] == {"type": "array", "items": {"type": "string"}}


def test_the_headers_are_documented(spec):
    headers = spec["components"]["headers"]
    pagination = headers["X_PAGINATION"]
    assert "schema" not in pagination
    assert pagination["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PaginationMetadata"
    }
    listing = spec["paths"]["/api/v1/services"]["get"]["responses"]["200"]
    assert listing["headers"]["X-Pagination"] == {"$ref": "#/components/headers/X_PAGINATION"}

    retry_after = {"$ref": "#/components/headers/RETRY_AFTER"}
    paths = spec["paths"]
    assert (
        paths["/api/v1/auth/login"]["post"]["responses"]["429"]["headers"]["Retry-After"]
        == retry_after
    )
    assert (
        paths["/api/v1/orders"]["post"]["responses"]["503"]["headers"]["Retry-After"] == retry_after
    )
    assert "headers" not in paths["/api/v1/orders"]["post"]["responses"]["429"]  # not a rate limit
    pay_link = paths["/pay/{order_id}"]["get"]["responses"]
    assert pay_link["503"]["headers"]["Retry-After"] == retry_after
    location = {"$ref": "#/components/headers/LOCATION"}
    assert pay_link["303"]["headers"]["Location"] == location
    back = paths["/api/v1/payments/sslcommerz/{outcome}"]
    assert back["get"]["responses"]["303"]["headers"]["Location"] == location
    assert back["post"]["responses"]["303"]["headers"]["Location"] == location


def test_the_pages_for_a_browser_are_html(spec):
    pay_link = spec["paths"]["/pay/{order_id}"]
    back = spec["paths"]["/api/v1/payments/sslcommerz/{outcome}"]
    for responses, statuses in (
        (pay_link["get"]["responses"], ("404", "409", "502", "503")),
        (pay_link["head"]["responses"], ("200", "404")),
        (back["get"]["responses"], ("200", "400", "404")),
        (back["post"]["responses"], ("200", "400", "404")),
    ):
        for status in statuses:
            assert list(responses[status]["content"]) == ["text/html"], status


def test_error_responses_name_the_codes_the_error_table_gives_them(spec):
    booking = spec["paths"]["/api/v1/orders"]["post"]["responses"]
    assert set(booking) == {
        *("201", "400", "401", "403", "404", "409", "415", "422", "429", "503", "default")
    }
    listed = {status: codes(response) for status, response in booking.items()}
    assert listed["400"] == ["bad_request"]  # malformed JSON
    assert listed["415"] == ["unsupported_media_type"]
    assert listed["401"] == []  # described by authenticated(): the token refusals
    assert listed["404"] == ["not_found", "variant_inactive"]
    assert listed["409"] == ["out_of_stock", "concurrent_update", "idempotency_key_in_progress"]
    assert listed["422"] == ["validation_error", "idempotency_key_reused"]
    assert listed["429"] == ["too_many_unpaid_orders"]
    assert listed["503"] == ["lock_timeout"]
    notice = spec["paths"]["/api/v1/webhooks/sslcommerz/"]["post"]["responses"]
    assert {status: codes(r) for status, r in notice.items() if status != "default"} == {
        "200": [],
        "400": ["invalid_notice"],
        "413": ["payload_too_large"],
        "503": ["gateway_unavailable"],
    }


def test_swagger_signs_in_as_the_demo_customer_and_books_variant_1(spec):
    schemas = spec["components"]["schemas"]
    login = {name: field["example"] for name, field in schemas["LoginIn"]["properties"].items()}
    assert login == {"email": DEMO_CUSTOMER.email, "password": DEMO_CUSTOMER.password}
    assert schemas["OrderIn"]["properties"]["variant_id"]["example"] == 1
    for name, schema in schemas.items():
        if name.endswith("In"):
            assert all("example" in field for field in schema["properties"].values()), name
    steps = [line for line in spec["info"]["description"].splitlines() if re.match(r"\d\. ", line)]
    assert len(steps) == 3
    assert "/api/v1/auth/login" in steps[0] and "Authorize" in steps[1] and "refresh" in steps[2]
