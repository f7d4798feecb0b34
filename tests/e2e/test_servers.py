"""`marketlink run` and `marketlink serve` really serve: started as the console script,
on a free port and a temporary SQLite database, then asked over HTTP."""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from marketlink.entrypoints.cli import DEMO_CUSTOMER, DEMO_VENDOR

pytestmark = pytest.mark.e2e

MARKETLINK = shutil.which("marketlink", path=str(Path(sys.executable).parent))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def migrated_server_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a server on a free port and a migrated SQLite file of its own."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"REDIS_URL", "SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL"}
    }
    port = _free_port()
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'server.db'}",
        MARKETLINK_INSTANCE_DIR=str(tmp_path / "instance"),
        MARKETLINK_ENV="development",
        PORT=str(port),
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        WORKERS="2",
    )
    assert MARKETLINK, "the marketlink console script is not installed"
    subprocess.run([MARKETLINK, "migrate"], env=env, check=True, capture_output=True)
    return env


@pytest.fixture
def server_env(tmp_path: Path) -> dict[str, str]:
    env = migrated_server_env(tmp_path)
    subprocess.run([MARKETLINK, "seed-demo"], env=env, check=True, capture_output=True)
    return env


@contextlib.contextmanager
def _serving(command: str, env: dict[str, str]) -> Iterator[str]:
    with _server_process(command, env) as (base, _process_group):
        yield base


@contextlib.contextmanager
def _server_process(command: str, env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """The server's base URL and its process group (its own session)."""
    assert MARKETLINK
    process = subprocess.Popen(
        [MARKETLINK, command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = env["PUBLIC_BASE_URL"]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"`marketlink {command}` exited early:\n{output}")
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            pytest.fail(f"`marketlink {command}` did not answer within 30 s")
        yield base, process.pid
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.parametrize("command", ["run", "serve"])
def test_the_server_lists_the_demo_services(command: str, server_env: dict[str, str]) -> None:
    with _serving(command, server_env) as base:
        services = requests.get(f"{base}/api/v1/services", timeout=5)
        assert services.status_code == 200
        assert {service["name"] for service in services.json()} >= {"Oil change"}
        swagger = requests.get(f"{base}/swagger/", timeout=5)
        assert swagger.status_code == 200
        assert "swagger" in swagger.text.lower()


def _return_form(page: str) -> tuple[str, dict[str, str]]:
    """The gateway's auto-submitting form: where it posts, and its hidden fields."""
    action = re.search(r'<form id="sslcommerz-return" method="post" action="([^"]*)"', page)
    assert action, page
    fields = re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', page)
    return html.unescape(action.group(1)), {html.unescape(k): html.unescape(v) for k, v in fields}


@pytest.mark.parametrize("command", ["run", "serve"])
def test_a_payment_through_the_sandbox_in_the_same_server(
    command: str, server_env: dict[str, str]
) -> None:
    # One worker with one thread asked for: a payment nests three requests in this server
    # (the customer's, the sandbox's IPN, the webhook's validation call), and must not hang.
    env = {**server_env, "WORKERS": "1", "THREADS": "1"}
    with _serving(command, env) as base, requests.Session() as browser:
        login = {"email": DEMO_CUSTOMER.email, "password": DEMO_CUSTOMER.password}
        token = requests.post(f"{base}/api/v1/auth/login", json=login, timeout=5).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        services = requests.get(f"{base}/api/v1/services?available=true", timeout=5).json()
        variant = next(v for s in services for v in s["variants"] if v["available"])
        order = requests.post(
            f"{base}/api/v1/orders", json={"variant_id": variant["id"]}, headers=auth, timeout=5
        ).json()

        link = browser.get(order["payment_url"], allow_redirects=False, timeout=20)
        assert link.status_code == 303, link.text
        paid = browser.post(link.headers["Location"], data={"outcome": "success"}, timeout=30)
        assert paid.status_code == 200, paid.text
        action, fields = _return_form(paid.text)
        back = browser.post(action, data=fields, allow_redirects=False, timeout=20)

        assert back.status_code == 200 and "Payment received" in back.text
        current = requests.get(f"{base}/api/v1/orders/{order['id']}", headers=auth, timeout=5)
        assert current.json()["status"] == "paid"


def _connections_per_worker(server_pgid: int, port: int) -> list[int]:
    """Established connections to `port` held by each process of the server's group."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state, inode = int(fields[1].split(":")[1], 16), fields[3], fields[9]
        if local_port == port and state == "01":  # ESTABLISHED
            inodes.add(f"socket:[{inode}]")
    counts = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) != server_pgid:
                continue
            held = {os.readlink(fd) for fd in (stat.parent / "fd").iterdir()}
        except (OSError, ValueError):
            continue  # gone while we looked
        counts.append(len(held & inodes))
    return counts


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_serve_spreads_keep_alive_connections_over_its_workers(
    server_env: dict[str, str],
) -> None:
    # Opened one after another on an idle server, as a proxy's pool or the bench does:
    # left to the kernel, one worker tends to take most of them and keep them.
    env = {**server_env, "WORKERS": "4"}
    with _server_process("serve", env) as (base, process_group):
        port = int(env["PORT"])
        sessions = [requests.Session() for _ in range(16)]
        try:
            for session in sessions:
                assert session.get(f"{base}/healthz", timeout=5).status_code == 200
            # The arbiter holds none; the four workers hold the sixteen between them.
            per_worker = sorted(_connections_per_worker(process_group, port))
            held = [count for count in per_worker if count]
            assert sum(held) == 16
            assert max(held) - min(held) <= 2 and len(held) == 4, per_worker
        finally:
            for session in sessions:
                session.close()


# Many clients at once on the embedded default (SQLite) ------------------------------------------

CLIENTS = 32
STOCK = 10


def _all_at_once(count: int, call: Callable[[int], requests.Response]) -> list[requests.Response]:
    """`count` calls, each in its own thread, released together."""
    start = threading.Barrier(count)

    def one(index: int) -> requests.Response:
        start.wait()
        return call(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.concurrency
@pytest.mark.parametrize("command", ["run", "serve"])
def test_sqlite_serves_32_registrations_and_bookings_at_once(
    command: str, server_env: dict[str, str]
) -> None:
    # Two different e-mails never conflict, and a variant of stock 10 sells exactly 10: no
    # 500 ("database is locked") and no 409 concurrent_update on the way.
    env = {**server_env, "RATE_LIMITS": "off"}
    with _serving(command, env) as base:
        vendor = requests.post(
            f"{base}/api/v1/auth/login",
            json={"email": DEMO_VENDOR.email, "password": DEMO_VENDOR.password},
            timeout=10,
        ).json()
        shop = {"Authorization": f"Bearer {vendor['access_token']}"}
        service = requests.get(f"{base}/api/v1/services", timeout=10).json()[0]
        variant = requests.post(
            f"{base}/api/v1/services/{service['id']}/variants",
            json={"name": "Ten bays", "price": "900.00", "estimated_minutes": 30, "stock": STOCK},
            headers=shop,
            timeout=10,
        ).json()
        run = uuid.uuid4().hex[:8]

        def register(index: int) -> requests.Response:
            body = {
                "email": f"crowd-{run}-{index}@example.com",
                "password": "crowd-password",
                "first_name": "Crowd",
                "last_name": str(index),
                "role": "customer",
            }
            return requests.post(f"{base}/api/v1/auth/register", json=body, timeout=120)

        registered = _all_at_once(CLIENTS, register)
        assert sorted(r.status_code for r in registered) == [201] * CLIENTS, [
            r.text for r in registered if r.status_code != 201
        ]

        tokens = [
            requests.post(
                f"{base}/api/v1/auth/login",
                json={"email": r.json()["email"], "password": "crowd-password"},
                timeout=30,
            ).json()["access_token"]
            for r in registered
        ]

        def book(index: int) -> requests.Response:
            return requests.post(
                f"{base}/api/v1/orders",
                json={"variant_id": variant["id"]},
                headers={"Authorization": f"Bearer {tokens[index]}"},
                timeout=120,
            )

        booked = _all_at_once(CLIENTS, book)
        answers = Counter(
            (r.status_code, r.json().get("error") if r.status_code != 201 else None) for r in booked
        )
        assert answers == {(201, None): STOCK, (409, "out_of_stock"): CLIENTS - STOCK}, [
            r.text for r in booked if r.status_code not in (201, 409)
        ]
        after = requests.get(f"{base}/api/v1/variants/{variant['id']}", timeout=10).json()
        assert (after["reserved"], after["available"]) == (STOCK, 0)


# The README's first walk, as a newcomer follows it ----------------------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_walk_works_as_written(server_env: dict[str, str]) -> None:
    readme = README.read_text()
    first_screen = readme.split("Then:")[0]
    assert re.findall(r"^make \w+", first_screen, re.MULTILINE) == ["make run", "make test"]
    login = json.loads(re.search(r"`POST /api/v1/auth/login` with `(\{.*?\})`", readme)[1])
    booking = json.loads(re.search(r"`POST /api/v1/orders` with\s+`(\{.*?\})`", readme)[1])
    button = re.search(r"press \*\*([^*]+)\*\* on the\s+sandbox's payment page", readme)
    assert button, "the README names the button to press on the sandbox's page"

    with _serving("run", server_env) as base, requests.Session() as browser:
        token = requests.post(f"{base}/api/v1/auth/login", json=login, timeout=5).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        order = requests.post(f"{base}/api/v1/orders", json=booking, headers=auth, timeout=5).json()
        gateway = browser.get(order["payment_url"], timeout=20)
        assert f'value="success">{html.escape(button[1])}</button>' in gateway.text, gateway.text
        paid = browser.post(gateway.url, data={"outcome": "success"}, timeout=30)
        action, fields = _return_form(paid.text)
        browser.post(action, data=fields, timeout=20)
        current = requests.get(f"{base}/api/v1/orders/{order['id']}", headers=auth, timeout=5)
        assert current.json()["status"] == "paid"


def test_the_readme_points_inside_the_repository_for_the_contract() -> None:
    # That nothing points outside the repository: tests/unit/test_doc_references.py.
    readme = README.read_text()
    assert "[`docs/api.md`](docs/api.md)" in readme
