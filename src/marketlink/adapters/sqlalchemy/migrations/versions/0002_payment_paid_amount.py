"""Payments record what the gateway says was paid: the amount a refund gives back.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Both columns are nullable: a payment has no paid amount until the gateway's validation
API reports one, and rows from before this revision never had one recorded. Nullable
columns are added in place on SQLite too (no table rebuild).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("payments", sa.Column("paid_amount", sa.Numeric(12, 2), nullable=True))
    op.add_column("payments", sa.Column("paid_currency", sa.CHAR(3), nullable=True))


def downgrade() -> None:
    # SQLite drops a column in place since 3.35 (no constraint or index uses these).
    op.drop_column("payments", "paid_currency")
    op.drop_column("payments", "paid_amount")
