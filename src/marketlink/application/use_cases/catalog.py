"""The catalog: vendors publish services and variants; anyone may browse what is active."""

from __future__ import annotations

from dataclasses import dataclass

from marketlink.application.actors import Actor
from marketlink.application.errors import InconsistentState, NotFound, VendorProfileRequired
from marketlink.application.ports import (
    CatalogQuery,
    Clock,
    Page,
    UnitOfWork,
    UnitOfWorkFactory,
)
from marketlink.domain.catalog import Service, ServiceVariant
from marketlink.domain.money import Money
from marketlink.domain.users import Role, VendorProfile


def _own_vendor_profile(uow: UnitOfWork, actor: Actor) -> VendorProfile:
    actor.require(Role.VENDOR)
    vendor = uow.vendors.get_by_user(actor.user_id)
    if vendor is None:
        raise VendorProfileRequired()
    return vendor


def _service_to_manage(uow: UnitOfWork, actor: Actor, service_id: int) -> Service:
    """The service if the actor owns it (or is an admin); another vendor's is simply not found."""
    actor.require(Role.VENDOR, Role.ADMIN)
    service = uow.services.get(service_id)
    if service is None:
        raise NotFound("Service not found.")
    if actor.is_admin:
        return service
    vendor = uow.vendors.get_by_user(actor.user_id)
    if vendor is None or vendor.id != service.vendor_id:
        raise NotFound("Service not found.")
    return service


def _variant_to_manage(
    uow: UnitOfWork, actor: Actor, variant_id: int, *, for_update: bool = False
) -> ServiceVariant:
    actor.require(Role.VENDOR, Role.ADMIN)
    variant = (
        uow.variants.get_for_update(variant_id) if for_update else uow.variants.get(variant_id)
    )
    if variant is None:
        raise NotFound("Variant not found.")
    try:
        _service_to_manage(uow, actor, variant.service_id)
    except NotFound:
        raise NotFound("Variant not found.") from None
    return variant


class PublishService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def __call__(self, actor: Actor, name: str, description: str = "") -> Service:
        with self._uow() as uow:
            vendor = _own_vendor_profile(uow, actor)
            if vendor.id is None:
                raise InconsistentState("A stored vendor profile has no id.")
            service = Service(
                vendor_id=vendor.id,
                name=name,
                description=description,
                created_at=self._clock.now(),
            )
            uow.services.add(service)
            uow.commit()
        return service


@dataclass(frozen=True, slots=True)
class ServiceChanges:
    name: str | None = None
    description: str | None = None
    is_active: bool | None = None


class UpdateService:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, service_id: int, changes: ServiceChanges) -> Service:
        with self._uow() as uow:
            service = _service_to_manage(uow, actor, service_id)
            if changes.name is not None:
                service.name = changes.name
            if changes.description is not None:
                service.description = changes.description
            if changes.is_active is not None:
                service.is_active = changes.is_active
            uow.services.save(service)
            uow.commit()
        return service


class DeactivateService:
    """Soft delete: orders keep pointing at the service, the catalog stops showing it."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, service_id: int) -> None:
        with self._uow() as uow:
            service = _service_to_manage(uow, actor, service_id)
            service.is_active = False
            uow.services.save(service)
            uow.commit()


@dataclass(frozen=True, slots=True)
class NewVariant:
    name: str
    price: Money
    estimated_minutes: int
    stock: int


class AddVariant:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, service_id: int, new: NewVariant) -> ServiceVariant:
        with self._uow() as uow:
            service = _service_to_manage(uow, actor, service_id)
            if actor.is_admin:
                # Variants are the shop's offer: only the owning vendor adds them.
                actor.require(Role.VENDOR)
            if service.id is None:
                raise InconsistentState("A stored service has no id.")
            variant = ServiceVariant(
                service_id=service.id,
                name=new.name,
                price=new.price,
                estimated_minutes=new.estimated_minutes,
                stock=new.stock,
            )
            uow.variants.add(variant)
            uow.commit()
        return variant


@dataclass(frozen=True, slots=True)
class VariantChanges:
    name: str | None = None
    price: Money | None = None
    estimated_minutes: int | None = None
    stock: int | None = None
    is_active: bool | None = None


class UpdateVariant:
    """Changes a variant under its row lock, so a stock change cannot race a booking."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, variant_id: int, changes: VariantChanges) -> ServiceVariant:
        with self._uow() as uow:
            variant = _variant_to_manage(uow, actor, variant_id, for_update=True)
            if changes.name is not None:
                variant.name = changes.name
            if changes.price is not None:
                variant.change_price(changes.price)
            if changes.estimated_minutes is not None:
                variant.change_estimated_minutes(changes.estimated_minutes)
            if changes.stock is not None:
                variant.change_stock(changes.stock)
            if changes.is_active is not None:
                variant.is_active = changes.is_active
            uow.variants.save(variant)
            uow.commit()
        return variant


class DeactivateVariant:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, variant_id: int) -> None:
        with self._uow() as uow:
            variant = _variant_to_manage(uow, actor, variant_id, for_update=True)
            variant.is_active = False
            uow.variants.save(variant)
            uow.commit()


class SearchCatalog:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, query: CatalogQuery) -> Page[Service]:
        with self._uow() as uow:
            return uow.services.search(query)


def _is_public(uow: UnitOfWork, service: Service) -> bool:
    vendor = uow.vendors.get(service.vendor_id)
    return service.is_active and vendor is not None and vendor.is_open


class GetService:
    """A public service page; an inactive service or vendor is not found."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, service_id: int) -> Service:
        with self._uow() as uow:
            service = uow.services.get(service_id)
            if service is None or not _is_public(uow, service):
                raise NotFound("Service not found.")
        service.variants = [v for v in service.variants if v.is_active]
        return service


class GetVariant:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, variant_id: int) -> ServiceVariant:
        with self._uow() as uow:
            variant = uow.variants.get(variant_id)
            service = uow.services.get(variant.service_id) if variant else None
            if variant is None or not variant.is_active or service is None:
                raise NotFound("Variant not found.")
            if not _is_public(uow, service):
                raise NotFound("Variant not found.")
        return variant
