"""The offline SSLCommerz sandbox: a stand-in for the gateway, served by the app itself.

It speaks the protocol of docs/sslcommerz.md (simulator checklist §8) under the URL prefix
`/_sandbox/sslcommerz`, so a client pointed at `<app>/_sandbox/sslcommerz` cannot tell
it from `https://sandbox.sslcommerz.com`:

- `POST gwprocess/v4/api.php` opens a session (form-urlencoded or multipart).
- `GET EasyCheckOut/testcde<sessionkey>` is the hosted payment page; `POST` to it with
  `outcome=success|fail|cancel` completes the payment as a customer would: the IPN goes
  to `ipn_url` first, then the browser gets an auto-submitting form that POSTs the same
  fields to the success/fail/cancel URL. Test-only fields: `amount`, `currency`,
  `risk_level=1`, `ipn=0`, `ipn_repeat=<n>` (at most 20).
- `validator/api/validationserverAPI.php` answers VALID for a val_id the first time,
  VALIDATED after, INVALID_TRANSACTION for one it never issued.
- `validator/api/merchantTransIDvalidationAPI.php` queries by tran_id or sessionkey,
  initiates refunds and reports their status.

Choices where the reference leaves room: amounts are never converted (a payment in
another currency reports that currency in `currency` and `currency_type`, rate 1); a
session nobody has paid yet shows up in queries as one PENDING element; one refund per
bank_tran_id (a second gets `processing` and the first's refund_ref_id), and a refund is
reported `refunded` as soon as it exists. A session is paid once: a second outcome is 409.

State lives behind `SandboxStore`: `InMemorySandboxStore` for tests, `SqlSandboxStore`
(its own `sandbox_` tables) for the app, which may run as several worker processes.
"""

from __future__ import annotations

import hmac
import html
import logging
import secrets
import string
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import requests
from flask import Blueprint, Response, jsonify, request, url_for
from sqlalchemy import (
    Column,
    Connection,
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
from sqlalchemy.exc import DBAPIError, IntegrityError

from marketlink.adapters.sslcommerz import signing

log = logging.getLogger(__name__)

URL_PREFIX = "/_sandbox/sslcommerz"
CHECKOUT_PREFIX = "testcde"
CREDENTIAL_ERROR = "Store Credential Error Or Store is De-active"
MIN_AMOUNT = Decimal("10.00")
MAX_AMOUNT = Decimal("500000.00")
MAX_IPN_REPEAT = 20
DHAKA = timezone(timedelta(hours=6), "Asia/Dhaka")
CENT = Decimal("0.01")
_AMOUNT_CEILING = Decimal("1e12")  # keeps quantize() within Decimal's precision

VALID = "VALID"
VALIDATED = "VALIDATED"
FAILED = "FAILED"
CANCELLED = "CANCELLED"
PENDING = "PENDING"
INVALID_TRANSACTION = "INVALID_TRANSACTION"

_OUTCOMES = {"success": VALID, "fail": FAILED, "cancel": CANCELLED}
_FEE_SHARE = Decimal("0.975")  # store_amount: what the merchant keeps after a 2.5 % fee

# Notice fields in the order the gateway posts them (docs/sslcommerz.md §2.2).
_NOTICE_ORDER = (
    "tran_id",
    "val_id",
    "amount",
    "card_type",
    "store_amount",
    "card_no",
    "bank_tran_id",
    "status",
    "tran_date",
    "error",
    "currency",
    "card_issuer",
    "card_brand",
    "card_sub_brand",
    "card_issuer_country",
    "card_issuer_country_code",
    "store_id",
    signing.VERIFY_SIGN,
    signing.VERIFY_KEY,
    signing.VERIFY_SIGN_SHA2,
    "currency_type",
    "currency_amount",
    "currency_rate",
    "base_fair",
    "value_a",
    "value_b",
    "value_c",
    "value_d",
    "risk_level",
    "risk_title",
)
# Which of them each status carries (the §2.2 table).
_NOT_IN_NOTICE = {
    VALID: frozenset(),
    FAILED: frozenset({"val_id", "store_amount", "risk_level", "risk_title"}),
    CANCELLED: frozenset(
        {
            "val_id",
            "store_amount",
            "card_type",
            "card_no",
            "card_issuer",
            "card_brand",
            "card_sub_brand",
            "card_issuer_country",
            "card_issuer_country_code",
            "risk_level",
            "risk_title",
        }
    ),
}
_SIGNATURE_FIELDS = frozenset({signing.VERIFY_SIGN, signing.VERIFY_KEY, signing.VERIFY_SIGN_SHA2})


# State -------------------------------------------------------------------------------------


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
    """The customer's one attempt at a session, as notified. Only VALID ones have a val_id."""

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


_metadata = MetaData()


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
    _metadata,
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
    _metadata,
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
        },
        unique=frozenset({"session_key"}),  # a session is paid once
        indexed=frozenset({"val_id", "bank_tran_id"}),
    ),
)

sandbox_refunds = Table(
    "sandbox_refunds",
    _metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    *_columns(
        SandboxRefund,
        keys={"refund_ref_id": 32, "bank_tran_id": 64, "tran_id": 64},
        unique=frozenset({"refund_ref_id", "bank_tran_id"}),  # one refund per payment
    ),
)

_Row = TypeVar("_Row", SandboxSession, SandboxTransaction, SandboxRefund)


class SqlSandboxStore:
    """A SandboxStore in `sandbox_*` tables, shared by all worker processes.

    The tables belong to the sandbox alone (own MetaData, created on first use); the
    app's migrations neither create nor know them. Every write is one conditional
    statement or a unique constraint, so concurrent requests cannot pay a session twice,
    validate a val_id "first" twice, or refund a payment twice.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._tables_ready = False
        self._tables_lock = threading.Lock()

    def _ensure_tables(self) -> None:
        """Creates the tables on first use, not on construction.

        The app builds its store when it starts, and must start (and answer /readyz with
        503) even while the database is down.
        """
        if self._tables_ready:
            return
        with self._tables_lock:
            if self._tables_ready:
                return
            try:
                _metadata.create_all(self._engine, checkfirst=True)
            except DBAPIError:  # another worker created them between our check and our CREATE
                _metadata.create_all(self._engine, checkfirst=True)
            self._tables_ready = True

    def _begin(self) -> AbstractContextManager[Connection]:
        self._ensure_tables()
        return self._engine.begin()

    def _connect(self) -> Connection:
        self._ensure_tables()
        return self._engine.connect()

    def add_session(self, session: SandboxSession) -> None:
        with self._begin() as conn:
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
        with self._connect() as conn:
            return [_from_row(SandboxSession, row) for row in conn.execute(query)]

    def complete(self, transaction: SandboxTransaction) -> bool:
        with self._begin() as conn:
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
        with self._begin() as conn:
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
            with self._begin() as conn:
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
        with self._connect() as conn:
            row = conn.execute(select(table).where(column == value).limit(1)).first()
        return None if row is None else _from_row(kind, row)


def _from_row(kind: type[_Row], row: Any) -> _Row:
    mapping = row._mapping
    return kind(**{f.name: mapping[f.name] for f in fields(kind)})


# The blueprint --------------------------------------------------------------------------------


def create_sandbox_blueprint(
    store: SandboxStore,
    *,
    store_id: str = "testbox",
    store_password: str = "qwerty",  # noqa: S107 - SSLCommerz's published sandbox password
    ipn_timeout: float = 10.0,
    clock: Callable[[], datetime] | None = None,
    name: str = "sslcommerz_sandbox",
) -> Blueprint:
    """The sandbox's routes, under the URL prefix /_sandbox/sslcommerz."""
    sandbox = _Sandbox(store, store_id, store_password, ipn_timeout, clock)
    blueprint = Blueprint(name, __name__, url_prefix=URL_PREFIX)
    blueprint.add_url_rule(
        "/gwprocess/v4/api.php", "session", sandbox.create_session, methods=["POST"]
    )
    blueprint.add_url_rule(
        "/EasyCheckOut/<token>", "checkout", sandbox.checkout, methods=["GET", "POST"]
    )
    blueprint.add_url_rule(
        "/validator/api/validationserverAPI.php",
        "validation",
        sandbox.validation,
        methods=["GET", "POST"],
    )
    blueprint.add_url_rule(
        "/validator/api/merchantTransIDvalidationAPI.php",
        "transactions",
        sandbox.transactions,
        methods=["GET", "POST"],
    )
    return blueprint


class _BadInput(Exception):
    """A test knob or parameter that cannot be used; the message is shown to the user."""


@dataclass(frozen=True, slots=True)
class _Knobs:
    amount: str
    currency: str
    risk_level: int
    ipn_deliveries: int


class _Sandbox:
    def __init__(
        self,
        store: SandboxStore,
        store_id: str,
        store_password: str,
        ipn_timeout: float,
        clock: Callable[[], datetime] | None,
    ) -> None:
        self._store = store
        self._store_id = store_id
        self._store_password = store_password
        self._ipn_timeout = ipn_timeout
        self._clock = clock or (lambda: datetime.now(UTC))

    # Session API (§1) -------------------------------------------------------------------

    def create_session(self) -> Response:
        params = request.values
        if not self._credentials_ok(params):
            return jsonify({"status": "FAILED", "failedreason": CREDENTIAL_ERROR})
        if _has_nul(params):
            return jsonify(
                {"status": "FAILED", "failedreason": "Invalid characters in the request"}
            )
        try:
            session = self._new_session(params)
        except _BadInput as exc:
            return jsonify({"status": "FAILED", "failedreason": str(exc)})
        self._store.add_session(session)
        page_url = url_for(
            f"{request.blueprint}.checkout",
            token=CHECKOUT_PREFIX + session.session_key.lower(),
            _external=True,
        )
        return jsonify(
            {
                "status": "SUCCESS",
                "failedreason": "",
                "sessionkey": session.session_key,
                "gw": {
                    "visa": "city_visa,ebl_visa,dbbl_visa",
                    "master": "city_master,ebl_master,dbbl_master",
                    "amex": "city_amex",
                    "othercards": "qcash",
                    "internetbanking": "city,bankasia,ibbl,mtbl",
                    "mobilebanking": "dbblmobilebanking,bkash,upay",
                },
                "redirectGatewayURL": "",
                "directPaymentURLBank": "",
                "directPaymentURLCard": "",
                "directPaymentURL": "",
                "redirectGatewayURLFailed": "",
                "GatewayPageURL": page_url,
                "storeBanner": "",
                "storeLogo": "",
                "store_name": "Demo",
                "desc": [],
                "is_direct_pay_enable": "0",
            }
        )

    def _new_session(self, params: Mapping[str, str]) -> SandboxSession:
        amount = _amount(params.get("total_amount", ""), "total_amount")
        if not MIN_AMOUNT <= Decimal(amount) <= MAX_AMOUNT:
            raise _BadInput("Invalid total_amount: it must be between 10.00 and 500000.00")
        tran_id = params.get("tran_id", "")
        if not tran_id or len(tran_id) > 30:
            raise _BadInput("Invalid tran_id: 1 to 30 characters are required")
        urls = {
            name: _url(params.get(name, ""), name, required=name != "ipn_url")
            for name in ("success_url", "fail_url", "cancel_url", "ipn_url")
        }
        values = {
            name: params.get(name, "") for name in ("value_a", "value_b", "value_c", "value_d")
        }
        for name, value in values.items():
            if len(value) > 255:
                raise _BadInput(f"Invalid {name}: at most 255 characters")
        return SandboxSession(
            session_key=secrets.token_hex(16).upper(),
            tran_id=tran_id,
            amount=amount,
            currency=_currency(params.get("currency", ""), "currency"),
            **urls,
            **values,
            cus_name=params.get("cus_name", ""),
            cus_email=params.get("cus_email", ""),
            cus_phone=params.get("cus_phone", ""),
            product_name=params.get("product_name", ""),
            created_at=self._now(),
        )

    # Hosted payment page and the customer's outcome (§2) --------------------------------

    def checkout(self, token: str) -> Response:
        session = self._session_for(token)
        if session is None:
            return _page(
                "Unknown payment session", "<p>This payment session does not exist.</p>", 404
            )
        if request.method == "GET":
            return self._payment_page(session, token)
        status = _OUTCOMES.get(request.form.get("outcome", ""))
        if status is None:
            return _page("Bad request", "<p>outcome must be success, fail or cancel.</p>", 400)
        try:
            knobs = _knobs(request.form, session)
        except _BadInput as exc:
            return _page("Bad request", f"<p>{_esc(str(exc))}</p>", 400)
        transaction = self._attempt(session, status, knobs)
        if not self._store.complete(transaction):
            return _page(
                "Payment already completed",
                "<p>This session already has an outcome: a session is paid once.</p>",
                409,
            )
        notice = self._notice(transaction)
        if session.ipn_url:
            for _ in range(knobs.ipn_deliveries):
                self._deliver_ipn(session.ipn_url, notice)
        target = {VALID: session.success_url, FAILED: session.fail_url}.get(
            status, session.cancel_url
        )
        return _return_page(target, notice, status)

    def _session_for(self, token: str) -> SandboxSession | None:
        key = token[len(CHECKOUT_PREFIX) :]
        if not token.startswith(CHECKOUT_PREFIX) or len(key) != 32:
            return None
        if not all(c in string.hexdigits for c in key):
            return None
        return self._store.session(key.upper())

    def _payment_page(self, session: SandboxSession, token: str) -> Response:
        rows = [
            ("Store", f"{self._store_id} (Demo)"),
            ("Amount", f"{session.amount} {session.currency}"),
            ("Transaction", session.tran_id),
            ("Product", session.product_name),
            ("Customer", " ".join(filter(None, (session.cus_name, session.cus_email)))),
        ]
        details = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in rows)
        if session.outcome:
            body = f"<dl>{details}</dl><p>This session is closed: {_esc(session.outcome)}.</p>"
            return _page("SSLCommerz sandbox", body)
        action = url_for(f"{request.blueprint}.checkout", token=token)
        price = _esc(f"{session.amount} {session.currency}")
        body = f"""<dl>{details}</dl>
<form method="post" action="{_esc(action)}">
<p class="actions">
<button type="submit" name="outcome" value="success">Pay {price}</button>
<button type="submit" name="outcome" value="fail">Fail</button>
<button type="submit" name="outcome" value="cancel">Cancel</button>
</p>
<details><summary>Test knobs</summary>
<label>Paid amount
<input name="amount" inputmode="decimal" placeholder="{_esc(session.amount)}"></label>
<label>Currency
<input name="currency" maxlength="3" placeholder="{_esc(session.currency)}"></label>
<label>Risk level <select name="risk_level">
<option value="0">0 (safe)</option><option value="1">1 (high risk)</option></select></label>
<label>IPN <select name="ipn">
<option value="1">deliver</option><option value="0">lose it</option></select></label>
<label>IPN deliveries
<input type="number" name="ipn_repeat" min="0" max="{MAX_IPN_REPEAT}" value="1"></label>
</details>
</form>"""
        return _page("SSLCommerz sandbox", body)

    def _attempt(self, session: SandboxSession, status: str, knobs: _Knobs) -> SandboxTransaction:
        now = self._dhaka_now()
        stamp = now.strftime("%y%m%d%H%M%S")
        common: dict[str, Any] = {
            "session_key": session.session_key,
            "tran_id": session.tran_id,
            "status": status,
            "amount": knobs.amount,
            "currency": knobs.currency,
            "tran_date": now.strftime("%Y-%m-%d %H:%M:%S"),
            "value_a": session.value_a,
            "value_b": session.value_b,
            "value_c": session.value_c,
            "value_d": session.value_d,
        }
        if status == CANCELLED:
            return SandboxTransaction(**common, error="Cancelled by User")
        bank_tran_id = stamp + _letters(15)
        if status == FAILED:
            return SandboxTransaction(
                **common, bank_tran_id=bank_tran_id, error="Declined by the issuing bank (sandbox)"
            )
        store_amount = (Decimal(knobs.amount) * _FEE_SHARE).quantize(CENT, ROUND_HALF_UP)
        return SandboxTransaction(
            **common,
            val_id=f"{stamp}{secrets.randbelow(1000):03d}{_letters(12)}",
            bank_tran_id=bank_tran_id,
            store_amount=f"{store_amount}",
            card_type="VISA-Sandbox Bank",
            card_no="411111XXXXXX1111",
            card_issuer="SANDBOX BANK LTD.",
            card_brand="VISA",
            card_sub_brand="Classic",
            card_issuer_country="Bangladesh",
            card_issuer_country_code="BD",
            risk_level=str(knobs.risk_level),
            risk_title="Safe" if knobs.risk_level == 0 else "High",
        )

    def _notice(self, transaction: SandboxTransaction) -> dict[str, str]:
        """The IPN (and return-page) fields for the transaction's status, signed (§2.2, §3)."""
        values = {
            **{k: v for k, v in asdict(transaction).items() if isinstance(v, str)},
            "store_id": self._store_id,
            "currency_type": transaction.currency,
            "currency_amount": transaction.amount,
            "currency_rate": "1.0000",
            "base_fair": "0.00",
        }
        left_out = _NOT_IN_NOTICE[transaction.status] | _SIGNATURE_FIELDS
        signed = sorted(name for name in _NOTICE_ORDER if name not in left_out)
        values[signing.VERIFY_KEY] = ",".join(signed)
        values[signing.VERIFY_SIGN] = signing.sign(values, signed, self._store_password)
        values[signing.VERIFY_SIGN_SHA2] = signing.sign_sha2(values, signed, self._store_password)
        omitted = _NOT_IN_NOTICE[transaction.status]
        return {name: values[name] for name in _NOTICE_ORDER if name not in omitted}

    def _deliver_ipn(self, url: str, notice: Mapping[str, str]) -> None:
        try:
            response = requests.post(
                url, data=dict(notice), timeout=self._ipn_timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            log.warning("sandbox IPN to %s not delivered: %s", url, type(exc).__name__)
            return
        if not 200 <= response.status_code < 300:
            log.warning("sandbox IPN to %s answered HTTP %s", url, response.status_code)

    # Order Validation API (§4) ----------------------------------------------------------

    def validation(self) -> Response:
        params = request.values
        if not self._credentials_ok(params):
            return jsonify(
                {
                    "APIConnect": "FAILED",
                    "status": INVALID_TRANSACTION,
                    "errorReason": CREDENTIAL_ERROR,
                }
            )
        val_id = params.get("val_id", "")
        if not val_id or _has_nul(params):
            return jsonify({"APIConnect": "INVALID_REQUEST", "status": INVALID_TRANSACTION})
        found = self._store.validate(val_id, self._now())
        if found is None:
            return jsonify({"APIConnect": "DONE", "status": INVALID_TRANSACTION, "val_id": val_id})
        transaction, first = found
        return jsonify(
            {
                **self._transaction_fields(transaction),
                "status": VALID if first else VALIDATED,
                "card_category": "DEBIT",
                "card_ref_id": "",
                "currency_rate": "1.0000",
                "base_fair": "0.00",
                "emi_description": "",
                "emi_issuer": "",
                "account_details": "",
                "APIConnect": "DONE",
                "gw_version": "sandbox",
                "offer_avail": 0,
                "isTokeizeSuccess": 0,
                "campaign_code": "",
            }
        )

    # Transaction query and refund API (§5) ----------------------------------------------

    def transactions(self) -> Response:
        params = request.values
        if not self._credentials_ok(params):
            return jsonify({"APIConnect": "FAILED", "errorReason": CREDENTIAL_ERROR})
        if _has_nul(params):
            return jsonify({"APIConnect": "INVALID_REQUEST"})
        if params.get("refund_ref_id"):
            return jsonify(self._refund_status(params["refund_ref_id"]))
        if params.get("bank_tran_id") and params.get("refund_amount"):
            return jsonify(self._initiate_refund(params))
        if params.get("sessionkey"):
            return jsonify(self._by_session(params["sessionkey"]))
        if params.get("tran_id"):
            return jsonify(self._by_tran_id(params["tran_id"]))
        return jsonify({"APIConnect": "INVALID_REQUEST"})

    def _by_session(self, session_key: str) -> dict[str, Any]:
        session = self._store.session(session_key.upper())
        if session is None:
            return {"APIConnect": "DONE", "status": INVALID_TRANSACTION, "sessionkey": session_key}
        return {"APIConnect": "DONE", **self._element(session)}

    def _by_tran_id(self, tran_id: str) -> dict[str, Any]:
        elements = [self._element(s) for s in self._store.sessions_for_tran_id(tran_id)]
        return {"APIConnect": "DONE", "no_of_trans_found": len(elements), "element": elements}

    def _element(self, session: SandboxSession) -> dict[str, Any]:
        """One attempt (or the pending session) with the per-transaction fields of §5.1."""
        transaction = (
            self._store.transaction_for_session(session.session_key) if session.outcome else None
        )
        if transaction is None:
            transaction = SandboxTransaction(
                session_key=session.session_key,
                tran_id=session.tran_id,
                status=PENDING,
                amount=session.amount,
                currency=session.currency,
                tran_date=session.created_at,
                value_a=session.value_a,
                value_b=session.value_b,
                value_c=session.value_c,
                value_d=session.value_d,
            )
        return {
            **self._transaction_fields(transaction),
            "sessionkey": session.session_key,
            "discount_percentage": "0",
            "discount_remarks": "",
            "bank_gw": "sandbox" if transaction.bank_tran_id else "",
        }

    def _initiate_refund(self, params: Mapping[str, str]) -> dict[str, Any]:
        bank_tran_id = params["bank_tran_id"]
        answer: dict[str, Any] = {"APIConnect": "DONE", "bank_tran_id": bank_tran_id}

        def failed(reason: str) -> dict[str, Any]:
            return {**answer, "status": "failed", "errorReason": reason}

        transaction = self._store.transaction_by_bank_tran_id(bank_tran_id)
        if transaction is None:
            return failed("Invalid bank_tran_id")
        answer["trans_id"] = transaction.tran_id
        if transaction.status != VALID:
            return failed("The transaction is not refundable: it was not paid")
        remarks = params.get("refund_remarks", "")
        if not remarks:
            return failed("refund_remarks is required")
        try:
            amount = _amount(params["refund_amount"], "refund_amount")
        except _BadInput as exc:
            return failed(str(exc))
        if Decimal(amount) <= 0:
            return failed("Invalid refund_amount: it must be positive")
        if Decimal(amount) > Decimal(transaction.amount):
            return failed("refund_amount exceeds the transaction amount")
        now = self._now()
        refund, created = self._store.add_refund(
            SandboxRefund(
                refund_ref_id=secrets.token_hex(7)[:13],
                bank_tran_id=bank_tran_id,
                tran_id=transaction.tran_id,
                amount=amount,
                remarks=remarks,
                initiated_on=now,
                refunded_on=now,
                refund_trans_id=params.get("refund_trans_id", ""),
                refe_id=params.get("refe_id", ""),
            )
        )
        if not created:
            return {
                **answer,
                "refund_ref_id": refund.refund_ref_id,
                "status": "processing",
                "errorReason": "A refund was already initiated for this transaction",
            }
        return {
            **answer,
            "refund_ref_id": refund.refund_ref_id,
            "status": "success",
            "errorReason": "",
        }

    def _refund_status(self, refund_ref_id: str) -> dict[str, Any]:
        refund = self._store.refund(refund_ref_id)
        if refund is None:
            return {
                "APIConnect": "INVALID_REQUEST",
                "refund_ref_id": refund_ref_id,
                "status": "",
                "errorReason": "Invalid refund_ref_id",
            }
        return {
            "APIConnect": "DONE",
            "bank_tran_id": refund.bank_tran_id,
            "tran_id": refund.tran_id,
            "refund_ref_id": refund.refund_ref_id,
            "initiated_on": refund.initiated_on,
            "refunded_on": refund.refunded_on,
            "status": "refunded",
            "errorReason": "",
        }

    # Helpers ----------------------------------------------------------------------------

    @staticmethod
    def _transaction_fields(transaction: SandboxTransaction) -> dict[str, Any]:
        """The fields the validation and query APIs share, with VALIDATED derived."""
        status = transaction.status
        if status == VALID and transaction.validated_on:
            status = VALIDATED
        return {
            "status": status,
            "tran_date": transaction.tran_date,
            "tran_id": transaction.tran_id,
            "val_id": transaction.val_id,
            "amount": transaction.amount,
            "store_amount": transaction.store_amount,
            "currency": transaction.currency,
            "bank_tran_id": transaction.bank_tran_id,
            "card_type": transaction.card_type,
            "card_no": transaction.card_no,
            "card_issuer": transaction.card_issuer,
            "card_brand": transaction.card_brand,
            "card_sub_brand": transaction.card_sub_brand,
            "card_issuer_country": transaction.card_issuer_country,
            "card_issuer_country_code": transaction.card_issuer_country_code,
            "currency_type": transaction.currency,
            "currency_amount": transaction.amount,
            "emi_instalment": "0",
            "emi_amount": "0.00",
            "value_a": transaction.value_a,
            "value_b": transaction.value_b,
            "value_c": transaction.value_c,
            "value_d": transaction.value_d,
            "risk_level": transaction.risk_level,
            "risk_title": transaction.risk_title,
            "error": transaction.error,
            "validated_on": transaction.validated_on,
        }

    def _credentials_ok(self, params: Mapping[str, str]) -> bool:
        store_id_ok = _same(params.get("store_id", ""), self._store_id)
        password_ok = _same(params.get("store_passwd", ""), self._store_password)
        return store_id_ok and password_ok

    def _dhaka_now(self) -> datetime:
        return self._clock().astimezone(DHAKA)

    def _now(self) -> str:
        return self._dhaka_now().strftime("%Y-%m-%d %H:%M:%S")


def _knobs(form: Mapping[str, str], session: SandboxSession) -> _Knobs:
    amount = form.get("amount", "").strip()
    amount = _amount(amount, "amount") if amount else session.amount
    if Decimal(amount) <= 0:
        raise _BadInput("amount must be positive")
    currency = form.get("currency", "").strip()
    currency = _currency(currency, "currency") if currency else session.currency
    risk_level = form.get("risk_level", "").strip() or "0"
    if risk_level not in ("0", "1"):
        raise _BadInput("risk_level must be 0 or 1")
    ipn = form.get("ipn", "").strip() or "1"
    if ipn not in ("0", "1"):
        raise _BadInput("ipn must be 0 or 1")
    repeat_text = form.get("ipn_repeat", "").strip() or "1"
    try:
        repeat = int(repeat_text)
    except ValueError:
        raise _BadInput("ipn_repeat must be a whole number") from None
    if repeat < 0:
        raise _BadInput("ipn_repeat must not be negative")
    deliveries = 0 if ipn == "0" else min(repeat, MAX_IPN_REPEAT)
    return _Knobs(amount, currency, int(risk_level), deliveries)


def _amount(text: str, name: str) -> str:
    """A positive-or-zero decimal with at most two places, formatted with two."""
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise _BadInput(f"Invalid {name}: not a decimal amount") from None
    if not amount.is_finite() or amount < 0 or amount >= _AMOUNT_CEILING:
        raise _BadInput(f"Invalid {name}: not an amount the sandbox takes")
    if amount != amount.quantize(CENT):
        raise _BadInput(f"Invalid {name}: at most two decimal places")
    return f"{amount.quantize(CENT)}"


def _currency(text: str, name: str) -> str:
    code = text.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise _BadInput(f"Invalid {name}: a three-letter ISO code is required")
    return code


def _url(text: str, name: str, *, required: bool) -> str:
    if not text and not required:
        return ""
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise _BadInput(f"Invalid {name}: not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 255:
        raise _BadInput(f"Invalid {name}: an absolute http(s) URL of at most 255 characters")
    return text


def _has_nul(params: Mapping[str, str]) -> bool:
    """NUL characters: no real client sends them, and PostgreSQL text cannot hold them."""
    return any("\x00" in key or "\x00" in value for key, value in params.items())


def _letters(count: int) -> str:
    return "".join(secrets.choice(string.ascii_letters) for _ in range(count))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def _esc(value: str) -> str:
    return html.escape(value, quote=True)


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;"
    "color:#222}h1{font-size:1.3rem;color:#0b6b3a}dl{display:grid;grid-template-columns:auto 1fr;"
    "gap:.3rem 1rem}dt{font-weight:600}dd{margin:0}button{padding:.5rem 1rem;margin:.2rem}"
    "label{display:block;margin:.4rem 0}details{margin-top:1rem}.note{color:#666;font-size:.9rem}"
)


def _page(title: str, body: str, status: int = 200) -> Response:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_esc(title)}</h1>{body}"
        '<p class="note">Offline SSLCommerz sandbox: no money moves.</p></body></html>'
    )
    response = Response(document, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _return_page(target: str, notice: Mapping[str, str], status: str) -> Response:
    """The form SSLCommerz makes the browser POST to the merchant, submitted by a script."""
    inputs = "\n".join(
        f'<input type="hidden" name="{_esc(name)}" value="{_esc(value)}">'
        for name, value in notice.items()
    )
    body = f"""<form id="sslcommerz-return" method="post" action="{_esc(target)}">
{inputs}
<p>Payment {_esc(status)}. Returning to the merchant&hellip;</p>
<button type="submit">Continue to the merchant</button>
</form>
<script>document.getElementById("sslcommerz-return").submit();</script>"""
    return _page("SSLCommerz sandbox", body)
