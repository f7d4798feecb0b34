"""Engines for the two databases MarketLink runs on: a SQLite file, or PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState, StaticPool

SQLITE_BUSY_TIMEOUT_MS = 30_000
DEFAULT_POOL_SIZE = 10
MAX_OVERFLOW = 10


def database_url(url: str) -> URL:
    """The URL with a driver we ship: plain `postgres://` or `postgresql://` means psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


# A statement's parameters carry password hashes, e-mails and gateway ids: an error (and
# its log line) names the statement, never the values.
HIDE_PARAMETERS = True


def create_engine_for(url: str, pool_size: int | None = None) -> Engine:
    parsed = database_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, pool_size)
    return _server_engine(parsed, pool_size)


def is_sqlite(engine_or_connection: sa.Engine | sa.Connection) -> bool:
    return engine_or_connection.dialect.name == "sqlite"


def _server_engine(url: URL, pool_size: int | None) -> Engine:
    options: dict[str, Any] = {}
    postgresql = url.get_backend_name() == "postgresql"
    if postgresql:
        options["connect_args"] = {"connect_timeout": 10, "application_name": "marketlink"}
    engine = sa.create_engine(
        url,
        # A connection the server or a proxy dropped while idle is replaced, not handed out:
        # on PostgreSQL, pinged only when it has been idle (below), elsewhere always.
        pool_pre_ping=not postgresql,
        pool_size=pool_size or DEFAULT_POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        pool_timeout=30,
        pool_recycle=1800,
        hide_parameters=HIDE_PARAMETERS,
        **options,
    )
    if postgresql:
        _begin_when_asked(engine)
        _ping_when_idle(engine)
    return engine


# A pooled connection idle for longer than this is pinged before it is handed out.
PING_IF_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pre-ping, skipped for a connection that was in use a moment ago.

    The pre-ping is a round trip on every checkout: a tenth of a catalog request's CPU
    time here, and one more wait before a booking's transaction. A connection the server
    or a proxy dropped has been idle; one returned within the last second is in steady
    use. A failed ping makes the pool discard the connection and hand out another.
    """

    @event.listens_for(engine, "checkin")
    def _note_return(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        # `info` goes with the DBAPI connection: a new one has no return time, needs no ping.
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < PING_IF_IDLE_SECONDS:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as exc:  # whatever the driver raises for a dead connection
            raise DisconnectionError("the pooled connection no longer answers") from exc


def _begin_when_asked(engine: Engine) -> None:
    """BEGIN is sent when the unit of work opens, not with its first statement.

    psycopg otherwise sends BEGIN just before the first query, a round trip of its own
    that, on the booking path, falls inside the variant lock. The driver is switched to
    autocommit and the transaction begun by hand, as for SQLite below; commit and
    rollback still end it, since psycopg sends them whenever a transaction is open.
    """

    @event.listens_for(engine, "connect")
    def _driver_autocommit(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.autocommit = True

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    @event.listens_for(engine, "reset")
    def _end_transaction(
        dbapi_connection: Any, _record: ConnectionPoolEntry, state: PoolResetState
    ) -> None:
        # SQLAlchemy skips its rollback on return when it counts the transaction as ended,
        # as after a failed COMMIT; with writes pipelined before it, the server may still
        # hold the transaction open and aborted. psycopg sends nothing when none is open.
        if not state.terminate_only:  # a connection being closed needs no clean-up
            dbapi_connection.rollback()


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL; None for another database or an in-memory one."""
    parsed = database_url(url)
    database = parsed.database
    if (
        parsed.get_backend_name() != "sqlite"
        or not database
        or _is_memory(parsed)
        or parsed.query.get("uri")
    ):
        return None
    return Path(database).expanduser()


def _is_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


def _sqlite_engine(url: URL, pool_size: int | None) -> Engine:
    memory = _is_memory(url)
    if memory:
        # One shared connection, or every checkout would see its own empty database.
        engine = sa.create_engine(
            url,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False},
            hide_parameters=HIDE_PARAMETERS,
        )
    else:
        # No folder is created here: a database file that cannot be opened must show as
        # down (readiness), not be replaced by an empty one. `upgrade_database` creates it.
        engine = sa.create_engine(
            url,
            pool_size=pool_size or DEFAULT_POOL_SIZE,
            max_overflow=MAX_OVERFLOW,
            hide_parameters=HIDE_PARAMETERS,
        )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # The sqlite3 module's legacy mode would not BEGIN before a SELECT or a SAVEPOINT:
        # reads would not be repeatable and a released savepoint could commit on its own.
        # We switch its transaction handling off and emit BEGIN ourselves (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            # Wait for a writer to finish rather than fail at once with "database is locked".
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if not memory:
                # Readers never block the writer nor the writer the readers.
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine
