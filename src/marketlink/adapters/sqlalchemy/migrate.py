"""Bringing a database's schema up to date with Alembic, configured from code."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from marketlink.adapters.sqlalchemy.engine import create_engine_for, sqlite_file

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Any constant will do: it names the advisory lock that serialises concurrent upgrades.
_MIGRATION_LOCK_ID = 0x4D4C_4D49


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration without an alembic.ini: the scripts ship inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # ConfigParser interpolation would read a `%` of a URL-encoded password.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str, revision: str = "head") -> None:
    """Migrates the database at `url` to `revision`; a no-op when it is already there.

    A new SQLite file is born here, folder included.
    """
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine_for(url, pool_size=1)
    try:
        # One transaction for the whole upgrade: it applies completely or not at all
        # (SQLite included, since our engine emits BEGIN itself).
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Several instances starting at once run `migrate` one after another.
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
                )
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        # Closing every connection also folds SQLite's write-ahead log into the file, so
        # the file alone can be copied (tests copy a migrated template).
        engine.dispose()
