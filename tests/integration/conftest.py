"""Engines, units of work and a data builder for the SQLAlchemy adapter's tests."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from marketlink.adapters.sqlalchemy.engine import create_engine_for
from marketlink.adapters.sqlalchemy.tables import metadata
from marketlink.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from marketlink.domain.catalog import Service, ServiceVariant
from marketlink.domain.money import Money
from marketlink.domain.orders import RepairOrder
from marketlink.domain.payments import Payment
from marketlink.domain.users import Role, User, VendorProfile

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def unique(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = create_engine_for(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_engine(engine: sa.Engine) -> sa.Engine:
    """The engine, on a database emptied first: tests that list or count see only theirs."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # The audit trail's trigger refuses every DELETE (migration 0004); a superuser
            # may switch triggers off for this transaction, as the tests' user is.
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
    return engine


UnitOfWorkFactory = Callable[[], SqlAlchemyUnitOfWork]


def uow_factory(engine: sa.Engine) -> UnitOfWorkFactory:
    """A fresh unit of work on `engine` per call, as the container's `uow` provides them."""
    return functools.partial(SqlAlchemyUnitOfWork, engine)


@pytest.fixture
def uow(clean_engine: sa.Engine) -> UnitOfWorkFactory:
    """The unit-of-work factory, as the container provides it."""
    return uow_factory(clean_engine)


class Builder:
    """Creates committed rows through the repositories, one unit of work per call."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow

    def user(self, role: Role = Role.CUSTOMER, *, email: str | None = None) -> User:
        user = User(
            email=email or f"{unique('user-')}@example.com",
            password_hash="hash",
            first_name="Rahim",
            last_name="Uddin",
            role=role,
            date_joined=T0,
        )
        with self.uow() as uow:
            uow.users.add(user)
            uow.commit()
        return user

    def vendor(self, *, is_active: bool = True, is_approved: bool = True) -> VendorProfile:
        user = self.user(Role.VENDOR)
        assert user.id is not None
        vendor = VendorProfile(
            user.id, "Dhaka Motors", "Mirpur 10", T0, is_active=is_active, is_approved=is_approved
        )
        with self.uow() as uow:
            uow.vendors.add(vendor)
            uow.commit()
        return vendor

    def service(
        self,
        vendor: VendorProfile,
        name: str = "Brake repair",
        *,
        description: str = "pads and discs",
        is_active: bool = True,
        created_at: datetime = T0,
    ) -> Service:
        assert vendor.id is not None
        service = Service(vendor.id, name, created_at, description, is_active)
        with self.uow() as uow:
            uow.services.add(service)
            uow.commit()
        return service

    def variant(
        self,
        service: Service,
        price: str = "1500.00",
        *,
        stock: int = 2,
        reserved: int = 0,
        is_active: bool = True,
        name: str = "Front",
    ) -> ServiceVariant:
        assert service.id is not None
        variant = ServiceVariant(
            service.id, name, Money.of(price), 60, stock, reserved, is_active=is_active
        )
        with self.uow() as uow:
            uow.variants.add(variant)
            uow.commit()
        return variant

    def bookable(self, price: str = "1500.00", stock: int = 2) -> ServiceVariant:
        return self.variant(self.service(self.vendor()), price, stock=stock)

    def order(
        self,
        customer: User | None = None,
        variant: ServiceVariant | None = None,
        *,
        now: datetime = T0,
        expires_at: datetime | None = None,
    ) -> RepairOrder:
        customer = customer or self.user()
        variant = variant or self.bookable()
        assert customer.id is not None and variant.id is not None
        with self.uow() as uow:
            service = uow.services.get(variant.service_id)
            assert service is not None
            order = RepairOrder.place(
                customer_id=customer.id,
                vendor_id=service.vendor_id,
                variant_id=variant.id,
                service_name=service.name,
                variant_name=variant.name,
                price=variant.price,
                now=now,
                expires_at=expires_at or now + timedelta(minutes=30),
            )
            uow.orders.add(order)
            uow.commit()
        return order

    def payment(
        self,
        order: RepairOrder,
        *,
        created_at: datetime = T0,
        session_key: str = "SESSION",
        **fields: object,
    ) -> Payment:
        payment = Payment(
            tran_id=unique("ML"),
            order_id=order.id,
            amount=order.total_amount,
            created_at=created_at,
            updated_at=created_at,
            session_key=session_key,
            **fields,  # type: ignore[arg-type]
        )
        with self.uow() as uow:
            uow.payments.add(payment)
            uow.commit()
        return payment


@pytest.fixture
def build(uow: UnitOfWorkFactory) -> Builder:
    return Builder(uow)
