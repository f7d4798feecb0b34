"""Admin read model benchmark: the dashboard and the first page of the orders list on
PostgreSQL with 100,000 orders, their history, payments and notices.

Prints one JSON line. Not a test: it measures, it asserts nothing.

    python bench/admin_dashboard.py              # 100,000 orders, 9 timed runs each
    python bench/admin_dashboard.py --orders 20000 --runs 5 --keep

Seeds a fresh database (migrated to head, so with migration 0005's indexes) with
INSERT ... SELECT over generate_series, VACUUM ANALYZEs it, then times each read through
the real adapter (SqlAdminQueries on the app's engine), after one warm-up call: the
median, min and max of `--runs` calls, in milliseconds. Every statement the dashboard
sends is timed too; the slowest one is shown with its EXPLAIN (ANALYZE, BUFFERS).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy import event
from sqlalchemy.engine import make_url

from marketlink.adapters.sqlalchemy.admin_queries import SqlAdminQueries
from marketlink.adapters.sqlalchemy.engine import create_engine_for
from marketlink.adapters.sqlalchemy.migrate import upgrade_database
from marketlink.application.admin_queries import ORDERS, PAYMENTS, ListQuery

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

CUSTOMERS, VENDORS, SERVICES_PER_VENDOR, VARIANTS_PER_SERVICE = 2000, 50, 4, 2
SPREAD_DAYS = 180

# One row per order with what its fate will be (k = g % 20):
#   0 pending, 1-2 paid, 3-4 processing, 5-13 and 19 completed, 14-16 cancelled by
#   expiry, 17 cancelled after it was paid (refund flagged), 18 failed.
SEED = """
CREATE TEMP TABLE seed AS
SELECT gen_random_uuid() AS id, g, g % 20 AS k, g % {variants} + 1 AS v,
       %(now)s::timestamptz - g * (interval '1 day' * {days} / %(orders)s) AS at
FROM generate_series(1, %(orders)s) AS g
"""

STATEMENTS = [
    """INSERT INTO users (id, email, password_hash, first_name, last_name, phone_number,
                          role, is_active, date_joined)
       SELECT g, 'user' || g || '@bench.test', 'x', 'First' || g, 'Last' || g, NULL,
              CASE WHEN g <= {customers} THEN 'customer'
                   WHEN g <= {customers} + {vendors} THEN 'vendor' ELSE 'admin' END,
              g % 50 <> 0, %(now)s::timestamptz - interval '200 days'
       FROM generate_series(1, {customers} + {vendors} + 1) AS g""",
    """INSERT INTO vendor_profiles (id, user_id, business_name, address, is_active, created_at)
       SELECT g, {customers} + g, 'Shop ' || g, 'Road ' || g, g % 10 <> 0,
              %(now)s::timestamptz - interval '200 days'
       FROM generate_series(1, {vendors}) AS g""",
    """INSERT INTO services (id, vendor_id, name, description, is_active, created_at)
       SELECT g, (g - 1) / {per_vendor} + 1, 'Service ' || g, 'What it does', true,
              %(now)s::timestamptz - interval '200 days'
       FROM generate_series(1, {services}) AS g""",
    """INSERT INTO service_variants (id, service_id, name, price, estimated_minutes, stock,
                                     reserved, is_active)
       SELECT g, (g - 1) / {per_service} + 1, 'Variant ' || g, 500 + (g % 20) * 100, 60,
              1000, 0, true
       FROM generate_series(1, {variants}) AS g""",
    """INSERT INTO repair_orders (id, customer_id, vendor_id, variant_id, service_name,
                                  variant_name, status, total_amount, currency, created_at,
                                  updated_at, expires_at)
       SELECT id, g % {customers} + 1,
              ((v - 1) / {per_service}) / {per_vendor} + 1, v,
              'Service ' || ((v - 1) / {per_service} + 1), 'Variant ' || v,
              CASE WHEN k = 0 THEN 'pending' WHEN k <= 2 THEN 'paid'
                   WHEN k <= 4 THEN 'processing' WHEN k <= 13 OR k = 19 THEN 'completed'
                   WHEN k <= 17 THEN 'cancelled' ELSE 'failed' END,
              500 + (v % 20) * 100, 'BDT', at, at, at + interval '30 minutes'
       FROM seed""",
    # The history: placed, then each move of the order's fate.
    """INSERT INTO order_events (order_id, at, from_status, to_status, source, actor_id, reason)
       SELECT id, at, NULL, 'pending', 'api', g % {customers} + 1, '' FROM seed
       UNION ALL
       SELECT id, LEAST(at + interval '10 minutes', %(now)s), 'pending', 'paid', 'webhook',
              NULL, ''
       FROM seed WHERE k BETWEEN 1 AND 13 OR k IN (17, 19)
       UNION ALL
       SELECT id, LEAST(at + interval '1 day', %(now)s), 'paid', 'processing', 'api', NULL, ''
       FROM seed WHERE k BETWEEN 3 AND 13 OR k = 19
       UNION ALL
       SELECT id, LEAST(at + interval '2 days', %(now)s), 'processing', 'completed', 'api',
              NULL, ''
       FROM seed WHERE k BETWEEN 5 AND 13 OR k = 19
       UNION ALL
       SELECT id, LEAST(at + interval '30 minutes', %(now)s), 'pending', 'cancelled',
              'expiry', NULL, 'reservation expired'
       FROM seed WHERE k BETWEEN 14 AND 16
       UNION ALL
       SELECT id, LEAST(at + interval '1 hour', %(now)s), 'paid', 'cancelled', 'api',
              g % {customers} + 1, ''
       FROM seed WHERE k = 17
       UNION ALL
       SELECT id, LEAST(at + interval '20 minutes', %(now)s), 'pending', 'failed', 'webhook',
              NULL, 'payment failed at the gateway'
       FROM seed WHERE k = 18""",
    """INSERT INTO payments (tran_id, order_id, amount, currency, status, session_key,
                             gateway_url, val_id, bank_tran_id, card_type, card_no,
                             risk_level, flag, refund_status, refund_ref_id, created_at,
                             updated_at, paid_amount, paid_currency)
       SELECT 'MLB' || g, s.id, o.total_amount, 'BDT',
              CASE WHEN k = 0 THEN (CASE WHEN g % 4 = 0 THEN 'valid' ELSE 'initiated' END)
                   WHEN k BETWEEN 14 AND 16 THEN 'cancelled' WHEN k = 18 THEN 'failed'
                   ELSE 'valid' END,
              'SK' || g, '', 'VAL' || g, 'BANK' || g, 'VISA', '4111XXXXXXXX1111',
              CASE WHEN k = 0 AND g % 4 = 0 THEN 1 ELSE 0 END,
              CASE WHEN k = 0 AND g % 4 = 0 THEN 'review' WHEN k = 17 THEN 'refund' END,
              CASE WHEN k = 17
                   THEN (ARRAY['refund_pending', 'refunded', 'refund_failed'])[g % 3 + 1] END,
              '', s.at + interval '1 minute', s.at + interval '10 minutes',
              CASE WHEN k NOT IN (14, 15, 16, 18) THEN o.total_amount END,
              CASE WHEN k NOT IN (14, 15, 16, 18) THEN 'BDT' END
       FROM seed AS s JOIN repair_orders AS o ON o.id = s.id""",
    """INSERT INTO gateway_notices (key, tran_id, received_at, status, result, reason, source)
       SELECT 'N' || p.tran_id, p.tran_id, p.created_at + interval '9 minutes',
              upper(p.status), 'processed', '', 'webhook'
       FROM payments AS p WHERE p.status IN ('valid', 'failed', 'cancelled')""",
]


def _sql(template: str, names: dict[str, int]) -> str:
    """The statement with its sizes filled in; `%` (modulo) doubled for psycopg's params."""
    return template.format(**names).replace(" % ", " %% ")


def seed(url: str, orders: int, now: datetime) -> dict[str, Any]:
    services = VENDORS * SERVICES_PER_VENDOR
    names = {
        "customers": CUSTOMERS,
        "vendors": VENDORS,
        "per_vendor": SERVICES_PER_VENDOR,
        "per_service": VARIANTS_PER_SERVICE,
        "services": services,
        "variants": services * VARIANTS_PER_SERVICE,
        "days": SPREAD_DAYS,
    }
    started = time.perf_counter()
    params = {"now": now, "orders": orders}
    with psycopg.connect(url) as connection:
        connection.execute(_sql(SEED, names), params)
        for statement in STATEMENTS:
            connection.execute(_sql(statement, names), params)
        counts = {
            table: connection.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]  # type: ignore[index]
            for table in ("repair_orders", "order_events", "payments", "gateway_notices")
        }
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return {"seconds": round(time.perf_counter() - started, 2), "rows": counts}


class StatementTimer:
    """Times every statement the engine sends (BEGIN and pings left out)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.records: list[tuple[float, str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, _conn, _cursor, _statement, _parameters, context, _many) -> None:
        context._bench_started = time.perf_counter()

    def _after(self, _conn, _cursor, statement, parameters, context, _many) -> None:
        if statement.strip().upper().startswith(("BEGIN", "SELECT 1")):
            return
        elapsed = (time.perf_counter() - context._bench_started) * 1000
        self.records.append((elapsed, statement, parameters))


def timed(call, runs: int) -> dict[str, float]:
    call()  # warm-up: compiled-statement cache, pool, the database's buffers
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "median_ms": round(statistics.median(samples), 2),
        "min_ms": round(min(samples), 2),
        "max_ms": round(max(samples), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    name = f"marketlink_bench_admin_{uuid.uuid4().hex[:8]}"
    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        upgrade_database(url)
        now = datetime.now(UTC)
        seeded = seed(url, args.orders, now)
        engine = create_engine_for(url)
        try:
            queries = SqlAdminQueries(engine)
            timer = StatementTimer(engine)
            dashboard = timed(lambda: queries.dashboard(now), args.runs)
            per_statement: dict[str, list[float]] = {}
            examples: dict[str, Any] = {}
            for elapsed, statement, parameters in timer.records:
                per_statement.setdefault(statement, []).append(elapsed)
                examples[statement] = parameters
            slowest = max(per_statement, key=lambda s: statistics.median(per_statement[s]))
            with engine.connect() as connection:
                plan = [
                    row[0]
                    for row in connection.exec_driver_sql(
                        f"EXPLAIN (ANALYZE, BUFFERS) {slowest}", examples[slowest]
                    )
                ]
            first_page = ORDERS.check(ListQuery())
            pending_page = ORDERS.check(ListQuery(filters={"status": "pending"}))
            refund_page = PAYMENTS.check(ListQuery(filters={"flag": "refund"}))
            result = {
                "bench": "admin_read_model",
                "database": "postgresql",
                "orders": args.orders,
                "seed": seeded,
                "runs": args.runs,
                "dashboard": dashboard,
                "dashboard_statements": len(per_statement),
                "orders_first_page": timed(lambda: queries.orders(first_page), args.runs),
                "orders_pending_first_page": timed(lambda: queries.orders(pending_page), args.runs),
                "payments_refund_first_page": timed(
                    lambda: queries.payments(refund_page), args.runs
                ),
                "orders_search_first_page": timed(
                    lambda: queries.orders(ORDERS.check(ListQuery(search="user42@"))), args.runs
                ),
                "slowest_dashboard_statement": {
                    "median_ms": round(statistics.median(per_statement[slowest]), 2),
                    "sql": " ".join(slowest.split()),
                    "explain": plan,
                },
            }
        finally:
            engine.dispose()
    finally:
        if not args.keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
