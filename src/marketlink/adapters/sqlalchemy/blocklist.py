"""Revoked sessions in the database: the embedded default's token blocklist.

A switched-off user is a row of the same table, keyed `user:<id>` (session ids are
URL-safe base64, without ':'), so one query answers for the session and its user.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from marketlink.adapters.clock import SystemClock
from marketlink.adapters.sqlalchemy.housekeeping import Every
from marketlink.adapters.sqlalchemy.tables import revoked_tokens
from marketlink.application.ports import Clock

log = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 600.0


def _user_key(user_id: int) -> str:
    return f"user:{user_id}"


class SqlTokenBlocklist:
    """An entry lives until its tokens would have expired anyway; then it is forgotten."""

    def __init__(self, engine: sa.Engine, clock: Clock | None = None) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._purge = Every(PURGE_EVERY_SECONDS)

    def revoke(self, session_id: str, expires_at: datetime) -> None:
        self._upsert(session_id, expires_at)

    def revoke_user(self, user_id: int, ttl_seconds: int) -> None:
        self._upsert(_user_key(user_id), self._clock.now() + timedelta(seconds=ttl_seconds))

    def restore_user(self, user_id: int) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                sa.delete(revoked_tokens).where(revoked_tokens.c.session_id == _user_key(user_id))
            )

    def is_revoked(self, session_id: str, user_id: int) -> bool:
        now = self._clock.now()
        with self._engine.begin() as connection:
            found = connection.execute(
                sa.select(revoked_tokens.c.session_id)
                .where(
                    revoked_tokens.c.session_id.in_([session_id, _user_key(user_id)]),
                    revoked_tokens.c.expires_at > now,
                )
                .limit(1)
            ).first()
        if self._purge.due():
            try:
                self.purge_expired()
            except SQLAlchemyError as exc:  # housekeeping must not fail the request
                log.warning("could not purge expired revoked tokens: %s", exc)
        return found is not None

    def _upsert(self, key: str, expires_at: datetime) -> None:
        insert = (
            postgresql.insert(revoked_tokens)
            if self._engine.dialect.name == "postgresql"
            else sqlite.insert(revoked_tokens)
        )
        statement = insert.values(session_id=key, expires_at=expires_at)
        # Revoking twice is fine; a later expiry wins, so an entry is never cut short.
        statement = statement.on_conflict_do_update(
            index_elements=[revoked_tokens.c.session_id],
            set_={"expires_at": statement.excluded.expires_at},
            where=statement.excluded.expires_at > revoked_tokens.c.expires_at,
        )
        with self._engine.begin() as connection:
            connection.execute(statement)

    def purge_expired(self) -> int:
        with self._engine.begin() as connection:
            deleted = connection.execute(
                sa.delete(revoked_tokens).where(revoked_tokens.c.expires_at <= self._clock.now())
            ).rowcount
        return int(deleted)
