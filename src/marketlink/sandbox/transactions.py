"""The customer's attempt at a session, as the gateway records it and its APIs report it."""

from __future__ import annotations

import secrets
import string
from datetime import datetime
from decimal import Decimal
from typing import Any

from marketlink.sandbox.amounts import (
    SETTLEMENT_CURRENCY,
    AmountFormat,
    in_settlement_currency,
    rate_for,
    store_amount,
)
from marketlink.sandbox.inputs import Knobs
from marketlink.sandbox.state import (
    CANCELLED,
    FAILED,
    PENDING,
    VALID,
    VALIDATED,
    SandboxSession,
    SandboxTransaction,
)

TIMESTAMP = "%Y-%m-%d %H:%M:%S"  # Dhaka local time, as the gateway writes it


def attempt(
    session: SandboxSession, status: str, knobs: Knobs, now: datetime
) -> SandboxTransaction:
    """What the customer's outcome on the payment page makes of `session`, at `now`."""
    stamp = now.strftime("%y%m%d%H%M%S")
    common: dict[str, Any] = {
        "session_key": session.session_key,
        "tran_id": session.tran_id,
        "status": status,
        "tran_date": now.strftime(TIMESTAMP),
        "value_a": session.value_a,
        "value_b": session.value_b,
        "value_c": session.value_c,
        "value_d": session.value_d,
        **_amounts(Decimal(knobs.amount), knobs.currency, knobs.amount_format),
    }
    if status == CANCELLED:
        return SandboxTransaction(**common, error="Cancelled by User")
    bank_tran_id = stamp + _letters(15)
    if status == FAILED:
        return SandboxTransaction(
            **common, bank_tran_id=bank_tran_id, error="Declined by the issuing bank (sandbox)"
        )
    kept = store_amount(Decimal(common["amount"]))
    return SandboxTransaction(
        **common,
        val_id=f"{stamp}{secrets.randbelow(1000):03d}{_letters(12)}",
        bank_tran_id=bank_tran_id,
        store_amount=knobs.amount_format.write(kept),
        card_type="VISA-Sandbox Bank",
        card_no="411111XXXXXX1111",
        card_issuer="SANDBOX BANK LTD.",
        card_brand="VISA",
        card_sub_brand="Classic",
        card_issuer_country="Bangladesh",
        card_issuer_country_code="BD",
        risk_level=str(knobs.risk_level),
        risk_title="Safe" if knobs.risk_level == 0 else "High",
    )


def pending(session: SandboxSession) -> SandboxTransaction:
    """A session nobody has paid yet, as the transaction query API shows it."""
    return SandboxTransaction(
        session_key=session.session_key,
        tran_id=session.tran_id,
        status=PENDING,
        tran_date=session.created_at,
        value_a=session.value_a,
        value_b=session.value_b,
        value_c=session.value_c,
        value_d=session.value_d,
        **_amounts(Decimal(session.amount), session.currency, AmountFormat.TWO_PLACES),
    )


def reported(transaction: SandboxTransaction) -> dict[str, Any]:
    """The fields the validation and query APIs share, with VALIDATED derived."""
    status = transaction.status
    if status == VALID and transaction.validated_on:
        status = VALIDATED
    currency = transaction.reported_currency()
    return {
        "status": status,
        "tran_date": transaction.tran_date,
        "tran_id": transaction.tran_id,
        "val_id": transaction.val_id,
        "amount": transaction.amount,
        "store_amount": transaction.store_amount,
        "currency": transaction.currency,
        "bank_tran_id": transaction.bank_tran_id,
        "card_type": transaction.card_type,
        "card_no": transaction.card_no,
        "card_issuer": transaction.card_issuer,
        "card_brand": transaction.card_brand,
        "card_sub_brand": transaction.card_sub_brand,
        "card_issuer_country": transaction.card_issuer_country,
        "card_issuer_country_code": transaction.card_issuer_country_code,
        "currency_type": currency["currency_type"],
        "currency_amount": currency["currency_amount"],
        "emi_instalment": "0",
        "emi_amount": "0.00",
        "value_a": transaction.value_a,
        "value_b": transaction.value_b,
        "value_c": transaction.value_c,
        "value_d": transaction.value_d,
        "risk_level": transaction.risk_level,
        "risk_title": transaction.risk_title,
        "error": transaction.error,
        "validated_on": transaction.validated_on,
    }


def _amounts(paid: Decimal, currency: str, amount_format: AmountFormat) -> dict[str, str]:
    """BDT in `amount`/`currency`, what was paid in `currency_type`/`currency_amount`."""
    return {
        "amount": amount_format.write(in_settlement_currency(paid, currency)),
        "currency": SETTLEMENT_CURRENCY,
        "currency_type": currency,
        "currency_amount": amount_format.write(paid),
        "currency_rate": f"{rate_for(currency):.4f}",
    }


def _letters(count: int) -> str:
    return "".join(secrets.choice(string.ascii_letters) for _ in range(count))
