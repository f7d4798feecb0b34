"""The audit trail's table: entries appended with the commit, read newest first, never edited."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from marketlink.adapters.sqlalchemy.tables import audit_entries, vendor_profiles
from marketlink.application.ports import PageRequest
from marketlink.domain.audit import DONE, AuditEntry, refused
from tests.integration.conftest import T0, Builder

pytestmark = pytest.mark.integration


def _entry(minutes: int, **fields: object) -> AuditEntry:
    values: dict[str, object] = {
        "at": T0 + timedelta(minutes=minutes),
        "actor_id": 7,
        "action": "user.deactivate",
        "object_kind": "user",
        "object_id": "42",
        "outcome": DONE,
        "detail": "",
        **fields,
    }
    return AuditEntry(**values)  # type: ignore[arg-type]


def test_entries_are_written_with_the_commit_and_listed_newest_first(uow):
    with uow() as work:
        work.audit.add(_entry(0))
        work.audit.add(_entry(2, actor_id=None, action="user.promote", detail="from the CLI"))
        work.audit.add(_entry(1, outcome=refused("not_found"), object_id="999"))
        work.commit()

    with uow() as work:
        page = work.audit.list(PageRequest(page=1, page_size=2))
        rest = work.audit.list(PageRequest(page=2, page_size=2))

    assert page.total == 3
    newest, middle = page.items
    assert (newest.action, newest.actor_id, newest.detail) == ("user.promote", None, "from the CLI")
    assert newest.at == T0 + timedelta(minutes=2) and newest.at.tzinfo is not None
    assert (middle.outcome, middle.object_id) == ("refused: not_found", "999")
    assert [e.at for e in rest.items] == [T0]
    assert len({e.id for e in [*page.items, *rest.items]}) == 3


def test_an_entry_of_a_transaction_rolled_back_is_not_kept(uow):
    with uow() as work:
        work.audit.add(_entry(0))
    with uow() as work:
        assert work.audit.list(PageRequest()).total == 0


def test_the_repository_offers_no_way_to_change_or_remove_an_entry(uow):
    with uow() as work:
        public = {name for name in dir(work.audit) if not name.startswith("_")}
    assert public == {"add", "list"}


def test_existing_vendor_profiles_are_approved_by_default(clean_engine, build: Builder):
    user = build.user()
    with clean_engine.begin() as connection:  # a row written without the new column
        connection.execute(
            sa.insert(vendor_profiles).values(
                user_id=user.id, business_name="Old", address="Here", is_active=True, created_at=T0
            )
        )
        approved = connection.execute(sa.select(vendor_profiles.c.is_approved)).scalar_one()
    assert approved is True


# The append-only trigger is PostgreSQL's (SQLite has none): this test runs there only.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(
    "statement",
    [
        sa.update(audit_entries).values(outcome="done"),
        sa.update(audit_entries).where(audit_entries.c.id == -1).values(detail="x"),
        sa.delete(audit_entries),
        sa.text("TRUNCATE audit_entries"),
    ],
    ids=["update", "update-of-nothing", "delete", "truncate"],
)
def test_postgresql_refuses_every_update_delete_and_truncate(uow, clean_engine, statement):
    with uow() as work:
        work.audit.add(_entry(0, outcome=refused("invalid_transition")))
        work.commit()

    with pytest.raises(DBAPIError, match="append-only"), clean_engine.begin() as connection:
        connection.execute(statement)

    with uow() as work:
        (entry,) = work.audit.list(PageRequest()).items
    assert entry.outcome == "refused: invalid_transition"
