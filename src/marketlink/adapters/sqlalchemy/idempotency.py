"""Idempotency keys in the database: one claim per (user, key), its response kept 24 hours."""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import Enum
from typing import Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from marketlink.adapters.clock import SystemClock
from marketlink.adapters.sqlalchemy.db_errors import is_unique_violation
from marketlink.adapters.sqlalchemy.housekeeping import Every
from marketlink.adapters.sqlalchemy.tables import idempotency_keys
from marketlink.application.errors import IdempotencyKeyInProgress, IdempotencyKeyReused
from marketlink.application.ports import Clock, StoredResponse

log = logging.getLogger(__name__)

KEEP_FOR = timedelta(hours=24)
PURGE_EVERY_SECONDS = 600.0
# A claim can lose to a release or a stale row's removal in between; a few rounds settle it.
CLAIM_ATTEMPTS = 3


class _Again(Enum):
    TOKEN = 0


_AGAIN: Final = _Again.TOKEN


class SqlIdempotencyStore:
    """Each call is its own short transaction, committed at once and apart from the use case's.

    A claim must be visible to a concurrent duplicate while the first request still runs,
    and must survive that request's rollback until `release` or `complete`.
    """

    def __init__(
        self, engine: sa.Engine, clock: Clock | None = None, keep_for: timedelta = KEEP_FOR
    ) -> None:
        self._engine = engine
        self._clock = clock or SystemClock()
        self._keep_for = keep_for
        self._purge = Every(PURGE_EVERY_SECONDS)

    def claim(self, user_id: int, key: str, fingerprint: str) -> StoredResponse | None:
        self._purge_now_and_then()
        for _ in range(CLAIM_ATTEMPTS):
            with self._engine.begin() as connection:
                outcome = self._claim_once(connection, user_id, key, fingerprint)
            if outcome is not _AGAIN:
                return outcome
        raise IdempotencyKeyInProgress()

    def complete(self, user_id: int, key: str, response: StoredResponse) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                sa.update(idempotency_keys)
                .where(idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key)
                .values(status_code=response.status, body=response.body)
            )

    def release(self, user_id: int, key: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                sa.delete(idempotency_keys).where(
                    idempotency_keys.c.user_id == user_id,
                    idempotency_keys.c.key == key,
                    # Only a claim still running: a stored response stays replayable.
                    idempotency_keys.c.status_code.is_(None),
                )
            )

    def purge_stale(self) -> int:
        cutoff = self._clock.now() - self._keep_for
        with self._engine.begin() as connection:
            deleted = connection.execute(
                sa.delete(idempotency_keys).where(idempotency_keys.c.created_at <= cutoff)
            ).rowcount
        return int(deleted)

    def _claim_once(
        self, connection: sa.Connection, user_id: int, key: str, fingerprint: str
    ) -> StoredResponse | _Again | None:
        now = self._clock.now()
        try:
            # The unique constraint decides who is first, never a lookup before the insert:
            # two identical requests arriving together must not both run.
            with connection.begin_nested():
                connection.execute(
                    sa.insert(idempotency_keys).values(
                        user_id=user_id,
                        key=key,
                        fingerprint=fingerprint,
                        status_code=None,
                        body=None,
                        created_at=now,
                    )
                )
            return None
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise
        row = connection.execute(
            sa.select(idempotency_keys).where(
                idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key
            )
        ).first()
        if row is None:
            return _AGAIN  # released a moment ago
        if row.created_at <= now - self._keep_for:
            # Older than the promise: as good as absent. Remove it and claim afresh.
            connection.execute(sa.delete(idempotency_keys).where(idempotency_keys.c.id == row.id))
            return _AGAIN
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if row.status_code is None:
            raise IdempotencyKeyInProgress()
        return StoredResponse(row.status_code, row.body or "")

    def _purge_now_and_then(self) -> None:
        if not self._purge.due():
            return
        try:
            self.purge_stale()
        except SQLAlchemyError as exc:  # housekeeping must not fail the request
            log.warning("could not purge stale idempotency keys: %s", exc)
