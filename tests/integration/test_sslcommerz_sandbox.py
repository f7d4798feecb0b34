"""The SSLCommerz client against the offline sandbox, over real HTTP on a local port.

Each test runs twice: with the in-memory store and with the SQL store on a SQLite file
(migrated, as `marketlink migrate` makes the sandbox's tables).
A tiny Flask app serves the sandbox blueprint and an IPN listener that records what
arrives, exactly as the merchant's webhook would see it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from html.parser import HTMLParser

import pytest
import requests
from flask import Flask, Response, jsonify, request
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from werkzeug.serving import make_server

from marketlink.adapters.sqlalchemy.migrate import upgrade_database
from marketlink.adapters.sslcommerz import signing
from marketlink.adapters.sslcommerz.client import SslCommerzGateway
from marketlink.application.errors import GatewayRejected, GatewayUnavailable
from marketlink.application.ports import SessionRequest
from marketlink.domain.money import Money
from marketlink.sandbox.ipn import IpnSender
from marketlink.sandbox.routes import CREDENTIAL_ERROR, URL_PREFIX, create_sandbox_blueprint
from marketlink.sandbox.state import (
    InMemorySandboxStore,
    SandboxSession,
    SandboxStore,
    SandboxTransaction,
    SqlSandboxStore,
)

pytestmark = pytest.mark.integration

PASSWORD = "qwerty"
VALID_VERIFY_KEY = (
    "amount,bank_tran_id,base_fair,card_brand,card_issuer,card_issuer_country,"
    "card_issuer_country_code,card_no,card_sub_brand,card_type,currency,currency_amount,"
    "currency_rate,currency_type,error,risk_level,risk_title,status,store_amount,store_id,"
    "tran_date,tran_id,val_id,value_a,value_b,value_c,value_d"
)
CANCELLED_VERIFY_KEY = (
    "amount,bank_tran_id,base_fair,currency,currency_amount,currency_rate,currency_type,"
    "error,status,store_id,tran_date,tran_id,value_a,value_b,value_c,value_d"
)


@dataclass
class Server:
    base: str
    ipns: list[dict[str, str]] = field(default_factory=list)
    flaky_calls: list[str] = field(default_factory=list)

    @property
    def sandbox(self) -> str:
        return self.base + URL_PREFIX

    def url(self, path: str) -> str:
        return self.base + path


@pytest.fixture(scope="module", params=["memory", "sql"])
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SandboxStore]:
    if request.param == "memory":
        yield InMemorySandboxStore()
        return
    url = f"sqlite:///{tmp_path_factory.mktemp('sandbox') / 'sandbox.db'}"
    upgrade_database(url)
    engine = create_engine(url)
    yield SqlSandboxStore(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def running(store: SandboxStore) -> Iterator[Server]:
    """One server per store for the module; tran_ids are unique, so tests do not collide."""
    app = Flask("sandbox-test")
    state = Server("")

    @app.post("/merchant/ipn")
    def ipn() -> str:
        state.ipns.append(request.form.to_dict())
        return "IPN received"

    @app.post("/elsewhere/ipn")
    def elsewhere() -> str:
        state.ipns.append(request.form.to_dict())
        return "IPN received"

    @app.route("/flaky/<path:path>", methods=["GET", "POST"])
    def flaky(path: str) -> Response:
        # Answers 503 twice, then a valid JSON answer; or plain text when asked.
        state.flaky_calls.append(path)
        if request.values.get("val_id") == "text":
            return Response("<html>maintenance</html>", mimetype="text/html")
        if len(state.flaky_calls) <= 2:
            return Response("busy", status=503)
        return jsonify({"APIConnect": "DONE", "status": "VALID", "tran_id": "T", "amount": "x"})

    http = make_server("127.0.0.1", 0, app, threaded=True)
    state.base = f"http://127.0.0.1:{http.server_port}"
    # Before the first request: the sandbox posts IPNs only under the merchant's base URL.
    app.register_blueprint(create_sandbox_blueprint(store, ipn=IpnSender(state.url("/merchant"))))
    thread = threading.Thread(target=http.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    http.shutdown()
    thread.join(5)


@pytest.fixture
def server(running: Server) -> Server:
    running.ipns.clear()
    running.flaky_calls.clear()
    return running


@pytest.fixture
def gateway(server: Server) -> SslCommerzGateway:
    return SslCommerzGateway(server.sandbox, "testbox", PASSWORD, PASSWORD)


_tran_ids = iter(range(1, 1_000_000))


def session_request(server: Server, *, amount: str = "150.00", tran_id: str = "") -> SessionRequest:
    return SessionRequest(
        tran_id=tran_id or f"ML-TEST-{next(_tran_ids)}",
        amount=Money.of(amount),
        product_name="Brakes - Front",
        customer_name="Rahim Uddin",
        customer_email="rahim@example.com",
        customer_phone="01700000000",
        success_url=server.url("/merchant/success"),
        fail_url=server.url("/merchant/fail"),
        cancel_url=server.url("/merchant/cancel"),
        ipn_url=server.url("/merchant/ipn"),
        order_ref="3f0c1b5e-order",
    )


class Form:
    def __init__(self, action: str, method: str) -> None:
        self.action = action
        self.method = method
        self.fields: dict[str, str] = {}
        self.buttons: list[tuple[str, str]] = []
        self.inputs: list[str] = []


class Forms(HTMLParser):
    """The forms of a page: action, method, hidden fields, buttons, input names."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get")))
        elif tag == "input" and self.forms:
            self.forms[-1].inputs.append(a.get("name", ""))
            if a.get("type") == "hidden":
                self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif tag == "select" and self.forms:
            self.forms[-1].inputs.append(a.get("name", ""))
        elif tag == "button" and self.forms:
            self.forms[-1].buttons.append((a.get("name", ""), a.get("value", "")))
        elif tag == "script":
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def pay(
    gateway: SslCommerzGateway, server: Server, outcome: str = "success", **knobs: str
) -> tuple[requests.Response, str]:
    """Opens a session, then completes it in the browser's place; returns (page, tran_id)."""
    request_ = session_request(server)
    session = gateway.create_session(request_)
    answer = requests.post(session.gateway_url, data={"outcome": outcome, **knobs}, timeout=10)
    return answer, request_.tran_id


def return_form(answer: requests.Response) -> Form:
    forms = Forms(answer.text)
    assert len(forms.forms) == 1
    return forms.forms[0]


# Session API -------------------------------------------------------------------------------


def test_a_session_points_the_browser_at_the_sandbox_checkout_page(gateway, server):
    session = gateway.create_session(session_request(server))

    assert len(session.session_key) == 32
    assert session.session_key == session.session_key.upper()
    int(session.session_key, 16)
    assert session.gateway_url == (
        f"{server.sandbox}/EasyCheckOut/testcde{session.session_key.lower()}"
    )


def test_bad_credentials_are_rejected_with_the_gateways_words(server):
    wrong = SslCommerzGateway(server.sandbox, "testbox", "not-the-password", PASSWORD)
    with pytest.raises(GatewayRejected) as caught:
        wrong.create_session(session_request(server))
    assert str(caught.value) == CREDENTIAL_ERROR


@pytest.mark.parametrize("amount", ["9.99", "500000.01"])
def test_amounts_outside_the_gateways_range_are_rejected(gateway, server, amount):
    with pytest.raises(GatewayRejected, match="total_amount"):
        gateway.create_session(session_request(server, amount=amount))


def test_the_session_api_takes_multipart_bodies_too(server):
    form = {
        "store_id": "testbox",
        "store_passwd": PASSWORD,
        "total_amount": "100",
        "currency": "BDT",
        "tran_id": "MULTIPART-1",
        "success_url": server.url("/s"),
        "fail_url": server.url("/f"),
        "cancel_url": server.url("/c"),
    }
    multipart = {name: (None, value) for name, value in form.items()}
    answer = requests.post(server.sandbox + "/gwprocess/v4/api.php", files=multipart, timeout=5)

    assert answer.status_code == 200
    assert answer.json()["status"] == "SUCCESS"
    assert answer.json()["GatewayPageURL"].startswith(server.sandbox + "/EasyCheckOut/testcde")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"total_amount": "abc"}, "total_amount"),
        ({"total_amount": "1e999999"}, "total_amount"),
        ({"total_amount": "NaN"}, "total_amount"),
        ({"currency": ""}, "currency"),
        ({"tran_id": ""}, "tran_id"),
        ({"success_url": "javascript:alert(1)"}, "success_url"),
        ({"ipn_url": "ftp://example.com/"}, "ipn_url"),
        ({"cancel_url": "http://[::1"}, "cancel_url"),
        ({"tran_id": "NUL\x00BYTE"}, "Invalid characters"),
    ],
)
def test_bad_session_input_is_a_business_failure_not_a_server_error(server, change, reason):
    form = {
        "store_id": "testbox",
        "store_passwd": PASSWORD,
        "total_amount": "100.00",
        "currency": "BDT",
        "tran_id": "BAD-INPUT",
        "success_url": server.url("/s"),
        "fail_url": server.url("/f"),
        "cancel_url": server.url("/c"),
        **change,
    }
    answer = requests.post(server.sandbox + "/gwprocess/v4/api.php", data=form, timeout=5)

    assert answer.status_code == 200
    assert answer.json()["status"] == "FAILED"
    assert reason in answer.json()["failedreason"]


# Payment page and outcomes -----------------------------------------------------------------


def test_the_payment_page_is_a_self_contained_form_posting_back_to_itself(gateway, server):
    request_ = session_request(server)
    session = gateway.create_session(request_)

    page = requests.get(session.gateway_url, timeout=5)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert request_.tran_id in page.text
    assert "150.00 BDT" in page.text
    assert "testbox" in page.text
    assert "<link" not in page.text and " src=" not in page.text  # no external assets
    [form] = Forms(page.text).forms
    assert form.method == "post"
    assert server.base + form.action == session.gateway_url
    assert {value for name, value in form.buttons if name == "outcome"} == {
        "success",
        "fail",
        "cancel",
    }
    assert {"amount", "currency", "risk_level", "ipn", "ipn_repeat"} <= set(form.inputs)
    assert "amount_format" in form.inputs


def test_an_unknown_checkout_page_is_404(server):
    unknown = f"{server.sandbox}/EasyCheckOut/testcde{'0' * 32}"
    assert requests.get(unknown, timeout=5).status_code == 404
    assert requests.post(unknown, data={"outcome": "success"}, timeout=5).status_code == 404
    assert requests.get(f"{server.sandbox}/EasyCheckOut/nonsense", timeout=5).status_code == 404


def test_success_sends_a_signed_ipn_first_then_a_matching_form_to_the_success_url(gateway, server):
    answer, tran_id = pay(gateway, server, "success")

    assert answer.status_code == 200
    # The IPN went out before the browser got its answer: it is here already.
    assert len(server.ipns) == 1
    ipn = server.ipns[0]
    assert ipn["status"] == "VALID"
    assert ipn["tran_id"] == tran_id
    assert ipn["amount"] == "150.00"
    assert ipn["currency"] == "BDT"
    assert ipn["store_id"] == "testbox"
    assert ipn["value_a"] == "3f0c1b5e-order"
    assert ipn["risk_level"] == "0"
    assert ipn["verify_key"] == VALID_VERIFY_KEY
    assert signing.verify(ipn, PASSWORD)
    assert gateway.verify_notice(ipn)
    keys = ipn["verify_key"].split(",")
    assert ipn["verify_sign_sha2"] == signing.sign_sha2(ipn, keys, PASSWORD)
    assert ipn["val_id"][:12].isdigit()
    assert ipn["val_id"][12:15].isdigit()
    assert ipn["val_id"][15:].isalpha()
    assert ipn["bank_tran_id"]
    time.strptime(ipn["tran_date"], "%Y-%m-%d %H:%M:%S")

    form = return_form(answer)
    assert form.method == "post"
    assert form.action == server.url("/merchant/success")
    assert form.fields == ipn
    assert any("submit()" in script for script in Forms(answer.text).scripts)
    assert form.buttons  # a visible fallback for browsers without scripts


@pytest.mark.parametrize("ipn_path", ["/elsewhere/ipn", "/merchantile/ipn"])
def test_an_ipn_goes_only_under_the_merchants_base_url(gateway, server, ipn_path):
    request_ = replace(session_request(server), ipn_url=server.url(ipn_path))
    session = gateway.create_session(request_)

    answer = requests.post(session.gateway_url, data={"outcome": "success"}, timeout=10)

    assert answer.status_code == 200
    assert return_form(answer).action == server.url("/merchant/success")
    assert server.ipns == [], "the sandbox posts to no address it is merely given"


def test_validation_says_valid_once_then_validated(gateway, server):
    pay(gateway, server, "success")
    ipn = server.ipns[0]

    first = gateway.validate(ipn["val_id"])
    second = gateway.validate(ipn["val_id"])

    assert first.status == "VALID"
    assert second.status == "VALIDATED"
    for answer in (first, second):
        assert answer.tran_id == ipn["tran_id"]
        assert answer.val_id == ipn["val_id"]
        assert answer.amount == Decimal("150.00")
        assert answer.currency == "BDT"
        assert answer.bank_tran_id == ipn["bank_tran_id"]
        assert answer.card_type == ipn["card_type"]
        assert answer.risk_level == 0


def test_validation_of_an_unknown_val_id_is_an_invalid_transaction(gateway):
    assert gateway.validate("nope").status == "INVALID_TRANSACTION"
    assert gateway.validate("").status == "INVALID_TRANSACTION"


def test_validation_api_takes_get_and_post_and_shows_validated_on(gateway, server):
    pay(gateway, server, "success")
    val_id = server.ipns[0]["val_id"]
    credentials = {"store_id": "testbox", "store_passwd": PASSWORD, "format": "json"}
    url = server.sandbox + "/validator/api/validationserverAPI.php"

    posted = requests.post(url, data={"val_id": val_id, **credentials}, timeout=5).json()
    got = requests.get(url, params={"val_id": val_id, **credentials}, timeout=5).json()
    wrong = requests.get(
        url, params={"val_id": val_id, "store_id": "testbox", "store_passwd": "x"}, timeout=5
    ).json()

    assert (posted["status"], posted["APIConnect"]) == ("VALID", "DONE")
    assert (got["status"], got["APIConnect"]) == ("VALIDATED", "DONE")
    assert got["validated_on"] == posted["validated_on"] != ""
    assert got["value_a"] == "3f0c1b5e-order"
    assert (wrong["APIConnect"], wrong["status"]) == ("FAILED", "INVALID_TRANSACTION")
    nul = requests.get(url, params={"val_id": "a\x00b", **credentials}, timeout=5)
    assert (nul.status_code, nul.json()["APIConnect"]) == (200, "INVALID_REQUEST")


def test_a_session_is_paid_once(gateway, server):
    session = gateway.create_session(session_request(server))
    first = requests.post(session.gateway_url, data={"outcome": "success"}, timeout=10)
    again = requests.post(session.gateway_url, data={"outcome": "cancel"}, timeout=10)

    assert first.status_code == 200
    assert again.status_code == 409
    assert len(server.ipns) == 1
    assert "closed" in requests.get(session.gateway_url, timeout=5).text


def test_concurrent_outcomes_pay_a_session_once_and_validate_it_valid_once(gateway, server):
    session = gateway.create_session(session_request(server))
    barrier = threading.Barrier(4)
    codes: list[int] = []

    def complete() -> None:
        barrier.wait()
        answer = requests.post(session.gateway_url, data={"outcome": "success"}, timeout=10)
        codes.append(answer.status_code)

    threads = [threading.Thread(target=complete) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409, 409, 409]

    val_id = server.ipns[0]["val_id"]
    statuses: list[str] = []

    def validate() -> None:
        barrier.wait()
        statuses.append(gateway.validate(val_id).status)

    threads = [threading.Thread(target=validate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == ["VALID", "VALIDATED", "VALIDATED", "VALIDATED"]


def test_fail_sends_a_failed_notice_and_a_form_to_the_fail_url(gateway, server):
    answer, tran_id = pay(gateway, server, "fail")

    [ipn] = server.ipns
    assert ipn["status"] == "FAILED"
    assert ipn["tran_id"] == tran_id
    assert "val_id" not in ipn
    assert ipn["bank_tran_id"]
    assert ipn["error"]
    assert gateway.verify_notice(ipn)
    form = return_form(answer)
    assert form.action == server.url("/merchant/fail")
    assert form.fields == ipn


def test_cancel_sends_a_cancelled_notice_and_a_form_to_the_cancel_url(gateway, server):
    answer, tran_id = pay(gateway, server, "cancel")

    [ipn] = server.ipns
    assert ipn["status"] == "CANCELLED"
    assert ipn["tran_id"] == tran_id
    assert ipn["error"] == "Cancelled by User"
    assert ipn["bank_tran_id"] == ""
    assert ipn["verify_key"] == CANCELLED_VERIFY_KEY
    assert gateway.verify_notice(ipn)
    form = return_form(answer)
    assert form.action == server.url("/merchant/cancel")
    assert form.fields == ipn


# Test knobs --------------------------------------------------------------------------------


def test_knobs_change_what_was_paid(gateway, server):
    answer, _ = pay(gateway, server, "success", amount="149", currency="usd", risk_level="1")

    [ipn] = server.ipns
    # Settled in BDT (149 USD at the sandbox's 120.0000), the original beside it (§1.2).
    assert (ipn["amount"], ipn["currency"], ipn["risk_level"]) == ("17880.00", "BDT", "1")
    assert (ipn["currency_amount"], ipn["currency_type"]) == ("149.00", "USD")
    assert (ipn["currency_rate"], ipn["store_amount"]) == ("120.0000", "17433.00")
    assert gateway.verify_notice(ipn)
    validated = gateway.validate(ipn["val_id"])
    assert validated.amount == Decimal("149.00")
    assert validated.currency == "USD"
    assert validated.risk_level == 1
    assert return_form(answer).fields == ipn


@pytest.mark.parametrize(
    ("amount_format", "amount", "store_amount"),
    [("2dp", "150.00", "146.25"), ("4dp", "150.0000", "146.2500"), ("trimmed", "150", "146.25")],
)
def test_amounts_come_as_the_live_gateway_writes_them_and_the_client_reads_them_all(
    gateway, server, amount_format, amount, store_amount
):
    answer, tran_id = pay(gateway, server, "success", amount_format=amount_format)

    [ipn] = server.ipns
    assert (ipn["amount"], ipn["currency_amount"], ipn["store_amount"]) == (
        amount,
        amount,
        store_amount,
    )
    assert gateway.verify_notice(ipn)
    assert return_form(answer).fields == ipn
    url = server.sandbox + "/validator/api/validationserverAPI.php"
    credentials = {"store_id": "testbox", "store_passwd": PASSWORD}
    raw = requests.get(url, params={"val_id": ipn["val_id"], **credentials}, timeout=5).json()
    assert (raw["amount"], raw["currency_amount"], raw["store_amount"]) == (
        amount,
        amount,
        store_amount,
    )
    validated = gateway.validate(ipn["val_id"])
    [queried] = gateway.query_transactions(tran_id)
    for read in (validated, queried):
        assert (read.amount, read.currency) == (Decimal("150.00"), "BDT")


def test_a_foreign_payment_is_read_by_what_the_customer_was_asked(gateway, server):
    pay(gateway, server, "success", amount="100", currency="EUR", amount_format="trimmed")

    [ipn] = server.ipns
    assert (ipn["amount"], ipn["currency"]) == ("10228.84", "BDT")
    assert (ipn["currency_amount"], ipn["currency_type"]) == ("100", "EUR")
    assert ipn["currency_rate"] == "102.2884"
    validated = gateway.validate(ipn["val_id"])
    [queried] = gateway.query_transactions(ipn["tran_id"])
    for read in (validated, queried):
        assert (read.amount, read.currency) == (Decimal("100"), "EUR")


def test_the_validation_answer_carries_the_discount_and_currency_fields(gateway, server):
    pay(gateway, server, "success", currency="USD")
    url = server.sandbox + "/validator/api/validationserverAPI.php"
    credentials = {"store_id": "testbox", "store_passwd": PASSWORD}

    answer = requests.get(
        url, params={"val_id": server.ipns[0]["val_id"], **credentials}, timeout=5
    )

    validated = answer.json()
    assert (validated["APIConnect"], validated["status"]) == ("DONE", "VALID")
    discount = (
        validated["discount_amount"],
        validated["discount_percentage"],
        validated["discount_remarks"],
    )
    assert discount == ("0.00", "0", "")
    assert (validated["amount"], validated["currency"]) == ("18000.00", "BDT")
    currency = (
        validated["currency_amount"],
        validated["currency_type"],
        validated["currency_rate"],
    )
    assert currency == ("150.00", "USD", "120.0000")
    assert validated["base_fair"] == "0.00"


def test_ipn_0_loses_the_notice_but_the_browser_still_returns(gateway, server):
    answer, tran_id = pay(gateway, server, "success", ipn="0")

    assert server.ipns == []
    form = return_form(answer)
    assert form.fields["tran_id"] == tran_id
    assert gateway.validate(form.fields["val_id"]).status == "VALID"


def test_ipn_repeat_delivers_the_same_notice_several_times(gateway, server):
    answer, _ = pay(gateway, server, "success", ipn_repeat="3")

    assert len(server.ipns) == 3
    assert server.ipns[0] == server.ipns[1] == server.ipns[2] == return_form(answer).fields


@pytest.mark.parametrize(
    "knobs",
    [
        {"amount": "abc"},
        {"amount": "1e999999"},
        {"amount": "-5"},
        {"currency": "US"},
        {"risk_level": "7"},
        {"ipn": "maybe"},
        {"ipn_repeat": "many"},
        {"amount_format": "5dp"},
        {"outcome": "refund"},
    ],
)
def test_bad_knobs_are_a_400_page_and_leave_the_session_open(gateway, server, knobs):
    session = gateway.create_session(session_request(server))

    answer = requests.post(session.gateway_url, data={"outcome": "success", **knobs}, timeout=5)

    assert answer.status_code == 400
    assert server.ipns == []
    assert requests.post(session.gateway_url, data={"outcome": "success"}, timeout=10).ok


# Transaction query and refunds -------------------------------------------------------------


def test_query_by_tran_id_lists_every_attempt(gateway, server):
    request_ = session_request(server)
    for outcome in ("fail", "success"):
        session = gateway.create_session(request_)
        requests.post(session.gateway_url, data={"outcome": outcome}, timeout=10)
    gateway.create_session(request_)  # opened, never paid

    found = gateway.query_transactions(request_.tran_id)

    assert [t.status for t in found] == ["FAILED", "VALID", "PENDING"]
    assert all(t.tran_id == request_.tran_id for t in found)
    assert found[1].val_id == server.ipns[1]["val_id"]
    assert found[1].amount == Decimal("150.00")
    assert all(len(t.session_key) == 32 for t in found)
    gateway.validate(found[1].val_id)
    assert [t.status for t in gateway.query_transactions(request_.tran_id)][1] == "VALIDATED"
    assert gateway.query_transactions("never-issued") == []


def test_query_by_session_key_and_a_request_without_selector(gateway, server):
    session = gateway.create_session(session_request(server))
    url = server.sandbox + "/validator/api/merchantTransIDvalidationAPI.php"
    credentials = {"store_id": "testbox", "store_passwd": PASSWORD, "format": "json"}

    by_key = {"sessionkey": session.session_key, **credentials}
    pending = requests.get(url, params=by_key, timeout=5).json()
    requests.post(session.gateway_url, data={"outcome": "cancel"}, timeout=10)
    cancelled = requests.post(url, data=by_key, timeout=5).json()
    nothing = requests.get(url, params=credentials, timeout=5).json()
    wrong = requests.get(url, params={"tran_id": "x", "store_id": "testbox"}, timeout=5).json()

    assert (pending["APIConnect"], pending["status"]) == ("DONE", "PENDING")
    assert cancelled["status"] == "CANCELLED"
    assert nothing == {"APIConnect": "INVALID_REQUEST"}
    assert wrong["APIConnect"] == "FAILED"


def test_refund_then_refund_status(gateway, server):
    pay(gateway, server, "success")
    bank_tran_id = server.ipns[0]["bank_tran_id"]

    too_much = gateway.refund(bank_tran_id, Money.of("150.01"), "RF-1", "too much")
    answer = gateway.refund(bank_tran_id, Money.of("150.00"), "RF-2", "order cancelled")
    again = gateway.refund(bank_tran_id, Money.of("150.00"), "RF-3", "order cancelled")
    status = gateway.refund_status(answer.refund_ref_id)

    assert too_much.status == "failed"
    assert too_much.reason
    assert answer.status == "success"
    assert len(answer.refund_ref_id) == 13
    assert again.status == "processing"
    assert again.refund_ref_id == answer.refund_ref_id
    assert status.status == "refunded"
    assert status.refund_ref_id == answer.refund_ref_id


def test_refunds_of_what_was_not_paid_fail(gateway, server):
    pay(gateway, server, "fail")
    failed_bank_tran_id = server.ipns[0]["bank_tran_id"]

    assert gateway.refund("unknown", Money.of("10.00"), "RF-1", "x").status == "failed"
    assert gateway.refund(failed_bank_tran_id, Money.of("10.00"), "RF-2", "x").status == "failed"
    assert gateway.refund_status("unknown").status == ""


def test_bad_refund_input_is_a_failed_answer_not_a_server_error(gateway, server):
    pay(gateway, server, "success")
    url = server.sandbox + "/validator/api/merchantTransIDvalidationAPI.php"
    params = {
        "store_id": "testbox",
        "store_passwd": PASSWORD,
        "bank_tran_id": server.ipns[0]["bank_tran_id"],
        "refund_remarks": "x",
    }
    for amount in ("abc", "-1", "0", "1e999999"):
        answer = requests.get(url, params={**params, "refund_amount": amount}, timeout=5)
        assert answer.status_code == 200
        assert answer.json()["status"] == "failed"
    no_remarks = {**params, "refund_remarks": "", "refund_amount": "10"}
    assert requests.get(url, params=no_remarks, timeout=5).json()["status"] == "failed"


# The client's failure modes ----------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_gateway_is_unavailable_quickly(server):
    gone = SslCommerzGateway(f"http://127.0.0.1:{closed_port()}", "testbox", PASSWORD, PASSWORD)
    started = time.monotonic()
    with pytest.raises(GatewayUnavailable):
        gone.create_session(session_request(server))
    with pytest.raises(GatewayUnavailable):
        gone.validate("x")  # retried twice, with a short backoff
    with pytest.raises(GatewayUnavailable):
        gone.refund("b", Money.of("10.00"), "RF", "x")
    assert time.monotonic() - started < 3


def test_reads_are_retried_on_5xx_and_writes_are_not(server, caplog):
    flaky = SslCommerzGateway(
        server.url("/flaky"), "testbox", "s3cret-pw", "s3cret-pw", retry_backoff=0.01
    )
    with pytest.raises(GatewayUnavailable) as caught:
        flaky.create_session(session_request(server))
    assert len(server.flaky_calls) == 1
    assert "503" in str(caught.value)

    answer = flaky.validate("x")  # 503 once more, then the answer
    assert len(server.flaky_calls) == 3
    assert answer.status == "VALID"
    assert answer.amount is None  # "x" is no amount

    with pytest.raises(GatewayUnavailable, match="non-JSON"):
        flaky.validate("text")
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("marketlink")]
    assert ours
    assert not any("s3cret-pw" in message for message in ours)


def test_wrong_credentials_on_reads_are_unavailable_not_an_answer(server):
    wrong = SslCommerzGateway(server.sandbox, "testbox", "s3cret-pw", PASSWORD)
    for call in (
        lambda: wrong.validate("x"),
        lambda: wrong.query_transactions("x"),
        lambda: wrong.refund_status("x"),
        lambda: wrong.refund("x", Money.of("10.00"), "RF", "x"),
    ):
        with pytest.raises(GatewayUnavailable, match="APIConnect FAILED") as caught:
            call()
        assert "s3cret-pw" not in str(caught.value)


def test_a_notice_is_authentic_only_with_the_webhook_secret(gateway, server):
    pay(gateway, server, "success")
    ipn = server.ipns[0]
    other = SslCommerzGateway(server.sandbox, "testbox", PASSWORD, "another-secret")

    assert gateway.verify_notice(ipn)
    assert not other.verify_notice(ipn)
    assert not gateway.verify_notice({**ipn, "amount": "1.00"})
    subset = ["amount", "currency", "status"]  # authentic, but tran_id and val_id unsigned
    partial = {
        **ipn,
        "verify_key": ",".join(subset),
        "verify_sign": signing.sign(ipn, subset, PASSWORD),
    }
    assert signing.verify(partial, PASSWORD)
    assert not gateway.verify_notice(partial)


def test_sql_stores_of_several_workers_share_one_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    upgrade_database(url)  # the tables, made once
    engines = [create_engine(url), create_engine(url)]
    first, second = (SqlSandboxStore(engine) for engine in engines)
    session = SandboxSession("A" * 32, "T-1", "150.00", "BDT", "http://s", "http://f", "http://c")
    attempt = SandboxTransaction("A" * 32, "T-1", "VALID", "150.00", "BDT", "now", val_id="V1")

    first.add_session(session)

    assert second.session("A" * 32) == session
    assert second.complete(attempt)
    assert not first.complete(replace(attempt, status="CANCELLED"))
    assert first.validate("V1", "later") == (replace(attempt, validated_on="later"), True)
    assert second.validate("V1", "even later") == (replace(attempt, validated_on="later"), False)
    assert [s.outcome for s in first.sessions_for_tran_id("T-1")] == ["VALID"]
    for engine in engines:
        engine.dispose()


def test_a_sql_store_touches_its_database_only_when_used(tmp_path):
    # The app builds its store at startup: it must start even while the database is down.
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'sandbox.db'}"
    engine = create_engine(url)
    store = SqlSandboxStore(engine)
    with pytest.raises(OperationalError):
        store.session("A" * 32)
    upgrade_database(url)  # makes the folder, the file and the tables
    assert store.session("A" * 32) is None
    engine.dispose()
