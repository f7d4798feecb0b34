"""Vendor profiles: one per vendor account, the shop customers see."""

from __future__ import annotations

from dataclasses import dataclass

from marketlink.application.actors import Actor
from marketlink.application.errors import NotFound, VendorProfileExists
from marketlink.application.ports import (
    CatalogQuery,
    Clock,
    Page,
    PageRequest,
    UnitOfWork,
    UnitOfWorkFactory,
)
from marketlink.domain.catalog import Service
from marketlink.domain.users import Role, VendorProfile


def _own_profile(uow: UnitOfWork, actor: Actor) -> VendorProfile:
    actor.require(Role.VENDOR)
    vendor = uow.vendors.get_by_user(actor.user_id)
    if vendor is None:
        raise NotFound("You have no vendor profile yet.")
    return vendor


class CreateVendorProfile:
    """A vendor opens their shop; with `approval_required` (VENDOR_APPROVAL=manual) it waits
    for an admin before its services are in the catalog."""

    def __init__(
        self, uow: UnitOfWorkFactory, clock: Clock, approval_required: bool = False
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._approval_required = approval_required

    def __call__(self, actor: Actor, business_name: str, address: str) -> VendorProfile:
        actor.require(Role.VENDOR)
        with self._uow() as uow:
            if uow.vendors.get_by_user(actor.user_id) is not None:
                raise VendorProfileExists()
            vendor = VendorProfile(
                user_id=actor.user_id,
                business_name=business_name,
                address=address,
                created_at=self._clock.now(),
                is_approved=not self._approval_required,
            )
            uow.vendors.add(vendor)
            uow.commit()
        return vendor


class GetOwnVendorProfile:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor) -> VendorProfile:
        with self._uow() as uow:
            return _own_profile(uow, actor)


@dataclass(frozen=True, slots=True)
class VendorChanges:
    business_name: str | None = None
    address: str | None = None


class UpdateOwnVendorProfile:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, changes: VendorChanges) -> VendorProfile:
        with self._uow() as uow:
            vendor = _own_profile(uow, actor)
            if changes.business_name is not None:
                vendor.business_name = changes.business_name
            if changes.address is not None:
                vendor.address = changes.address
            uow.vendors.save(vendor)
            uow.commit()
        return vendor


class ListVendors:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, page: PageRequest) -> Page[VendorProfile]:
        with self._uow() as uow:
            return uow.vendors.list(page, active_only=True)


@dataclass(frozen=True, slots=True)
class VendorWithServices:
    vendor: VendorProfile
    services: list[Service]


class GetVendor:
    """A public vendor page: the vendor if open (active, approved), with its active services
    and variants."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, vendor_id: int) -> VendorWithServices:
        with self._uow() as uow:
            vendor = uow.vendors.get(vendor_id)
            if vendor is None or not vendor.is_open:
                raise NotFound("Vendor not found.")
            services = uow.services.search(
                CatalogQuery(vendor_id=vendor_id, page=PageRequest(1, 100))
            )
        return VendorWithServices(vendor, list(services.items))
