"""The unit of work: one connection, one transaction, the repositories on it."""

from __future__ import annotations

from typing import Self

import sqlalchemy as sa

from marketlink.adapters.sqlalchemy.pending_writes import PendingWrites
from marketlink.adapters.sqlalchemy.repositories import (
    ReadReservations,
    SqlAuditRepository,
    SqlOrderRepository,
    SqlPaymentRepository,
    SqlServiceRepository,
    SqlUserRepository,
    SqlVariantRepository,
    SqlVendorRepository,
)


class SqlAlchemyUnitOfWork:
    """A transaction that rolls back unless `commit()` was called.

    Use cases receive a factory of these (the container's `uow`, a `providers.Factory`
    handed over as a provider) and write `with self._uow() as uow:`: every call makes a
    fresh, unopened unit of work on the shared engine, so no two threads share one.
    """

    users: SqlUserRepository
    vendors: SqlVendorRepository
    services: SqlServiceRepository
    variants: SqlVariantRepository
    orders: SqlOrderRepository
    payments: SqlPaymentRepository
    audit: SqlAuditRepository

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._connection: sa.Connection | None = None
        self._writes: PendingWrites | None = None
        self._reads = ReadReservations()

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already open; take a fresh one")
        connection = self._engine.connect()
        try:
            connection.begin()
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        writes = self._writes = PendingWrites(connection)
        reads = self._reads = ReadReservations()
        self.users = SqlUserRepository(connection, writes)
        self.vendors = SqlVendorRepository(connection, writes)
        self.services = SqlServiceRepository(connection, writes, reads)
        self.variants = SqlVariantRepository(connection, writes, reads)
        self.orders = SqlOrderRepository(connection, writes)
        self.payments = SqlPaymentRepository(connection, writes)
        self.audit = SqlAuditRepository(connection, writes)
        return self

    def __exit__(self, *exc_info: object) -> None:
        connection, self._connection = self._connection, None
        self._writes = None
        if connection is None:
            return
        try:
            # Whatever was not committed is dropped, whether the block failed or not.
            if connection.in_transaction():
                connection.rollback()
        finally:
            connection.close()

    def commit(self) -> None:
        self._open_writes().commit()
        self._reads.transaction_ended()

    def rollback(self) -> None:
        self._open_writes().discard()
        self._open_connection().rollback()
        self._reads.transaction_ended()

    def _open_writes(self) -> PendingWrites:
        if self._writes is None:
            raise RuntimeError("this unit of work is not open")
        return self._writes

    def _open_connection(self) -> sa.Connection:
        if self._connection is None:
            raise RuntimeError("this unit of work is not open")
        return self._connection
