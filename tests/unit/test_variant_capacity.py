import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketlink.domain.catalog import ServiceVariant
from marketlink.domain.errors import (
    InactiveVariant,
    InvalidValue,
    NothingReserved,
    OutOfStock,
    StockBelowReserved,
)
from marketlink.domain.money import CATALOGUE_CURRENCY, Money


def make_variant(stock: int = 2, reserved: int = 0) -> ServiceVariant:
    return ServiceVariant(
        service_id=1,
        name="Front pads",
        price=Money.of("1200.00"),
        estimated_minutes=60,
        stock=stock,
        reserved=reserved,
    )


def test_reserve_takes_a_slot_until_none_is_left():
    variant = make_variant(stock=2)
    variant.reserve()
    variant.reserve()
    assert (variant.reserved, variant.available) == (2, 0)
    with pytest.raises(OutOfStock):
        variant.reserve()
    assert variant.reserved == 2


def test_release_gives_a_slot_back_and_never_goes_below_zero():
    variant = make_variant(stock=1, reserved=1)
    variant.release()
    assert variant.available == 1
    with pytest.raises(NothingReserved):
        variant.release()


def test_stock_cannot_drop_below_reserved():
    variant = make_variant(stock=3, reserved=2)
    with pytest.raises(StockBelowReserved):
        variant.change_stock(1)
    variant.change_stock(2)
    assert variant.available == 0


def test_an_inactive_variant_cannot_be_booked():
    variant = make_variant()
    variant.is_active = False
    with pytest.raises(InactiveVariant):
        variant.reserve()


@pytest.mark.parametrize("price", ["0", "-1", "500000.01"])
def test_price_must_be_positive_and_at_most_the_ceiling(price):
    with pytest.raises(InvalidValue):
        make_variant().change_price(Money.of(price))


def test_catalogue_prices_are_in_taka():
    with pytest.raises(InvalidValue, match="Prices are in BDT"):
        make_variant().change_price(Money.of("1200.00", "USD"))
    with pytest.raises(InvalidValue):
        ServiceVariant(
            service_id=1,
            name="Front pads",
            price=Money.of("12.00", "EUR"),
            estimated_minutes=60,
            stock=1,
        )
    assert make_variant().price.currency == CATALOGUE_CURRENCY == "BDT"


@pytest.mark.parametrize("minutes", [0, 10081])
def test_estimated_minutes_are_bounded(minutes):
    with pytest.raises(InvalidValue):
        make_variant().change_estimated_minutes(minutes)


operations = st.lists(
    st.one_of(
        st.just(("reserve", 0)),
        st.just(("release", 0)),
        st.tuples(st.just("stock"), st.integers(min_value=-5, max_value=40)),
    ),
    max_size=60,
)


@given(initial_stock=st.integers(min_value=0, max_value=20), steps=operations)
def test_capacity_invariant_holds_after_every_step(initial_stock, steps):
    variant = make_variant(stock=initial_stock)
    for operation, value in steps:
        before = (variant.stock, variant.reserved)
        try:
            if operation == "reserve":
                variant.reserve()
            elif operation == "release":
                variant.release()
            else:
                variant.change_stock(value)
        except (OutOfStock, NothingReserved, StockBelowReserved, InvalidValue):
            assert (variant.stock, variant.reserved) == before, "a refused step changed nothing"
        assert 0 <= variant.reserved <= variant.stock
        assert variant.available == variant.stock - variant.reserved
