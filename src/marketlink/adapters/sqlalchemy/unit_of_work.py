"""The unit of work: one connection, one transaction, the repositories on it."""

from __future__ import annotations

from typing import Self

import sqlalchemy as sa

from marketlink.adapters.sqlalchemy.repositories import (
    ReadReservations,
    SqlOrderRepository,
    SqlPaymentRepository,
    SqlServiceRepository,
    SqlUserRepository,
    SqlVariantRepository,
    SqlVendorRepository,
)


class SqlAlchemyUnitOfWork:
    """A transaction that rolls back unless `commit()` was called; also its own factory.

    Use cases receive a factory and write `with self._uow() as uow:`. Calling an
    instance returns a fresh, unopened unit of work on the same engine, so a single
    instance can be shared by every thread (the container holds it as a singleton):
    only the fresh ones ever open a connection.
    """

    users: SqlUserRepository
    vendors: SqlVendorRepository
    services: SqlServiceRepository
    variants: SqlVariantRepository
    orders: SqlOrderRepository
    payments: SqlPaymentRepository

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._connection: sa.Connection | None = None

    def __call__(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self._engine)

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already open; call it for a fresh one")
        connection = self._engine.connect()
        try:
            connection.begin()
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        reads = ReadReservations()
        self.users = SqlUserRepository(connection)
        self.vendors = SqlVendorRepository(connection)
        self.services = SqlServiceRepository(connection, reads)
        self.variants = SqlVariantRepository(connection, reads)
        self.orders = SqlOrderRepository(connection)
        self.payments = SqlPaymentRepository(connection)
        return self

    def __exit__(self, *exc_info: object) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            # Whatever was not committed is dropped, whether the block failed or not.
            if connection.in_transaction():
                connection.rollback()
        finally:
            connection.close()

    def commit(self) -> None:
        self._open_connection().commit()

    def rollback(self) -> None:
        self._open_connection().rollback()

    def _open_connection(self) -> sa.Connection:
        if self._connection is None:
            raise RuntimeError("this unit of work is not open")
        return self._connection
