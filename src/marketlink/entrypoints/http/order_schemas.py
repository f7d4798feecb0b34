"""Orders on the wire: booking, the lifecycle steps, an order and its history.

The client names the variant and nothing else: the amount is always the server's, so a
body carrying `total_amount` (or any other field) is refused with 422.
"""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from marketlink.domain.orders import EventSource, OrderStatus
from marketlink.entrypoints.http.schemas import (
    MAX_ID,
    MONEY_DOC,
    JsonSchema,
    QuerySchema,
    Text,
    Timestamp,
    strict_int,
)

MAX_REASON_LENGTH = 500


class OrderIn(JsonSchema):
    variant_id = strict_int(
        minimum=1,
        maximum=MAX_ID,
        required=True,
        metadata={"example": 1, "description": "The variant to book a slot of"},
    )


class TransitionIn(JsonSchema):
    """An optional note kept in the order's history; the body itself may be left out."""

    reason = Text(
        load_default="",
        validate=validate.Length(max=MAX_REASON_LENGTH),
        metadata={"example": "The customer asked for another day"},
    )


class OrderQuery(QuerySchema):
    status = fields.Enum(
        OrderStatus, by_value=True, metadata={"description": "Only orders in this status"}
    )


class OrderOut(ma.Schema):
    """An order; `payment_url` is MarketLink's own signed pay link for it while it is pending."""

    id = fields.UUID(required=True)
    customer_id = fields.Integer(required=True)
    vendor_id = fields.Integer(required=True)
    variant_id = fields.Integer(required=True)
    service_name = fields.String(required=True)
    variant_name = fields.String(required=True)
    status = fields.Enum(OrderStatus, by_value=True, required=True)
    total_amount = fields.Decimal(
        as_string=True, places=2, attribute="total_amount.amount", required=True, metadata=MONEY_DOC
    )
    currency = fields.String(
        attribute="total_amount.currency", required=True, metadata={"example": "BDT"}
    )
    payment_url = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Open in a browser to pay: redirects to the gateway. "
            "Null once the order is no longer pending."
        },
    )
    created_at = Timestamp(required=True)
    updated_at = Timestamp(required=True)
    expires_at = Timestamp(
        required=True,
        metadata={"description": "An unpaid order is cancelled and its slot released then"},
    )


class OrderEventOut(ma.Schema):
    """One status change; the first event is the creation (`from_status` null)."""

    at = Timestamp(required=True)
    from_status = fields.Enum(OrderStatus, by_value=True, required=True, allow_none=True)
    to_status = fields.Enum(OrderStatus, by_value=True, required=True)
    actor_id = fields.Integer(required=True, allow_none=True)
    source = fields.Enum(EventSource, by_value=True, required=True)
    reason = fields.String(required=True)
