"""The sandbox's routes: a Flask blueprint under /_sandbox/sslcommerz (docs/sslcommerz.md §1-§5).

Every API answers HTTP 200 with JSON, business errors in `status`/`APIConnect`, as the
gateway does; only the payment page answers with HTML and other status codes.
"""

from __future__ import annotations

import hmac
import secrets
import string
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from marketlink.sandbox import pages, refunds
from marketlink.sandbox.inputs import (
    BadInput,
    checked_amount,
    checked_currency,
    checked_url,
    has_nul,
    read_knobs,
)
from marketlink.sandbox.ipn import IpnSender
from marketlink.sandbox.notices import notice
from marketlink.sandbox.state import (
    CANCELLED,
    FAILED,
    VALID,
    VALIDATED,
    SandboxSession,
    SandboxStore,
)
from marketlink.sandbox.transactions import TIMESTAMP, attempt, pending, reported

URL_PREFIX = "/_sandbox/sslcommerz"
CHECKOUT_PREFIX = "testcde"
CREDENTIAL_ERROR = "Store Credential Error Or Store is De-active"
INVALID_TRANSACTION = "INVALID_TRANSACTION"
MIN_AMOUNT = Decimal("10.00")
MAX_AMOUNT = Decimal("500000.00")
DHAKA = timezone(timedelta(hours=6), "Asia/Dhaka")

_OUTCOMES = {"success": VALID, "fail": FAILED, "cancel": CANCELLED}


def create_sandbox_blueprint(
    store: SandboxStore,
    *,
    ipn: IpnSender,
    store_id: str = "testbox",
    store_password: str = "qwerty",  # noqa: S107 - SSLCommerz's published sandbox password
    clock: Callable[[], datetime] | None = None,
    name: str = "sslcommerz_sandbox",
) -> Blueprint:
    """The sandbox's routes, under the URL prefix /_sandbox/sslcommerz."""
    sandbox = _Sandbox(store, ipn, store_id, store_password, clock)
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


class _Sandbox:
    def __init__(
        self,
        store: SandboxStore,
        ipn: IpnSender,
        store_id: str,
        store_password: str,
        clock: Callable[[], datetime] | None,
    ) -> None:
        self._store = store
        self._ipn = ipn
        self._store_id = store_id
        self._store_password = store_password
        self._clock = clock or (lambda: datetime.now(UTC))

    # Session API (§1) -------------------------------------------------------------------

    def create_session(self) -> Response:
        params = request.values
        if not self._credentials_ok(params):
            return jsonify({"status": "FAILED", "failedreason": CREDENTIAL_ERROR})
        if has_nul(params):
            return jsonify(
                {"status": "FAILED", "failedreason": "Invalid characters in the request"}
            )
        try:
            session = self._new_session(params)
        except BadInput as exc:
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
        amount = checked_amount(params.get("total_amount", ""), "total_amount")
        if not MIN_AMOUNT <= Decimal(amount) <= MAX_AMOUNT:
            raise BadInput("Invalid total_amount: it must be between 10.00 and 500000.00")
        tran_id = params.get("tran_id", "")
        if not tran_id or len(tran_id) > 30:
            raise BadInput("Invalid tran_id: 1 to 30 characters are required")
        urls = {
            name: checked_url(params.get(name, ""), name, required=name != "ipn_url")
            for name in ("success_url", "fail_url", "cancel_url", "ipn_url")
        }
        values = {
            name: params.get(name, "") for name in ("value_a", "value_b", "value_c", "value_d")
        }
        for name, value in values.items():
            if len(value) > 255:
                raise BadInput(f"Invalid {name}: at most 255 characters")
        return SandboxSession(
            session_key=secrets.token_hex(16).upper(),
            tran_id=tran_id,
            amount=amount,
            currency=checked_currency(params.get("currency", ""), "currency"),
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
            return pages.unknown_session()
        if request.method == "GET":
            action = url_for(f"{request.blueprint}.checkout", token=token)
            return pages.payment_page(session, self._store_id, action)
        status = _OUTCOMES.get(request.form.get("outcome", ""))
        if status is None:
            return pages.bad_request("outcome must be success, fail or cancel.")
        try:
            knobs = read_knobs(request.form, session)
        except BadInput as exc:
            return pages.bad_request(str(exc))
        transaction = attempt(session, status, knobs, self._dhaka_now())
        if not self._store.complete(transaction):
            return pages.already_completed()
        fields = notice(transaction, self._store_id, self._store_password)
        if session.ipn_url:  # the IPN goes out before the browser is sent back (§0)
            self._ipn.send(session.ipn_url, fields, knobs.ipn_deliveries)
        target = {VALID: session.success_url, FAILED: session.fail_url}.get(
            status, session.cancel_url
        )
        return pages.return_page(target, fields, status)

    def _session_for(self, token: str) -> SandboxSession | None:
        key = token[len(CHECKOUT_PREFIX) :]
        if not token.startswith(CHECKOUT_PREFIX) or len(key) != 32:
            return None
        if not all(c in string.hexdigits for c in key):
            return None
        return self._store.session(key.upper())

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
        if not val_id or has_nul(params):
            return jsonify({"APIConnect": "INVALID_REQUEST", "status": INVALID_TRANSACTION})
        found = self._store.validate(val_id, self._now())
        if found is None:
            return jsonify({"APIConnect": "DONE", "status": INVALID_TRANSACTION, "val_id": val_id})
        transaction, first = found
        return jsonify(
            {
                **reported(transaction),
                "status": VALID if first else VALIDATED,
                "card_category": "DEBIT",
                "card_ref_id": "",
                "currency_rate": transaction.reported_currency()["currency_rate"],
                "base_fair": "0.00",
                "discount_amount": "0.00",
                "discount_percentage": "0",
                "discount_remarks": "",
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
        if has_nul(params):
            return jsonify({"APIConnect": "INVALID_REQUEST"})
        if params.get("refund_ref_id"):
            return jsonify(refunds.status(self._store, params["refund_ref_id"]))
        if params.get("bank_tran_id") and params.get("refund_amount"):
            return jsonify(refunds.initiate(self._store, params, self._now()))
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
            transaction = pending(session)
        return {
            **reported(transaction),
            "sessionkey": session.session_key,
            "discount_percentage": "0",
            "discount_remarks": "",
            "bank_gw": "sandbox" if transaction.bank_tran_id else "",
        }

    # Helpers ----------------------------------------------------------------------------

    def _credentials_ok(self, params: Mapping[str, str]) -> bool:
        store_id_ok = _same(params.get("store_id", ""), self._store_id)
        password_ok = _same(params.get("store_passwd", ""), self._store_password)
        return store_id_ok and password_ok

    def _dhaka_now(self) -> datetime:
        return self._clock().astimezone(DHAKA)

    def _now(self) -> str:
        return self._dhaka_now().strftime(TIMESTAMP)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))
