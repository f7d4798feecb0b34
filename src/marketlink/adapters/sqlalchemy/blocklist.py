"""Revoked sessions in the database: the embedded default's token blocklist."""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from marketlink.adapters.clock import SystemClock
from marketlink.adapters.sqlalchemy.housekeeping import Every
from marketlink.adapters.sqlalchemy.tables import revoked_tokens
from marketlink.application.ports import Clock

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 600.0


class SqlTokenBlocklist:
    """An entry lives until its tokens would have expired anyway; then it is forgotten."""

    def __init__(self, engine: sa.Engine, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._purge = Every(PURGE_EVERY_SECONDS)

    def revoke(self, session_id: str, expires_at: datetime) -> None:
        insert = (
            postgresql.insert(revoked_tokens)
            if self._engine.dialect.name == "postgresql"
            else sqlite.insert(revoked_tokens)
        )
        statement = insert.values(session_id=session_id, expires_at=expires_at)
        # Revoking twice is fine; a later expiry wins, so an entry is never cut short.
        statement = statement.on_conflict_do_update(
            index_elements=[revoked_tokens.c.session_id],
            set_={"expires_at": statement.excluded.expires_at},
            where=statement.excluded.expires_at > revoked_tokens.c.expires_at,
        )
        with self._engine.begin() as connection:
            connection.execute(statement)

    def is_revoked(self, session_id: str) -> bool:
        now = self._clock.now()
        with self._engine.begin() as connection:
            found = connection.execute(
                sa.select(revoked_tokens.c.session_id).where(
                    revoked_tokens.c.session_id == session_id,
                    revoked_tokens.c.expires_at > now,
                )
            ).first()
        if self._purge.due():
            try:
                self.purge_expired()
            except SQLAlchemyError as exc:  # housekeeping must not fail the request
                log.warning("could not purge expired revoked tokens: %s", exc)
        return found is not None

    def purge_expired(self) -> int:
        with self._engine.begin() as connection:
            deleted = connection.execute(
                sa.delete(revoked_tokens).where(revoked_tokens.c.expires_at <= self._clock.now())
            ).rowcount
        return int(deleted)
