"""What goes over the wire for payments and the admin API (see schemas.py for the conventions)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from marketlink.domain.payments import NoticeResult, PaymentFlag
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


class NoticeOut(ma.Schema):
    """A gateway notice as recorded: what it said and what MarketLink made of it."""

    received_at = Timestamp()
    status = fields.String(metadata={"description": "The gateway's status, e.g. VALID, FAILED"})
    result = fields.String(metadata={"enum": [r.value for r in NoticeResult]})
    reason = fields.String()


class PaymentOut(ma.Schema):
    """One gateway attempt of an order. No secrets, no card numbers beyond the gateway's mask."""

    tran_id = fields.String()
    order_id = fields.UUID()
    amount = fields.Decimal(as_string=True, places=2, attribute="amount.amount", metadata=MONEY_DOC)
    currency = fields.String(attribute="amount.currency")
    status = fields.String(
        metadata={"enum": ["initiated", "valid", "failed", "cancelled", "rejected"]}
    )
    val_id = fields.String()
    bank_tran_id = fields.String()
    risk_level = fields.Integer(allow_none=True)
    flag = fields.String(allow_none=True, metadata={"enum": [f.value for f in PaymentFlag]})
    refund_status = fields.String(
        allow_none=True, metadata={"enum": ["refund_pending", "refunded", "refund_failed"]}
    )
    created_at = Timestamp()
    notices = fields.List(fields.Nested(NoticeOut))


class NoticeResultOut(ma.Schema):
    result = fields.String(required=True, metadata={"enum": [r.value for r in NoticeResult]})
    reason = fields.String(metadata={"description": "Why a notice was rejected (or flagged)"})


# Admin ----------------------------------------------------------------------------------


class FlaggedPaymentsQuery(QuerySchema):
    flag = fields.String(
        validate=validate.OneOf([f.value for f in PaymentFlag]),
        metadata={"description": "Only payments with this flag; all flagged ones when omitted"},
    )


class ActivePatchIn(JsonSchema):
    is_active = StrictBoolean(required=True)
