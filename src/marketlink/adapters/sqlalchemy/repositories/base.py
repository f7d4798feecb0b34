"""What every repository shares: its connection, conflict handling, pagination, row mapping."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable

from marketlink.adapters.sqlalchemy.db_errors import (
    conflicts_as_concurrent_update,
    is_unique_violation,
)
from marketlink.adapters.sqlalchemy.pending_writes import PendingWrites
from marketlink.application.ports import Page, PageRequest

T = TypeVar("T")


def inserted_id(result: CursorResult[Any]) -> int:
    """The integer primary key the database gave the row just inserted."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the INSERT reported no primary key")
    return int(key[0])


def fields_of(source: object, names: Iterable[str]) -> dict[str, Any]:
    """`source`'s attributes of these names: a row's columns, or an entity's fields.

    A repository names once the columns that hold an entity's field of the same name as it
    is, and both reads and writes them through this; the key, and every value converted on
    the way (enums, money), stay spelled out where the entity is mapped.
    """
    return {name: getattr(source, name) for name in names}


class SqlRepository:
    """Works inside the unit of work's transaction; never commits or rolls back itself."""

    def __init__(self, connection: sa.Connection, writes: PendingWrites) -> None:
        self._connection = connection
        self._writes = writes

    def _execute(
        self,
        statement: Executable,
        parameters: dict[str, Any] | list[dict[str, Any]] | None = None,
    ) -> CursorResult[Any]:
        self._writes.flush()  # what was written before is seen, and fails here if it must
        with conflicts_as_concurrent_update():
            return self._connection.execute(statement, parameters)

    def _savepoint(self) -> sa.NestedTransaction:
        """A savepoint, for a statement whose failure must not doom the whole transaction.

        Held writes go out first: rolling back to the savepoint must not take them along.
        """
        self._writes.flush()
        return self._connection.begin_nested()

    @contextmanager
    def _refusing_duplicates(self, error: Callable[[], Exception]) -> Iterator[None]:
        """Runs the block in a savepoint; a unique constraint it violates raises `error()`.

        The constraint, not a lookup before the write, is what keeps two racing writers
        apart; the savepoint leaves the caller's transaction usable after the refusal.
        """
        try:
            with self._savepoint():
                yield
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise error() from exc
            raise

    def _page(
        self,
        query: sa.Select[Any],
        order_by: list[sa.ColumnElement[Any]],
        page: PageRequest,
        to_entity: Callable[[sa.Row[Any]], T],
    ) -> Page[T]:
        """One page of `query` and the number of rows it has in all."""
        rows = self._execute(
            query.order_by(*order_by).limit(page.page_size).offset(page.offset)
        ).all()
        if rows and len(rows) < page.page_size:
            # A partly filled page is the last one: the total is known without counting.
            return Page([to_entity(row) for row in rows], page.offset + len(rows))
        total = self._execute(
            sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
        ).scalar_one()
        return Page([to_entity(row) for row in rows], int(total))
