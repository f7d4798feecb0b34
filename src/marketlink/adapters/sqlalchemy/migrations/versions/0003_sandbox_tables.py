"""The offline gateway sandbox's tables: its sessions, the customer's attempts, refunds.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08

They belong to `marketlink.sandbox` (its `state` module describes them, and the schema
test compares the two), but are made here, by `marketlink migrate`, like every other
table: the sandbox used to create them itself on first use. A database where it did
keeps them and their rows; its attempts table gains the currency columns, empty for the
old rows, which the sandbox then reports as it did (in their own currency, rate 1).

Written out in full, as 0001 is: the migration must not change when the sandbox does.
Made in every environment, production included, where they stay empty (the sandbox is
never served there).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

_CURRENCY_COLUMNS = (("currency_type", 8), ("currency_amount", 32), ("currency_rate", 16))


def _text(name: str, length: int | None = None) -> sa.Column[str]:
    return sa.Column(name, sa.String(length) if length else sa.Text, nullable=False)


def _seq(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("seq", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f(f"pk_{table}")),
    ]


def _values() -> list[sa.Column[str]]:
    return [_text(f"value_{letter}") for letter in "abcd"]


def upgrade() -> None:
    existing = (
        set() if context.is_offline_mode() else set(sa.inspect(op.get_bind()).get_table_names())
    )

    if "sandbox_sessions" not in existing:
        op.create_table(
            "sandbox_sessions",
            *_seq("sandbox_sessions"),
            _text("session_key", 32),
            _text("tran_id", 64),
            _text("amount", 32),
            _text("currency", 8),
            _text("success_url"),
            _text("fail_url"),
            _text("cancel_url"),
            _text("ipn_url"),
            *_values(),
            _text("cus_name"),
            _text("cus_email"),
            _text("cus_phone"),
            _text("product_name"),
            _text("created_at"),
            _text("outcome", 16),
            sa.UniqueConstraint("session_key", name=op.f("uq_sandbox_sessions_session_key")),
        )
        op.create_index(op.f("ix_sandbox_sessions_tran_id"), "sandbox_sessions", ["tran_id"])

    if "sandbox_transactions" in existing:
        for name, length in _CURRENCY_COLUMNS:
            op.add_column(
                "sandbox_transactions",
                sa.Column(name, sa.String(length), nullable=False, server_default=""),
            )
    else:
        op.create_table(
            "sandbox_transactions",
            *_seq("sandbox_transactions"),
            _text("session_key", 32),
            _text("tran_id", 64),
            _text("status", 16),
            _text("amount", 32),
            _text("currency", 8),
            _text("tran_date"),
            _text("val_id", 64),
            _text("bank_tran_id", 64),
            _text("store_amount"),
            _text("card_type"),
            _text("card_no"),
            _text("card_issuer"),
            _text("card_brand"),
            _text("card_sub_brand"),
            _text("card_issuer_country"),
            _text("card_issuer_country_code"),
            _text("risk_level"),
            _text("risk_title"),
            _text("error"),
            *_values(),
            _text("validated_on"),
            *(_text(name, length) for name, length in _CURRENCY_COLUMNS),
            # A session is paid once.
            sa.UniqueConstraint("session_key", name=op.f("uq_sandbox_transactions_session_key")),
        )
        for column in ("val_id", "bank_tran_id"):
            op.create_index(
                op.f(f"ix_sandbox_transactions_{column}"), "sandbox_transactions", [column]
            )

    if "sandbox_refunds" not in existing:
        op.create_table(
            "sandbox_refunds",
            *_seq("sandbox_refunds"),
            _text("refund_ref_id", 32),
            _text("bank_tran_id", 64),
            _text("tran_id", 64),
            _text("amount"),
            _text("remarks"),
            _text("initiated_on"),
            _text("refunded_on"),
            _text("refund_trans_id"),
            _text("refe_id"),
            sa.UniqueConstraint("refund_ref_id", name=op.f("uq_sandbox_refunds_refund_ref_id")),
            # One refund per payment.
            sa.UniqueConstraint("bank_tran_id", name=op.f("uq_sandbox_refunds_bank_tran_id")),
        )


def downgrade() -> None:
    op.drop_table("sandbox_refunds")
    op.drop_index(op.f("ix_sandbox_transactions_bank_tran_id"), table_name="sandbox_transactions")
    op.drop_index(op.f("ix_sandbox_transactions_val_id"), table_name="sandbox_transactions")
    op.drop_table("sandbox_transactions")
    op.drop_index(op.f("ix_sandbox_sessions_tran_id"), table_name="sandbox_sessions")
    op.drop_table("sandbox_sessions")
