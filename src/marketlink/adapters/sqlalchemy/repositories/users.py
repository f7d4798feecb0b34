"""Users and vendor profiles."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketlink.adapters.sqlalchemy.repositories.base import SqlRepository, fields_of, inserted_id
from marketlink.adapters.sqlalchemy.tables import users, vendor_profiles
from marketlink.application.errors import EmailTaken, VendorProfileExists
from marketlink.application.ports import Page, PageRequest
from marketlink.domain.users import Role, User, VendorProfile

# The columns that hold the entity's field of the same name as it is (see fields_of).
_USER_FIELDS = (
    "email",
    "password_hash",
    "first_name",
    "last_name",
    "phone_number",
    "is_active",
    "date_joined",
)


def _user(row: sa.Row[Any]) -> User:
    return User(id=row.id, role=Role(row.role), **fields_of(row, _USER_FIELDS))


def _user_values(user: User) -> dict[str, Any]:
    return {**fields_of(user, _USER_FIELDS), "role": user.role.value}


class SqlUserRepository(SqlRepository):
    def add(self, user: User) -> None:
        user.email = User.normalize_email(user.email)
        # Two registrations racing for one email: the second is refused here.
        with self._refusing_duplicates(EmailTaken):
            result = self._execute(sa.insert(users).values(_user_values(user)))
        user.id = inserted_id(result)

    def get(self, user_id: int) -> User | None:
        row = self._execute(sa.select(users).where(users.c.id == user_id)).first()
        return _user(row) if row else None

    def get_by_email(self, email: str) -> User | None:
        query = sa.select(users).where(users.c.email == User.normalize_email(email))
        row = self._execute(query).first()
        return _user(row) if row else None

    def save(self, user: User) -> None:
        user.email = User.normalize_email(user.email)
        with self._refusing_duplicates(EmailTaken):
            self._execute(sa.update(users).where(users.c.id == user.id).values(_user_values(user)))

    def list(self, page: PageRequest) -> Page[User]:
        return self._page(sa.select(users), [users.c.id], page, _user)


_VENDOR_FIELDS = ("user_id", "business_name", "address", "is_active", "is_approved", "created_at")


def _vendor(row: sa.Row[Any]) -> VendorProfile:
    return VendorProfile(id=row.id, **fields_of(row, _VENDOR_FIELDS))


def _vendor_values(vendor: VendorProfile) -> dict[str, Any]:
    return fields_of(vendor, _VENDOR_FIELDS)


class SqlVendorRepository(SqlRepository):
    def add(self, vendor: VendorProfile) -> None:
        with self._refusing_duplicates(VendorProfileExists):
            result = self._execute(sa.insert(vendor_profiles).values(_vendor_values(vendor)))
        vendor.id = inserted_id(result)

    def get(self, vendor_id: int) -> VendorProfile | None:
        query = sa.select(vendor_profiles).where(vendor_profiles.c.id == vendor_id)
        row = self._execute(query).first()
        return _vendor(row) if row else None

    def get_by_user(self, user_id: int) -> VendorProfile | None:
        query = sa.select(vendor_profiles).where(vendor_profiles.c.user_id == user_id)
        row = self._execute(query).first()
        return _vendor(row) if row else None

    def save(self, vendor: VendorProfile) -> None:
        self._execute(
            sa.update(vendor_profiles)
            .where(vendor_profiles.c.id == vendor.id)
            .values(_vendor_values(vendor))
        )

    def list(self, page: PageRequest, *, active_only: bool = True) -> Page[VendorProfile]:
        query = sa.select(vendor_profiles)
        if active_only:
            query = query.where(vendor_profiles.c.is_active, vendor_profiles.c.is_approved)
        return self._page(query, [vendor_profiles.c.id], page, _vendor)
