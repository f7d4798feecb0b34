"""Payments: one gateway attempt per `tran_id`, and what the gateway told us about it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from marketlink.domain.money import Money


class PaymentStatus(StrEnum):
    INITIATED = "initiated"
    VALID = "valid"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class PaymentFlag(StrEnum):
    REFUND = "refund"
    REVIEW = "review"


class RefundStatus(StrEnum):
    PENDING = "refund_pending"
    REFUNDED = "refunded"
    FAILED = "refund_failed"


class NoticeResult(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class RecordedNotice:
    """A gateway notice as stored: what it said and what we made of it (no secrets)."""

    key: str
    tran_id: str
    received_at: datetime
    status: str
    result: NoticeResult
    reason: str = ""
    source: str = "webhook"


@dataclass(eq=False)
class Payment:
    tran_id: str
    order_id: uuid.UUID
    amount: Money
    created_at: datetime
    updated_at: datetime
    status: PaymentStatus = PaymentStatus.INITIATED
    session_key: str = ""
    gateway_url: str = ""
    val_id: str = ""
    bank_tran_id: str = ""
    card_type: str = ""
    card_no: str = ""
    risk_level: int | None = None
    flag: PaymentFlag | None = None
    refund_status: RefundStatus | None = None
    refund_ref_id: str = ""
    notices: list[RecordedNotice] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status is PaymentStatus.INITIATED and self.flag is None
