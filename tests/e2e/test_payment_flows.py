"""Payments end to end: real HTTP, PostgreSQL, and the offline gateway in the same server.

Every test gets a migrated PostgreSQL database of its own and its own app, served by a
threaded werkzeug server on a free port whose URL is PUBLIC_BASE_URL. So the payment
client calls the sandbox over HTTP, and the sandbox posts the IPN back to the webhook
over HTTP, exactly as SSLCommerz would; the test plays the customer's browser.
"""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from click.testing import CliRunner
from dependency_injector import providers
from werkzeug.serving import make_server

from marketlink.adapters.sslcommerz import signing
from marketlink.adapters.sslcommerz.client import SslCommerzGateway
from marketlink.application.use_cases.accounts import RegisterUser
from marketlink.config import SANDBOX_STORE_PASSWORD, Settings
from marketlink.containers import Container
from marketlink.domain.users import Role
from marketlink.entrypoints.cli import cli
from marketlink.entrypoints.http.app import MarketLink, create_app
from tests.e2e.conftest import PASSWORD, fast_hasher

pytestmark = pytest.mark.e2e

TTL_SECONDS = 1800
WEBHOOK = "/api/v1/webhooks/sslcommerz/"
RETURN = "/api/v1/payments/sslcommerz/"
FRONTEND = "https://shop.example"
PAYMENT_FIELDS = {
    "tran_id",
    "order_id",
    "amount",
    "currency",
    "status",
    "val_id",
    "bank_tran_id",
    "risk_level",
    "flag",
    "refund_status",
    "created_at",
    "notices",
}
_ids = itertools.count(1)


class ShiftedClock:
    """The system clock, moved forward by the test (reservations expire without waiting)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class _LateApp:
    """A WSGI app bound after the server: the app's settings need the server's port."""

    app: MarketLink | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


@dataclass
class ReturnForm:
    """The auto-submitting form the gateway hands the browser: the notice's fields."""

    action: str
    fields: dict[str, str]


class _ReturnFormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form" and attributes.get("id") == "sslcommerz-return":
            assert attributes["method"] == "post"
            self.action = attributes["action"]
        elif tag == "input" and attributes.get("type") == "hidden":
            self.fields[attributes["name"]] = attributes["value"]


@dataclass
class Account:
    id: int
    email: str
    token: str


@dataclass
class Live:
    """The running app, and a client that drives it like apps, browsers and gateways do."""

    base: str
    app: MarketLink
    container: Container
    settings: Settings
    clock: ShiftedClock
    http: requests.Session = field(default_factory=requests.Session)

    # HTTP ---------------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    def request(
        self, method: str, path: str, account: Account | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if account is not None:
            headers["Authorization"] = f"Bearer {account.token}"
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)
        response = self.http.request(method, self.url(path), headers=headers, **kwargs)
        assert "Set-Cookie" not in response.headers, "nothing here ever sets a cookie"
        return response

    def ok(
        self, method: str, path: str, account: Account | None = None, status: int = 200, **kw: Any
    ) -> Any:
        response = self.request(method, path, account, **kw)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    # Accounts and the catalog -------------------------------------------------------------

    def account(self, role: str = "customer") -> Account:
        email = f"user{next(_ids)}@example.com"
        body = {
            "email": email,
            "password": PASSWORD,
            "first_name": "Test",
            "last_name": "User",
            "role": role,
        }
        user = self.ok("POST", "/api/v1/auth/register", status=201, json=body)
        return Account(user["id"], email, self._token(email))

    def admin(self) -> Account:
        email = f"admin{next(_ids)}@example.com"
        user = self.container.register()(
            RegisterUser(email, PASSWORD, "Ada", "Admin", Role.ADMIN), allow_admin=True
        )
        assert user.id is not None
        return Account(user.id, email, self._token(email))

    def _token(self, email: str) -> str:
        tokens = self.ok("POST", "/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        return str(tokens["access_token"])

    def shop(self, *, stock: int = 1, price: str = "1500.00") -> tuple[Account, dict[str, Any]]:
        vendor = self.account("vendor")
        profile = {"business_name": "Bay 4 Motors", "address": "Dhanmondi, Dhaka"}
        self.ok("POST", "/api/v1/vendors/me", vendor, 201, json=profile)
        service = self.ok("POST", "/api/v1/services", vendor, 201, json={"name": "Brakes"})
        variant = {"name": "Front axle", "price": price, "stock": stock, "estimated_minutes": 60}
        created = self.ok(
            "POST", f"/api/v1/services/{service['id']}/variants", vendor, 201, json=variant
        )
        return vendor, created

    def available(self, variant: dict[str, Any]) -> int:
        return int(self.ok("GET", f"/api/v1/variants/{variant['id']}")["available"])

    # Orders and payments ------------------------------------------------------------------

    def book(self, customer: Account, variant: dict[str, Any]) -> dict[str, Any]:
        body = {"variant_id": variant["id"]}
        return dict(self.ok("POST", "/api/v1/orders", customer, 201, json=body))

    def status(self, account: Account, order: dict[str, Any]) -> str:
        return str(self.ok("GET", f"/api/v1/orders/{order['id']}", account)["status"])

    def payments(self, account: Account, order: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.ok("GET", f"/api/v1/orders/{order['id']}/payments", account))

    def events(self, account: Account, order: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.ok("GET", f"/api/v1/orders/{order['id']}/events", account))

    def open_gateway(self, order: dict[str, Any]) -> str:
        """The customer follows the pay link; answers the gateway's page it was sent to."""
        response = self.request("GET", order["payment_url"])
        assert response.status_code == 303, response.text
        checkout = response.headers["Location"]
        page = self.request("GET", checkout)
        assert page.status_code == 200
        assert 'name="outcome" value="success"' in page.text
        return checkout

    def pay(self, checkout: str, outcome: str = "success", **knobs: str) -> ReturnForm:
        """The customer acts on the gateway's page (the sandbox sends the IPN first)."""
        response = self.request("POST", checkout, data={"outcome": outcome, **knobs})
        assert response.status_code == 200, response.text
        parser = _ReturnFormParser()
        parser.feed(response.text)
        assert parser.action and parser.fields
        return ReturnForm(parser.action, parser.fields)

    def back_to_merchant(self, form: ReturnForm) -> requests.Response:
        """What the browser does with the gateway's auto-submitting form."""
        return self.request("POST", form.action, data=form.fields)

    def webhook(self, fields: dict[str, str]) -> requests.Response:
        return self.request("POST", WEBHOOK, data=fields)

    def tran_id(self, customer: Account, order: dict[str, Any]) -> str:
        return str(self.payments(customer, order)[0]["tran_id"])

    def refunds_at_the_gateway(self, tran_id: str) -> list[str]:
        """The amounts the offline gateway was asked to refund for this tran_id."""
        query = sa.text("SELECT amount FROM sandbox_refunds WHERE tran_id = :tran_id")
        with self.container.engine().connect() as connection:
            return [str(amount) for amount in connection.scalars(query, {"tran_id": tran_id})]

    def stored_notices(self) -> int:
        with self.container.engine().connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM gateway_notices")).scalar())

    def cli(self, *args: str) -> str:
        env = {
            "DATABASE_URL": self.settings.database_url,
            "PUBLIC_BASE_URL": self.base,
            "SECRET_KEY": self.settings.secret_key,
            "JWT_SECRET_KEY": self.settings.jwt_secret_key,
            "MARKETLINK_INSTANCE_DIR": str(self.settings.instance_dir),
            "MARKETLINK_ENV": "development",
            "REDIS_URL": "",
            "SSLCOMMERZ_STORE_ID": "",
            "SSLCOMMERZ_STORE_PASSWORD": "",
            "FRONTEND_URL": "",
        }
        result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output


@pytest.fixture
def live(request: pytest.FixtureRequest, tmp_path: Any, fresh_postgres_url: str) -> Iterator[Live]:
    """Settings may be changed with indirect parametrization: `{"frontend_url": ...}`."""
    late = _LateApp()
    server = make_server("127.0.0.1", 0, late, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    settings = Settings(
        secret_key="e2e-secret-key-0123456789abcdef0123456789",
        jwt_secret_key="e2e-jwt-secret-key-0123456789abcdef012345",
        database_url=fresh_postgres_url,
        instance_dir=tmp_path,
        public_base_url=base,
        reservation_ttl_seconds=TTL_SECONDS,
        **getattr(request, "param", {}),
    )
    assert settings.use_sandbox and settings.webhook_secret == SANDBOX_STORE_PASSWORD
    container = Container(settings=settings)
    container.password_hasher.override(providers.Object(fast_hasher()))
    clock = ShiftedClock()
    container.clock.override(providers.Object(clock))
    app = create_app(container=container)
    late.app = app
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Live(base, app, container, settings, clock)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        container.unwire()
        container.engine().dispose()


def _resigned(fields: dict[str, str], **changes: str) -> dict[str, str]:
    """A notice changed by someone who knows the (public) sandbox secret, and signed again."""
    changed = {**fields, **changes}
    keys = changed[signing.VERIFY_KEY].split(",")
    changed[signing.VERIFY_SIGN] = signing.sign(changed, keys, SANDBOX_STORE_PASSWORD)
    return changed


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The whole flow -------------------------------------------------------------------------------


@pytest.mark.parametrize("live", [{"frontend_url": FRONTEND}], indirect=True)
def test_book_pay_on_the_gateway_page_and_come_back_paid(live: Live) -> None:
    vendor, variant = live.shop(stock=1)
    customer = live.account()
    order = live.book(customer, variant)
    assert order["payment_url"].startswith(f"{live.base}/pay/{order['id']}?token=")

    checkout = live.open_gateway(order)
    assert checkout.startswith(f"{live.base}/_sandbox/sslcommerz/EasyCheckOut/")
    form = live.pay(checkout)
    # The IPN came first and paid the order, before the browser is even back.
    assert live.status(customer, order) == "paid"
    assert form.action == f"{live.base}{RETURN}success"
    back = live.back_to_merchant(form)

    assert back.status_code == 303
    assert back.headers["Location"] == f"{FRONTEND}/orders/{order['id']}?payment=paid"
    assert live.status(vendor, order) == "paid"
    [payment] = live.payments(customer, order)
    assert set(payment) == PAYMENT_FIELDS
    assert payment["status"] == "valid"
    assert payment["amount"] == "1500.00" and payment["currency"] == "BDT"
    assert payment["val_id"] == form.fields["val_id"]
    assert payment["bank_tran_id"] == form.fields["bank_tran_id"]
    assert (payment["flag"], payment["refund_status"], payment["risk_level"]) == (None, None, 0)
    [notice] = payment["notices"]  # the return page's confirmation was the same notice
    assert set(notice) == {"received_at", "status", "result", "reason"}
    assert (notice["status"], notice["result"]) == ("VALID", "processed")
    assert "qwerty" not in str(payment) and form.fields["verify_sign"] not in str(payment)
    paid = [e for e in live.events(customer, order) if e["to_status"] == "paid"]
    assert [e["source"] for e in paid] == ["webhook"]
    assert live.available(variant) == 0, "a paid order keeps its slot"


def test_the_return_page_shows_a_small_page_without_a_frontend(live: Live) -> None:
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    back = live.back_to_merchant(live.pay(live.open_gateway(order)))
    assert back.status_code == 200
    assert back.headers["Content-Type"].startswith("text/html")
    assert "Payment received" in back.text
    assert order["id"] in back.text


@pytest.mark.parametrize(
    ("outcome", "order_status", "payment_status"),
    [("fail", "failed", "failed"), ("cancel", "cancelled", "cancelled")],
)
def test_a_failed_or_cancelled_payment_ends_the_order_and_frees_the_slot_once(
    live: Live, outcome: str, order_status: str, payment_status: str
) -> None:
    _, variant = live.shop(stock=2)
    customer = live.account()
    neighbour = live.account()
    other = live.book(neighbour, variant)  # holds the other slot throughout
    order = live.book(customer, variant)
    assert live.available(variant) == 0

    form = live.pay(live.open_gateway(order), outcome, ipn_repeat="3")

    assert live.status(customer, order) == order_status
    assert live.available(variant) == 1
    assert form.action == f"{live.base}{RETURN}{outcome}"
    back = live.back_to_merchant(form)
    assert back.status_code == 200 and "text/html" in back.headers["Content-Type"]
    assert live.webhook(form.fields).json() == {"result": "duplicate"}
    assert live.available(variant) == 1, "the slot came back exactly once"
    [payment] = live.payments(customer, order)
    assert payment["status"] == payment_status
    assert [n["result"] for n in payment["notices"]] == ["processed"]
    ended = [e for e in live.events(customer, order) if e["to_status"] == order_status]
    assert [e["source"] for e in ended] == ["webhook"]
    assert live.status(neighbour, other) == "pending"


# Replays, copies and forgeries ---------------------------------------------------------------


def test_a_replayed_genuine_notice_is_a_duplicate(live: Live) -> None:
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    form = live.pay(live.open_gateway(order))  # the IPN was delivered: the order is paid

    replay = live.webhook(form.fields)

    assert replay.status_code == 200
    assert replay.json() == {"result": "duplicate"}
    assert live.status(customer, order) == "paid"
    [payment] = live.payments(customer, order)
    assert len(payment["notices"]) == 1
    assert sum(e["to_status"] == "paid" for e in live.events(customer, order)) == 1


def test_ten_parallel_copies_of_a_notice_make_one_transition(live: Live) -> None:
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    form = live.pay(live.open_gateway(order), ipn="0")  # captured, not yet delivered
    assert live.status(customer, order) == "pending"
    start = threading.Barrier(10)
    results: list[tuple[int, dict[str, Any]]] = []

    def deliver() -> None:
        start.wait()
        response = requests.post(live.url(WEBHOOK), data=form.fields, timeout=30)
        results.append((response.status_code, response.json()))

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(status for status, _ in results) == [200] * 10
    outcomes = sorted(body["result"] for _, body in results)
    assert outcomes == ["duplicate"] * 9 + ["processed"]
    assert live.status(customer, order) == "paid"
    [payment] = live.payments(customer, order)
    assert payment["status"] == "valid" and payment["flag"] is None
    assert len(payment["notices"]) == 1
    assert sum(e["to_status"] == "paid" for e in live.events(customer, order)) == 1
    assert live.available(variant) == 0


def test_a_notice_resigned_onto_another_orders_tran_id_pays_nothing(live: Live) -> None:
    _, variant = live.shop(stock=2)
    customer = live.account()
    first, second = live.book(customer, variant), live.book(customer, variant)
    paid_for_first = live.pay(live.open_gateway(first), ipn="0").fields
    live.open_gateway(second)
    victim = live.tran_id(customer, second)

    tampered = {**paid_for_first, "tran_id": victim}
    assert live.webhook(tampered).status_code == 400, "changed but not signed again: forged"
    resigned = live.webhook(_resigned(paid_for_first, tran_id=victim))

    assert resigned.status_code == 200
    assert resigned.json() == {
        "result": "rejected",
        "reason": "tran_id does not belong to this payment",
    }
    assert live.status(customer, second) == "pending"
    [payment] = live.payments(customer, second)
    # No val_id yet: null (docs/api.md's Payment JSON), not the "" the domain keeps for "none".
    assert payment["status"] == "initiated" and payment["val_id"] is None


@pytest.mark.parametrize(
    ("knobs", "reason", "refunded"),
    [
        ({"amount": "1600.00"}, "amount_mismatch", ["1600.00"]),  # all of it, not 1500.00
        ({"amount": "1400.00"}, "amount_mismatch", ["1400.00"]),  # 1500.00 would be refused
        # The refund API takes a bare BDT amount: a foreign payment is left to an admin.
        ({"currency": "USD"}, "currency_mismatch", []),
    ],
)
def test_a_tampered_amount_or_currency_pays_nothing_and_refunds_what_was_paid(
    live: Live, knobs: dict[str, str], reason: str, refunded: list[str]
) -> None:
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)

    form = live.pay(live.open_gateway(order), **knobs)

    assert live.status(customer, order) == "pending"
    [payment] = live.payments(customer, order)
    assert payment["status"] == "rejected"
    assert payment["flag"] == "refund"
    [notice] = payment["notices"]
    assert (notice["result"], notice["reason"]) == ("rejected", reason)
    live.back_to_merchant(form)  # the return page cannot make it paid either
    assert live.status(customer, order) == "pending"
    assert live.refunds_at_the_gateway(payment["tran_id"]) == refunded
    if refunded:
        assert payment["refund_status"] == "refund_pending"
        live.cli("reconcile-payments")
        assert live.payments(customer, order)[0]["refund_status"] == "refunded"
    else:
        assert payment["refund_status"] == "refund_failed"
        path = f"/api/v1/admin/payments/{payment['tran_id']}/refund"
        by_hand = live.request("POST", path, live.admin())
        assert by_hand.status_code == 409 and "merchant panel" in by_hand.json()["message"]
        assert live.refunds_at_the_gateway(payment["tran_id"]) == []


def test_a_forged_browser_post_to_the_success_page_never_pays(live: Live) -> None:
    _, variant = live.shop(stock=2)
    customer = live.account()
    order, other = live.book(customer, variant), live.book(customer, variant)
    live.open_gateway(order)
    tran_id = live.tran_id(customer, order)
    genuine_elsewhere = live.pay(live.open_gateway(other), ipn="0").fields
    forgeries = [
        {
            "tran_id": tran_id,
            "status": "VALID",
            "val_id": "240101120000123FORGED",
            "amount": "1500.00",
        },
        {"tran_id": tran_id, "status": "VALID", "val_id": genuine_elsewhere["val_id"]},
        _resigned(genuine_elsewhere, tran_id=tran_id),  # signed too: the page does not care
        {"tran_id": tran_id, "status": "VALID"},
    ]
    for fields in forgeries:
        response = live.request("POST", f"{RETURN}success", data=fields)
        assert response.status_code == 200, response.text
        assert "not confirmed" in response.text
    assert live.status(customer, order) == "pending"
    [payment] = live.payments(customer, order)
    assert payment["status"] == "initiated"


def test_return_pages_answer_a_missing_or_unknown_tran_id_with_a_small_page(live: Live) -> None:
    for method in ("GET", "POST"):
        for outcome in ("success", "fail", "cancel"):
            missing = live.request(method, f"{RETURN}{outcome}")
            assert missing.status_code == 400
            assert missing.headers["Content-Type"].startswith("text/html")
    for tran_id in ("ML0000NOSUCHTRAN", "X\x00", "Y" * 5000, "é"):
        unknown = live.request("POST", f"{RETURN}success", data={"tran_id": tran_id, "val_id": "V"})
        assert unknown.status_code == 404, unknown.text
        assert unknown.headers["Content-Type"].startswith("text/html")
    assert live.request("POST", f"{RETURN}other", data={"tran_id": "X"}).status_code == 404


def test_the_gateway_return_form_also_works_as_a_get(live: Live) -> None:
    # A redirect on the way can turn the gateway's POST into a GET with the query string.
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    form = live.pay(live.open_gateway(order), ipn="0")
    response = live.request("GET", form.action, params=form.fields)
    assert response.status_code == 200
    assert live.status(customer, order) == "paid"


# Lost notices, late payments, refunds ----------------------------------------------------------


def test_a_lost_notice_is_settled_by_the_reconciler(live: Live) -> None:
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    live.pay(live.open_gateway(order), ipn="0")  # and the browser never comes back either
    assert live.status(customer, order) == "pending"

    too_soon = live.cli("reconcile-payments")
    assert "checked 0 open payments" in too_soon
    assert live.status(customer, order) == "pending"
    output = live.cli("reconcile-payments", "--min-age", "0")

    assert "checked 1 open payment, settled 1" in output
    assert live.status(customer, order) == "paid"
    paid = [e for e in live.events(customer, order) if e["to_status"] == "paid"]
    assert [e["source"] for e in paid] == ["reconcile"]
    assert "settled 0" in live.cli("reconcile-payments", "--min-age", "0")


def test_a_lost_failure_notice_leaves_the_order_held_until_the_reconciler_ends_it(
    live: Live,
) -> None:
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    form = live.pay(live.open_gateway(order), "fail", ipn="0")

    back = live.back_to_merchant(form)  # the fail page changes nothing from posted fields

    assert back.status_code == 200 and "Payment not completed" in back.text
    assert live.status(customer, order) == "pending"
    assert "settled 1" in live.cli("reconcile-payments", "--min-age", "0")
    assert live.status(customer, order) == "failed"
    assert live.available(variant) == 1
    ended = [e for e in live.events(customer, order) if e["to_status"] == "failed"]
    assert [e["source"] for e in ended] == ["reconcile"]


def test_a_lost_notice_is_settled_by_the_success_page(live: Live) -> None:
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    form = live.pay(live.open_gateway(order), ipn="0")

    assert live.back_to_merchant(form).status_code == 200

    assert live.status(customer, order) == "paid"
    paid = [e for e in live.events(customer, order) if e["to_status"] == "paid"]
    assert [e["source"] for e in paid] == ["return"]
    assert live.webhook(form.fields).json() == {"result": "duplicate"}, "the IPN, late"


def test_a_payment_after_expiry_leaves_the_order_cancelled_and_is_refunded(live: Live) -> None:
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    checkout = live.open_gateway(order)  # the customer dawdles on the gateway's page
    live.clock.advance(TTL_SECONDS + 1)
    assert live.container.expire_unpaid_orders()().cancelled == 1
    assert live.available(variant) == 1

    live.pay(checkout)

    assert live.status(customer, order) == "cancelled"
    assert live.available(variant) == 1
    [payment] = live.payments(customer, order)
    assert payment["status"] == "valid", "the money arrived: recorded, never lost"
    assert payment["flag"] == "refund"
    assert payment["refund_status"] == "refund_pending"
    assert payment["notices"][0]["reason"] == "order no longer pending"
    assert "polled 1 pending refund" in live.cli("reconcile-payments")
    assert live.payments(customer, order)[0]["refund_status"] == "refunded"


def test_cancelling_a_paid_order_requests_its_refund(live: Live) -> None:
    vendor, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    live.pay(live.open_gateway(order))
    assert live.status(customer, order) == "paid"

    cancelled = live.ok("POST", f"/api/v1/orders/{order['id']}/cancel", vendor)

    assert cancelled["status"] == "cancelled"
    assert live.available(variant) == 1
    [payment] = live.payments(customer, order)
    assert payment["flag"] == "refund" and payment["refund_status"] == "refund_pending"
    live.cli("reconcile-payments")
    assert live.payments(vendor, order)[0]["refund_status"] == "refunded"


# The webhook against anything --------------------------------------------------------------


def test_the_webhook_answers_junk_without_a_5xx_and_stores_nothing(live: Live) -> None:
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    genuine = live.pay(live.open_gateway(order), ipn="0").fields
    unsigned = {k: v for k, v in genuine.items() if k not in ("verify_sign", "verify_key")}
    refused: list[requests.Response] = [
        live.request("POST", WEBHOOK),
        live.webhook({}),
        live.webhook({"tran_id": genuine["tran_id"], "status": "VALID"}),
        live.webhook(unsigned),
        live.webhook({**genuine, "amount": "lots"}),  # changed: the signature fails
        live.webhook({**genuine, "verify_sign": "0" * 32}),
        live.webhook({**genuine, "verify_key": "amount,nonexistent"}),
        live.request("POST", WEBHOOK, json=genuine),
        live.request(
            "POST",
            WEBHOOK,
            data=b"\x00\xff\xfe junk \x80",
            headers={"Content-Type": "application/octet-stream"},
        ),
        live.request(
            "POST",
            WEBHOOK,
            data=b"\xff\xfe%%%==&&\x00=\x80",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        live.request(
            "POST",
            WEBHOOK,
            data=b"--x\r\ngarbage",
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        ),
        live.request(
            "POST", WEBHOOK, data=b"--x\r\ngarbage", headers={"Content-Type": "multipart/form-data"}
        ),
        # Authentic (the sandbox's secret is public) but malformed: refused all the same.
        live.webhook(_resigned(genuine, tran_id="X\x00")),
        live.webhook(_resigned(genuine, val_id="V" * 600)),
        live.webhook(_resigned(genuine, status="PAID")),
        live.webhook(_resigned(genuine, tran_id="")),
    ]
    for response in refused:
        assert response.status_code == 400, response.text
        assert response.json()["error"] in ("invalid_notice", "bad_request")
    assert live.stored_notices() == 0
    assert live.status(customer, order) == "pending"

    huge = live.webhook({**genuine, "padding": "x" * (70 * 1024)})
    assert huge.status_code == 413
    assert huge.json()["error"] == "payload_too_large"

    # Authentic notices that are no payment of ours: answered 200 "rejected", kept on record.
    unknown = live.webhook(_resigned(genuine, tran_id="ML0000NOSUCHTRAN"))
    assert unknown.json() == {"result": "rejected", "reason": "unknown tran_id"}
    odd_amount = live.webhook(_resigned(genuine, amount="not-a-number"))
    assert odd_amount.status_code == 200  # the amount that counts is the validation API's
    assert live.status(customer, order) == "paid"
    assert live.webhook(genuine).json() == {"result": "duplicate"}
    assert live.stored_notices() == 2


def _forged(**fields: str) -> dict[str, str]:
    """A notice made up by someone who knows the (public) sandbox secret."""
    keys = sorted(fields)
    signed = {**fields, signing.VERIFY_KEY: ",".join(keys)}
    signed[signing.VERIFY_SIGN] = signing.sign(signed, keys, SANDBOX_STORE_PASSWORD)
    return signed


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED", "UNATTEMPTED", "EXPIRED"])
def test_a_signed_ending_notice_the_gateway_does_not_report_changes_nothing(
    live: Live, status: str
) -> None:
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    checkout = live.open_gateway(order)
    tran_id = live.tran_id(customer, order)

    forged = live.webhook(_forged(tran_id=tran_id, status=status, val_id=""))

    assert forged.status_code == 200
    assert forged.json() == {"result": "rejected", "reason": "not confirmed by the gateway"}
    assert live.status(customer, order) == "pending"
    assert live.available(variant) == 0, "the customer's slot is still held"
    assert live.stored_notices() == 0, "the gateway's own notice, when it comes, still counts"
    live.pay(checkout)
    assert live.status(customer, order) == "paid"
    late = live.webhook(_forged(tran_id=tran_id, status=status, val_id=""))
    assert late.json()["result"] == "rejected"
    assert live.status(customer, order) == "paid"


def test_the_webhook_answers_503_to_an_ending_notice_when_the_query_api_is_unreachable(
    live: Live,
) -> None:
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    genuine = live.pay(live.open_gateway(order), "fail", ipn="0").fields
    down = SslCommerzGateway(
        f"http://127.0.0.1:{_closed_port()}", "testbox", "qwerty", "qwerty", read_attempts=1
    )

    with live.container.gateway.override(providers.Object(down)):
        response = live.webhook(genuine)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert live.stored_notices() == 0
    assert live.status(customer, order) == "pending"
    assert live.webhook(genuine).json()["result"] == "processed"
    assert live.status(customer, order) == "failed"


def test_the_webhook_answers_503_when_the_validation_api_is_unreachable(live: Live) -> None:
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    genuine = live.pay(live.open_gateway(order), ipn="0").fields
    down = SslCommerzGateway(
        f"http://127.0.0.1:{_closed_port()}", "testbox", "qwerty", "qwerty", read_attempts=1
    )

    with live.container.gateway.override(providers.Object(down)):
        response = live.webhook(genuine)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert live.stored_notices() == 0, "nothing recorded: the gateway's retry will count"
    assert live.webhook(genuine).json() == {"result": "processed"}
    assert live.status(customer, order) == "paid"


# The pay link and POST /orders/{id}/payment -------------------------------------------------------


def test_the_pay_link_refuses_bad_links_and_orders_that_cannot_be_paid(live: Live) -> None:
    _, variant = live.shop(stock=2)
    customer = live.account()
    order, other = live.book(customer, variant), live.book(customer, variant)
    link, token = order["payment_url"].split("?token=")
    other_token = other["payment_url"].split("?token=")[1]
    bad = [
        f"{link}?token={token[:-2]}xx",
        f"{link}?token=",
        link,
        f"{link}?token={other_token}",
        f"{live.base}/pay/not-a-uuid?token={token}",
        f"{live.base}/pay/{'0' * 32}?token={token}",
    ]
    for url in bad:
        response = live.request("GET", url)
        assert response.status_code == 404, url
        assert response.headers["Content-Type"].startswith("text/html")

    live.ok("POST", f"/api/v1/orders/{order['id']}/cancel", customer)
    refused = live.request("GET", order["payment_url"])
    assert refused.status_code == 409
    assert refused.headers["Content-Type"].startswith("text/html")
    assert "cannot be paid" in refused.text


def test_a_head_request_checks_the_pay_link_without_opening_a_session(live: Live) -> None:
    # Link previewers and mail scanners send HEAD before (or instead of) a person's GET.
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    link, token = order["payment_url"].split("?token=")

    for _ in range(3):
        checked = live.request("HEAD", order["payment_url"])
        assert checked.status_code == 200
        assert checked.content == b"" and "Location" not in checked.headers
        assert checked.headers["Cache-Control"] == "no-store"
    for url in (f"{link}?token={token[:-2]}xx", link, f"{live.base}/pay/x?token={token}"):
        assert live.request("HEAD", url).status_code == 404, url

    assert live.payments(customer, order) == [], "no gateway session was opened"
    live.open_gateway(order)  # a person's GET still does
    assert len(live.payments(customer, order)) == 1


def test_the_pay_link_answers_503_while_the_gateway_is_down_and_the_booking_stands(
    live: Live,
) -> None:
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    down = SslCommerzGateway(f"http://127.0.0.1:{_closed_port()}", "testbox", "qwerty", "qwerty")

    with live.container.gateway.override(providers.Object(down)):
        link = live.request("GET", order["payment_url"])
        api = live.request("POST", f"/api/v1/orders/{order['id']}/payment", customer)

    assert link.status_code == 503
    assert link.headers["Retry-After"] == "30"
    assert link.headers["Content-Type"].startswith("text/html")
    assert api.status_code == 503 and api.headers["Retry-After"] == "30"
    assert api.json()["error"] == "gateway_unavailable"
    assert live.status(customer, order) == "pending"
    assert live.request("GET", order["payment_url"]).status_code == 303, "back up: it works"


def test_post_payment_opens_or_reuses_the_session_for_the_customer_only(live: Live) -> None:
    vendor, variant = live.shop(stock=2)
    customer = live.account()
    order, cancelled = live.book(customer, variant), live.book(customer, variant)
    path = f"/api/v1/orders/{order['id']}/payment"

    opened = live.ok("POST", path, customer)
    again = live.ok("POST", path, customer)

    assert set(opened) == {"payment_url", "gateway_url"}
    assert opened["payment_url"].startswith(f"{live.base}/pay/{order['id']}?token=")
    assert again["gateway_url"] == opened["gateway_url"], "the open session is reused"
    assert live.request("GET", opened["gateway_url"]).status_code == 200
    assert len(live.payments(customer, order)) == 1
    assert live.request("POST", path, vendor).status_code == 403
    assert live.request("POST", path, live.account()).status_code == 404
    assert live.request("POST", f"/api/v1/orders/{'0' * 32}/payment", customer).status_code == 404
    assert live.request("POST", path).status_code == 401
    live.ok("POST", f"/api/v1/orders/{cancelled['id']}/cancel", customer)
    refused = live.request("POST", f"/api/v1/orders/{cancelled['id']}/payment", customer)
    assert refused.status_code == 409 and refused.json()["error"] == "not_payable"


def test_post_payment_honours_an_idempotency_key(live: Live) -> None:
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    path = f"/api/v1/orders/{order['id']}/payment"
    key = {"Idempotency-Key": "pay-once-1"}

    first = live.request("POST", path, customer, headers=key)
    second = live.request("POST", path, customer, headers=key)

    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"


def test_order_payments_are_private_to_the_order(live: Live) -> None:
    vendor, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)
    live.open_gateway(order)
    admin = live.admin()
    assert len(live.payments(vendor, order)) == len(live.payments(admin, order)) == 1
    path = f"/api/v1/orders/{order['id']}/payments"
    assert live.request("GET", path, live.account()).status_code == 404
    assert live.request("GET", path, live.account("vendor")).status_code == 404
    assert live.request("GET", path).status_code == 401


# Payments held for review --------------------------------------------------------------------


def test_an_admin_accepts_or_refunds_a_payment_held_for_review(live: Live) -> None:
    vendor, variant = live.shop(stock=2)
    customer = live.account()
    accepted, refunded = live.book(customer, variant), live.book(customer, variant)
    for order in (accepted, refunded):
        live.pay(live.open_gateway(order), risk_level="1")
        assert live.status(customer, order) == "pending", "held: not paid, does not expire"
    admin = live.admin()
    for someone in (customer, vendor):
        listing = live.request("GET", "/api/v1/admin/payments?flag=review", someone)
        assert listing.status_code == 403

    held = live.request("GET", "/api/v1/admin/payments?flag=review&page_size=1", admin)
    assert held.status_code == 200
    assert len(held.json()) == 1 and '"total": 2' in held.headers["X-Pagination"]
    reviews = live.ok("GET", "/api/v1/admin/payments?flag=review", admin)
    by_order = {p["order_id"]: p for p in reviews}
    assert {p["flag"] for p in reviews} == {"review"} and {p["risk_level"] for p in reviews} == {1}
    assert set(reviews[0]) == PAYMENT_FIELDS and reviews[0]["notices"]
    accept_id, refund_id = by_order[accepted["id"]]["tran_id"], by_order[refunded["id"]]["tran_id"]
    for someone in (customer, vendor):
        assert (
            live.request("POST", f"/api/v1/admin/payments/{accept_id}/accept", someone).status_code
            == 403
        )
        assert (
            live.request("POST", f"/api/v1/admin/payments/{refund_id}/refund", someone).status_code
            == 403
        )
    assert live.status(customer, accepted) == "pending"

    payment = live.ok("POST", f"/api/v1/admin/payments/{accept_id}/accept", admin)
    assert payment["flag"] is None and payment["status"] == "valid"
    assert set(payment) == PAYMENT_FIELDS
    assert payment["notices"] == by_order[accepted["id"]]["notices"]
    assert [n["reason"] for n in payment["notices"]] == ["high risk"]
    assert live.status(customer, accepted) == "paid"
    payment = live.ok("POST", f"/api/v1/admin/payments/{refund_id}/refund", admin)
    assert payment["flag"] == "refund" and payment["refund_status"] == "refund_pending"
    assert payment["notices"] == by_order[refunded["id"]]["notices"]
    assert [n["reason"] for n in payment["notices"]] == ["high risk"]
    assert live.refunds_at_the_gateway(refund_id) == ["1500.00"]
    assert live.status(customer, refunded) == "cancelled"
    assert live.available(variant) == 1

    again = live.request("POST", f"/api/v1/admin/payments/{accept_id}/accept", admin)
    assert again.status_code == 409
    assert live.request("POST", "/api/v1/admin/payments/NOSUCH/accept", admin).status_code == 404
    assert live.request("POST", "/api/v1/admin/payments/X%00/refund", admin).status_code == 404
    assert [p["tran_id"] for p in live.ok("GET", "/api/v1/admin/payments?flag=refund", admin)] == [
        refund_id
    ]
    assert live.request("GET", "/api/v1/admin/payments?flag=other", admin).status_code == 422

    # Each admin action above (the refused ones too, not those of others) left one entry.
    trail = live.ok("GET", "/api/v1/admin/audit", admin)
    assert [(e["action"], e["object_id"], e["outcome"]) for e in reversed(trail)] == [
        ("payment.accept", accept_id, "done"),
        ("payment.refund", refund_id, "done"),
        ("payment.accept", accept_id, "refused: not_payable"),
        ("payment.accept", "NOSUCH", "refused: not_found"),
        ("payment.refund", "X\\x00", "refused: not_found"),
    ]


# Where the sandbox is served -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "served"),
    [
        ({}, True),
        ({"env": "production"}, False),
        ({"sslcommerz_store_id": "store", "sslcommerz_store_password": "secret"}, False),
    ],
)
def test_the_sandbox_is_served_only_when_it_is_the_gateway(
    settings: Settings, overrides: dict[str, str], served: bool
) -> None:
    container = Container(settings=replace(settings, **overrides))
    app = create_app(container=container)
    try:
        sandbox_routes = [r.rule for r in app.url_map.iter_rules() if "/_sandbox/" in r.rule]
        assert bool(sandbox_routes) is served
        assert app.test_client().get("/pay/x?token=y").status_code == 404  # the app works
    finally:
        container.unwire()
        container.engine().dispose()


# Amounts as the live gateway writes them, and foreign currencies -------------------------------

SANDBOX_CREDENTIALS = {"store_id": "testbox", "store_passwd": SANDBOX_STORE_PASSWORD}


@pytest.mark.parametrize(("amount_format", "sent"), [("trimmed", "1500"), ("4dp", "1500.0000")])
def test_an_amount_sent_as_1500_or_1500_0000_pays_the_order_exactly_once(
    live: Live, amount_format: str, sent: str
) -> None:
    vendor, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)

    form = live.pay(live.open_gateway(order), amount_format=amount_format, ipn_repeat="2")

    assert (form.fields["amount"], form.fields["currency_amount"]) == (sent, sent)
    assert live.status(customer, order) == "paid"
    back = live.back_to_merchant(form)  # the browser's return confirms it once more
    assert back.status_code == 200 and "Payment received" in back.text
    assert live.webhook(form.fields).json() == {"result": "duplicate"}
    assert "checked 0 open payments" in live.cli("reconcile-payments", "--min-age", "0")
    [payment] = live.payments(customer, order)
    assert (payment["status"], payment["flag"], payment["refund_status"]) == ("valid", None, None)
    assert payment["amount"] == "1500.00"
    assert [n["result"] for n in payment["notices"]] == ["processed"]
    assert sum(e["to_status"] == "paid" for e in live.events(customer, order)) == 1
    validation = requests.get(
        f"{live.settings.sslcommerz_base_url}/validator/api/validationserverAPI.php",
        params={"val_id": form.fields["val_id"], **SANDBOX_CREDENTIALS},
        timeout=30,
    ).json()
    assert (validation["status"], validation["amount"]) == ("VALIDATED", sent)

    live.ok("POST", f"/api/v1/orders/{order['id']}/cancel", vendor)

    assert live.refunds_at_the_gateway(payment["tran_id"]) == ["1500.00"], "what was paid"


def test_a_foreign_payment_worth_the_price_in_bdt_still_pays_nothing(live: Live) -> None:
    # 12.50 USD is 1500.00 BDT at the sandbox's rate, so the settled `amount` equals the
    # price; but `currency_type`/`currency_amount` say what the customer was asked to pay,
    # and MarketLink asked for 1500.00 BDT (docs/sslcommerz.md §4, "Amount semantics").
    _, variant = live.shop()
    customer = live.account()
    order = live.book(customer, variant)

    form = live.pay(live.open_gateway(order), amount="12.50", currency="USD")

    assert (form.fields["amount"], form.fields["currency"]) == ("1500.00", "BDT")
    reported = (form.fields["currency_amount"], form.fields["currency_type"])
    assert reported == ("12.50", "USD") and form.fields["currency_rate"] == "120.0000"
    live.back_to_merchant(form)
    assert live.status(customer, order) == "pending"
    [payment] = live.payments(customer, order)
    assert (payment["status"], payment["flag"]) == ("rejected", "refund")
    [notice] = payment["notices"]
    assert notice["reason"] in ("amount_mismatch", "currency_mismatch")
    # The refund API takes a bare BDT amount: a foreign payment is left to an admin.
    assert payment["refund_status"] == "refund_failed"
    assert live.refunds_at_the_gateway(payment["tran_id"]) == []


# The sandbox's tables ---------------------------------------------------------------------------


def test_no_request_makes_or_changes_a_table(live: Live) -> None:
    # The sandbox's tables come from `marketlink migrate`; the gateway's pages and APIs
    # (served by this app) and the app's own routes only read and write rows.
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = live.container.engine()
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        vendor, variant = live.shop()
        customer = live.account()
        order = live.book(customer, variant)
        form = live.pay(live.open_gateway(order))
        live.back_to_merchant(form)
        live.ok("POST", f"/api/v1/orders/{order['id']}/cancel", vendor)  # a refund, too
        tran_id = live.tran_id(customer, order)
        [found] = live.container.gateway().query_transactions(tran_id)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)

    assert found.status == "VALIDATED"
    sandbox_tables = ("sandbox_sessions", "sandbox_transactions", "sandbox_refunds")
    assert all(any(table in s for s in statements) for table in sandbox_tables)
    ddl = [s for s in statements if s.split(None, 1)[0].upper() in ("CREATE", "ALTER", "DROP")]
    assert ddl == []
