"""Users and vendor profiles in the database."""

from __future__ import annotations

import pytest

from marketlink.application.errors import EmailTaken, VendorProfileExists
from marketlink.application.ports import PageRequest
from marketlink.domain.users import Role, User, VendorProfile
from tests.integration.conftest import T0, Builder

pytestmark = pytest.mark.integration


def test_a_user_comes_back_as_it_was_stored(uow):
    user = User(
        "  Rahim@Example.COM ",
        "argon2$hash",
        "Rahim",
        "Uddin",
        Role.VENDOR,
        T0,
        phone_number="+8801700000000",
    )
    with uow() as work:
        work.users.add(user)
        work.commit()
    assert isinstance(user.id, int)
    with uow() as work:
        loaded = work.users.get(user.id)
    assert loaded is not None
    assert (loaded.id, loaded.email, loaded.password_hash) == (
        user.id,
        "rahim@example.com",
        "argon2$hash",
    )
    assert (loaded.first_name, loaded.last_name, loaded.phone_number) == (
        "Rahim",
        "Uddin",
        "+8801700000000",
    )
    assert (loaded.role, loaded.is_active, loaded.date_joined) == (Role.VENDOR, True, T0)


def test_email_lookup_ignores_case(uow, build: Builder):
    user = build.user(email="karim@example.com")
    with uow() as work:
        assert work.users.get_by_email("KARIM@example.com").id == user.id
        assert work.users.get_by_email("nobody@example.com") is None
        assert work.users.get(10**9) is None


def test_a_second_account_with_the_same_email_in_another_case_is_refused(uow, build: Builder):
    build.user(email="dup@example.com")
    with uow() as work, pytest.raises(EmailTaken):
        work.users.add(User("DUP@example.com", "h", "A", "B", Role.CUSTOMER, T0))


def test_save_writes_every_field(uow, build: Builder):
    user = build.user()
    with uow() as work:
        loaded = work.users.get(user.id)
        loaded.rename("New", "Name", "01800000000")
        loaded.is_active = False
        work.users.save(loaded)
        work.commit()
    with uow() as work:
        saved = work.users.get(user.id)
    assert (saved.first_name, saved.last_name, saved.phone_number, saved.is_active) == (
        "New",
        "Name",
        "01800000000",
        False,
    )


def test_users_are_listed_by_id_a_page_at_a_time(uow, build: Builder):
    ids = [build.user().id for _ in range(5)]
    with uow() as work:
        first = work.users.list(PageRequest(1, 2))
        last = work.users.list(PageRequest(3, 2))
    assert first.total == last.total == 5
    assert [u.id for u in first.items] == ids[:2]
    assert [u.id for u in last.items] == ids[4:]


@pytest.mark.parametrize(
    ("page", "page_size", "items", "total"),
    [
        (1, 10, 5, 5),  # one partly filled page: counted from the page itself
        (2, 3, 2, 5),  # the partly filled last page
        (1, 5, 5, 5),  # a full page: the rest is counted
        (2, 5, 0, 5),  # past the end: counted
        (4, 2, 0, 5),
    ],
)
def test_every_page_knows_the_total(uow, build: Builder, page, page_size, items, total):
    for _ in range(5):
        build.user()
    with uow() as work:
        found = work.users.list(PageRequest(page, page_size))
    assert (len(found.items), found.total) == (items, total)


def test_a_vendor_profile_round_trips_and_is_found_by_its_user(uow, build: Builder):
    user = build.user(Role.VENDOR)
    profile = VendorProfile(user.id, "Dhaka Motors", "Mirpur 10, Dhaka", T0)
    with uow() as work:
        work.vendors.add(profile)
        work.commit()
    assert isinstance(profile.id, int)
    with uow() as work:
        by_id = work.vendors.get(profile.id)
        by_user = work.vendors.get_by_user(user.id)
        assert work.vendors.get_by_user(10**9) is None
    assert by_id.id == by_user.id == profile.id
    assert (by_id.user_id, by_id.business_name, by_id.address) == (
        user.id,
        "Dhaka Motors",
        "Mirpur 10, Dhaka",
    )
    assert (by_id.is_active, by_id.created_at) == (True, T0)


def test_a_second_profile_for_one_user_is_refused_and_the_transaction_survives(uow, build: Builder):
    vendor = build.vendor()
    with uow() as work:
        with pytest.raises(VendorProfileExists):
            work.vendors.add(VendorProfile(vendor.user_id, "Again", "Here", T0))
        assert work.vendors.get(vendor.id) is not None


def test_vendors_are_listed_active_only_unless_asked(uow, build: Builder):
    active = build.vendor()
    closed = build.vendor(is_active=False)
    with uow() as work:
        shown = work.vendors.list(PageRequest())
        everyone = work.vendors.list(PageRequest(), active_only=False)
    assert ([v.id for v in shown.items], shown.total) == ([active.id], 1)
    assert ([v.id for v in everyone.items], everyone.total) == ([active.id, closed.id], 2)


def test_saving_a_vendor_profile(uow, build: Builder):
    vendor = build.vendor()
    with uow() as work:
        loaded = work.vendors.get(vendor.id)
        loaded.business_name = "Chittagong Motors"
        loaded.is_active = False
        work.vendors.save(loaded)
        work.commit()
    with uow() as work:
        saved = work.vendors.get(vendor.id)
    assert (saved.business_name, saved.is_active) == ("Chittagong Motors", False)
