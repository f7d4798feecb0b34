"""The refund API's rules (docs/sslcommerz.md §5.3, §5.4): a paid transaction, refunded once.

One refund per bank_tran_id: a second request gets `processing` and the first's
refund_ref_id. A refund is `refunded` as soon as it exists. Amounts are BDT, at most the
transaction's `amount`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from marketlink.sandbox.inputs import BadInput, checked_amount
from marketlink.sandbox.state import VALID, SandboxRefund, SandboxStore


def initiate(store: SandboxStore, params: Mapping[str, str], now: str) -> dict[str, Any]:
    """The answer to a refund request: `success`, `processing` or `failed` with a reason."""
    bank_tran_id = params["bank_tran_id"]
    answer: dict[str, Any] = {"APIConnect": "DONE", "bank_tran_id": bank_tran_id}

    def failed(reason: str) -> dict[str, Any]:
        return {**answer, "status": "failed", "errorReason": reason}

    transaction = store.transaction_by_bank_tran_id(bank_tran_id)
    if transaction is None:
        return failed("Invalid bank_tran_id")
    answer["trans_id"] = transaction.tran_id
    if transaction.status != VALID:
        return failed("The transaction is not refundable: it was not paid")
    remarks = params.get("refund_remarks", "")
    if not remarks:
        return failed("refund_remarks is required")
    try:
        amount = checked_amount(params["refund_amount"], "refund_amount")
    except BadInput as exc:
        return failed(str(exc))
    if Decimal(amount) <= 0:
        return failed("Invalid refund_amount: it must be positive")
    if Decimal(amount) > Decimal(transaction.amount):
        return failed("refund_amount exceeds the transaction amount")
    refund, created = store.add_refund(
        SandboxRefund(
            refund_ref_id=secrets.token_hex(7)[:13],
            bank_tran_id=bank_tran_id,
            tran_id=transaction.tran_id,
            amount=amount,
            remarks=remarks,
            initiated_on=now,
            refunded_on=now,
            refund_trans_id=params.get("refund_trans_id", ""),
            refe_id=params.get("refe_id", ""),
        )
    )
    if not created:
        return {
            **answer,
            "refund_ref_id": refund.refund_ref_id,
            "status": "processing",
            "errorReason": "A refund was already initiated for this transaction",
        }
    return {**answer, "refund_ref_id": refund.refund_ref_id, "status": "success", "errorReason": ""}


def status(store: SandboxStore, refund_ref_id: str) -> dict[str, Any]:
    """The answer to a refund status query."""
    refund = store.refund(refund_ref_id)
    if refund is None:
        return {
            "APIConnect": "INVALID_REQUEST",
            "refund_ref_id": refund_ref_id,
            "status": "",
            "errorReason": "Invalid refund_ref_id",
        }
    return {
        "APIConnect": "DONE",
        "bank_tran_id": refund.bank_tran_id,
        "tran_id": refund.tran_id,
        "refund_ref_id": refund.refund_ref_id,
        "initiated_on": refund.initiated_on,
        "refunded_on": refund.refunded_on,
        "status": "refunded",
        "errorReason": "",
    }
