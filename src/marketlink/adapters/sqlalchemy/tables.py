"""The database schema as SQLAlchemy Core tables: one MetaData, no ORM mapping.

The domain classes stay plain; repositories map rows to entities by hand. CHECK
constraints repeat the domain's invariants so that a write which slipped past the
domain (a bug, a stale writer, a manual SQL fix) is refused by the database itself.

Changing anything here needs a new migration in `migrations/versions/`; the schema
test compares the migrated database with this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import sqlalchemy as sa

from marketlink.adapters.sqlalchemy.column_types import UtcDateTime
from marketlink.domain.catalog import MAX_ESTIMATED_MINUTES, MAX_PRICE, MAX_STOCK
from marketlink.domain.orders import EventSource, OrderStatus
from marketlink.domain.payments import NoticeResult, PaymentFlag, PaymentStatus, RefundStatus
from marketlink.domain.users import Role

# Deterministic constraint names: Alembic needs names to alter or drop constraints
# later (and SQLite's batch mode needs them to rebuild a table).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

MONEY = sa.Numeric(12, 2)
STATUS = sa.String(16)
GATEWAY_TEXT = sa.String(255)


def one_of(column: str, values: Iterable[StrEnum], name: str | None = None) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value.value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=name or f"{column}_valid")


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # Stored normalised (trimmed, lower-case), so the unique constraint is case-blind.
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("first_name", sa.String(255), nullable=False),
    sa.Column("last_name", sa.String(255), nullable=False),
    sa.Column("phone_number", sa.String(32), nullable=True),
    sa.Column("role", STATUS, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("date_joined", UtcDateTime, nullable=False),
    sa.UniqueConstraint("email"),
    one_of("role", Role),
)

vendor_profiles = sa.Table(
    "vendor_profiles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("business_name", sa.String(255), nullable=False),
    sa.Column("address", sa.String(500), nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    # False while waiting for an admin (VENDOR_APPROVAL=manual); rows from before 0004 are
    # approved by its server default.
    sa.Column("is_approved", sa.Boolean, nullable=False, server_default=sa.true()),
    # One profile per vendor user, however many requests race to create it.
    sa.UniqueConstraint("user_id"),
)

services = sa.Table(
    "services",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("vendor_id", sa.Integer, sa.ForeignKey("vendor_profiles.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_services_vendor_id", "vendor_id"),
    sa.Index("ix_services_is_active", "is_active"),
)

service_variants = sa.Table(
    "service_variants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("service_id", sa.Integer, sa.ForeignKey("services.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("price", MONEY, nullable=False),
    sa.Column("estimated_minutes", sa.Integer, nullable=False),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("reserved", sa.Integer, nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    # The capacity invariant: the last line of defence against selling a slot twice.
    sa.CheckConstraint("reserved >= 0 AND reserved <= stock", name="reserved_within_stock"),
    sa.CheckConstraint(f"stock >= 0 AND stock <= {MAX_STOCK}", name="stock_range"),
    sa.CheckConstraint(f"price > 0 AND price <= {MAX_PRICE.amount}", name="price_range"),
    sa.CheckConstraint(
        f"estimated_minutes >= 1 AND estimated_minutes <= {MAX_ESTIMATED_MINUTES}",
        name="estimated_minutes_range",
    ),
    # Leads with service_id, so it also serves the foreign key; with price it answers
    # the catalog's per-service price filters and "cheapest variant" sort from the index.
    sa.Index("ix_service_variants_service_id_price", "service_id", "price"),
)

repair_orders = sa.Table(
    "repair_orders",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("vendor_id", sa.Integer, sa.ForeignKey("vendor_profiles.id"), nullable=False),
    sa.Column("variant_id", sa.Integer, sa.ForeignKey("service_variants.id"), nullable=False),
    sa.Column("service_name", sa.String(255), nullable=False),
    sa.Column("variant_name", sa.String(255), nullable=False),
    sa.Column("status", STATUS, nullable=False),
    sa.Column("total_amount", MONEY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    one_of("status", OrderStatus),
    sa.CheckConstraint("total_amount > 0", name="total_amount_positive"),
    sa.Index("ix_repair_orders_customer_id_status", "customer_id", "status"),
    sa.Index("ix_repair_orders_vendor_id_status", "vendor_id", "status"),
    # The expiry sweep: pending orders by how long ago their reservation ran out.
    sa.Index("ix_repair_orders_status_expires_at", "status", "expires_at"),
    # The admin panel (migration 0005): the orders list, newest first, whole or by status,
    # and the dashboard's orders placed per day.
    sa.Index("ix_repair_orders_created_at", "created_at"),
    sa.Index("ix_repair_orders_status_created_at", "status", "created_at"),
)

order_events = sa.Table(
    "order_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey("repair_orders.id"), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("from_status", STATUS, nullable=True),
    sa.Column("to_status", STATUS, nullable=False),
    sa.Column("source", STATUS, nullable=False),
    sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    one_of("from_status", OrderStatus),
    one_of("to_status", OrderStatus),
    one_of("source", EventSource),
    sa.Index("ix_order_events_order_id", "order_id"),
    # The dashboard (migration 0005): moves to `paid` per day (revenue), to `cancelled`
    # in the last day (expired holds).
    sa.Index("ix_order_events_to_status_at", "to_status", "at"),
)

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("tran_id", sa.String(30), primary_key=True),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey("repair_orders.id"), nullable=False),
    sa.Column("amount", MONEY, nullable=False),
    sa.Column("currency", sa.CHAR(3), nullable=False),
    sa.Column("status", STATUS, nullable=False),
    sa.Column("session_key", GATEWAY_TEXT, nullable=False),
    sa.Column("gateway_url", sa.Text, nullable=False),
    sa.Column("val_id", GATEWAY_TEXT, nullable=False),
    sa.Column("bank_tran_id", GATEWAY_TEXT, nullable=False),
    sa.Column("card_type", GATEWAY_TEXT, nullable=False),
    sa.Column("card_no", GATEWAY_TEXT, nullable=False),
    sa.Column("risk_level", sa.Integer, nullable=True),
    sa.Column("flag", STATUS, nullable=True),
    sa.Column("refund_status", STATUS, nullable=True),
    sa.Column("refund_ref_id", GATEWAY_TEXT, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    # What the gateway's validation API says was paid (what a refund gives back); NULL
    # until it has said so. Facts reported by the gateway, so no CHECK beyond the type.
    sa.Column("paid_amount", MONEY, nullable=True),
    sa.Column("paid_currency", sa.CHAR(3), nullable=True),
    sa.CheckConstraint("amount > 0", name="amount_positive"),
    one_of("status", PaymentStatus),
    one_of("flag", PaymentFlag),
    one_of("refund_status", RefundStatus),
    sa.Index("ix_payments_order_id", "order_id"),
    # The admin panel (migration 0005): the dashboard's flagged counts and the payments
    # list filtered by flag and refund status; the list's newest-first order.
    sa.Index("ix_payments_flag_refund_status", "flag", "refund_status"),
    sa.Index("ix_payments_created_at", "created_at"),
)

# Every notice the gateway sent, kept even for a tran_id we never issued (hence no
# foreign key): the unique key is what makes a replayed notice a no-op.
gateway_notices = sa.Table(
    "gateway_notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(512), nullable=False),
    sa.Column("tran_id", GATEWAY_TEXT, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("status", GATEWAY_TEXT, nullable=False),
    sa.Column("result", STATUS, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("source", STATUS, nullable=False),
    sa.UniqueConstraint("key"),
    one_of("result", NoticeResult),
    sa.Index("ix_gateway_notices_tran_id", "tran_id"),
    # The admin panel's notices list, newest first (migration 0005).
    sa.Index("ix_gateway_notices_received_at", "received_at"),
)

# Not tied to users by a foreign key: the store is infrastructure, and a stale row only
# ever expires.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("fingerprint", sa.String(128), nullable=False),
    # NULL while the first request still runs.
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("body", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("user_id", "key"),
    sa.Index("ix_idempotency_keys_created_at", "created_at"),
)

revoked_tokens = sa.Table(
    "revoked_tokens",
    metadata,
    sa.Column("session_id", sa.String(255), primary_key=True),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Index("ix_revoked_tokens_expires_at", "expires_at"),
)

# The audit trail: append-only. The repository has no way to change or remove an entry,
# and on PostgreSQL a trigger (migration 0004) refuses UPDATE, DELETE and TRUNCATE.
# No foreign keys: an entry outlives anything it names, and writing one must never fail
# for what it refers to (a refusal of an unknown id is recorded too).
audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor_id", sa.Integer, nullable=True),  # None: the command line
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("object_kind", sa.String(32), nullable=False),
    sa.Column("object_id", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(96), nullable=False),
    sa.Column("detail", sa.String(500), nullable=False),
    sa.Index("ix_audit_entries_at", "at"),
    sa.Index("ix_audit_entries_object_kind_object_id", "object_kind", "object_id"),
    sa.Index("ix_audit_entries_actor_id", "actor_id"),
)
