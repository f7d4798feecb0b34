"""The offline sandbox's tables come from the migrations (revision 0003), never from a request.

On a new SQLite file and a new PostgreSQL database each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.exc import DBAPIError

from marketlink.adapters.sqlalchemy.engine import create_engine_for
from marketlink.adapters.sqlalchemy.migrate import alembic_config, upgrade_database
from marketlink.sandbox.state import (
    SandboxSession,
    SandboxTransaction,
    SqlSandboxStore,
    metadata,
)

pytestmark = pytest.mark.integration

TABLES = {"sandbox_sessions", "sandbox_transactions", "sandbox_refunds"}
SESSION = SandboxSession("A" * 32, "T-1", "150.00", "BDT", "http://s", "http://f", "http://c")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return str(request.getfixturevalue("empty_postgres_url"))


@pytest.fixture
def engine_for() -> Iterator[Callable[[str], sa.Engine]]:
    engines: list[sa.Engine] = []

    def make(url: str) -> sa.Engine:
        engines.append(create_engine_for(url))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()


def _tables(engine: sa.Engine) -> set[str]:
    engine.dispose()  # a pooled connection may hold the schema it saw before
    return set(sa.inspect(engine).get_table_names())


def test_the_migrations_make_the_sandbox_tables_and_the_store_uses_them(empty_url, engine_for):
    upgrade_database(empty_url)
    engine = engine_for(empty_url)
    assert _tables(engine) >= TABLES

    store = SqlSandboxStore(engine)
    store.add_session(SESSION)
    attempt = SandboxTransaction("A" * 32, "T-1", "VALID", "150.00", "BDT", "now", val_id="V1")
    assert store.complete(attempt)
    assert store.validate("V1", "later") == (
        SandboxTransaction(
            "A" * 32, "T-1", "VALID", "150.00", "BDT", "now", val_id="V1", validated_on="later"
        ),
        True,
    )


def test_the_store_never_makes_its_tables(empty_url, engine_for):
    upgrade_database(empty_url, "0002")  # the app's tables, not yet the sandbox's
    engine = engine_for(empty_url)
    store = SqlSandboxStore(engine)
    attempt = SandboxTransaction("A" * 32, "T-1", "VALID", "150.00", "BDT", "now", val_id="V1")

    for use in (
        lambda: store.add_session(SESSION),
        lambda: store.session("A" * 32),
        lambda: store.sessions_for_tran_id("T-1"),
        lambda: store.complete(attempt),
        lambda: store.validate("V1", "now"),
        lambda: store.transaction_by_bank_tran_id("B1"),
        lambda: store.refund("R1"),
    ):
        with pytest.raises(DBAPIError):  # no such table
            use()

    assert not TABLES & _tables(engine)


def test_autogenerate_finds_nothing_to_do_on_a_migrated_database(database_url):
    # The sandbox's tables are not in the app's metadata, and env.py leaves them out.
    command.check(alembic_config(database_url))


# Databases where the sandbox made its tables itself, before revision 0003 ----------------

# The tables as the sandbox's create_all made them on first use (without the currency
# columns, and without the naming convention).
_legacy = sa.MetaData()


def _legacy_columns(*names: str, **lengths: int) -> list[sa.Column[str]]:
    return [
        sa.Column(name, sa.String(lengths[name]) if name in lengths else sa.Text, nullable=False)
        for name in (*names, *lengths)
    ]


_VALUES = ("value_a", "value_b", "value_c", "value_d")
sa.Table(
    "sandbox_sessions",
    _legacy,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_key", sa.String(32), nullable=False, unique=True),
    sa.Column("tran_id", sa.String(64), nullable=False, index=True),
    *_legacy_columns(
        "success_url", "fail_url", "cancel_url", "ipn_url", *_VALUES, "cus_name", "cus_email",
        "cus_phone", "product_name", "created_at", amount=32, currency=8, outcome=16,
    ),
)  # fmt: skip
sa.Table(
    "sandbox_transactions",
    _legacy,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_key", sa.String(32), nullable=False, unique=True),
    sa.Column("val_id", sa.String(64), nullable=False, index=True),
    sa.Column("bank_tran_id", sa.String(64), nullable=False, index=True),
    *_legacy_columns(
        "tran_date", "store_amount", "card_type", "card_no", "card_issuer", "card_brand",
        "card_sub_brand", "card_issuer_country", "card_issuer_country_code", "risk_level",
        "risk_title", "error", *_VALUES, "validated_on",
        tran_id=64, status=16, amount=32, currency=8,
    ),
)  # fmt: skip
sa.Table(
    "sandbox_refunds",
    _legacy,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("refund_ref_id", sa.String(32), nullable=False, unique=True),
    sa.Column("bank_tran_id", sa.String(64), nullable=False, unique=True),
    *_legacy_columns(
        "amount", "remarks", "initiated_on", "refunded_on", "refund_trans_id", "refe_id",
        tran_id=64,
    ),
)  # fmt: skip


def _columns(engine: sa.Engine, table: str) -> set[str]:
    engine.dispose()
    return {column["name"] for column in sa.inspect(engine).get_columns(table)}


def test_0003_keeps_the_tables_and_rows_the_sandbox_made_itself(empty_url, engine_for):
    upgrade_database(empty_url, "0002")
    engine = engine_for(empty_url)
    _legacy.create_all(engine)
    row = {c.name: "" for c in _legacy.tables["sandbox_transactions"].columns if c.name != "seq"}
    old = {**row, "session_key": "B" * 32, "tran_id": "T-OLD", "status": "VALID"}
    old |= {"amount": "149.00", "currency": "USD", "val_id": "V-OLD", "bank_tran_id": "BANK"}
    with engine.begin() as connection:
        connection.execute(sa.insert(_legacy.tables["sandbox_transactions"]).values(old))

    upgrade_database(empty_url)

    expected = {c.name for c in metadata.tables["sandbox_transactions"].columns}
    assert _columns(engine, "sandbox_transactions") == expected
    store = SqlSandboxStore(engine)
    kept = store.transaction_by_bank_tran_id("BANK")
    assert kept is not None and (kept.tran_id, kept.amount, kept.currency_type) == (
        "T-OLD",
        "149.00",
        "",
    )
    # Reported as the sandbox reported it then: in its own currency, at rate 1.
    assert kept.reported_currency() == {
        "currency_type": "USD",
        "currency_amount": "149.00",
        "currency_rate": "1.0000",
    }
    store.add_session(SESSION)  # the other two tables, adopted as they were, work too
    assert store.session("A" * 32) == SESSION


def test_0003_downgrades_and_upgrades_again(empty_url, engine_for):
    upgrade_database(empty_url)
    engine = engine_for(empty_url)
    engine.dispose()
    command.downgrade(alembic_config(empty_url), "0002")
    assert not TABLES & _tables(engine)
    upgrade_database(empty_url)
    assert _tables(engine) >= TABLES
