"""Services, their variants, and the public catalog search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from marketlink.adapters.sqlalchemy.engine import is_sqlite
from marketlink.adapters.sqlalchemy.pending_writes import PendingWrites
from marketlink.adapters.sqlalchemy.repositories.base import SqlRepository, fields_of, inserted_id
from marketlink.adapters.sqlalchemy.tables import service_variants, services, vendor_profiles
from marketlink.application.errors import ConcurrentUpdate
from marketlink.application.ports import CatalogQuery, CatalogSort, Offer, Page
from marketlink.domain.catalog import Service, ServiceVariant
from marketlink.domain.money import CATALOGUE_CURRENCY, Money


class ReadReservations:
    """What `reserved` held when each variant object was read in this unit of work.

    `save` writes only if the row still holds that value, so a writer working from a
    stale read (another transaction reserved or released in between) is refused rather
    than overwriting the other's change. Kept per object, not per id: a later re-read of
    the same row says nothing about what an earlier copy was based on.
    """

    def __init__(self) -> None:
        self._seen: dict[ServiceVariant, int] = {}
        self._locked: set[ServiceVariant] = set()

    def remember(self, variant: ServiceVariant, *, locked: bool = False) -> ServiceVariant:
        self._seen[variant] = variant.reserved
        if locked:
            self._locked.add(variant)
        return variant

    def read_value(self, variant: ServiceVariant) -> int | None:
        return self._seen.get(variant)

    def is_locked(self, variant: ServiceVariant) -> bool:
        """Read under a row lock this transaction still holds: nobody can have changed it."""
        return variant in self._locked

    def transaction_ended(self) -> None:
        """A commit or rollback let the row locks go."""
        self._locked.clear()


# The columns that hold the entity's field of the same name as it is (see fields_of).
_VARIANT_FIELDS = ("service_id", "name", "estimated_minutes", "stock", "reserved", "is_active")
_SERVICE_FIELDS = ("vendor_id", "name", "description", "is_active", "created_at")


def _variant(row: sa.Row[Any]) -> ServiceVariant:
    return ServiceVariant(
        id=row.id,
        # The catalogue is priced in one currency: the table has no currency column.
        price=Money(row.price, CATALOGUE_CURRENCY),
        **fields_of(row, _VARIANT_FIELDS),
    )


def _variant_values(variant: ServiceVariant) -> dict[str, Any]:
    if variant.price.currency != CATALOGUE_CURRENCY:
        raise ValueError(
            f"variants are priced in {CATALOGUE_CURRENCY}, not {variant.price.currency}"
        )
    return {**fields_of(variant, _VARIANT_FIELDS), "price": variant.price.amount}


def _service(row: sa.Row[Any], variants: Sequence[ServiceVariant] = ()) -> Service:
    return Service(id=row.id, variants=list(variants), **fields_of(row, _SERVICE_FIELDS))


def _service_values(service: Service) -> dict[str, Any]:
    return fields_of(service, _SERVICE_FIELDS)


def _has_active_variant(*conditions: sa.ColumnElement[bool]) -> sa.Exists:
    v = service_variants
    return sa.exists().where(v.c.service_id == services.c.id, v.c.is_active, *conditions)


# The cheapest active variant's price; NULL for a service without one.
_cheapest = (
    sa.select(sa.func.min(service_variants.c.price))
    .where(service_variants.c.service_id == services.c.id, service_variants.c.is_active)
    .correlate(services)
    .scalar_subquery()
)

_ORDERINGS: dict[CatalogSort, list[sa.ColumnElement[Any]]] = {
    CatalogSort.PRICE: [_cheapest.asc().nulls_last(), services.c.id],
    CatalogSort.PRICE_DESC: [_cheapest.desc().nulls_last(), services.c.id],
    CatalogSort.NAME: [sa.func.lower(services.c.name), services.c.id],
    CatalogSort.NEWEST: [services.c.created_at.desc(), services.c.id],
}


# Statements on the hot paths (booking, the catalog) are built once: SQLAlchemy then
# finds their compiled form by identity, instead of building and hashing a fresh
# statement on every request.

# One round trip on the booking's hot path; only the variant's row is locked.
_OFFER_FOR_UPDATE = (
    sa.select(
        service_variants,
        services.c.name.label("offer_service_name"),
        services.c.vendor_id.label("offer_vendor_id"),
        (services.c.is_active & vendor_profiles.c.is_active & vendor_profiles.c.is_approved).label(
            "offer_shop_open"
        ),
    )
    .join(services, services.c.id == service_variants.c.service_id)
    .join(vendor_profiles, vendor_profiles.c.id == services.c.vendor_id)
    .where(service_variants.c.id == sa.bindparam("offer_variant_id"))
    .with_for_update(of=service_variants)
)

# A catalog page's variants, in one query (the page's service ids are a list parameter).
_ACTIVE_VARIANTS_OF = (
    sa.select(service_variants)
    .where(
        service_variants.c.service_id.in_(sa.bindparam("of_services", expanding=True)),
        service_variants.c.is_active,
    )
    .order_by(service_variants.c.service_id, service_variants.c.id)
)

# The columns to set come with the parameters (`_variant_values`).
_UPDATE_VARIANT = sa.update(service_variants).where(
    service_variants.c.id == sa.bindparam("saved_id")
)
_UPDATE_VARIANT_IF_UNCHANGED = _UPDATE_VARIANT.where(
    service_variants.c.reserved == sa.bindparam("read_reserved")
)


class _VariantReader(SqlRepository):
    """A repository that reads variants: each is remembered, so that saving a stale copy fails.

    A unit of work gives its service and variant repositories one ReadReservations, so a
    variant read through either is checked alike when it is saved.
    """

    def __init__(
        self, connection: sa.Connection, writes: PendingWrites, reads: ReadReservations
    ) -> None:
        super().__init__(connection, writes)
        self._reads = reads


class SqlServiceRepository(_VariantReader):
    def add(self, service: Service) -> None:
        result = self._execute(sa.insert(services).values(_service_values(service)))
        service.id = inserted_id(result)

    def get(self, service_id: int) -> Service | None:
        row = self._execute(sa.select(services).where(services.c.id == service_id)).first()
        if row is None:
            return None
        variants = self._execute(
            sa.select(service_variants)
            .where(service_variants.c.service_id == service_id)
            .order_by(service_variants.c.id)
        )
        return _service(row, [self._reads.remember(_variant(v)) for v in variants])

    def save(self, service: Service) -> None:
        self._execute(
            sa.update(services).where(services.c.id == service.id).values(_service_values(service))
        )

    def search(self, query: CatalogQuery) -> Page[Service]:
        v = service_variants
        conditions: list[sa.ColumnElement[bool]] = [
            services.c.is_active,
            vendor_profiles.c.is_active,
            vendor_profiles.c.is_approved,
        ]
        if query.vendor_id is not None:
            conditions.append(services.c.vendor_id == query.vendor_id)
        text = (query.text or "").strip()
        if text:
            # autoescape: a `%` or `_` the client typed is matched literally.
            conditions.append(
                sa.or_(
                    services.c.name.icontains(text, autoescape=True),
                    services.c.description.icontains(text, autoescape=True),
                )
            )
        if query.min_price is not None or query.max_price is not None:
            in_range: list[sa.ColumnElement[bool]] = []
            if query.min_price is not None:
                in_range.append(v.c.price >= query.min_price)
            if query.max_price is not None:
                in_range.append(v.c.price <= query.max_price)
            conditions.append(_has_active_variant(*in_range))
        if query.available_only:
            conditions.append(_has_active_variant(v.c.reserved < v.c.stock))

        found = (
            sa.select(services)
            .join(vendor_profiles, vendor_profiles.c.id == services.c.vendor_id)
            .where(*conditions)
        )
        page = self._page(found, _ORDERINGS[query.sort], query.page, _service)
        self._attach_active_variants(page.items)
        return page

    def _attach_active_variants(self, found: Sequence[Service]) -> None:
        """Loads the variants of a whole page in one query."""
        by_id = {service.id: service for service in found}
        if not by_id:
            return
        rows = self._execute(_ACTIVE_VARIANTS_OF, {"of_services": list(by_id)})
        for row in rows:
            by_id[row.service_id].variants.append(self._reads.remember(_variant(row)))


class SqlVariantRepository(_VariantReader):
    def add(self, variant: ServiceVariant) -> None:
        result = self._execute(sa.insert(service_variants).values(_variant_values(variant)))
        variant.id = inserted_id(result)
        self._reads.remember(variant)

    def get(self, variant_id: int) -> ServiceVariant | None:
        return self._load(sa.select(service_variants).where(service_variants.c.id == variant_id))

    def get_for_update(self, variant_id: int) -> ServiceVariant | None:
        self._lock_on_sqlite(variant_id)
        query = sa.select(service_variants).where(service_variants.c.id == variant_id)
        return self._load(query.with_for_update(), locked=True)

    def get_offer_for_update(self, variant_id: int) -> Offer | None:
        self._lock_on_sqlite(variant_id)
        row = self._execute(_OFFER_FOR_UPDATE, {"offer_variant_id": variant_id}).first()
        if row is None:
            return None
        variant = self._reads.remember(_variant(row), locked=True)
        return Offer(
            variant=variant,
            service_name=row.offer_service_name,
            vendor_id=row.offer_vendor_id,
            on_sale=bool(variant.is_active and row.offer_shop_open),
        )

    def _lock_on_sqlite(self, variant_id: int) -> None:
        if is_sqlite(self._connection):
            # SQLite has no row locks and ignores FOR UPDATE. A no-op write takes its
            # database-wide write lock now (waiting for the current writer, if any) and
            # holds it until this transaction ends, which is what the port promises.
            # Done first, the read that follows also sees the latest committed row.
            self._execute(
                sa.update(service_variants)
                .where(service_variants.c.id == variant_id)
                .values(reserved=service_variants.c.reserved)
            )

    def save(self, variant: ServiceVariant) -> None:
        values = {**_variant_values(variant), "saved_id": variant.id}
        read = self._reads.read_value(variant)
        if self._reads.is_locked(variant):
            # Our row lock keeps the row as we read it: the write cannot miss, so nothing
            # waits for its answer and it can go out with the commit.
            self._writes.add(_UPDATE_VARIANT, values)
        else:
            statement = _UPDATE_VARIANT
            if read is not None:
                # Compare-and-set on what this copy was based on (a plain `get`): a write
                # over someone else's change is refused.
                statement = _UPDATE_VARIANT_IF_UNCHANGED
                values["read_reserved"] = read
            if self._execute(statement, values).rowcount != 1:
                raise ConcurrentUpdate()
        self._reads.remember(variant)

    def _load(self, query: sa.Select[Any], *, locked: bool = False) -> ServiceVariant | None:
        row = self._execute(query).first()
        return self._reads.remember(_variant(row), locked=locked) if row else None
