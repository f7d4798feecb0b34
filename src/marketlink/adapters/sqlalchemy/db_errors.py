"""Telling database errors apart, the same way on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError

from marketlink.application.errors import ConcurrentUpdate

# sqlite3 extended result codes (sqlite3.h).
_SQLITE_CONSTRAINT_PRIMARYKEY = 1555
_SQLITE_CONSTRAINT_UNIQUE = 2067
_SQLITE_BUSY = 5
_SQLITE_BUSY_SNAPSHOT = 517

# PostgreSQL SQLSTATEs.
_PG_UNIQUE_VIOLATION = "23505"
_PG_SERIALIZATION_FAILURE = "40001"
_PG_DEADLOCK_DETECTED = "40P01"


def is_unique_violation(exc: IntegrityError) -> bool:
    """A duplicate key, as opposed to a CHECK, NOT NULL or foreign key failure."""
    original = exc.orig
    if getattr(original, "sqlstate", None) == _PG_UNIQUE_VIOLATION:
        return True
    code = getattr(original, "sqlite_errorcode", None)
    return code in (_SQLITE_CONSTRAINT_UNIQUE, _SQLITE_CONSTRAINT_PRIMARYKEY)


def is_write_conflict(exc: DBAPIError) -> bool:
    """Another transaction's write made ours impossible; running it again may succeed.

    On SQLite (WAL), a transaction that read before another one committed can no longer
    write: its snapshot is stale (SQLITE_BUSY_SNAPSHOT), and waiting does not help. One
    that read while another is still writing is refused at once, without waiting out
    busy_timeout (SQLITE_BUSY: its snapshot would be stale by the time it could write).
    A transaction whose first statement writes (a registration's INSERT, a booking's lock)
    does wait. On PostgreSQL, a deadlock or a serialization failure.
    """
    original = exc.orig
    if getattr(original, "sqlstate", None) in (_PG_SERIALIZATION_FAILURE, _PG_DEADLOCK_DETECTED):
        return True
    return getattr(original, "sqlite_errorcode", None) in (_SQLITE_BUSY, _SQLITE_BUSY_SNAPSHOT)


@contextmanager
def conflicts_as_concurrent_update() -> Iterator[None]:
    """Turns a write conflict into the port's ConcurrentUpdate ("try again")."""
    try:
        yield
    except DBAPIError as exc:
        if is_write_conflict(exc):
            raise ConcurrentUpdate() from exc
        raise
