"""What shops publish: services, and the priced variants customers book."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from marketlink.domain.errors import (
    InactiveVariant,
    InvalidValue,
    NothingReserved,
    OutOfStock,
    StockBelowReserved,
)
from marketlink.domain.money import CATALOGUE_CURRENCY, Money

MAX_PRICE = Money.of("500000.00")
MAX_STOCK = 100_000
MAX_ESTIMATED_MINUTES = 10_080


@dataclass(eq=False)
class ServiceVariant:
    """A bookable option of a service; `stock` slots at once, `reserved` of them held now.

    Held slots are kept apart from capacity: booking takes a hold, ending an order gives
    it back; the vendor changes capacity, never the holds.
    """

    service_id: int
    name: str
    price: Money
    estimated_minutes: int
    stock: int
    reserved: int = 0
    is_active: bool = True
    id: int | None = None

    def __post_init__(self) -> None:
        self._check_price(self.price)
        self._check_minutes(self.estimated_minutes)
        if not 0 <= self.stock <= MAX_STOCK:
            raise InvalidValue(f"Stock must be between 0 and {MAX_STOCK}.")
        if not 0 <= self.reserved <= self.stock:
            raise StockBelowReserved()

    @property
    def available(self) -> int:
        return self.stock - self.reserved

    def reserve(self) -> None:
        if not self.is_active:
            raise InactiveVariant()
        if self.reserved >= self.stock:
            raise OutOfStock()
        self.reserved += 1

    def release(self) -> None:
        if self.reserved <= 0:
            raise NothingReserved()
        self.reserved -= 1

    def change_stock(self, stock: int) -> None:
        if not 0 <= stock <= MAX_STOCK:
            raise InvalidValue(f"Stock must be between 0 and {MAX_STOCK}.")
        if stock < self.reserved:
            raise StockBelowReserved(
                f"Stock cannot be {stock}: {self.reserved} slots are reserved."
            )
        self.stock = stock

    def change_price(self, price: Money) -> None:
        self._check_price(price)
        self.price = price

    def change_estimated_minutes(self, minutes: int) -> None:
        self._check_minutes(minutes)
        self.estimated_minutes = minutes

    @staticmethod
    def _check_price(price: Money) -> None:
        if price.currency != CATALOGUE_CURRENCY:
            raise InvalidValue(f"Prices are in {CATALOGUE_CURRENCY}, not {price.currency}.")
        if not price.is_positive or price > MAX_PRICE:
            raise InvalidValue("Price must be above 0 and at most 500000.00.")

    @staticmethod
    def _check_minutes(minutes: int) -> None:
        if not 1 <= minutes <= MAX_ESTIMATED_MINUTES:
            raise InvalidValue(f"Estimated minutes must be between 1 and {MAX_ESTIMATED_MINUTES}.")


@dataclass(eq=False)
class Service:
    vendor_id: int
    name: str
    created_at: datetime
    description: str = ""
    is_active: bool = True
    id: int | None = None
    variants: list[ServiceVariant] = field(default_factory=list)
