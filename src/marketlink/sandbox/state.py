"""The sandbox's state: sessions, the customer's attempts and refunds, in memory or in SQL.

`InMemorySandboxStore` is for tests; `SqlSandboxStore` (its own `sandbox_*` tables) is
for the app, which may run as several worker processes. The tables are made by the
app's migrations (revision 0003), never by the store: a request never runs DDL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Protocol, TypeVar

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

# Statuses a transaction is stored or reported with.
VALID = "VALID"
VALIDATED = "VALIDATED"  # reported for a VALID one whose val_id was validated before
FAILED = "FAILED"
CANCELLED = "CANCELLED"
PENDING = "PENDING"  # reported for a session nobody has paid yet


@dataclass(frozen=True, slots=True)
class SandboxSession:
    """One session opened through the session API."""

    session_key: str
    tran_id: str
    amount: str
    currency: str
    success_url: str
    fail_url: str
    cancel_url: str
    ipn_url: str = ""
    value_a: str = ""
    value_b: str = ""
    value_c: str = ""
    value_d: str = ""
    cus_name: str = ""
    cus_email: str = ""
    cus_phone: str = ""
    product_name: str = ""
    created_at: str = ""  # Dhaka local time
    outcome: str = ""  # VALID, FAILED or CANCELLED once the customer has acted


@dataclass(frozen=True, slots=True)
class SandboxTransaction:
    """The customer's one attempt at a session, as notified. Only VALID ones have a val_id.

    Amounts are kept as the gateway reports them (in whatever format it was told to
    use): `amount` in BDT, `currency_amount` in `currency_type`, the currency paid in.
    The three `currency_*` fields are empty in rows from before revision 0003: such a
    payment was reported in its own currency at rate 1 (see `reported_currency`).
    """

    session_key: str
    tran_id: str
    status: str  # VALID, FAILED or CANCELLED; VALIDATED is VALID with validated_on set
    amount: str
    currency: str
    tran_date: str
    val_id: str = ""
    bank_tran_id: str = ""
    store_amount: str = ""
    card_type: str = ""
    card_no: str = ""
    card_issuer: str = ""
    card_brand: str = ""
    card_sub_brand: str = ""
    card_issuer_country: str = ""
    card_issuer_country_code: str = ""
    risk_level: str = ""
    risk_title: str = ""
    error: str = ""
    value_a: str = ""
    value_b: str = ""
    value_c: str = ""
    value_d: str = ""
    validated_on: str = ""
    currency_type: str = ""
    currency_amount: str = ""
    currency_rate: str = ""

    def reported_currency(self) -> dict[str, str]:
        """`currency_type`, `currency_amount` and `currency_rate` as the gateway reports them."""
        return {
            "currency_type": self.currency_type or self.currency,
            "currency_amount": self.currency_amount or self.amount,
            "currency_rate": self.currency_rate or "1.0000",
        }


@dataclass(frozen=True, slots=True)
class SandboxRefund:
    refund_ref_id: str
    bank_tran_id: str
    tran_id: str
    amount: str
    remarks: str
    initiated_on: str
    refunded_on: str
    refund_trans_id: str = ""
    refe_id: str = ""


class SandboxStore(Protocol):
    """Where the sandbox keeps sessions, attempts and refunds; every method is atomic."""

    def add_session(self, session: SandboxSession) -> None: ...
    def session(self, session_key: str) -> SandboxSession | None: ...
    def sessions_for_tran_id(self, tran_id: str) -> list[SandboxSession]:
        """Oldest first."""

    def complete(self, transaction: SandboxTransaction) -> bool:
        """Closes the transaction's session with it and stores it, once.

        False (and nothing stored) when the session is unknown or already closed.
        """

    def transaction_for_session(self, session_key: str) -> SandboxTransaction | None: ...
    def transaction_by_bank_tran_id(self, bank_tran_id: str) -> SandboxTransaction | None: ...
    def validate(self, val_id: str, now: str) -> tuple[SandboxTransaction, bool] | None:
        """The VALID transaction with this val_id, and whether this call validated it first.

        The first call sets `validated_on` to `now`; None for a val_id never issued.
        """

    def add_refund(self, refund: SandboxRefund) -> tuple[SandboxRefund, bool]:
        """Stores the refund unless its bank_tran_id has one: (the stored one, created?)."""

    def refund(self, refund_ref_id: str) -> SandboxRefund | None: ...


class InMemorySandboxStore:
    """A SandboxStore in one process's memory, behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, SandboxSession] = {}
        self._transactions: dict[str, SandboxTransaction] = {}  # by session key
        self._refunds: dict[str, SandboxRefund] = {}  # by refund_ref_id

    def add_session(self, session: SandboxSession) -> None:
        with self._lock:
            self._sessions[session.session_key] = session

    def session(self, session_key: str) -> SandboxSession | None:
        with self._lock:
            return self._sessions.get(session_key)

    def sessions_for_tran_id(self, tran_id: str) -> list[SandboxSession]:
        with self._lock:
            return [s for s in self._sessions.values() if s.tran_id == tran_id]

    def complete(self, transaction: SandboxTransaction) -> bool:
        with self._lock:
            session = self._sessions.get(transaction.session_key)
            if session is None or session.outcome:
                return False
            self._sessions[session.session_key] = replace(session, outcome=transaction.status)
            self._transactions[session.session_key] = transaction
            return True

    def transaction_for_session(self, session_key: str) -> SandboxTransaction | None:
        with self._lock:
            return self._transactions.get(session_key)

    def transaction_by_bank_tran_id(self, bank_tran_id: str) -> SandboxTransaction | None:
        with self._lock:
            return self._find(lambda t: bool(bank_tran_id) and t.bank_tran_id == bank_tran_id)

    def validate(self, val_id: str, now: str) -> tuple[SandboxTransaction, bool] | None:
        with self._lock:
            found = self._find(lambda t: bool(val_id) and t.val_id == val_id)
            if found is None:
                return None
            if found.validated_on:
                return found, False
            validated = replace(found, validated_on=now)
            self._transactions[found.session_key] = validated
            return validated, True

    def add_refund(self, refund: SandboxRefund) -> tuple[SandboxRefund, bool]:
        with self._lock:
            for existing in self._refunds.values():
                if existing.bank_tran_id == refund.bank_tran_id:
                    return existing, False
            self._refunds[refund.refund_ref_id] = refund
            return refund, True

    def refund(self, refund_ref_id: str) -> SandboxRefund | None:
        with self._lock:
            return self._refunds.get(refund_ref_id)

    def _find(self, match: Callable[[SandboxTransaction], bool]) -> SandboxTransaction | None:
        return next((t for t in self._transactions.values() if match(t)), None)


# The tables -------------------------------------------------------------------------------

# The sandbox's own MetaData: the app's tables module does not know these tables, and the
# migration that makes them (0003) writes them out by hand; the schema test compares it
# with this module. Names follow the app's convention, so Alembic can alter them later.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _columns(
    kind: type[Any],
    *,
    keys: Mapping[str, int],
    unique: frozenset[str] = frozenset(),
    indexed: frozenset[str] = frozenset(),
) -> list[Column[Any]]:
    """One NOT NULL column per dataclass field: String(n) for the named keys, else Text."""
    return [
        Column(
            f.name,
            String(keys[f.name]) if f.name in keys else Text,
            nullable=False,
            unique=f.name in unique or None,
            index=f.name in indexed or None,
        )
        for f in fields(kind)
    ]


sandbox_sessions = Table(
    "sandbox_sessions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    *_columns(
        SandboxSession,
        keys={"session_key": 32, "tran_id": 64, "outcome": 16, "amount": 32, "currency": 8},
        unique=frozenset({"session_key"}),
        indexed=frozenset({"tran_id"}),
    ),
)

sandbox_transactions = Table(
    "sandbox_transactions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    *_columns(
        SandboxTransaction,
        keys={
            "session_key": 32,
            "tran_id": 64,
            "status": 16,
            "val_id": 64,
            "bank_tran_id": 64,
            "amount": 32,
            "currency": 8,
            "currency_type": 8,
            "currency_amount": 32,
            "currency_rate": 16,
        },
        unique=frozenset({"session_key"}),  # a session is paid once
        indexed=frozenset({"val_id", "bank_tran_id"}),
    ),
)

sandbox_refunds = Table(
    "sandbox_refunds",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    *_columns(
        SandboxRefund,
        keys={"refund_ref_id": 32, "bank_tran_id": 64, "tran_id": 64},
        unique=frozenset({"refund_ref_id", "bank_tran_id"}),  # one refund per payment
    ),
)

_Row = TypeVar("_Row", SandboxSession, SandboxTransaction, SandboxRefund)


class SqlSandboxStore:
    """A SandboxStore in the `sandbox_*` tables, shared by all worker processes.

    It never creates them: `marketlink migrate` does. Constructing it touches no
    database (the app builds its store when it starts, and must start, and answer /readyz
    with 503, even while the database is down). Every write is one conditional statement
    or a unique constraint, so concurrent requests cannot pay a session twice, validate a
    val_id "first" twice, or refund a payment twice.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add_session(self, session: SandboxSession) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(sandbox_sessions).values(**asdict(session)))

    def session(self, session_key: str) -> SandboxSession | None:
        return self._one(
            SandboxSession, sandbox_sessions, sandbox_sessions.c.session_key, session_key
        )

    def sessions_for_tran_id(self, tran_id: str) -> list[SandboxSession]:
        query = (
            select(sandbox_sessions)
            .where(sandbox_sessions.c.tran_id == tran_id)
            .order_by(sandbox_sessions.c.seq)
        )
        with self._engine.connect() as conn:
            return [_from_row(SandboxSession, row) for row in conn.execute(query)]

    def complete(self, transaction: SandboxTransaction) -> bool:
        with self._engine.begin() as conn:
            claimed = conn.execute(
                update(sandbox_sessions)
                .where(
                    sandbox_sessions.c.session_key == transaction.session_key,
                    sandbox_sessions.c.outcome == "",
                )
                .values(outcome=transaction.status)
            ).rowcount
            if claimed != 1:
                return False
            conn.execute(insert(sandbox_transactions).values(**asdict(transaction)))
            return True

    def transaction_for_session(self, session_key: str) -> SandboxTransaction | None:
        column = sandbox_transactions.c.session_key
        return self._one(SandboxTransaction, sandbox_transactions, column, session_key)

    def transaction_by_bank_tran_id(self, bank_tran_id: str) -> SandboxTransaction | None:
        column = sandbox_transactions.c.bank_tran_id
        return self._one(SandboxTransaction, sandbox_transactions, column, bank_tran_id)

    def validate(self, val_id: str, now: str) -> tuple[SandboxTransaction, bool] | None:
        if not val_id:
            return None
        table = sandbox_transactions
        with self._engine.begin() as conn:
            first = conn.execute(
                update(table)
                .where(table.c.val_id == val_id, table.c.validated_on == "")
                .values(validated_on=now)
            ).rowcount
            row = conn.execute(select(table).where(table.c.val_id == val_id)).first()
        if row is None:
            return None
        return _from_row(SandboxTransaction, row), first == 1

    def add_refund(self, refund: SandboxRefund) -> tuple[SandboxRefund, bool]:
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(sandbox_refunds).values(**asdict(refund)))
            return refund, True
        except IntegrityError:
            column = sandbox_refunds.c.bank_tran_id
            existing = self._one(SandboxRefund, sandbox_refunds, column, refund.bank_tran_id)
            if existing is None:  # the clash was on refund_ref_id: vanishingly unlikely
                raise
            return existing, False

    def refund(self, refund_ref_id: str) -> SandboxRefund | None:
        column = sandbox_refunds.c.refund_ref_id
        return self._one(SandboxRefund, sandbox_refunds, column, refund_ref_id)

    def _one(self, kind: type[_Row], table: Table, column: Column[Any], value: str) -> _Row | None:
        if not value:
            return None
        with self._engine.connect() as conn:
            row = conn.execute(select(table).where(column == value).limit(1)).first()
        return None if row is None else _from_row(kind, row)


def _from_row(kind: type[_Row], row: Any) -> _Row:
    mapping = row._mapping
    return kind(**{f.name: mapping[f.name] for f in fields(kind)})
