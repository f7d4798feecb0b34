import pytest

from marketlink.application.errors import CannotDeactivateSelf, Forbidden, NotFound
from marketlink.application.ports import CatalogQuery, PageRequest
from marketlink.application.use_cases.accounts import Login
from marketlink.application.use_cases.admin import ListUsers, SetUserActive, SetVendorActive
from marketlink.application.use_cases.orders import BookingPolicy, PlaceOrder
from marketlink.application.use_cases.vendors import ListVendors
from marketlink.domain.users import Role
from tests.fakes import FakeLock, FakePasswordHasher, FakeTokenBlocklist


def test_an_admin_lists_every_account_page_by_page(world):
    admin = world.user(Role.ADMIN)
    others = [world.user(), world.user(Role.VENDOR)]
    SetUserActive(world.uow, FakeTokenBlocklist())(admin, others[0].user_id, False)

    page = ListUsers(world.uow)(admin, PageRequest(page=1, page_size=2))

    assert page.total == 3
    assert [u.id for u in page.items] == [admin.user_id, others[0].user_id]
    assert ListUsers(world.uow)(admin, PageRequest(page=2, page_size=2)).items[0].role is (
        Role.VENDOR
    )


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.VENDOR])
def test_only_admins_administer(world, role):
    someone = world.user(role)
    vendor = world.vendor()
    shop = world.uow.db.vendors[next(iter(world.uow.db.vendors))]
    with pytest.raises(Forbidden):
        ListUsers(world.uow)(someone, PageRequest())
    with pytest.raises(Forbidden):
        SetUserActive(world.uow, FakeTokenBlocklist())(someone, vendor.user_id, False)
    with pytest.raises(Forbidden):
        SetVendorActive(world.uow)(someone, shop.id, False)
    assert world.uow.db.users[vendor.user_id].is_active
    assert shop.is_active


def test_a_deactivated_user_cannot_sign_in_until_reactivated(world):
    admin = world.user(Role.ADMIN)
    customer = world.user()
    email = world.uow.db.users[customer.user_id].email
    login = Login(world.uow, FakePasswordHasher())

    user = SetUserActive(world.uow, FakeTokenBlocklist())(admin, customer.user_id, False)

    assert user.is_active is False
    with pytest.raises(Exception, match="Invalid email or password"):
        login(email, "password1")
    SetUserActive(world.uow, FakeTokenBlocklist())(admin, customer.user_id, True)
    assert login(email, "password1").id == customer.user_id


def test_an_admin_cannot_switch_off_their_own_account(world):
    admin = world.user(Role.ADMIN)
    with pytest.raises(CannotDeactivateSelf):
        SetUserActive(world.uow, FakeTokenBlocklist())(admin, admin.user_id, False)
    assert world.uow.db.users[admin.user_id].is_active
    assert SetUserActive(world.uow, FakeTokenBlocklist())(admin, admin.user_id, True).is_active


def test_unknown_users_and_vendors_are_not_found(world):
    admin = world.user(Role.ADMIN)
    with pytest.raises(NotFound):
        SetUserActive(world.uow, FakeTokenBlocklist())(admin, 999, False)
    with pytest.raises(NotFound):
        SetVendorActive(world.uow)(admin, 999, False)


def test_a_deactivated_vendor_leaves_the_catalog_and_takes_no_bookings(world):
    admin = world.user(Role.ADMIN)
    shop_owner = world.vendor()
    variant = world.variant(shop_owner)
    vendor_id = next(iter(world.uow.db.vendors))
    place = PlaceOrder(world.uow, FakeLock(), world.clock, BookingPolicy())

    vendor = SetVendorActive(world.uow)(admin, vendor_id, False)

    assert vendor.is_active is False
    assert ListVendors(world.uow)(PageRequest()).total == 0
    with world.uow() as uow:
        assert uow.services.search(CatalogQuery()).total == 0
    with pytest.raises(NotFound):
        place(world.user(), variant.id)
    SetVendorActive(world.uow)(admin, vendor_id, True)
    assert place(world.user(), variant.id).vendor_id == vendor_id


def test_setting_the_same_value_again_writes_nothing(world):
    admin = world.user(Role.ADMIN)
    customer = world.user()
    commits = world.uow.commits
    SetUserActive(world.uow, FakeTokenBlocklist())(admin, customer.user_id, True)
    assert world.uow.commits == commits


def test_switching_a_user_off_revokes_their_tokens_and_on_restores_them(world):
    admin = world.user(Role.ADMIN)
    customer = world.user()
    blocklist = FakeTokenBlocklist()
    set_active = SetUserActive(world.uow, blocklist)

    set_active(admin, customer.user_id, False)

    # For as long as a session lives: every token issued before the switch-off expires.
    assert blocklist.revoked_users == {customer.user_id: 7 * 24 * 3600}
    assert blocklist.is_revoked("any-session", customer.user_id)
    assert not blocklist.is_revoked("any-session", admin.user_id)
    set_active(admin, customer.user_id, True)
    assert blocklist.revoked_users == {}
    assert not blocklist.is_revoked("any-session", customer.user_id)


def test_repeating_a_switch_off_writes_the_blocklist_again(world):
    # A deactivation whose blocklist write was lost is repaired by sending it again.
    admin = world.user(Role.ADMIN)
    customer = world.user()
    SetUserActive(world.uow, FakeTokenBlocklist())(admin, customer.user_id, False)
    blocklist = FakeTokenBlocklist()
    SetUserActive(world.uow, blocklist)(admin, customer.user_id, False)
    assert customer.user_id in blocklist.revoked_users


def test_unknown_users_are_never_put_on_the_blocklist(world):
    admin = world.user(Role.ADMIN)
    blocklist = FakeTokenBlocklist()
    with pytest.raises(NotFound):
        SetUserActive(world.uow, blocklist)(admin, 999, False)
    assert blocklist.revoked_users == {}
