"""Accounts: registering, signing in and out, and one's own profile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from marketlink.application.actors import Actor
from marketlink.application.errors import InvalidCredentials, NotFound
from marketlink.application.ports import (
    Clock,
    PasswordHasher,
    TokenBlocklist,
    UnitOfWorkFactory,
)
from marketlink.domain.errors import InvalidValue
from marketlink.domain.users import Role, User, check_password, valid_email

SELF_SERVICE_ROLES = frozenset({Role.CUSTOMER, Role.VENDOR})
# The longest a token of a session lives: the refresh token's lifetime.
SESSION_LIFETIME = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class RegisterUser:
    email: str
    password: str
    first_name: str
    last_name: str
    role: Role = Role.CUSTOMER
    phone_number: str | None = None


class Register:
    """Opens a customer or vendor account; admins come only from the command line."""

    def __init__(self, uow: UnitOfWorkFactory, hasher: PasswordHasher, clock: Clock) -> None:
        self._uow = uow
        self._hasher = hasher
        self._clock = clock

    def __call__(self, cmd: RegisterUser, *, allow_admin: bool = False) -> User:
        if cmd.role not in SELF_SERVICE_ROLES and not allow_admin:
            raise InvalidValue("Role must be customer or vendor.")
        email = valid_email(cmd.email)  # the rule the API's registration applies too
        check_password(cmd.password)
        # Hash before the transaction: argon2 is deliberately slow.
        password_hash = self._hasher.hash(cmd.password)
        # Nothing is read first: `add` refuses a taken email (EmailTaken), and a transaction
        # whose first statement writes waits its turn for the database instead of being
        # refused on a stale read (SQLite).
        with self._uow() as uow:
            user = User(
                email=email,
                password_hash=password_hash,
                first_name=cmd.first_name,
                last_name=cmd.last_name,
                role=cmd.role,
                date_joined=self._clock.now(),
                phone_number=cmd.phone_number or None,
            )
            uow.users.add(user)
            uow.commit()
        return user


class Login:
    """Checks a password: one error for an unknown email, a wrong password or an inactive user."""

    # Verifying against a real hash when the email is unknown keeps the timing the same.
    _DUMMY_PASSWORD = "not-a-real-password"  # noqa: S105

    def __init__(self, uow: UnitOfWorkFactory, hasher: PasswordHasher) -> None:
        self._uow = uow
        self._hasher = hasher
        self._dummy_hash: str | None = None

    def __call__(self, email: str, password: str) -> User:
        with self._uow() as uow:
            user = uow.users.get_by_email(User.normalize_email(email))
        if user is None:
            if self._dummy_hash is None:
                self._dummy_hash = self._hasher.hash(self._DUMMY_PASSWORD)
            self._hasher.verify(self._dummy_hash, password)
            raise InvalidCredentials()
        if not self._hasher.verify(user.password_hash, password) or not user.is_active:
            raise InvalidCredentials()
        return user


class ResumeSession:
    """Refreshing a session: the user must still exist and be active."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, user_id: int) -> User:
        with self._uow() as uow:
            user = uow.users.get(user_id)
        if user is None or not user.is_active:
            raise InvalidCredentials()
        return user


class Logout:
    def __init__(self, blocklist: TokenBlocklist) -> None:
        self._blocklist = blocklist

    def __call__(self, session_id: str, expires_at: datetime) -> None:
        self._blocklist.revoke(session_id, expires_at)


class GetProfile:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor) -> User:
        with self._uow() as uow:
            user = uow.users.get(actor.user_id)
        if user is None:
            raise NotFound("User not found.")
        return user


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    first_name: str | None = None
    last_name: str | None = None
    phone_number: str | None = None


class UpdateProfile:
    """Names and phone only: role, email and activity are not one's own to change."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, changes: ProfileChanges) -> User:
        with self._uow() as uow:
            user = uow.users.get(actor.user_id)
            if user is None:
                raise NotFound("User not found.")
            user.rename(changes.first_name, changes.last_name, changes.phone_number)
            uow.users.save(user)
            uow.commit()
        return user
