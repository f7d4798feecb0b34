"""Money: an exact amount in one currency. Never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from marketlink.domain.errors import CurrencyMismatch, InvalidMoney

BDT = "BDT"
CENT = Decimal("0.01")
# MarketLink sells in taka: every catalogue price is in BDT, and so is every order's total
# and every payment asked of the gateway, which settles and refunds in BDT too
# (docs/sslcommerz.md §1.2, §4 "Amount semantics", §5.3).
CATALOGUE_CURRENCY = BDT


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str = BDT

    def __post_init__(self) -> None:
        if isinstance(self.amount, float) or not isinstance(self.amount, Decimal):
            raise InvalidMoney(
                "Money is built from a Decimal (Money.of reads text), never a float."
            )
        if not self.amount.is_finite():
            raise InvalidMoney("Money must be a finite amount.")
        exponent = self.amount.as_tuple().exponent
        if (
            isinstance(exponent, int)
            and exponent < -2
            and self.amount != self.amount.quantize(CENT)
        ):
            raise InvalidMoney("Money has at most two decimal places.")
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise InvalidMoney(f"Invalid currency code {self.currency!r}.")
        object.__setattr__(self, "amount", self.amount.quantize(CENT))

    @classmethod
    def of(cls, value: str | int | Decimal, currency: str = BDT) -> Money:
        if isinstance(value, float):
            raise InvalidMoney("Money must be built from a Decimal or a string, never a float.")
        try:
            amount = Decimal(value) if not isinstance(value, Decimal) else value
        except (InvalidOperation, ValueError) as exc:
            raise InvalidMoney(f"Not an amount: {value!r}.") from exc
        return cls(amount, currency)

    @classmethod
    def rounded(cls, value: Decimal, currency: str = BDT) -> Money:
        """For amounts that arrive with more precision (fees); rounds half up to cents."""
        return cls(value.quantize(CENT, rounding=ROUND_HALF_UP), currency)

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"Cannot combine {self.currency} with {other.currency}.")

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    @property
    def is_positive(self) -> bool:
        return self.amount > 0

    def __str__(self) -> str:
        return f"{self.amount:.2f}"
