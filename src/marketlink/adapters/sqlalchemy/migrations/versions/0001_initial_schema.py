"""The initial schema: accounts, catalog, orders, payments, idempotency keys, revoked tokens.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Written out in full rather than built from `tables.py`: a migration records the schema
as it was when it ran, and must not change when the application's tables do.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ORDER_STATUSES = "'pending', 'paid', 'processing', 'completed', 'cancelled', 'failed'"


def _timestamp(name: str, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("first_name", sa.String(255), nullable=False),
        sa.Column("last_name", sa.String(255), nullable=False),
        sa.Column("phone_number", sa.String(32), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        _timestamp("date_joined"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.CheckConstraint(
            "role IN ('customer', 'vendor', 'admin')", name=op.f("ck_users_role_valid")
        ),
    )

    op.create_table(
        "vendor_profiles",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("business_name", sa.String(255), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_profiles")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_vendor_profiles_user_id_users")
        ),
        sa.UniqueConstraint("user_id", name=op.f("uq_vendor_profiles_user_id")),
    )

    op.create_table(
        "services",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("vendor_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor_profiles.id"],
            name=op.f("fk_services_vendor_id_vendor_profiles"),
        ),
    )
    op.create_index(op.f("ix_services_vendor_id"), "services", ["vendor_id"])
    op.create_index(op.f("ix_services_is_active"), "services", ["is_active"])

    op.create_table(
        "service_variants",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("service_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("estimated_minutes", sa.Integer, nullable=False),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.Column("reserved", sa.Integer, nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_variants")),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_service_variants_service_id_services")
        ),
        sa.CheckConstraint(
            "reserved >= 0 AND reserved <= stock",
            name=op.f("ck_service_variants_reserved_within_stock"),
        ),
        sa.CheckConstraint(
            "stock >= 0 AND stock <= 100000", name=op.f("ck_service_variants_stock_range")
        ),
        sa.CheckConstraint(
            "price > 0 AND price <= 500000.00", name=op.f("ck_service_variants_price_range")
        ),
        sa.CheckConstraint(
            "estimated_minutes >= 1 AND estimated_minutes <= 10080",
            name=op.f("ck_service_variants_estimated_minutes_range"),
        ),
    )
    op.create_index(
        op.f("ix_service_variants_service_id_price"), "service_variants", ["service_id", "price"]
    )

    op.create_table(
        "repair_orders",
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("customer_id", sa.Integer, nullable=False),
        sa.Column("vendor_id", sa.Integer, nullable=False),
        sa.Column("variant_id", sa.Integer, nullable=False),
        sa.Column("service_name", sa.String(255), nullable=False),
        sa.Column("variant_name", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total_amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("expires_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repair_orders")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["users.id"], name=op.f("fk_repair_orders_customer_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendor_profiles.id"],
            name=op.f("fk_repair_orders_vendor_id_vendor_profiles"),
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["service_variants.id"],
            name=op.f("fk_repair_orders_variant_id_service_variants"),
        ),
        sa.CheckConstraint(
            f"status IN ({ORDER_STATUSES})", name=op.f("ck_repair_orders_status_valid")
        ),
        sa.CheckConstraint("total_amount > 0", name=op.f("ck_repair_orders_total_amount_positive")),
    )
    op.create_index(
        op.f("ix_repair_orders_customer_id_status"), "repair_orders", ["customer_id", "status"]
    )
    op.create_index(
        op.f("ix_repair_orders_vendor_id_status"), "repair_orders", ["vendor_id", "status"]
    )
    op.create_index(
        op.f("ix_repair_orders_status_expires_at"), "repair_orders", ["status", "expires_at"]
    )

    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        _timestamp("at"),
        sa.Column("from_status", sa.String(16), nullable=True),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.Integer, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["repair_orders.id"], name=op.f("fk_order_events_order_id_repair_orders")
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_order_events_actor_id_users")
        ),
        sa.CheckConstraint(
            f"from_status IN ({ORDER_STATUSES})", name=op.f("ck_order_events_from_status_valid")
        ),
        sa.CheckConstraint(
            f"to_status IN ({ORDER_STATUSES})", name=op.f("ck_order_events_to_status_valid")
        ),
        sa.CheckConstraint(
            "source IN ('api', 'webhook', 'return', 'expiry', 'admin', 'reconcile')",
            name=op.f("ck_order_events_source_valid"),
        ),
    )
    op.create_index(op.f("ix_order_events_order_id"), "order_events", ["order_id"])

    op.create_table(
        "payments",
        sa.Column("tran_id", sa.String(30), nullable=False),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("session_key", sa.String(255), nullable=False),
        sa.Column("gateway_url", sa.Text, nullable=False),
        sa.Column("val_id", sa.String(255), nullable=False),
        sa.Column("bank_tran_id", sa.String(255), nullable=False),
        sa.Column("card_type", sa.String(255), nullable=False),
        sa.Column("card_no", sa.String(255), nullable=False),
        sa.Column("risk_level", sa.Integer, nullable=True),
        sa.Column("flag", sa.String(16), nullable=True),
        sa.Column("refund_status", sa.String(16), nullable=True),
        sa.Column("refund_ref_id", sa.String(255), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("tran_id", name=op.f("pk_payments")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["repair_orders.id"], name=op.f("fk_payments_order_id_repair_orders")
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint(
            "status IN ('initiated', 'valid', 'failed', 'cancelled', 'rejected')",
            name=op.f("ck_payments_status_valid"),
        ),
        sa.CheckConstraint("flag IN ('refund', 'review')", name=op.f("ck_payments_flag_valid")),
        sa.CheckConstraint(
            "refund_status IN ('refund_pending', 'refunded', 'refund_failed')",
            name=op.f("ck_payments_refund_status_valid"),
        ),
    )
    op.create_index(op.f("ix_payments_order_id"), "payments", ["order_id"])

    op.create_table(
        "gateway_notices",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("tran_id", sa.String(255), nullable=False),
        _timestamp("received_at"),
        sa.Column("status", sa.String(255), nullable=False),
        sa.Column("result", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_notices")),
        sa.UniqueConstraint("key", name=op.f("uq_gateway_notices_key")),
        sa.CheckConstraint(
            "result IN ('processed', 'duplicate', 'rejected')",
            name=op.f("ck_gateway_notices_result_valid"),
        ),
    )
    op.create_index(op.f("ix_gateway_notices_tran_id"), "gateway_notices", ["tran_id"])

    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("body", sa.Text, nullable=True),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name=op.f("uq_idempotency_keys_user_id_key")),
    )
    op.create_index(op.f("ix_idempotency_keys_created_at"), "idempotency_keys", ["created_at"])

    op.create_table(
        "revoked_tokens",
        sa.Column("session_id", sa.String(255), nullable=False),
        _timestamp("expires_at"),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_revoked_tokens")),
    )
    op.create_index(op.f("ix_revoked_tokens_expires_at"), "revoked_tokens", ["expires_at"])


def downgrade() -> None:
    for table in (
        "revoked_tokens",
        "idempotency_keys",
        "gateway_notices",
        "payments",
        "order_events",
        "repair_orders",
        "service_variants",
        "services",
        "vendor_profiles",
        "users",
    ):
        op.drop_table(table)
