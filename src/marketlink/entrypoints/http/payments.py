"""Payments through SSLCommerz: opening a payment, the IPN webhook, the browser's return pages.

Only the gateway's validation API, asked server to server, can make an order paid.
The webhook accepts authentic notices only; the return pages never trust what the
browser posts: at most they ask the gateway about the posted `val_id`.
"""

# flask-smorest ships no type information: its decorators are untyped.
# mypy: allow-untyped-decorators

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from dependency_injector.wiring import Provide, inject
from flask import redirect, request
from flask.views import MethodView
from werkzeug.wrappers import Response

from marketlink.application.errors import (
    Forbidden,
    GatewayRejected,
    GatewayUnavailable,
    InvalidNotice,
    NotFound,
    NotPayable,
)
from marketlink.application.ports import PayLinks
from marketlink.application.use_cases.payments import (
    ConfirmFromReturn,
    GetOrderPayments,
    HandleGatewayNotice,
    StartPayment,
)
from marketlink.containers import Container
from marketlink.domain.payments import Payment
from marketlink.entrypoints.http.auth import authenticated, current_actor
from marketlink.entrypoints.http.blueprint import Blueprint
from marketlink.entrypoints.http.idempotency import idempotent
from marketlink.entrypoints.http.openapi import LOCATION_HEADER
from marketlink.entrypoints.http.pages import HTML, HTML_PAGE, page
from marketlink.entrypoints.http.paths import ORDER_ID
from marketlink.entrypoints.http.payment_schemas import (
    NoticeResultOut,
    PaymentLinksOut,
    PaymentOut,
)

blp = Blueprint("payments", __name__, url_prefix="/api/v1", description="Payments (SSLCommerz)")

# A genuine notice is a few kilobytes; anything far bigger is refused before it is parsed.
MAX_NOTICE_BYTES = 64 * 1024
MAX_NOTICE_FIELDS = 200

FORM_BODY = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {"type": "object", "additionalProperties": {"type": "string"}}
        }
    },
}


def _limit_body() -> None:
    request.max_content_length = MAX_NOTICE_BYTES
    request.max_form_memory_size = MAX_NOTICE_BYTES
    request.max_form_parts = MAX_NOTICE_FIELDS


# Opening a payment and reading the attempts ------------------------------------------------


@blp.route(f"/orders/<{ORDER_ID}:order_id>/payment")
class OrderPayment(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="startPayment")
    @idempotent(blp)
    @blp.response(200, PaymentLinksOut)
    @blp.raises(Forbidden, NotFound, NotPayable, GatewayRejected, GatewayUnavailable)
    @inject
    def post(
        self,
        order_id: uuid.UUID,
        start_payment: StartPayment = Provide[Container.start_payment],
        pay_links: PayLinks = Provide[Container.pay_links],
    ) -> dict[str, str]:
        """Open (or reuse) the order's gateway session now; the gateway's page comes back too"""
        opened = start_payment(order_id, current_actor())
        return {"payment_url": pay_links.url_for(order_id), "gateway_url": opened.gateway_url}


@blp.route(f"/orders/<{ORDER_ID}:order_id>/payments")
class OrderPayments(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="listOrderPayments")
    @blp.response(200, PaymentOut(many=True))
    @blp.raises(NotFound)
    @inject
    def get(
        self,
        order_id: uuid.UUID,
        get_payments: GetOrderPayments = Provide[Container.get_order_payments],
    ) -> list[Payment]:
        """The order's payment attempts, newest first, with the gateway's notices"""
        return get_payments(current_actor(), order_id)


# The gateway's IPN ---------------------------------------------------------------------------


@blp.route("/webhooks/sslcommerz/")
class GatewayNotices(MethodView):
    @blp.doc(operationId="receiveGatewayNotice", requestBody=FORM_BODY)
    @blp.response(200, NoticeResultOut)
    @blp.raises(InvalidNotice, 413, GatewayUnavailable)
    @inject
    def post(
        self, handle_notice: HandleGatewayNotice = Provide[Container.handle_gateway_notice]
    ) -> dict[str, object]:
        """The gateway's instant payment notification (form-encoded, signed with verify_sign)

        `result` is `processed`, `duplicate` (seen before: nothing changes) or `rejected`
        (authentic but not a payment of that order; `reason` says why).
        """
        _limit_body()
        outcome = handle_notice(request.form.to_dict())
        body: dict[str, object] = {"result": outcome.result}
        if outcome.reason:
            body["reason"] = outcome.reason
        return body


# The browser's return pages ------------------------------------------------------------------

_HEADLINES = {
    "paid": ("Payment received", "Thank you: your order is paid."),
    "pending": (
        "Payment not confirmed yet",
        "Your order is waiting for the payment to be confirmed. Check it again shortly.",
    ),
    "failed": ("Payment failed", "The payment did not go through, and the order was closed."),
    "cancelled": ("Payment cancelled", "The payment was cancelled, and the order was closed."),
}
_NOT_COMPLETED = (
    "Payment not completed",
    "The payment did not go through. Your booking is still held: you may try again from "
    "your order.",
)


def _land(outcome: str, confirm: ConfirmFromReturn, frontend_url: str | None) -> Response:
    _limit_body()
    fields = request.values
    tran_id = fields.get("tran_id", "")
    if not tran_id.strip():
        return page(
            "Unknown payment",
            "The gateway sent no transaction id back. Open your order to see its payment.",
            400,
        )
    result = confirm(tran_id, fields.get("val_id", ""), succeeded=outcome == "success")
    if result.order_id is None:
        return page(
            "Unknown payment",
            "We have no payment with this transaction id. Open your order to see its payment.",
            404,
        )
    if frontend_url:
        query = urlencode({"payment": result.status})
        target = f"{frontend_url}/orders/{result.order_id}?{query}"
        response = redirect(target, 303)
        response.headers["Cache-Control"] = "no-store"
        return response
    if result.status == "pending" and outcome != "success":
        title, message = _NOT_COMPLETED
    else:
        title, message = _HEADLINES.get(
            result.status, (f"Order {result.status}", f"Your order is {result.status}.")
        )
    return page(title, message, note=f"Order {result.order_id}")


def _return_docs(func: Callable[..., Any]) -> Callable[..., Any]:
    """What a return page answers: a redirect to the frontend, or a page (HTML)."""
    for status, description in (
        (200, "A small page, when no FRONTEND_URL is set"),
        (400, "No tran_id"),
        (404, "Unknown tran_id"),
    ):
        func = blp.alt_response(
            status, schema=HTML_PAGE, content_type=HTML, description=description
        )(func)
    redirect_doc = blp.response(
        303,
        description="To FRONTEND_URL/orders/<id>?payment=<order status>",
        headers={"Location": LOCATION_HEADER},
    )
    documented: Callable[..., Any] = redirect_doc(func)
    return documented


@blp.route("/payments/sslcommerz/<any(success, fail, cancel):outcome>")
class GatewayReturn(MethodView):
    """Where the gateway sends the customer's browser back: a cross-site POST (or a GET).

    No cookie, no session and no CSRF token is needed or set here.
    """

    @blp.doc(operationId="returnFromGateway")
    @_return_docs
    @inject
    def get(
        self,
        outcome: str,
        confirm: ConfirmFromReturn = Provide[Container.confirm_from_return],
        frontend_url: str | None = Provide[Container.settings.provided.frontend_url],
    ) -> Response:
        """The customer's browser back from the gateway (fields in the query string)"""
        return _land(outcome, confirm, frontend_url)

    @blp.doc(operationId="postReturnFromGateway", requestBody=FORM_BODY)
    @_return_docs
    @inject
    def post(
        self,
        outcome: str,
        confirm: ConfirmFromReturn = Provide[Container.confirm_from_return],
        frontend_url: str | None = Provide[Container.settings.provided.frontend_url],
    ) -> Response:
        """The customer's browser back from the gateway (the gateway's auto-submitted form)"""
        return _land(outcome, confirm, frontend_url)
