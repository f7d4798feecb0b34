"""Writes whose outcome nobody reads before the commit, sent together with it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import Executable

from marketlink.adapters.sqlalchemy.db_errors import conflicts_as_concurrent_update

Parameters = dict[str, Any] | list[dict[str, Any]] | None


class PendingWrites:
    """On PostgreSQL, held back and sent with the COMMIT in one round trip (pipeline mode).

    A booking writes the variant's new count, the order and its first event, then commits:
    four round trips inside the variant lock, or one when pipelined. Only writes that cannot
    silently miss are held back (an INSERT, an UPDATE of a row this transaction has locked);
    a compare-and-set, whose row count is its answer, runs at once. Any other statement
    sends what is held first, in order, so reads see it. An error in a held write surfaces
    from `commit()`, as the same SQLAlchemy exception it would have raised on its own.
    On SQLite, where a call crosses no network, every write runs at once.
    """

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        self._held: list[tuple[Executable, Parameters]] = []
        self._pipeline = _pipeline_of(connection)

    def add(self, statement: Executable, parameters: Parameters = None) -> None:
        if self._pipeline is None:
            self._run(statement, parameters)
        else:
            self._held.append((statement, parameters))

    def flush(self) -> None:
        """Runs what is held, one statement at a time; cheap when nothing is."""
        if not self._held:
            return
        held, self._held = self._held, []
        for statement, parameters in held:
            self._run(statement, parameters)

    def discard(self) -> None:
        self._held.clear()

    def commit(self) -> None:
        held, self._held = self._held, []
        if not held or self._pipeline is None:
            with conflicts_as_concurrent_update():
                self._connection.commit()
            return
        # The statements are queued, not answered, until the COMMIT syncs the pipeline;
        # an error in any of them is raised there, through SQLAlchemy's commit.
        with conflicts_as_concurrent_update(), self._pipeline():
            for statement, parameters in held:
                self._connection.execute(statement, parameters)
            self._connection.commit()

    def _run(self, statement: Executable, parameters: Parameters) -> None:
        with conflicts_as_concurrent_update():
            self._connection.execute(statement, parameters)


def _pipeline_of(
    connection: sa.Connection,
) -> Callable[[], AbstractContextManager[Any]] | None:
    if connection.dialect.name != "postgresql":
        return None
    pipeline: Callable[[], AbstractContextManager[Any]] | None = getattr(
        connection.connection.driver_connection, "pipeline", None
    )
    return pipeline
