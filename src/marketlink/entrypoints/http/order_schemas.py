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
    variant_id = strict_int(minimum=1, maximum=MAX_ID, required=True)


class TransitionIn(JsonSchema):
    """An optional note kept in the order's history; the body itself may be left out."""

    reason = Text(load_default="", validate=validate.Length(max=MAX_REASON_LENGTH))


class OrderQuery(QuerySchema):
    status = fields.Enum(
        OrderStatus, by_value=True, metadata={"description": "Only orders in this status"}
    )


class OrderOut(ma.Schema):
    """An order; `payment_url` is MarketLink's own signed pay link for it while it is pending."""

    id = fields.UUID()
    customer_id = fields.Integer()
    vendor_id = fields.Integer()
    variant_id = fields.Integer()
    service_name = fields.String()
    variant_name = fields.String()
    status = fields.Enum(OrderStatus, by_value=True)
    total_amount = fields.Decimal(
        as_string=True, places=2, attribute="total_amount.amount", metadata=MONEY_DOC
    )
    currency = fields.String(attribute="total_amount.currency", metadata={"example": "BDT"})
    payment_url = fields.String(
        allow_none=True,
        metadata={
            "description": "Open in a browser to pay: redirects to the gateway. "
            "Null once the order is no longer pending."
        },
    )
    created_at = Timestamp()
    updated_at = Timestamp()
    expires_at = Timestamp(
        metadata={"description": "An unpaid order is cancelled and its slot released then"}
    )


class OrderEventOut(ma.Schema):
    """One status change; the first event is the creation (`from_status` null)."""

    at = Timestamp()
    from_status = fields.Enum(OrderStatus, by_value=True, allow_none=True)
    to_status = fields.Enum(OrderStatus, by_value=True)
    actor_id = fields.Integer(allow_none=True)
    source = fields.Enum(EventSource, by_value=True)
    reason = fields.String()
