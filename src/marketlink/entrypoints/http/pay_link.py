"""The pay link: `GET /pay/<order id>?token=...`, MarketLink's own URL in `payment_url`.

Booking never waits on the gateway: the link is signed and handed out at once, and
opening it is what opens (or reuses) a gateway session and sends the browser there.
A person reads the answers, so the refusals are small HTML pages, not JSON.
"""

# flask-smorest ships no type information: its decorators are untyped.
# mypy: allow-untyped-decorators

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from dependency_injector.wiring import Provide, inject
from flask import redirect, request
from flask.views import MethodView
from werkzeug.wrappers import Response

from marketlink.application.errors import (
    GatewayRejected,
    GatewayUnavailable,
    NotFound,
    NotPayable,
)
from marketlink.application.ports import PayLinks
from marketlink.application.use_cases.payments import StartPayment
from marketlink.containers import Container
from marketlink.entrypoints.http.blueprint import Blueprint
from marketlink.entrypoints.http.errors import RETRY_AFTER_SECONDS
from marketlink.entrypoints.http.openapi import LOCATION_HEADER, RETRY_AFTER_HEADER
from marketlink.entrypoints.http.pages import HTML, HTML_PAGE, page

blp = Blueprint("pay_link", __name__, description="The pay link a customer opens in a browser")

MAX_TOKEN_LENGTH = 512

F = TypeVar("F", bound=Callable[..., Any])


# Read by hand, never validated into a 422: a missing or mangled token is just a link that
# does not work (404).
TOKEN_PARAMETER = {
    "in": "query",
    "name": "token",
    "required": True,
    "schema": {"type": "string"},
    "description": "The link's signature (it expires with the reservation)",
}


def _not_found() -> Response:
    return page(
        "Payment link not found",
        "This payment link is not valid or has expired. Open your order to get a fresh one.",
        404,
    )


def _genuine(order_id: str, token: str, pay_links: PayLinks) -> uuid.UUID | None:
    """The order a link is for, when its token is this order's, unexpired signature."""
    try:
        order = uuid.UUID(order_id)
    except ValueError:
        return None
    if not token or len(token) > MAX_TOKEN_LENGTH or not pay_links.is_valid(order, token):
        return None
    return order


def _page(status: int, description: str, **doc: Any) -> Callable[[F], F]:
    """Documents one of the pages a refusal answers (a person reads them, not a program)."""
    return blp.alt_response(  # type: ignore[no-any-return]
        status, schema=HTML_PAGE, content_type=HTML, description=description, **doc
    )


@blp.route("/pay/<order_id>")
class PayLink(MethodView):
    @blp.doc(operationId="checkPayLink", parameters=[TOKEN_PARAMETER])
    @blp.response(
        200, HTML_PAGE, content_type=HTML, description="A genuine, unexpired link (no body)"
    )
    @_page(404, "A bad or expired link")
    @inject
    def head(self, order_id: str, pay_links: PayLinks = Provide[Container.pay_links]) -> Response:
        """Check a pay link without following it (nothing is opened at the gateway)"""
        # Link previewers and mail scanners send HEAD: without this method Flask would run
        # GET, and every preview would open a gateway session. The token is checked, nothing
        # else: the order's state is the GET's business.
        if _genuine(order_id, request.args.get("token", ""), pay_links) is None:
            return _not_found()
        return page("Pay for your order", "Open this link in a browser to pay.", 200)

    @blp.doc(operationId="openPayLink", parameters=[TOKEN_PARAMETER])
    @blp.response(
        303,
        description="To the gateway's payment page",
        headers={"Location": LOCATION_HEADER},
    )
    @_page(404, "Unknown order, or a bad or expired link")
    @_page(409, "The order can no longer be paid")
    @_page(502, "The gateway refused to open a session")
    @_page(503, "The gateway is unreachable", headers={"Retry-After": RETRY_AFTER_HEADER})
    @inject
    def get(
        self,
        order_id: str,
        pay_links: PayLinks = Provide[Container.pay_links],
        start_payment: StartPayment = Provide[Container.start_payment],
    ) -> Response:
        """Open the gateway's payment page for an order (a browser follows this link)"""
        order = _genuine(order_id, request.args.get("token", ""), pay_links)
        if order is None:
            return _not_found()
        try:
            opened = start_payment(order)
        except NotFound:
            return _not_found()
        except NotPayable as exc:
            return page("This order cannot be paid", exc.message, 409)
        except GatewayUnavailable:
            seconds = RETRY_AFTER_SECONDS[GatewayUnavailable]
            return page(
                "Payment is unavailable right now",
                "We cannot reach the payment gateway. Your booking stands: try this link "
                "again in a moment.",
                503,
                headers={"Retry-After": str(seconds)},
            )
        except GatewayRejected:
            return page(
                "Payment could not be started",
                "The payment gateway refused to open a payment for this order.",
                502,
            )
        response = redirect(opened.gateway_url, 303)
        response.headers["Cache-Control"] = "no-store"
        return response
