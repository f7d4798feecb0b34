"""Orders: a customer books a slot, the shop runs the job, everyone follows the history.

Who may see or move an order is decided by the use cases; someone else's order is
simply not found (404). Booking answers at once with MarketLink's own pay link: the
gateway is not called while booking.
"""

# flask-smorest ships no type information: its decorators are untyped.
# mypy: allow-untyped-decorators

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from dependency_injector.wiring import Provide, inject
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters

from marketlink.application.errors import (
    ConcurrentUpdate,
    Forbidden,
    LockTimeout,
    NotFound,
    TooManyUnpaidOrders,
)
from marketlink.application.ports import PayLinks
from marketlink.application.use_cases.orders import (
    CancelOrder,
    CompleteWork,
    FailWork,
    GetOrder,
    GetOrderEvents,
    ListOrders,
    PlaceOrder,
    StartWork,
)
from marketlink.containers import Container
from marketlink.domain.errors import InactiveVariant, InvalidTransition, OutOfStock
from marketlink.domain.orders import OrderEvent, RepairOrder
from marketlink.entrypoints.http.auth import authenticated, current_actor
from marketlink.entrypoints.http.blueprint import Blueprint, page_request
from marketlink.entrypoints.http.idempotency import idempotent
from marketlink.entrypoints.http.order_schemas import (
    OrderEventOut,
    OrderIn,
    OrderOut,
    OrderQuery,
    TransitionIn,
)

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="Booking and the job")

# A malformed order id does not match the route: 404, like an unknown one.
ORDER = "/orders/<uuid:order_id>"

_ORDER_FIELDS = (
    "id",
    "customer_id",
    "vendor_id",
    "variant_id",
    "service_name",
    "variant_name",
    "status",
    "total_amount",
    "created_at",
    "updated_at",
    "expires_at",
)


def with_pay_link(order: RepairOrder, pay_links: PayLinks) -> dict[str, Any]:
    """The order as OrderOut dumps it: its own fields and its signed pay link."""
    fields = {name: getattr(order, name) for name in _ORDER_FIELDS}
    return {**fields, "payment_url": pay_links.url_for(order.id)}


@blp.route("/orders")
class Orders(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="listOrders")
    @blp.arguments(OrderQuery, location="query")
    @blp.response(200, OrderOut(many=True))
    @blp.paginate()
    @inject
    def get(
        self,
        query: dict[str, Any],
        pagination_parameters: PaginationParameters,
        list_orders: ListOrders = Provide[Container.list_orders],
        pay_links: PayLinks = Provide[Container.pay_links],
    ) -> list[dict[str, Any]]:
        """Your orders, newest first

        A customer sees their own orders, a vendor the orders for their services, an
        admin all of them.
        """
        page = list_orders(
            current_actor(), query.get("status"), page_request(pagination_parameters)
        )
        pagination_parameters.item_count = page.total
        return [with_pay_link(order, pay_links) for order in page.items]

    @authenticated(blp)
    @blp.doc(operationId="placeOrder")
    @idempotent(blp)
    @blp.arguments(OrderIn)
    @blp.response(201, OrderOut)
    @blp.raises(
        Forbidden,
        NotFound,
        InactiveVariant,
        OutOfStock,
        TooManyUnpaidOrders,
        LockTimeout,
        ConcurrentUpdate,
    )
    @inject
    def post(
        self,
        data: dict[str, Any],
        place_order: PlaceOrder = Provide[Container.place_order],
        pay_links: PayLinks = Provide[Container.pay_links],
    ) -> dict[str, Any]:
        """Book a slot of a variant

        The amount is the variant's price, computed here; the answer carries
        `payment_url`, the link that takes the customer to the payment gateway.
        """
        return with_pay_link(place_order(current_actor(), data["variant_id"]), pay_links)


@blp.route(ORDER)
class OneOrder(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="getOrder")
    @blp.response(200, OrderOut)
    @blp.raises(NotFound)
    @inject
    def get(
        self,
        order_id: uuid.UUID,
        get_order: GetOrder = Provide[Container.get_order],
        pay_links: PayLinks = Provide[Container.pay_links],
    ) -> dict[str, Any]:
        """One order (its customer, its shop, or an admin)"""
        return with_pay_link(get_order(current_actor(), order_id), pay_links)


@blp.route(f"{ORDER}/events")
class OrderEvents(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="listOrderEvents")
    @blp.response(200, OrderEventOut(many=True))
    @blp.raises(NotFound)
    @inject
    def get(
        self,
        order_id: uuid.UUID,
        get_events: GetOrderEvents = Provide[Container.get_order_events],
    ) -> list[OrderEvent]:
        """The order's history, oldest first: every status change, who, how and why"""
        return get_events(current_actor(), order_id)


Step = Callable[..., RepairOrder]


def _step(step: Step, order_id: uuid.UUID, data: dict[str, Any], links: PayLinks) -> Any:
    order = step(current_actor(), order_id, reason=data.get("reason", ""))
    return with_pay_link(order, links)


def _transition_docs(func: Callable[..., Any]) -> Callable[..., Any]:
    """What every lifecycle step answers besides 200."""
    return blp.raises(Forbidden, NotFound, InvalidTransition, ConcurrentUpdate)(func)


@blp.route(f"{ORDER}/cancel")
class Cancel(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="cancelOrder")
    @idempotent(blp)
    @blp.arguments(TransitionIn, required=False)
    @blp.response(200, OrderOut)
    @_transition_docs
    @inject
    def post(
        self,
        data: dict[str, Any],
        order_id: uuid.UUID,
        cancel: CancelOrder = Provide[Container.cancel_order],
        pay_links: PayLinks = Provide[Container.pay_links],
    ) -> Any:
        """Cancel an order and release its slot

        The customer may cancel a pending order; the shop or an admin a pending or paid
        one (a paid order gets its refund requested). The body is optional.
        """
        return _step(cancel, order_id, data, pay_links)


@blp.route(f"{ORDER}/start")
class Start(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="startWork")
    @blp.arguments(TransitionIn, required=False)
    @blp.response(200, OrderOut)
    @_transition_docs
    @inject
    def post(
        self,
        data: dict[str, Any],
        order_id: uuid.UUID,
        start: StartWork = Provide[Container.start_work],
        pay_links: PayLinks = Provide[Container.pay_links],
    ) -> Any:
        """Start the job on a paid order (its shop); the body is optional"""
        return _step(start, order_id, data, pay_links)


@blp.route(f"{ORDER}/complete")
class Complete(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="completeWork")
    @blp.arguments(TransitionIn, required=False)
    @blp.response(200, OrderOut)
    @_transition_docs
    @inject
    def post(
        self,
        data: dict[str, Any],
        order_id: uuid.UUID,
        complete: CompleteWork = Provide[Container.complete_work],
        pay_links: PayLinks = Provide[Container.pay_links],
    ) -> Any:
        """Finish the job (its shop): the slot is released; the body is optional"""
        return _step(complete, order_id, data, pay_links)


@blp.route(f"{ORDER}/fail")
class Fail(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="failWork")
    @blp.arguments(TransitionIn, required=False)
    @blp.response(200, OrderOut)
    @_transition_docs
    @inject
    def post(
        self,
        data: dict[str, Any],
        order_id: uuid.UUID,
        fail: FailWork = Provide[Container.fail_work],
        pay_links: PayLinks = Provide[Container.pay_links],
    ) -> Any:
        """Give up on a job in progress (its shop or an admin)

        The slot is released and the customer's payment refunded. The body is optional.
        """
        return _step(fail, order_id, data, pay_links)
