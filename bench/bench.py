"""Booking benchmark: `marketlink serve` on PostgreSQL + Redis, many clients, one hot variant.

Prints one JSON line. Not a test: it measures, it does not assert (beyond exiting
non-zero if the run oversold a slot or left the counts inconsistent).

    python bench/bench.py --mode book     # 2000 bookings, 64 clients, capacity 1000
    python bench/bench.py --mode browse   # GET /services and GET /orders/{id}
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
MARKETLINK = Path(sys.executable).with_name("marketlink")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Client:
    """One keep-alive connection, as one customer's app would hold."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.token = token

    def call(self, method: str, path: str, body: object = None) -> tuple[int, dict | list | None]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = json.dumps(body) if body is not None else None
        try:
            self._conn.request(method, path, body=payload, headers=headers)
            response = self._conn.getresponse()
        except (http.client.HTTPException, OSError):
            self._conn.close()  # reconnect once: the server may have closed an idle socket
            self._conn.request(method, path, body=payload, headers=headers)
            response = self._conn.getresponse()
        raw = response.read()
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        return response.status, data


def expect(status: int, data: object, wanted: int, what: str) -> dict:
    if status != wanted:
        raise SystemExit(f"bench setup failed: {what} -> {status} {data}")
    assert isinstance(data, dict)
    return data


def login(port: int, email: str, password: str) -> Client:
    client = Client(port)
    data = expect(
        *client.call("POST", "/api/v1/auth/login", {"email": email, "password": password}),
        200,
        "login",
    )
    client.token = data["access_token"]
    return client


def register(port: int, email: str, role: str) -> Client:
    client = Client(port)
    body = {
        "email": email,
        "password": "bench-password",
        "first_name": "B",
        "last_name": "Ench",
        "role": role,
    }
    expect(*client.call("POST", "/api/v1/auth/register", body), 201, "register")
    return login(port, email, "bench-password")


def start_server(
    database_url: str, redis_url: str, port: int, workers: int
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PORT": str(port),
        "WORKERS": str(workers),
        "RATE_LIMITS": "off",
        "MAX_UNPAID_ORDERS": "0",
        "MARKETLINK_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "JWT_SECRET_KEY": secrets.token_hex(32),
        "SSLCOMMERZ_STORE_ID": "bench",
        "SSLCOMMERZ_STORE_PASSWORD": "bench",
        "SSLCOMMERZ_BASE_URL": "http://127.0.0.1:9",
    }
    subprocess.run([str(MARKETLINK), "migrate"], env=env, check=True, cwd=ROOT)
    server = subprocess.Popen(
        [str(MARKETLINK), "serve"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _ = Client(port).call("GET", "/healthz")
            if status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("bench: the server did not come up")


@dataclass
class Load:
    latencies: list[float]
    statuses: Counter
    elapsed: float
    until_last_success: float


def run_load(total: int, clients: list[Client], request: callable) -> Load:
    latencies: list[float] = []
    statuses: Counter = Counter()
    lock = threading.Lock()
    remaining = [total]
    last_success = [0.0]

    def worker(client: Client) -> None:
        while True:
            with lock:
                if remaining[0] <= 0:
                    return
                remaining[0] -= 1
            started = time.perf_counter()
            status = request(client)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] += 1
                if status < 300:
                    last_success[0] = time.perf_counter()

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(latencies, statuses, time.perf_counter() - started, last_success[0] - started)


def cpu_seconds(pgid: int | None = None, command: str | None = None) -> float:
    """CPU time (user + system) of the processes in a process group or with a command name."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm, rest = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, ValueError):
            continue  # the process ended while we looked
        fields = rest.split()
        if (pgid is not None and int(fields[2]) == pgid) or comm == command:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU spent by the server's workers, PostgreSQL, Redis and this client during a load."""

    def __init__(self, server_pgid: int) -> None:
        self._server_pgid = server_pgid

    def _read(self) -> dict[str, float]:
        return {
            "server": cpu_seconds(pgid=self._server_pgid),
            "postgres": cpu_seconds(command="postgres"),
            "redis": cpu_seconds(command="redis-server"),
            # The load generator shares the machine's two cores with all of the above.
            "client": sum(os.times()[:2]),
        }

    def start(self) -> None:
        self._before = self._read()

    def per_request(self, requests: int) -> dict[str, float]:
        after = self._read()
        return {
            f"{name}_cpu_ms_per_request": round(1000 * (after[name] - before) / requests, 2)
            for name, before in self._before.items()
        }


def latency_figures(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "mean_ms": round(statistics.mean(latencies) * 1000, 1),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["book", "browse"], default="book")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--capacity", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    db_name = f"marketlink_bench_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db_name}"')
    database_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{db_name}"
    port = free_port()
    server = start_server(database_url, "redis://127.0.0.1:6379/14", port, args.workers)
    try:
        vendor = register(port, f"vendor-{db_name}@bench.test", "vendor")
        expect(
            *vendor.call(
                "POST", "/api/v1/vendors/me", {"business_name": "Bench Motors", "address": "Dhaka"}
            ),
            201,
            "vendor profile",
        )
        service = expect(
            *vendor.call(
                "POST", "/api/v1/services", {"name": "Brake service", "description": "bench"}
            ),
            201,
            "service",
        )
        variant = expect(
            *vendor.call(
                "POST",
                f"/api/v1/services/{service['id']}/variants",
                {
                    "name": "Front pads",
                    "price": "1500.00",
                    "estimated_minutes": 60,
                    "stock": args.capacity,
                },
            ),
            201,
            "variant",
        )
        customers = [
            register(port, f"c{i}-{db_name}@bench.test", "customer") for i in range(args.clients)
        ]

        if args.mode == "book":
            body = {"variant_id": variant["id"]}
            cpu = CpuMeter(server.pid)
            cpu.start()
            load = run_load(
                args.requests, customers, lambda c: c.call("POST", "/api/v1/orders", body)[0]
            )
            cpu_figures = cpu.per_request(len(load.latencies))
            with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
                orders = conn.execute(
                    "SELECT count(*) FROM repair_orders WHERE variant_id = %s", (variant["id"],)
                ).fetchone()[0]
                reserved = conn.execute(
                    "SELECT reserved FROM service_variants WHERE id = %s", (variant["id"],)
                ).fetchone()[0]
            booked = load.statuses[201]
            result = {
                "mode": "book",
                "clients": args.clients,
                "requests": args.requests,
                "capacity": args.capacity,
                # Successful bookings per second while slots lasted (until the last 201).
                "bookings_per_s": round(booked / load.until_last_success, 1) if booked else 0,
                # Every request over the whole run, including the 409s once sold out.
                "requests_per_s": round(len(load.latencies) / load.elapsed, 1),
                **latency_figures(load.latencies),
                **cpu_figures,
                "statuses": dict(sorted(load.statuses.items())),
                "orders": orders,
                "reserved": reserved,
                "oversold": max(0, orders - args.capacity),
                "consistent": reserved == orders,
            }
        else:
            order_ids = []
            for customer in customers[: min(8, len(customers))]:
                status, order = customer.call(
                    "POST", "/api/v1/orders", {"variant_id": variant["id"]}
                )
                order_ids.append((customer, expect(status, order, 201, "order")["id"]))
            owner = {id(c): oid for c, oid in order_ids}

            def browse(client: Client) -> int:
                if id(client) in owner and secrets.randbelow(2):
                    return client.call("GET", f"/api/v1/orders/{owner[id(client)]}")[0]
                return client.call("GET", "/api/v1/services?page_size=20")[0]

            cpu = CpuMeter(server.pid)
            cpu.start()
            load = run_load(args.requests, customers, browse)
            cpu_figures = cpu.per_request(len(load.latencies))
            result = {
                "mode": "browse",
                "clients": args.clients,
                "requests": args.requests,
                "requests_per_s": round(len(load.latencies) / load.elapsed, 1),
                **latency_figures(load.latencies),
                **cpu_figures,
                "statuses": dict(sorted(load.statuses.items())),
            }
        print(json.dumps(result))
        return 0 if result.get("oversold", 0) == 0 and result.get("consistent", True) else 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
