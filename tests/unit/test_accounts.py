from datetime import UTC, datetime

import pytest

from marketlink.application.actors import Actor
from marketlink.application.errors import EmailTaken, InvalidCredentials
from marketlink.application.use_cases.accounts import (
    GetProfile,
    Login,
    Logout,
    ProfileChanges,
    Register,
    RegisterUser,
    ResumeSession,
    UpdateProfile,
)
from marketlink.domain.errors import InvalidValue
from marketlink.domain.users import Role
from tests.fakes import FakeTokenBlocklist


def register(uow, hasher, clock, email="Ann@Example.com", role=Role.CUSTOMER, password="s3cret-pw"):
    return Register(uow, hasher, clock)(RegisterUser(email, password, "Ann", "Khan", role))


def test_register_stores_a_hashed_password_and_a_lower_case_email(uow, hasher, clock):
    user = register(uow, hasher, clock)
    stored = uow.db.users[user.id]
    assert stored.email == "ann@example.com"
    assert stored.password_hash != "s3cret-pw"
    assert hasher.verify(stored.password_hash, "s3cret-pw")
    assert stored.date_joined == clock.now()


def test_register_refuses_a_duplicate_email_whatever_its_case(uow, hasher, clock):
    register(uow, hasher, clock)
    with pytest.raises(EmailTaken):
        register(uow, hasher, clock, email="ANN@example.COM")


def test_register_refuses_admin_and_short_passwords(uow, hasher, clock):
    with pytest.raises(InvalidValue):
        register(uow, hasher, clock, role=Role.ADMIN)
    with pytest.raises(InvalidValue):
        register(uow, hasher, clock, password="short")
    assert uow.db.users == {}


@pytest.mark.parametrize("email", ["not-an-email", "", "a@b", "x" * 250 + "@example.com"])
def test_register_refuses_what_is_not_an_email_address(uow, hasher, clock, email):
    # create-admin reaches this with whatever it was given; the API's schema, with the same
    # rule, has refused these already.
    with pytest.raises(InvalidValue, match=r"^Not a valid email address\.$"):
        register(uow, hasher, clock, email=email)
    assert uow.db.users == {}


def test_login_accepts_the_right_password_only(uow, hasher, clock):
    user = register(uow, hasher, clock)
    assert Login(uow, hasher)("ANN@example.com", "s3cret-pw").id == user.id
    with pytest.raises(InvalidCredentials):
        Login(uow, hasher)("ann@example.com", "wrong-password")
    with pytest.raises(InvalidCredentials):
        Login(uow, hasher)("nobody@example.com", "s3cret-pw")


def test_login_and_refresh_refuse_an_inactive_user(uow, hasher, clock):
    user = register(uow, hasher, clock)
    uow.db.users[user.id].is_active = False
    with pytest.raises(InvalidCredentials):
        Login(uow, hasher)("ann@example.com", "s3cret-pw")
    with pytest.raises(InvalidCredentials):
        ResumeSession(uow)(user.id)


def test_logout_revokes_the_session_until_its_tokens_expire():
    blocklist = FakeTokenBlocklist()
    until = datetime(2026, 12, 5, tzinfo=UTC)
    Logout(blocklist)("session-1", until)
    assert blocklist.is_revoked("session-1", 1)
    assert not blocklist.is_revoked("session-2", 1)
    assert blocklist.revoked["session-1"] == until


def test_profile_update_changes_names_and_phone_only(uow, hasher, clock):
    user = register(uow, hasher, clock)
    actor = Actor(user.id, Role.CUSTOMER)
    UpdateProfile(uow)(actor, ProfileChanges(first_name="Anna", phone_number="01700000000"))
    profile = GetProfile(uow)(actor)
    assert (profile.first_name, profile.last_name, profile.phone_number) == (
        "Anna",
        "Khan",
        "01700000000",
    )
    assert (profile.role, profile.email) == (Role.CUSTOMER, "ann@example.com")
