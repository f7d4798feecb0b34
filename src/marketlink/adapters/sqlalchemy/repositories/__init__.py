"""Repositories: the application's ports on one SQLAlchemy Connection, rows mapped by hand."""

from marketlink.adapters.sqlalchemy.repositories.audit import SqlAuditRepository
from marketlink.adapters.sqlalchemy.repositories.catalog import (
    ReadReservations,
    SqlServiceRepository,
    SqlVariantRepository,
)
from marketlink.adapters.sqlalchemy.repositories.orders import SqlOrderRepository
from marketlink.adapters.sqlalchemy.repositories.payments import SqlPaymentRepository
from marketlink.adapters.sqlalchemy.repositories.users import (
    SqlUserRepository,
    SqlVendorRepository,
)

__all__ = [
    "ReadReservations",
    "SqlAuditRepository",
    "SqlOrderRepository",
    "SqlPaymentRepository",
    "SqlServiceRepository",
    "SqlUserRepository",
    "SqlVariantRepository",
    "SqlVendorRepository",
]
