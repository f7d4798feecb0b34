"""The audit trail: entries appended with the unit of work's commit, read newest first.

There is no update and no delete here, on purpose (and PostgreSQL refuses both anyway).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from marketlink.adapters.sqlalchemy.repositories.base import SqlRepository, fields_of
from marketlink.adapters.sqlalchemy.tables import audit_entries
from marketlink.application.ports import Page, PageRequest
from marketlink.domain.audit import AuditEntry

_AUDIT_FIELDS = ("at", "actor_id", "action", "object_kind", "object_id", "outcome", "detail")

# inline(): no RETURNING of the new id, which a pipelined statement could not answer.
_INSERT = sa.insert(audit_entries).inline()

_NEWEST_FIRST: list[sa.ColumnElement[Any]] = [audit_entries.c.at.desc(), audit_entries.c.id.desc()]


def _entry(row: sa.Row[Any]) -> AuditEntry:
    return AuditEntry(id=row.id, **fields_of(row, _AUDIT_FIELDS))


class SqlAuditRepository(SqlRepository):
    def add(self, entry: AuditEntry) -> None:
        # Nothing reads it back in the transaction: it goes out with the commit.
        self._writes.add(_INSERT, fields_of(entry, _AUDIT_FIELDS))

    def list(self, page: PageRequest) -> Page[AuditEntry]:
        return self._page(sa.select(audit_entries), _NEWEST_FIRST, page, _entry)
