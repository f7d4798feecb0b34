"""What the merchant and the tester send, checked: amounts, currencies, URLs, test knobs.

Anything unusable raises `BadInput`, whose message is shown to the sender: the session
and refund APIs answer it as a business failure, the payment page as a 400 page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from marketlink.sandbox.amounts import CENT, AmountFormat
from marketlink.sandbox.state import SandboxSession

MAX_IPN_REPEAT = 20
_AMOUNT_CEILING = Decimal("1e12")  # keeps quantize() within Decimal's precision


class BadInput(Exception):
    """A parameter or test knob that cannot be used; the message is shown to the user."""


@dataclass(frozen=True, slots=True)
class Knobs:
    """The payment page's test-only fields: what the customer paid, and how it is told."""

    amount: str
    currency: str
    risk_level: int
    ipn_deliveries: int
    amount_format: AmountFormat = AmountFormat.TWO_PLACES


def read_knobs(form: Mapping[str, str], session: SandboxSession) -> Knobs:
    amount = form.get("amount", "").strip()
    amount = checked_amount(amount, "amount") if amount else session.amount
    if Decimal(amount) <= 0:
        raise BadInput("amount must be positive")
    currency = form.get("currency", "").strip()
    currency = checked_currency(currency, "currency") if currency else session.currency
    risk_level = form.get("risk_level", "").strip() or "0"
    if risk_level not in ("0", "1"):
        raise BadInput("risk_level must be 0 or 1")
    ipn = form.get("ipn", "").strip() or "1"
    if ipn not in ("0", "1"):
        raise BadInput("ipn must be 0 or 1")
    repeat_text = form.get("ipn_repeat", "").strip() or "1"
    try:
        repeat = int(repeat_text)
    except ValueError:
        raise BadInput("ipn_repeat must be a whole number") from None
    if repeat < 0:
        raise BadInput("ipn_repeat must not be negative")
    deliveries = 0 if ipn == "0" else min(repeat, MAX_IPN_REPEAT)
    format_text = form.get("amount_format", "").strip() or AmountFormat.TWO_PLACES.value
    try:
        amount_format = AmountFormat(format_text)
    except ValueError:
        choices = ", ".join(f.value for f in AmountFormat)
        raise BadInput(f"amount_format must be one of {choices}") from None
    return Knobs(amount, currency, int(risk_level), deliveries, amount_format)


def checked_amount(text: str, name: str) -> str:
    """A positive-or-zero decimal with at most two places, formatted with two."""
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise BadInput(f"Invalid {name}: not a decimal amount") from None
    if not amount.is_finite() or amount < 0 or amount >= _AMOUNT_CEILING:
        raise BadInput(f"Invalid {name}: not an amount the sandbox takes")
    if amount != amount.quantize(CENT):
        raise BadInput(f"Invalid {name}: at most two decimal places")
    return f"{amount.quantize(CENT)}"


def checked_currency(text: str, name: str) -> str:
    code = text.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise BadInput(f"Invalid {name}: a three-letter ISO code is required")
    return code


def checked_url(text: str, name: str, *, required: bool) -> str:
    if not text and not required:
        return ""
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise BadInput(f"Invalid {name}: not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 255:
        raise BadInput(f"Invalid {name}: an absolute http(s) URL of at most 255 characters")
    return text


def has_nul(params: Mapping[str, str]) -> bool:
    """NUL characters: no real client sends them, and PostgreSQL text cannot hold them."""
    return any("\x00" in key or "\x00" in value for key, value in params.items())
