"""Engines: SQLite set up for concurrent use, PostgreSQL reached through psycopg 3."""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from marketlink.adapters.sqlalchemy import engine as engine_module
from marketlink.adapters.sqlalchemy.engine import create_engine_for, database_url
from marketlink.adapters.sqlalchemy.tables import services
from tests.integration.conftest import T0

pytestmark = pytest.mark.integration


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(sqlite_url):
    engine = create_engine_for(sqlite_url)
    try:
        with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA foreign_keys").scalar_one() == 1
            assert pragma("PRAGMA journal_mode").scalar_one() == "wal"
            assert pragma("PRAGMA busy_timeout").scalar_one() == 30_000
    finally:
        engine.dispose()


def test_foreign_keys_are_enforced(clean_engine):
    with pytest.raises(IntegrityError), clean_engine.begin() as connection:
        connection.execute(
            sa.insert(services).values(
                vendor_id=10**9, name="x", description="", is_active=True, created_at=T0
            )
        )


def test_an_engine_does_not_create_a_missing_sqlite_folder(tmp_path):
    # A database that cannot be opened must look down, not be replaced by an empty one.
    engine = create_engine_for(f"sqlite:///{tmp_path / 'missing' / 'db.sqlite'}")
    try:
        with pytest.raises(sa.exc.OperationalError), engine.connect():
            pass
        assert not (tmp_path / "missing").exists()
    finally:
        engine.dispose()


def test_an_in_memory_sqlite_database_is_shared_by_every_checkout():
    engine = create_engine_for("sqlite://")
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url",
    ["postgres://u:p@db:5432/app", "postgresql://u:p@db:5432/app"],
)
def test_plain_postgres_urls_use_psycopg_3(url):
    assert database_url(url).drivername == "postgresql+psycopg"
    assert database_url("postgresql+psycopg://db/app").drivername == "postgresql+psycopg"


def _pooled_backend_killed(engine: sa.Engine, postgres_url: str) -> int:
    """Checks a connection out and back in, then has the server end its backend."""
    with engine.connect() as connection:
        backend = int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
    killer = create_engine_for(postgres_url)
    try:
        with killer.begin() as connection:
            connection.execute(sa.select(sa.func.pg_terminate_backend(backend)))
    finally:
        killer.dispose()
    return backend


def test_an_idle_pooled_connection_the_server_dropped_is_replaced(postgres_url, monkeypatch):
    monkeypatch.setattr(engine_module, "PING_IF_IDLE_SECONDS", 0.0)  # every one counts as idle
    engine = create_engine_for(postgres_url, pool_size=1)
    try:
        dropped = _pooled_backend_killed(engine, postgres_url)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != dropped
    finally:
        engine.dispose()


def test_a_connection_in_steady_use_is_not_pinged(postgres_url, monkeypatch):
    # The trade-off, shown: a connection returned a moment ago is trusted without a round
    # trip. Had it been pinged, the dead one below would have been replaced unseen.
    monkeypatch.setattr(engine_module, "PING_IF_IDLE_SECONDS", 60.0)
    engine = create_engine_for(postgres_url, pool_size=1)
    try:
        _pooled_backend_killed(engine, postgres_url)
        with pytest.raises(OperationalError), engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        with engine.connect() as connection:  # the failure dropped it from the pool
            assert connection.exec_driver_sql("SELECT 1").scalar_one() == 1
    finally:
        engine.dispose()


def test_a_postgres_transaction_begins_when_it_is_opened_not_at_its_first_query(postgres_url):
    # now() is the transaction's start: a transaction begun at its first query would
    # report the time of that query, not the time `begin()` was called.
    engine = create_engine_for(postgres_url)
    try:
        with engine.connect() as connection, connection.begin():
            time.sleep(0.2)
            waited = connection.exec_driver_sql(
                "SELECT extract(epoch FROM clock_timestamp() - now())"
            ).scalar_one()
        assert waited >= 0.2
    finally:
        engine.dispose()


def test_a_postgres_connection_returned_without_commit_keeps_nothing(postgres_url):
    engine = create_engine_for(postgres_url)
    scratch = sa.Table(f"scratch_{uuid.uuid4().hex[:8]}", sa.MetaData(), sa.Column("n", sa.Integer))
    try:
        scratch.create(engine)
        with engine.connect() as connection:
            connection.execute(scratch.insert().values(n=1))
        with engine.connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(scratch)).scalar() == 0
    finally:
        scratch.drop(engine, checkfirst=True)
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_database_error_never_carries_the_statements_parameters(backend, request):
    # An argon2 hash or an e-mail in a failing INSERT would otherwise reach the logs.
    url = request.getfixturevalue(f"{backend}_url")
    engine = create_engine_for(url)
    secret = "$argon2id$v=19$m=65536,t=3,p=4$c2VjcmV0$aGFzaA"
    try:
        with pytest.raises(sa.exc.DBAPIError) as caught, engine.connect() as connection:
            connection.execute(sa.text("SELECT no_such_column, :secret"), {"secret": secret})
        assert secret not in str(caught.value)
        assert "hidden due to hide_parameters" in str(caught.value)
    finally:
        engine.dispose()
