"""Amounts as the gateway reports them: settled in BDT, and written in more than one way.

docs/sslcommerz.md §1.2: a payment in another currency is converted to BDT; callbacks then
carry BDT in `amount` and the original in `currency_type`/`currency_amount`/
`currency_rate`. §2.2 and §7: `amount` usually comes as `"150.00"`, but integer-looking
values (`"100"`) and other decimals were seen, so a client must compare numerically.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

SETTLEMENT_CURRENCY = "BDT"
CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")  # rates are reported like "1.0000"
FEE_SHARE = Decimal("0.975")  # store_amount: what the merchant keeps after a 2.5 % fee

# BDT for one unit: fixed, so that tests can count on them. EUR is the reference's own
# sample (100 EUR -> 10228.84 BDT); USD is round, so 12.50 USD is exactly 1500.00 BDT.
RATES = {
    "EUR": Decimal("102.2884"),
    "USD": Decimal("120.0000"),
    "GBP": Decimal("150.0000"),
    "INR": Decimal("1.4000"),
}
OTHER_RATE = Decimal("100.0000")  # any other foreign currency


class AmountFormat(StrEnum):
    """How amounts are written in the notice and the API answers (test knob `amount_format`)."""

    TWO_PLACES = "2dp"  # "1500.00": what the gateway usually sends
    FOUR_PLACES = "4dp"  # "1500.0000"
    TRIMMED = "trimmed"  # "1500", "1462.5": no trailing zeros

    def write(self, amount: Decimal) -> str:
        if self is AmountFormat.FOUR_PLACES:
            return f"{amount.quantize(RATE_PLACES)}"
        if self is AmountFormat.TRIMMED:
            return f"{amount.normalize():f}"
        return f"{amount.quantize(CENT)}"


def rate_for(currency: str) -> Decimal:
    """BDT for one unit of `currency`; 1 for BDT itself."""
    if currency == SETTLEMENT_CURRENCY:
        return Decimal(1)
    return RATES.get(currency, OTHER_RATE)


def in_settlement_currency(amount: Decimal, currency: str) -> Decimal:
    """`amount` of `currency` in BDT, rounded half up to the paisa."""
    return (amount * rate_for(currency)).quantize(CENT, ROUND_HALF_UP)


def store_amount(settled: Decimal) -> Decimal:
    """What the merchant keeps of a BDT amount, after the gateway's fee."""
    return (settled * FEE_SHARE).quantize(CENT, ROUND_HALF_UP)
