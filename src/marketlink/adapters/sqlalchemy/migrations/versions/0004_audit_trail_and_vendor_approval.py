"""The admin's audit trail (append-only), and vendor approval.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

`audit_entries` records every admin action and its outcome. Nobody edits it: the
application has no statement that would, and on PostgreSQL a trigger refuses UPDATE,
DELETE and TRUNCATE whoever sends them (only a superuser who switches triggers off, as
the test suite does to empty its database, gets past it). SQLite, the embedded
single-user default, relies on the application alone.

`vendor_profiles.is_approved`: with VENDOR_APPROVAL=manual a new shop waits for an
admin. Every profile that exists already is approved (the server default), so nothing
changes for a database in use. Both are added in place on SQLite (no table rebuild).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_APPEND_ONLY_FUNCTION = """
CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'The audit trail is append-only: % refused.', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

# Statement triggers: they fire even when no row matches (a DELETE of nothing is refused
# too), and TRUNCATE has no row triggers.
_APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_entries_append_only
BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_entries
FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()
"""


def upgrade() -> None:
    op.add_column(
        "vendor_profiles",
        sa.Column("is_approved", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer, nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_kind", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(96), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index(op.f("ix_audit_entries_at"), "audit_entries", ["at"])
    op.create_index(
        op.f("ix_audit_entries_object_kind_object_id"),
        "audit_entries",
        ["object_kind", "object_id"],
    )
    op.create_index(op.f("ix_audit_entries_actor_id"), "audit_entries", ["actor_id"])
    if op.get_context().dialect.name == "postgresql":
        op.execute(_APPEND_ONLY_FUNCTION)
        op.execute(_APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION audit_entries_append_only()")
    op.drop_index(op.f("ix_audit_entries_actor_id"), table_name="audit_entries")
    op.drop_index(op.f("ix_audit_entries_object_kind_object_id"), table_name="audit_entries")
    op.drop_index(op.f("ix_audit_entries_at"), table_name="audit_entries")
    op.drop_table("audit_entries")
    # SQLite drops a column in place since 3.35 (no constraint or index uses it).
    op.drop_column("vendor_profiles", "is_approved")
