"""Alembic's environment, configured from code (see migrate.py), no alembic.ini needed.

`upgrade_database` hands over an open connection in `config.attributes["connection"]`;
the Alembic command line (with `alembic.ini` next to this folder) gives a URL instead.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

from marketlink.adapters.sqlalchemy.engine import create_engine_for
from marketlink.adapters.sqlalchemy.tables import metadata

config = context.config


def _app_objects(name: str | None, type_: str, parent_names: object) -> bool:
    """What autogenerate compares with `metadata`: all but the sandbox's tables.

    Those (`sandbox_*`, made by revision 0003) are described by `marketlink.sandbox.state`,
    which no adapter may import; the schema test compares them with it.
    """
    return not (type_ == "table" and (name or "").startswith("sandbox_"))


def _configure(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_name=_app_objects,
        compare_type=True,
        # SQLite cannot ALTER most things: batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: set sqlalchemy.url or DATABASE_URL")
    return url


def run_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine_for(_url())
    try:
        with engine.begin() as own_connection:
            _configure(own_connection)
            context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
