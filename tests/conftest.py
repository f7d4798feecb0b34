"""Shared fixtures for the real databases and Redis the integration tests run against.

PostgreSQL and Redis are expected on 127.0.0.1 (trust auth, user postgres). When one
is missing, its tests are skipped locally, and fail in CI (CI=true), where a skipped
database test would be a silent hole.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from marketlink.adapters.sqlalchemy.migrate import upgrade_database

POSTGRES_SERVER_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _unavailable(what: str, reason: object) -> NoReturn:
    message = f"{what} is not reachable ({reason})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}; CI must run the integration tests against it", pytrace=False)
    pytest.skip(f"{message}; start it to run these tests")


def _postgres_server() -> sa.Engine:
    return sa.create_engine(
        POSTGRES_SERVER_URL,
        isolation_level="AUTOCOMMIT",
        connect_args={"connect_timeout": 3},
        poolclass=sa.pool.NullPool,
    )


def _postgres_database_url(name: str) -> str:
    return make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session, dropped at the end."""
    server = _postgres_server()
    name = f"marketlink_test_{uuid.uuid4().hex[:12]}"
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        server.dispose()
        _unavailable("PostgreSQL", exc.orig or exc)
    url = _postgres_database_url(name)
    try:
        upgrade_database(url)
        yield url
    finally:
        with server.connect() as connection:
            # FORCE: a test that failed half-way may have left a connection open.
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """The name of a migrated PostgreSQL database that tests clone, dropped at the end."""
    server = _postgres_server()
    name = f"marketlink_template_{uuid.uuid4().hex[:12]}"
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        server.dispose()
        _unavailable("PostgreSQL", exc.orig or exc)
    try:
        upgrade_database(_postgres_database_url(name))  # disposes its engine: no session stays
        yield name
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


@pytest.fixture
def fresh_postgres_url(postgres_template: str) -> Iterator[str]:
    """A migrated PostgreSQL database of this test's own (a clone of the template: fast)."""
    server = _postgres_server()
    name = f"marketlink_test_{uuid.uuid4().hex[:12]}"
    with server.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    try:
        yield _postgres_database_url(name)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A new PostgreSQL database of this test's own without any schema, dropped at the end."""
    server = _postgres_server()
    name = f"marketlink_empty_{uuid.uuid4().hex[:12]}"
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        server.dispose()
        _unavailable("PostgreSQL", exc.orig or exc)
    try:
        yield _postgres_database_url(name)
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file for this test session."""
    path: Path = tmp_path_factory.mktemp("sqlite") / "marketlink.db"
    url = f"sqlite:///{path}"
    upgrade_database(url)
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that asks for it runs twice: on a SQLite file and on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """Redis database 15, emptied before and after the session."""
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        _unavailable("Redis", exc)
    client.flushdb()
    try:
        yield REDIS_TEST_URL
    finally:
        client.flushdb()
        client.close()
