"""The PaymentGateway port over SSLCommerz's HTTP APIs with requests (docs/sslcommerz.md §1, 4, 5).

Every call has explicit connect and read timeouts. Reads (validation, transaction
query, refund status) are retried a couple of times with a short backoff when the
gateway cannot be reached or answers 5xx; writes (session, refund) are sent once,
since repeating them is not known to be safe. Any transport failure, non-200 answer
or non-JSON body becomes GatewayUnavailable with a short reason that never carries
the store password (requests' own messages hold the URL, and with it the query string,
so they are never passed on, not even as an exception's cause).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from marketlink.adapters.sslcommerz import signing
from marketlink.application.errors import GatewayRejected, GatewayUnavailable
from marketlink.application.ports import (
    GatewaySession,
    GatewayTransaction,
    RefundAnswer,
    SessionRequest,
)
from marketlink.domain.money import Money
from marketlink.domain.payments import SETTLEMENT_CURRENCY

log = logging.getLogger(__name__)

SESSION_PATH = "/gwprocess/v4/api.php"
VALIDATION_PATH = "/validator/api/validationserverAPI.php"
TRANSACTION_PATH = "/validator/api/merchantTransIDvalidationAPI.php"

# APIConnect values that say nothing about the transaction, only that the store could not
# use the API (wrong credentials, store switched off): the caller should try again later.
_REFUSED = frozenset({"FAILED", "INACTIVE"})
# Notice fields the application relies on: they must be covered by the signature.
_RELIED_ON = ("status", "tran_id")


class ThreadLocalSessions:
    """A `session_factory` giving each thread its own requests.Session (and connection pool)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session


class SslCommerzGateway:
    """SSLCommerz (or the offline sandbox, which speaks the same protocol) as a PaymentGateway."""

    def __init__(
        self,
        base_url: str,
        store_id: str,
        store_password: str,
        webhook_secret: str,
        session_factory: Callable[[], requests.Session] | None = None,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        read_attempts: int = 3,
        retry_backoff: float = 0.2,
        customer_city: str = "Dhaka",
        customer_country: str = "Bangladesh",
        product_category: str = "Repair service",
    ) -> None:
        self._base = base_url.rstrip("/")
        self._store_id = store_id
        self._store_password = store_password
        self._webhook_secret = webhook_secret
        self._session_factory = session_factory or ThreadLocalSessions()
        self._timeout = (connect_timeout, read_timeout)
        self._read_attempts = max(1, read_attempts)
        self._retry_backoff = retry_backoff
        self._customer_city = customer_city
        self._customer_country = customer_country
        self._product_category = product_category

    def __repr__(self) -> str:  # never the password
        return f"SslCommerzGateway({self._base!r}, store_id={self._store_id!r})"

    # PaymentGateway ---------------------------------------------------------------------

    def create_session(self, request: SessionRequest) -> GatewaySession:
        form = {
            "store_id": self._store_id,
            "store_passwd": self._store_password,
            "total_amount": f"{request.amount.amount:.2f}",
            "currency": request.amount.currency,
            "tran_id": request.tran_id,
            "success_url": request.success_url,
            "fail_url": request.fail_url,
            "cancel_url": request.cancel_url,
            "ipn_url": request.ipn_url,
            "cus_name": request.customer_name or "Customer",
            "cus_email": request.customer_email or "N/A",
            "cus_phone": request.customer_phone or "N/A",
            "cus_add1": self._customer_city,
            "cus_city": self._customer_city,
            "cus_country": self._customer_country,
            "shipping_method": "NO",
            "num_of_item": "1",
            "product_name": request.product_name or "Repair service",
            "product_category": self._product_category,
            "product_profile": "non-physical-goods",
            "value_a": request.order_ref,
        }
        data = self._call("session", "POST", SESSION_PATH, data=form, retry=False)
        status = _text(data, "status").upper()
        if status != "SUCCESS":
            reason = _text(data, "failedreason") or f"session status {status or 'missing'}"
            log.warning("gateway refused a session for %s: %s", request.tran_id, reason)
            raise GatewayRejected(reason[:200])
        session_key = _text(data, "sessionkey")
        gateway_url = _text(data, "GatewayPageURL")
        if not session_key or not gateway_url:
            raise self._unavailable("session: the answer lacks sessionkey or GatewayPageURL")
        return GatewaySession(session_key, gateway_url)

    def validate(self, val_id: str) -> GatewayTransaction:
        data = self._read("validation", VALIDATION_PATH, {"val_id": val_id})
        return _transaction(data)

    def query_transactions(self, tran_id: str) -> list[GatewayTransaction]:
        data = self._read("transaction query", TRANSACTION_PATH, {"tran_id": tran_id})
        elements = data.get("element")
        if isinstance(elements, dict):  # tolerated: a single element sent as an object
            elements = [elements]
        if not isinstance(elements, list):
            return []
        return [_transaction(element) for element in elements if isinstance(element, dict)]

    def verify_notice(self, fields: Mapping[str, str]) -> bool:
        relied_on = [*_RELIED_ON, *(["val_id"] if fields.get("val_id") else [])]
        return signing.verify(fields, self._webhook_secret, must_sign=relied_on)

    def refund(
        self, bank_tran_id: str, amount: Money, refund_trans_id: str, remarks: str
    ) -> RefundAnswer:
        params = self._credentials(
            {
                "bank_tran_id": bank_tran_id,
                "refund_amount": f"{amount.amount:.2f}",
                "refund_remarks": remarks,
                "refund_trans_id": refund_trans_id,
                "refe_id": refund_trans_id,
            }
        )
        data = self._call("refund", "GET", TRANSACTION_PATH, params=params, retry=False)
        self._check_connect(data, "refund")
        return RefundAnswer(
            status=_text(data, "status").lower() or "failed",
            refund_ref_id=_text(data, "refund_ref_id"),
            reason=_text(data, "errorReason"),
        )

    def refund_status(self, refund_ref_id: str) -> RefundAnswer:
        data = self._read("refund status", TRANSACTION_PATH, {"refund_ref_id": refund_ref_id})
        return RefundAnswer(
            status=_text(data, "status").lower(),
            refund_ref_id=_text(data, "refund_ref_id") or refund_ref_id,
            reason=_text(data, "errorReason"),
        )

    # HTTP -------------------------------------------------------------------------------

    def _credentials(self, params: dict[str, str]) -> dict[str, str]:
        return {
            **params,
            "store_id": self._store_id,
            "store_passwd": self._store_password,
            "format": "json",
            "v": "1",
        }

    def _read(self, what: str, path: str, params: dict[str, str]) -> dict[str, Any]:
        data = self._call(what, "GET", path, params=self._credentials(params), retry=True)
        self._check_connect(data, what)
        return data

    def _check_connect(self, data: Mapping[str, Any], what: str) -> None:
        connect = _text(data, "APIConnect").upper()
        if connect in _REFUSED:
            raise self._unavailable(f"{what}: the gateway refused the store (APIConnect {connect})")

    def _call(
        self,
        what: str,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        retry: bool,
    ) -> dict[str, Any]:
        attempts = self._read_attempts if retry else 1
        reason = f"{what}: no attempt made"
        for attempt in range(1, attempts + 1):
            retriable = False
            try:
                response = self._session_factory().request(
                    method,
                    self._base + path,
                    params=params,
                    data=data,
                    timeout=self._timeout,
                    allow_redirects=False,  # a redirect would drop a POST body or move secrets
                )
            except requests.ConnectionError as exc:  # also ConnectTimeout: nothing was sent
                reason = f"{what}: cannot reach the gateway ({type(exc).__name__})"
                retriable = True
            except requests.Timeout:  # read timeout: the gateway may still be working on it
                reason = f"{what}: the gateway did not answer in time"
            except requests.RequestException as exc:
                reason = f"{what}: request failed ({type(exc).__name__})"
            else:
                if response.status_code == 200:
                    return self._json(response, what)
                reason = f"{what}: the gateway answered HTTP {response.status_code}"
                retriable = response.status_code >= 500
            if not retriable or attempt == attempts:
                break
            log.info("%s; retrying (attempt %d of %d)", reason, attempt + 1, attempts)
            time.sleep(self._retry_backoff * 2 ** (attempt - 1))
        raise self._unavailable(reason)

    def _json(self, response: requests.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise self._unavailable(f"{what}: the gateway answered with a non-JSON body") from None
        if not isinstance(body, dict):
            raise self._unavailable(f"{what}: the gateway answered with JSON that is no object")
        return body

    @staticmethod
    def _unavailable(reason: str) -> GatewayUnavailable:
        log.warning("payment gateway unavailable: %s", reason)
        return GatewayUnavailable(reason)


# Answers ------------------------------------------------------------------------------------


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return "" if value is None else str(value)


def _decimal(value: str) -> Decimal | None:
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _risk_level(value: str) -> int:
    """0 when absent; anything unreadable counts as risky (1), so the payment waits for review."""
    value = value.strip()
    if not value:
        return 0
    try:
        return int(value)
    except ValueError:
        return 1


def _transaction(data: Mapping[str, Any]) -> GatewayTransaction:
    """One transaction as the validation or query API describes it, fields as given.

    Amount and currency follow the official libraries: a payment in BDT is judged by
    `amount`/`currency`; one in another currency by `currency_amount`/`currency_type`
    (what the merchant asked for), since `amount` is then its BDT equivalent.
    """
    currency = _text(data, "currency")
    amount = _text(data, "amount")
    currency_type = _text(data, "currency_type")
    if currency_type and currency_type != SETTLEMENT_CURRENCY:
        currency, amount = currency_type, _text(data, "currency_amount")
    return GatewayTransaction(
        status=_text(data, "status"),
        tran_id=_text(data, "tran_id"),
        val_id=_text(data, "val_id"),
        amount=_decimal(amount),
        currency=currency,
        bank_tran_id=_text(data, "bank_tran_id"),
        card_type=_text(data, "card_type"),
        card_no=_text(data, "card_no"),
        risk_level=_risk_level(_text(data, "risk_level")),
        session_key=_text(data, "sessionkey"),
    )
