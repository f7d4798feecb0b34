"""The admin panel in a real browser: Debian's Chromium, driven by Playwright, against
`marketlink run` on a free port with a SQLite database and data this test makes.

Never a downloaded browser: /usr/bin/chromium (`apt-get install chromium`, which .ci/run
does when it is missing). Without it the test is skipped, except under CI=true, where
it fails. Screenshots go to browser-screenshots/ (git-ignored).
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.test_servers import MARKETLINK, _return_form, _serving, migrated_server_env

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.timeout(240)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "browser-screenshots"
ADMIN_EMAIL, ADMIN_PASSWORD = "panel-admin@example.com", "a-long-admin-password-42"
PASSWORD = "correct-horse-battery"
PRICE = Decimal("1500.00")
STEP_TIMEOUT_MS = 15_000

if not os.access(CHROMIUM, os.X_OK):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package.")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    env = migrated_server_env(tmp_path)
    subprocess.run(
        [MARKETLINK, "create-admin", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD],
        env=env,
        check=True,
        capture_output=True,
    )
    with _serving("run", env) as base:
        yield base


class Api:
    def __init__(self, base: str) -> None:
        self.base = base

    def account(self, email: str, role: str) -> dict[str, str]:
        body = {"email": email, "password": PASSWORD, "first_name": "T", "last_name": "U"}
        made = requests.post(
            f"{self.base}/api/v1/auth/register", json={**body, "role": role}, timeout=10
        )
        assert made.status_code == 201, made.text
        tokens = requests.post(
            f"{self.base}/api/v1/auth/login",
            json={"email": email, "password": PASSWORD},
            timeout=10,
        ).json()
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    def post(self, path: str, headers: dict[str, str], body: dict) -> dict:
        answer = requests.post(f"{self.base}/api/v1{path}", json=body, headers=headers, timeout=10)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()


def _make_marketplace(base: str) -> dict:
    """A shop with one variant, two customers, three orders of which one is paid."""
    api = Api(base)
    vendor = api.account("panel-vendor@example.com", "vendor")
    api.post("/vendors/me", vendor, {"business_name": "Panel Motors", "address": "Dhaka"})
    service = api.post("/services", vendor, {"name": "Brake repair"})
    api.post(
        f"/services/{service['id']}/variants",
        vendor,
        {"name": "Front", "price": str(PRICE), "stock": 5, "estimated_minutes": 60},
    )
    variant_id = requests.get(f"{base}/api/v1/services/{service['id']}", timeout=10).json()[
        "variants"
    ][0]["id"]
    first = api.account("panel-customer-1@example.com", "customer")
    second = api.account("panel-customer-2@example.com", "customer")
    orders = [
        api.post("/orders", first, {"variant_id": variant_id}),
        api.post("/orders", first, {"variant_id": variant_id}),
        api.post("/orders", second, {"variant_id": variant_id}),
    ]
    with requests.Session() as payer:  # the first order paid through the offline sandbox
        link = payer.get(orders[0]["payment_url"], allow_redirects=False, timeout=20)
        paid = payer.post(link.headers["Location"], data={"outcome": "success"}, timeout=30)
        action, fields = _return_form(paid.text)
        payer.post(action, data=fields, allow_redirects=False, timeout=20)
    status = requests.get(
        f"{base}/api/v1/orders/{orders[0]['id']}", headers=first, timeout=10
    ).json()
    assert status["status"] == "paid"
    return {"orders": orders, "pending": [orders[1]["id"], orders[2]["id"]]}


def _figure(page, name: str) -> str:
    return page.locator(f'[data-figure="{name}"]').inner_text().strip()


def test_an_admin_works_the_panel_in_a_real_browser(server: str) -> None:
    started = time.monotonic()
    data = _make_marketplace(server)
    SCREENSHOTS.mkdir(exist_ok=True)
    own = urlsplit(server).netloc
    foreign: list[str] = []

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(accept_downloads=True)
            context.set_default_timeout(STEP_TIMEOUT_MS)

            def _only_this_server(route) -> None:
                if urlsplit(route.request.url).netloc == own:
                    route.continue_()
                else:
                    foreign.append(route.request.url)
                    route.abort()

            context.route("**/*", _only_this_server)
            page = context.new_page()
            page.on("dialog", lambda dialog: dialog.accept())  # the actions' confirmations

            # Anonymous: sent to the sign-in page.
            page.goto(f"{server}/admin/orders/")
            assert "/admin/login" in page.url
            page.fill("#email", ADMIN_EMAIL)
            page.fill("#password", ADMIN_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{server}/admin/orders/**")

            # The dashboard's numbers are the data this test made.
            page.goto(f"{server}/admin/")
            page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
            assert _figure(page, "users_admin") == "1"
            assert _figure(page, "users_customer") == "2"
            assert _figure(page, "users_vendor") == "1"
            assert _figure(page, "active_vendors") == "1"
            assert _figure(page, "orders_pending") == "2"
            assert _figure(page, "orders_paid") == "1"
            assert _figure(page, "revenue_today").startswith(f"{PRICE:,.2f}")
            assert _figure(page, "revenue_7_days").startswith(f"{PRICE:,.2f}")
            assert page.locator("#chart svg").count() == 1

            # Orders filtered by status, from the dashboard's link.
            page.click("#orders-by-status a:text-is('pending')")
            page.wait_for_url("**/admin/orders/?*status*")
            rows = page.locator("table.model-list tbody tr")
            assert rows.count() == 2
            assert set(data["pending"]) <= set(page.content().split('"'))  # their ids

            # Cancel one through the bulk action (Flask-Admin's own JS, CSRF token included).
            target = data["pending"][0]
            page.check(f"input.action-checkbox[value='{target}']")
            page.click("text=With selected")
            page.click("a.dropdown-item:text-is('Cancel')")
            page.wait_for_selector(".alert-success")
            assert "Cancel: 1 of 1 order(s) done." in page.inner_text(".alert-success")
            page.screenshot(path=str(SCREENSHOTS / "orders-after-cancel.png"), full_page=True)

            page.goto(f"{server}/admin/orders/details/?id={target}")
            assert page.inner_text("#order-status") == "cancelled"
            history = page.inner_text("#history")
            assert "admin" in history and "cancelled" in history
            page.screenshot(path=str(SCREENSHOTS / "order-detail.png"), full_page=True)

            # Its audit row.
            page.goto(f"{server}/admin/audit/")
            audit = page.inner_text("table.model-list")
            assert target in audit and "cancel" in audit.lower()

            # CSV export of the filtered list.
            page.goto(f"{server}/admin/orders/?flt0_status_equals=pending")
            with page.expect_download() as download:
                page.click("text=Export")
            exported = Path(download.value.path()).read_text()
            rows_out = list(csv.DictReader(io.StringIO(exported)))
            assert [row for row in rows_out if target in row.values()] == []
            assert len(rows_out) == 1 and data["pending"][1] in rows_out[0].values()

            page.click("#logout")
            page.wait_for_url("**/admin/login**")

            # A customer cannot get in.
            customer = context.new_page()
            customer.goto(f"{server}/admin/login")
            customer.fill("#email", "panel-customer-1@example.com")
            customer.fill("#password", PASSWORD)
            customer.click("button[type=submit]")
            assert "for administrators only" in customer.inner_text("#login-error")
            customer.goto(f"{server}/admin/")
            assert "/admin/login" in customer.url
            customer.screenshot(path=str(SCREENSHOTS / "customer-refused.png"))
        finally:
            browser.close()

    assert foreign == [], f"the panel asked other hosts for: {foreign}"
    assert time.monotonic() - started < 180
