"""Amounts as the gateway reports them: what the merchant keeps of a payment."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
FEE_SHARE = Decimal("0.975")  # store_amount: what the merchant keeps after a 2.5 % fee


def store_amount(paid: Decimal) -> Decimal:
    """What the merchant keeps of an amount, after the gateway's fee."""
    return (paid * FEE_SHARE).quantize(CENT, ROUND_HALF_UP)
