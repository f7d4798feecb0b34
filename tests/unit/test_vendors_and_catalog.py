from decimal import Decimal

import pytest

from marketlink.application.actors import Actor
from marketlink.application.errors import (
    Forbidden,
    NotFound,
    VendorProfileExists,
    VendorProfileRequired,
)
from marketlink.application.ports import CatalogQuery, CatalogSort, PageRequest
from marketlink.application.use_cases.catalog import (
    AddVariant,
    DeactivateService,
    DeactivateVariant,
    GetService,
    GetVariant,
    NewVariant,
    PublishService,
    SearchCatalog,
    ServiceChanges,
    UpdateService,
    UpdateVariant,
    VariantChanges,
)
from marketlink.application.use_cases.vendors import (
    CreateVendorProfile,
    GetOwnVendorProfile,
    GetVendor,
    ListVendors,
    UpdateOwnVendorProfile,
    VendorChanges,
)
from marketlink.domain.errors import StockBelowReserved
from marketlink.domain.money import Money
from marketlink.domain.users import Role


def test_only_vendors_create_a_profile_and_only_once(world):
    with pytest.raises(Forbidden):
        CreateVendorProfile(world.uow, world.clock)(world.user(Role.CUSTOMER), "Shop", "Dhaka")
    vendor = world.vendor()
    with pytest.raises(VendorProfileExists):
        CreateVendorProfile(world.uow, world.clock)(vendor, "Shop 2", "Dhaka")


def test_a_vendor_reads_and_updates_its_own_profile(world):
    vendor = world.vendor()
    UpdateOwnVendorProfile(world.uow)(vendor, VendorChanges(business_name="Bay 4"))
    assert GetOwnVendorProfile(world.uow)(vendor).business_name == "Bay 4"
    with pytest.raises(NotFound):
        GetOwnVendorProfile(world.uow)(world.user(Role.VENDOR))


def test_publishing_needs_a_vendor_profile(world):
    with pytest.raises(VendorProfileRequired):
        PublishService(world.uow, world.clock)(world.user(Role.VENDOR), "Brakes")
    with pytest.raises(Forbidden):
        PublishService(world.uow, world.clock)(world.user(Role.CUSTOMER), "Brakes")


def test_another_vendors_service_or_variant_is_not_found_on_write(world):
    owner, other = world.vendor(), world.vendor()
    variant = world.variant(owner)
    with pytest.raises(NotFound):
        UpdateService(world.uow)(other, variant.service_id, ServiceChanges(name="Mine now"))
    with pytest.raises(NotFound):
        DeactivateService(world.uow)(other, variant.service_id)
    with pytest.raises(NotFound):
        UpdateVariant(world.uow)(other, variant.id, VariantChanges(stock=50))
    with pytest.raises(NotFound):
        DeactivateVariant(world.uow)(other, variant.id)
    with pytest.raises(NotFound):
        AddVariant(world.uow)(other, variant.service_id, NewVariant("X", Money.of("1"), 1, 1))
    assert world.uow.db.variants[variant.id].stock == 2


def test_an_admin_may_update_any_service(world):
    owner = world.vendor()
    variant = world.variant(owner)
    admin = world.user(Role.ADMIN)
    UpdateService(world.uow)(admin, variant.service_id, ServiceChanges(name="Renamed"))
    assert world.uow.db.services[variant.service_id].name == "Renamed"


def test_update_variant_refuses_stock_below_reserved(world):
    owner = world.vendor()
    variant = world.variant(owner, stock=3)
    world.uow.db.variants[variant.id].reserved = 2
    with pytest.raises(StockBelowReserved):
        UpdateVariant(world.uow)(owner, variant.id, VariantChanges(stock=1))
    updated = UpdateVariant(world.uow)(
        owner, variant.id, VariantChanges(stock=2, price=Money.of("99.50"))
    )
    assert (updated.stock, updated.available, str(updated.price)) == (2, 0, "99.50")


def test_catalog_shows_only_active_services_of_active_vendors(world):
    shop, closed_shop = world.vendor(), world.vendor()
    brakes = world.variant(shop, name="Brake service", price="1500.00")
    world.variant(shop, name="Oil change", price="800.00")
    hidden = world.variant(shop, name="Brake bleeding", price="900.00")
    DeactivateService(world.uow)(shop, hidden.service_id)
    world.variant(closed_shop, name="Brake discs", price="1000.00")
    world.uow.db.vendors[GetOwnVendorProfile(world.uow)(closed_shop).id].is_active = False

    page = SearchCatalog(world.uow)(
        CatalogQuery(
            text="brake",
            min_price=Decimal(100),
            max_price=Decimal(2000),
            available_only=True,
            sort=CatalogSort.PRICE,
            page=PageRequest(1, 5),
        )
    )
    assert [s.id for s in page.items] == [brakes.service_id]
    assert page.total == 1
    with pytest.raises(NotFound):
        GetService(world.uow)(hidden.service_id)


def test_public_reads_hide_inactive_variants(world):
    shop = world.vendor()
    variant = world.variant(shop)
    DeactivateVariant(world.uow)(shop, variant.id)
    assert GetService(world.uow)(variant.service_id).variants == []
    with pytest.raises(NotFound):
        GetVariant(world.uow)(variant.id)


def test_vendor_listing_and_page_show_active_vendors_and_their_services(world):
    shop = world.vendor()
    variant = world.variant(shop)
    profile = GetOwnVendorProfile(world.uow)(shop)
    assert [v.id for v in ListVendors(world.uow)(PageRequest()).items] == [profile.id]
    page = GetVendor(world.uow)(profile.id)
    assert [s.id for s in page.services] == [variant.service_id]
    world.uow.db.vendors[profile.id].is_active = False
    with pytest.raises(NotFound):
        GetVendor(world.uow)(profile.id)


def test_customers_cannot_manage_the_catalog(world):
    owner = world.vendor()
    variant = world.variant(owner)
    customer: Actor = world.user(Role.CUSTOMER)
    with pytest.raises(Forbidden):
        UpdateVariant(world.uow)(customer, variant.id, VariantChanges(stock=9))
