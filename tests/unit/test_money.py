from decimal import Decimal

import pytest

from marketlink.domain.errors import CurrencyMismatch, InvalidMoney
from marketlink.domain.money import Money


def test_money_is_quantized_to_cents_and_printed_with_two_decimals():
    assert str(Money.of("1500")) == "1500.00"
    assert Money.of("12.5").amount == Decimal("12.50")
    assert Money.of("1.500") == Money.of("1.5")


@pytest.mark.parametrize("bad", ["1.005", "abc", "NaN", "Infinity", ""])
def test_rejects_amounts_that_are_not_money(bad):
    with pytest.raises(InvalidMoney):
        Money.of(bad)


def test_refuses_floats():
    with pytest.raises(InvalidMoney):
        Money.of(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidMoney):
        Money(1.5)  # type: ignore[arg-type]


def test_arithmetic_and_comparison_stay_in_one_currency():
    assert Money.of("10.10") + Money.of("0.90") == Money.of("11.00")
    assert Money.of("10.00") - Money.of("0.01") == Money.of("9.99")
    assert Money.of("1") < Money.of("2")
    with pytest.raises(CurrencyMismatch):
        Money.of("1") + Money.of("1", "USD")


def test_rejects_malformed_currency_codes():
    with pytest.raises(InvalidMoney):
        Money.of("1", "bdt")


def test_rounded_rounds_half_up_for_fee_amounts():
    assert Money.rounded(Decimal("1135.47525")) == Money.of("1135.48")
