"""The migrated schema is the one tables.py (and the sandbox's state module) describes, and it
enforces the domain's rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError, StatementError

from marketlink.adapters.sqlalchemy.engine import create_engine_for
from marketlink.adapters.sqlalchemy.migrate import alembic_config, upgrade_database
from marketlink.adapters.sqlalchemy.tables import (
    metadata,
    payments,
    service_variants,
    users,
    vendor_profiles,
)
from marketlink.application.ports import PageRequest
from marketlink.domain.money import Money
from marketlink.domain.orders import RepairOrder
from marketlink.domain.payments import PaymentStatus
from marketlink.domain.users import Role, User, VendorProfile
from marketlink.sandbox.state import metadata as sandbox_metadata
from tests.integration.conftest import T0, Builder, uow_factory

pytestmark = pytest.mark.integration

# Every table the migrations make: the app's, and the offline gateway sandbox's own.
SCHEMA = [metadata, sandbox_metadata]


def test_the_migrated_schema_matches_the_tables_module(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "target_metadata": SCHEMA}
        )
        assert compare_metadata(context, SCHEMA) == []


def test_the_migration_creates_every_check_constraint_of_the_tables_module(engine):
    inspector = sa.inspect(engine)
    for table in metadata.sorted_tables:
        expected = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
        found = {c["name"] for c in inspector.get_check_constraints(table.name)}
        assert found == expected, table.name


def test_upgrading_an_up_to_date_database_changes_nothing(database_url):
    upgrade_database(database_url)
    upgrade_database(database_url)


def test_upgrade_creates_the_folder_of_a_new_sqlite_file(tmp_path):
    path = tmp_path / "new" / "folder" / "marketlink.db"
    upgrade_database(f"sqlite:///{path}")
    assert path.exists()


@pytest.mark.parametrize(
    ("change", "value"),
    [
        ("reserved", 3),  # more held than the stock
        ("reserved", -1),
        ("stock", 100_001),
        ("price", 0),
        ("price", 500_000.01),
        ("estimated_minutes", 0),
        ("estimated_minutes", 10_081),
    ],
)
def test_the_database_refuses_variants_that_break_the_capacity_and_price_rules(
    clean_engine, build: Builder, change, value
):
    variant = build.bookable(stock=2)
    with pytest.raises(IntegrityError), clean_engine.begin() as connection:
        connection.execute(
            sa.update(service_variants)
            .where(service_variants.c.id == variant.id)
            .values({change: value})
        )


def test_a_stale_writer_that_bypasses_the_domain_is_stopped_by_the_check_constraint(
    uow, build: Builder
):
    variant = build.bookable(stock=1)
    with uow() as work:
        loaded = work.variants.get_for_update(variant.id)
        loaded.reserved = 2  # what a buggy path could write; reserve() would refuse it

        def save_and_commit() -> None:
            work.variants.save(loaded)
            work.commit()  # on PostgreSQL the write goes out, and is refused, with the commit

        with pytest.raises(IntegrityError):
            save_and_commit()
    with uow() as work:
        assert work.variants.get(variant.id).reserved == 0


def test_the_database_refuses_an_unknown_role(clean_engine):
    with pytest.raises(IntegrityError), clean_engine.begin() as connection:
        connection.execute(
            sa.insert(users).values(
                email="root@example.com",
                password_hash="x",
                first_name="R",
                last_name="T",
                role="superuser",
                is_active=True,
                date_joined=T0,
            )
        )


def test_timestamps_come_back_as_the_same_instant_in_utc(uow, build: Builder):
    dhaka = timezone(timedelta(hours=6))
    user = build.user()
    with uow() as work:
        stored = work.users.get(user.id)
        stored.date_joined = datetime(2026, 11, 28, 18, 30, tzinfo=dhaka)
        work.users.save(stored)
        work.commit()
    with uow() as work:
        joined = work.users.get(user.id).date_joined
    assert joined.tzinfo is UTC
    assert joined == datetime(2026, 11, 28, 12, 30, tzinfo=UTC)


def test_a_naive_timestamp_is_refused(uow):
    user = User("naive@example.com", "h", "A", "B", Role.CUSTOMER, datetime(2026, 1, 1))
    with uow() as work, pytest.raises(StatementError, match="naive"):
        work.users.add(user)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A database without any schema yet: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return str(request.getfixturevalue("empty_postgres_url"))


def _payment_columns(engine: sa.Engine) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns("payments")}


def _order_at_0001(engine: sa.Engine, build: Builder) -> RepairOrder:
    """An order on a database at 0001: its vendor written by hand, as 0001's columns are."""
    owner = build.user(Role.VENDOR)
    with engine.begin() as connection:
        result = connection.execute(  # without is_approved (0004), which has a server default
            sa.insert(vendor_profiles).values(
                user_id=owner.id,
                business_name="Old shop",
                address="Here",
                is_active=True,
                created_at=T0,
            )
        )
    vendor = VendorProfile(owner.id or 0, "Old shop", "Here", T0, id=result.inserted_primary_key[0])
    return build.order(variant=build.variant(build.service(vendor)))


def test_0002_adds_the_paid_amount_to_a_database_in_use_at_0001(empty_database_url):
    url = empty_database_url
    upgrade_database(url, "0001")
    engine = create_engine_for(url)
    try:
        uow = uow_factory(engine)
        order = _order_at_0001(engine, Builder(uow))
        with engine.begin() as connection:  # a payment counted before paid amounts were kept
            connection.execute(
                sa.insert(payments).values(
                    tran_id="MLBEFORE0002",
                    order_id=order.id,
                    amount=order.total_amount.amount,
                    currency="BDT",
                    status="valid",
                    session_key="SK",
                    gateway_url="https://sandbox.test/pay/SK",
                    val_id="VAL",
                    bank_tran_id="BANK",
                    card_type="",
                    card_no="",
                    refund_ref_id="",
                    created_at=T0,
                    updated_at=T0,
                )
            )
        assert not {"paid_amount", "paid_currency"} & _payment_columns(engine)

        upgrade_database(url)

        engine.dispose()  # no connection keeps the schema it saw before
        assert {"paid_amount", "paid_currency"} <= _payment_columns(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "target_metadata": SCHEMA}
            )
            assert compare_metadata(context, SCHEMA) == []
        with uow() as work:
            before = work.payments.get("MLBEFORE0002")
            assert before.status is PaymentStatus.VALID and before.paid_amount is None
            assert before.refund_amount() == Money.of("1500.00"), "it equalled the order's"
            before.paid_amount = Money.of("1500.00")
            work.payments.save(before)
            work.commit()
        with uow() as work:
            assert work.payments.get("MLBEFORE0002").paid_amount == Money.of("1500.00")

        engine.dispose()
        command.downgrade(alembic_config(url), "0001")
        engine.dispose()
        assert not {"paid_amount", "paid_currency"} & _payment_columns(engine)
        upgrade_database(url)
        engine.dispose()
        with uow() as work:
            again = work.payments.get("MLBEFORE0002")
        assert again.paid_amount is None and again.bank_tran_id == "BANK"
    finally:
        engine.dispose()


def _vendor_columns(engine: sa.Engine) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns("vendor_profiles")}


def test_0004_approves_the_shops_of_a_database_in_use_and_goes_down_again(empty_database_url):
    url = empty_database_url
    upgrade_database(url, "0003")
    engine = create_engine_for(url)
    try:
        uow = uow_factory(engine)
        order = _order_at_0001(engine, Builder(uow))  # vendor columns as before 0004
        upgrade_database(url)
        engine.dispose()

        with uow() as work:
            assert work.vendors.get(order.vendor_id).is_approved is True
            assert work.audit.list(PageRequest()).total == 0
        assert "audit_entries" in sa.inspect(engine).get_table_names()

        engine.dispose()
        command.downgrade(alembic_config(url), "0003")
        engine.dispose()
        assert "is_approved" not in _vendor_columns(engine)
        assert "audit_entries" not in sa.inspect(engine).get_table_names()
        upgrade_database(url)
        engine.dispose()
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "target_metadata": SCHEMA}
            )
            assert compare_metadata(context, SCHEMA) == []
    finally:
        engine.dispose()
