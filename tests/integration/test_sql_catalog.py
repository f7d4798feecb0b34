"""Services and variants: storage, the stale-write guard, row locks and catalog search."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest

from marketlink.application.errors import ConcurrentUpdate
from marketlink.application.ports import CatalogQuery, CatalogSort, PageRequest
from marketlink.domain.catalog import Service, ServiceVariant
from marketlink.domain.money import Money
from tests.integration.conftest import T0, Builder

pytestmark = pytest.mark.integration


# Storage ----------------------------------------------------------------------------------


def test_a_service_comes_back_with_all_its_variants_in_id_order(uow, build: Builder):
    vendor = build.vendor()
    service = Service(vendor.id, "Brake repair", T0, "pads and discs")
    with uow() as work:
        work.services.add(service)
        work.commit()
    assert isinstance(service.id, int)
    first = build.variant(service, "1500.00", name="Front")
    hidden = build.variant(service, "900.50", name="Rear", is_active=False)
    with uow() as work:
        loaded = work.services.get(service.id)
        assert work.services.get(10**9) is None
    assert (loaded.vendor_id, loaded.name, loaded.description) == (
        vendor.id,
        "Brake repair",
        "pads and discs",
    )
    assert (loaded.is_active, loaded.created_at) == (True, T0)
    assert [v.id for v in loaded.variants] == [first.id, hidden.id]
    rear = loaded.variants[1]
    assert (rear.name, rear.price, rear.is_active) == ("Rear", Money.of("900.50"), False)


def test_saving_a_service_writes_its_own_fields(uow, build: Builder):
    service = build.service(build.vendor())
    with uow() as work:
        loaded = work.services.get(service.id)
        loaded.name, loaded.description, loaded.is_active = "Engine", "tune-up", False
        work.services.save(loaded)
        work.commit()
    with uow() as work:
        saved = work.services.get(service.id)
    assert (saved.name, saved.description, saved.is_active) == ("Engine", "tune-up", False)


def test_a_variant_round_trips_with_an_exact_price(uow, build: Builder):
    service = build.service(build.vendor())
    variant = ServiceVariant(service.id, "Full", Money.of("499999.99"), 10_080, 100_000, 3)
    with uow() as work:
        work.variants.add(variant)
        work.commit()
    with uow() as work:
        loaded = work.variants.get(variant.id)
        assert work.variants.get(10**9) is None
        assert work.variants.get_for_update(10**9) is None
    assert loaded.price == Money.of("499999.99")
    assert (loaded.service_id, loaded.name, loaded.estimated_minutes) == (
        service.id,
        "Full",
        10_080,
    )
    assert (loaded.stock, loaded.reserved, loaded.available, loaded.is_active) == (
        100_000,
        3,
        99_997,
        True,
    )


def test_saving_a_variant_writes_every_field(uow, build: Builder):
    variant = build.bookable(stock=2)
    with uow() as work:
        loaded = work.variants.get_for_update(variant.id)
        loaded.reserve()
        loaded.change_price(Money.of("1750.25"))
        loaded.change_stock(5)
        loaded.change_estimated_minutes(90)
        loaded.name, loaded.is_active = "Both", False
        work.variants.save(loaded)
        work.variants.save(loaded)  # saving again in the same unit of work is fine
        work.commit()
    with uow() as work:
        saved = work.variants.get(variant.id)
    assert (saved.price, saved.stock, saved.reserved) == (Money.of("1750.25"), 5, 1)
    assert (saved.estimated_minutes, saved.name, saved.is_active) == (90, "Both", False)


# Concurrency ------------------------------------------------------------------------------


def test_a_save_based_on_a_stale_read_is_refused(uow, build: Builder):
    variant = build.bookable(stock=1)
    with uow() as first, uow() as second:
        mine = first.variants.get(variant.id)
        theirs = second.variants.get(variant.id)
        assert mine.reserved == theirs.reserved == 0
        mine.reserve()
        first.variants.save(mine)
        first.commit()
        theirs.reserve()  # the domain sees a free slot: its copy is stale
        with pytest.raises(ConcurrentUpdate):
            second.variants.save(theirs)
    with uow() as work:
        assert work.variants.get(variant.id).reserved == 1


def test_a_variant_loaded_with_its_service_is_guarded_too(uow, build: Builder):
    variant = build.bookable(stock=1)
    with uow() as first, uow() as second:
        mine = first.services.get(variant.service_id).variants[0]
        theirs = second.services.get(variant.service_id).variants[0]
        mine.reserve()
        first.variants.save(mine)
        first.commit()
        theirs.reserve()
        with pytest.raises(ConcurrentUpdate):
            second.variants.save(theirs)


def test_get_for_update_holds_the_row_until_the_transaction_ends(uow, build: Builder):
    variant = build.bookable(stock=2)
    locked = threading.Event()
    seen: list[int] = []

    def first_booker() -> None:
        with uow() as work:
            loaded = work.variants.get_for_update(variant.id)
            locked.set()
            time.sleep(0.3)  # the second booker must wait out this pause
            loaded.reserve()
            work.variants.save(loaded)
            work.commit()

    def second_booker() -> None:
        locked.wait(5)
        with uow() as work:
            loaded = work.variants.get_for_update(variant.id)
            seen.append(loaded.reserved)
            loaded.reserve()
            work.variants.save(loaded)
            work.commit()

    threads = [threading.Thread(target=first_booker), threading.Thread(target=second_booker)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [1]  # it read only after the first had committed
    assert time.monotonic() - started >= 0.3
    with uow() as work:
        assert work.variants.get(variant.id).reserved == 2


# Search -----------------------------------------------------------------------------------


def search(uow, **criteria) -> tuple[list[str], int]:
    with uow() as work:
        page = work.services.search(CatalogQuery(**criteria))
    return [s.name for s in page.items], page.total


def test_search_shows_active_services_of_active_vendors_with_active_variants(uow, build: Builder):
    shop = build.vendor()
    shown = build.service(shop, "Shown")
    build.variant(shown, "100.00", name="on")
    build.variant(shown, "50.00", name="off", is_active=False)
    build.variant(build.service(shop, "Inactive service", is_active=False))
    build.variant(build.service(build.vendor(is_active=False), "Closed shop"))

    with uow() as work:
        page = work.services.search(CatalogQuery())
    assert ([s.name for s in page.items], page.total) == (["Shown"], 1)
    assert [v.name for v in page.items[0].variants] == ["on"]


def test_search_filters_by_vendor(uow, build: Builder):
    mine, other = build.vendor(), build.vendor()
    build.service(mine, "Mine")
    build.service(other, "Theirs")
    assert search(uow, vendor_id=mine.id) == (["Mine"], 1)


def test_text_search_matches_name_or_description_in_any_case(uow, build: Builder):
    shop = build.vendor()
    build.service(shop, "Brake REPAIR", description="")
    build.service(shop, "Oil change", description="Includes a brake check", created_at=T0)
    build.service(shop, "Tyres", description="")
    names, total = search(uow, text="brake", sort=CatalogSort.NAME)
    assert (names, total) == (["Brake REPAIR", "Oil change"], 2)


def test_text_search_takes_wildcards_literally(uow, build: Builder):
    shop = build.vendor()
    build.service(shop, "100% synthetic oil")
    build.service(shop, "1000 km check")
    build.service(shop, "a_b service")
    build.service(shop, "axb service")
    assert search(uow, text="100%") == (["100% synthetic oil"], 1)
    assert search(uow, text="a_b") == (["a_b service"], 1)


def test_price_filters_need_one_active_variant_in_range(uow, build: Builder):
    shop = build.vendor()
    cheap = build.service(shop, "Cheap")
    build.variant(cheap, "100.00")
    build.variant(cheap, "5000.00", is_active=False)  # inactive: does not count
    mid = build.service(shop, "Mid")
    build.variant(mid, "900.00")
    build.variant(mid, "3000.00")
    build.service(shop, "No variants")

    assert search(uow, min_price=Decimal("1000"), sort=CatalogSort.NAME) == (["Mid"], 1)
    assert search(uow, max_price=Decimal("100.00"), sort=CatalogSort.NAME) == (["Cheap"], 1)
    in_between = search(uow, min_price=Decimal("500"), max_price=Decimal("1000"))
    assert in_between == (["Mid"], 1)
    assert search(uow, min_price=Decimal("3000.01"), max_price=Decimal("4000")) == ([], 0)


def test_available_only_needs_an_active_variant_with_a_free_slot(uow, build: Builder):
    shop = build.vendor()
    build.variant(build.service(shop, "Free"), stock=2, reserved=1)
    build.variant(build.service(shop, "Full"), stock=1, reserved=1)
    build.variant(build.service(shop, "No capacity"), stock=0)
    build.variant(build.service(shop, "Only inactive free"), stock=3, is_active=False)
    assert search(uow, available_only=True) == (["Free"], 1)


def test_sorting_by_price_uses_the_cheapest_active_variant_and_puts_unpriced_last(
    uow, build: Builder
):
    shop = build.vendor()
    a = build.service(shop, "A")
    build.variant(a, "300.00")
    build.variant(a, "50.00", is_active=False)
    b = build.service(shop, "B")
    build.variant(b, "200.00")
    build.variant(b, "900.00")
    build.service(shop, "Unpriced")
    c = build.service(shop, "C")
    build.variant(c, "250.00")

    assert search(uow, sort=CatalogSort.PRICE)[0] == ["B", "C", "A", "Unpriced"]
    assert search(uow, sort=CatalogSort.PRICE_DESC)[0] == ["A", "C", "B", "Unpriced"]


def test_sorting_by_name_ignores_case_and_newest_puts_recent_first(uow, build: Builder):
    shop = build.vendor()
    build.service(shop, "beta", created_at=T0)
    build.service(shop, "Alpha", created_at=T0 + timedelta(days=2))
    build.service(shop, "Gamma", created_at=T0 + timedelta(days=1))
    build.service(shop, "alpha", created_at=T0 + timedelta(days=1))  # tie: id decides

    assert search(uow, sort=CatalogSort.NAME)[0] == ["Alpha", "alpha", "beta", "Gamma"]
    assert search(uow, sort=CatalogSort.NEWEST)[0] == ["Alpha", "Gamma", "alpha", "beta"]


def test_search_pages_carry_the_total_and_their_own_variants(uow, build: Builder):
    shop = build.vendor()
    for n in range(5):
        service = build.service(shop, f"S{n}", created_at=T0 + timedelta(minutes=n))
        build.variant(service, f"{100 + n}.00", name=f"v{n}a")
        build.variant(service, f"{200 + n}.00", name=f"v{n}b")

    with uow() as work:
        second = work.services.search(CatalogQuery(sort=CatalogSort.PRICE, page=PageRequest(2, 2)))
        beyond = work.services.search(CatalogQuery(page=PageRequest(4, 2)))
    assert second.total == 5
    assert [s.name for s in second.items] == ["S2", "S3"]
    assert [[v.name for v in s.variants] for s in second.items] == [["v2a", "v2b"], ["v3a", "v3b"]]
    assert (list(beyond.items), beyond.total) == ([], 5)


@pytest.mark.parametrize(
    ("vendor_active", "service_active", "variant_active", "on_sale"),
    [
        (True, True, True, True),
        (False, True, True, False),
        (True, False, True, False),
        (True, True, False, False),
    ],
)
def test_an_offer_brings_the_service_and_shop_with_the_variant(
    uow, build: Builder, vendor_active, service_active, variant_active, on_sale
):
    vendor = build.vendor(is_active=vendor_active)
    service = build.service(vendor, "Oil change", is_active=service_active)
    variant = build.variant(service, "800.00", stock=3, reserved=1, is_active=variant_active)
    with uow() as work:
        offer = work.variants.get_offer_for_update(variant.id)
        assert work.variants.get_offer_for_update(10**9) is None
    assert (offer.service_name, offer.vendor_id, offer.on_sale) == (
        "Oil change",
        vendor.id,
        on_sale,
    )
    assert (offer.variant.id, offer.variant.price) == (variant.id, Money.of("800.00"))
    assert (offer.variant.stock, offer.variant.reserved) == (3, 1)


def test_an_offer_holds_the_variant_row_until_the_transaction_ends(uow, build: Builder):
    variant = build.bookable(stock=2)
    locked = threading.Event()
    seen: list[int] = []

    def first_booker() -> None:
        with uow() as work:
            offer = work.variants.get_offer_for_update(variant.id)
            locked.set()
            time.sleep(0.3)
            offer.variant.reserve()
            work.variants.save(offer.variant)
            work.commit()

    def second_booker() -> None:
        locked.wait(5)
        with uow() as work:
            offer = work.variants.get_offer_for_update(variant.id)
            seen.append(offer.variant.reserved)
            offer.variant.reserve()
            work.variants.save(offer.variant)
            work.commit()

    threads = [threading.Thread(target=first_booker), threading.Thread(target=second_booker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [1], "the second booker read only after the first one committed"
    with uow() as work:
        assert work.variants.get(variant.id).reserved == 2
