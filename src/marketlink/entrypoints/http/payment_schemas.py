"""What goes over the wire for payments and the admin API (see schemas.py for the conventions)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields

from marketlink.domain.payments import NoticeResult, PaymentFlag, PaymentStatus, RefundStatus
from marketlink.entrypoints.http.schemas import (
    MONEY_DOC,
    JsonSchema,
    QuerySchema,
    StrictBoolean,
    Timestamp,
)

# Payments -------------------------------------------------------------------------------


class PaymentLinksOut(ma.Schema):
    payment_url = fields.String(
        required=True,
        metadata={"description": "MarketLink's signed pay link for the order (GET in a browser)"},
    )
    gateway_url = fields.String(
        required=True, metadata={"description": "The gateway's payment page for the open session"}
    )


class NoneIfEmpty(fields.String):
    """A string the gateway may not have sent yet: `null` rather than `""` until it has."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return super()._serialize(value, attr, obj, **kwargs) or None


class NoticeOut(ma.Schema):
    """A gateway notice as recorded: what it said and what MarketLink made of it."""

    received_at = Timestamp(required=True)
    status = fields.String(
        required=True, metadata={"description": "The gateway's status, e.g. VALID, FAILED"}
    )
    result = fields.Enum(NoticeResult, by_value=True, required=True)
    reason = fields.String(required=True)


class PaymentOut(ma.Schema):
    """One gateway attempt of an order. No secrets, no card numbers beyond the gateway's mask."""

    tran_id = fields.String(required=True)
    order_id = fields.UUID(required=True)
    amount = fields.Decimal(
        as_string=True, places=2, attribute="amount.amount", required=True, metadata=MONEY_DOC
    )
    currency = fields.String(attribute="amount.currency", required=True)
    status = fields.Enum(PaymentStatus, by_value=True, required=True)
    val_id = NoneIfEmpty(
        required=True,
        allow_none=True,
        metadata={"description": "The gateway's validation id; null until it has sent one"},
    )
    bank_tran_id = NoneIfEmpty(
        required=True,
        allow_none=True,
        metadata={"description": "The bank's transaction id; null until the gateway has sent one"},
    )
    risk_level = fields.Integer(required=True, allow_none=True)
    flag = fields.Enum(PaymentFlag, by_value=True, required=True, allow_none=True)
    refund_status = fields.Enum(RefundStatus, by_value=True, required=True, allow_none=True)
    created_at = Timestamp(required=True)
    notices = fields.List(fields.Nested(NoticeOut), required=True)


class NoticeResultOut(ma.Schema):
    result = fields.Enum(NoticeResult, by_value=True, required=True)
    reason = fields.String(metadata={"description": "Why a notice was rejected (or flagged)"})


# Admin ----------------------------------------------------------------------------------


class FlaggedPaymentsQuery(QuerySchema):
    flag = fields.Enum(
        PaymentFlag,
        by_value=True,
        metadata={"description": "Only payments with this flag; all flagged ones when omitted"},
    )


class ActivePatchIn(JsonSchema):
    is_active = StrictBoolean(required=True, metadata={"example": False})
