"""Indexes for the admin panel's dashboard and lists.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

What the read model (adapters/sqlalchemy/admin_queries.py) asks of a large database:
orders newest first, whole or of one status, and per day of creation; history moves to
`paid` and `cancelled` by time (revenue per day, expired holds); payments by flag and
refund status, and newest first; notices newest first.

Plain CREATE INDEX, inside the migration's transaction: each blocks writes to its table
while it builds (a second or so for 100,000 orders on PostgreSQL).
"""

from __future__ import annotations

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

INDEXES = (
    ("ix_repair_orders_created_at", "repair_orders", ["created_at"]),
    ("ix_repair_orders_status_created_at", "repair_orders", ["status", "created_at"]),
    ("ix_order_events_to_status_at", "order_events", ["to_status", "at"]),
    ("ix_payments_flag_refund_status", "payments", ["flag", "refund_status"]),
    ("ix_payments_created_at", "payments", ["created_at"]),
    ("ix_gateway_notices_received_at", "gateway_notices", ["received_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
