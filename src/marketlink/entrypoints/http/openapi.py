"""The OpenAPI document, written so that client generators can trust it.

- Each enum the API speaks (an order's status, a payment's flag, the catalog's sort...) is
  one schema component with a `type` and readable member names (`x-enum-varnames`);
  every field of that enum refers to it, and a nullable one allows `null` explicitly
  (OpenAPI 3.0 reads a `nullable` enum without `null` among its values as "never null").
- The headers the API sends are components: `X-Pagination` (JSON), `Retry-After`,
  `Location`.

`make openapi` writes the document to docs/openapi.json (pretty, keys sorted), and a test
fails when the served document differs from it, so every API change shows in review.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

import marshmallow as ma
from apispec import APISpec

from marketlink.application.ports import CatalogSort
from marketlink.domain.orders import EventSource, OrderStatus
from marketlink.domain.payments import NoticeResult, PaymentFlag, PaymentStatus, RefundStatus
from marketlink.domain.users import Role
from marketlink.entrypoints.http.schemas import PaginationMetadata

DESCRIPTION = "\n".join(
    (
        "Book local repair shops, pay through SSLCommerz.",
        "",
        "1. Sign in with `POST /api/v1/auth/login` (its example is the demo customer of "
        "`marketlink seed-demo`).",
        "2. Copy `access_token` from the answer, press **Authorize** and paste it: every "
        "request then sends `Authorization: Bearer <token>`.",
        "3. The token lasts 15 minutes: `POST /api/v1/auth/refresh`, authorised with the "
        "`refresh_token`, gives a new one.",
    )
)

# One component per enum, named as the domain names it.
ENUM_COMPONENTS: dict[type[Enum], str] = {
    OrderStatus: "OrderStatus",
    EventSource: "EventSource",
    PaymentStatus: "PaymentStatus",
    PaymentFlag: "PaymentFlag",
    RefundStatus: "RefundStatus",
    NoticeResult: "NoticeResult",
    Role: "Role",
    CatalogSort: "CatalogSort",
}

PAGINATION_HEADER = "X_PAGINATION"
RETRY_AFTER_HEADER = "RETRY_AFTER"
LOCATION_HEADER = "LOCATION"

_HEADERS: dict[str, dict[str, Any]] = {
    PAGINATION_HEADER: {
        "description": "The page as JSON: total items and pages, this, the first, last, "
        "previous and next page number",
        "content": {"application/json": {"schema": PaginationMetadata}},
    },
    RETRY_AFTER_HEADER: {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    },
    LOCATION_HEADER: {
        "description": "Where the browser goes next",
        "schema": {"type": "string", "format": "uri"},
    },
}

# `null`, in the words of OpenAPI 3.0: the other branch of a nullable enum.
_NULL = {"type": "string", "nullable": True, "enum": [None]}


def configure(spec: APISpec, converter: Any) -> None:
    """Registers the enum and header components, and makes enum fields refer to theirs."""
    for enum, name in ENUM_COMPONENTS.items():
        spec.components.schema(name, _enum_component(enum))
    for name, header in _HEADERS.items():
        spec.components.header(name, header)
    converter.add_attribute_function(enum2reference)


def _enum_component(enum: type[Enum]) -> dict[str, Any]:
    return {
        "type": "string",
        "enum": [member.value for member in enum],
        "x-enum-varnames": [member.name for member in enum],
    }


def enum2reference(
    self: Any, field: ma.fields.Field[Any], ret: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    """An apispec attribute function: an enum field refers to its enum's component."""
    if not isinstance(field, ma.fields.Enum) or field.enum not in ENUM_COMPONENTS:
        return {}
    for inline in ("type", "enum", "nullable"):
        ret.pop(inline, None)
    reference = {"$ref": f"#/components/schemas/{ENUM_COMPONENTS[field.enum]}"}
    if field.allow_none:
        return {"anyOf": [reference, _NULL]}
    if ret:  # a description or a default: beside a bare $ref, OpenAPI 3.0 would ignore them
        return {"allOf": [reference]}
    return reference


# The committed document (docs/openapi.json) ------------------------------------------------


def render(document: dict[str, Any]) -> str:
    """The document as committed: pretty, keys sorted, one trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
