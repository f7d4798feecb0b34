"""Administration: the accounts and shops an admin may switch on and off.

Switching off is the only lever: an inactive user cannot sign in or refresh a session,
an inactive vendor's shop disappears from the catalog and takes no new bookings. Orders
already placed keep their course (payments, refunds and the shop's work go on).
"""

from __future__ import annotations

from marketlink.application.actors import Actor
from marketlink.application.errors import ApplicationError, NotFound
from marketlink.application.ports import Page, PageRequest, UnitOfWorkFactory
from marketlink.domain.users import Role, User, VendorProfile


class CannotDeactivateSelf(ApplicationError):
    """An admin cannot switch off their own account."""

    code = "cannot_deactivate_self"


class ListUsers:
    """Every account, active or not, oldest first."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, page: PageRequest) -> Page[User]:
        actor.require(Role.ADMIN)
        with self._uow() as uow:
            return uow.users.list(page)


class SetUserActive:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, user_id: int, is_active: bool) -> User:
        actor.require(Role.ADMIN)
        if user_id == actor.user_id and not is_active:
            # Without this, the last admin could lock everyone out of the admin API.
            raise CannotDeactivateSelf()
        with self._uow() as uow:
            user = uow.users.get(user_id)
            if user is None:
                raise NotFound("user not found")
            if user.is_active != is_active:
                user.is_active = is_active
                uow.users.save(user)
                uow.commit()
        return user


class SetVendorActive:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, vendor_id: int, is_active: bool) -> VendorProfile:
        actor.require(Role.ADMIN)
        with self._uow() as uow:
            vendor = uow.vendors.get(vendor_id)
            if vendor is None:
                raise NotFound("vendor not found")
            if vendor.is_active != is_active:
                vendor.is_active = is_active
                uow.vendors.save(vendor)
                uow.commit()
        return vendor
