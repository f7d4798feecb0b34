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
    GetOrder,
    GetOrderEvents,
    ListOrders,
    PlaceOrder,
)
from marketlink.containers import Container
from marketlink.domain.errors import InactiveVariant, InvalidTransition, OutOfStock
from marketlink.domain.orders import OrderEvent, OrderStatus, RepairOrder
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
from marketlink.entrypoints.http.paths import ORDER_ID

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="Booking and the job")

# An id that is not a UUID is answered like an unknown order (see paths.py).
ORDER = f"/orders/<{ORDER_ID}:order_id>"

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
    """The order as OrderOut dumps it: its own fields, and its signed pay link while it is
    pending (null once it can no longer be paid)."""
    fields = {name: getattr(order, name) for name in _ORDER_FIELDS}
    payable = order.status is OrderStatus.PENDING
    return {**fields, "payment_url": pay_links.url_for(order.id) if payable else None}


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
        cancel: Step = Provide[Container.cancel_order],  # audited when an admin cancels
        pay_links: PayLinks = Provide[Container.pay_links],
    ) -> Any:
        """Cancel an order and release its slot

        The customer may cancel a pending order; the shop or an admin a pending or paid
        one (a paid order gets its refund requested). The body is optional.
        """
        return _step(cancel, order_id, data, pay_links)


def _lifecycle_step(
    name: str, action: str, operation_id: str, use_case: Any, summary: str
) -> type[MethodView]:
    """The view of a step of the job that only calls its use case: start, complete, fail.

    `name` is the view's class name, hence its endpoint (`orders.<name>`); `summary` its
    documentation. The body is optional, as for every lifecycle step.
    """

    @inject
    def post(
        self: MethodView,
        data: dict[str, Any],
        order_id: uuid.UUID,
        step: Step = Provide[use_case],
        pay_links: PayLinks = Provide[Container.pay_links],
    ) -> Any:
        return _step(step, order_id, data, pay_links)

    post.__doc__ = summary  # read by flask-smorest when the decorators below copy it
    post.__qualname__ = f"{name}.post"
    documented = authenticated(blp)(
        blp.doc(operationId=operation_id)(
            blp.arguments(TransitionIn, required=False)(
                blp.response(200, OrderOut)(_transition_docs(post))
            )
        )
    )
    view = type(name, (MethodView,), {"__module__": __name__, "post": documented})
    return blp.route(f"{ORDER}/{action}")(view)  # type: ignore[no-any-return]


Start = _lifecycle_step(
    "Start",
    "start",
    "startWork",
    Container.start_work,
    "Start the job on a paid order (its shop); the body is optional",
)
Complete = _lifecycle_step(
    "Complete",
    "complete",
    "completeWork",
    Container.complete_work,
    "Finish the job (its shop): the slot is released; the body is optional",
)
Fail = _lifecycle_step(
    "Fail",
    "fail",
    "failWork",
    Container.fail_work,
    """Give up on a job in progress (its shop or an admin)

    The slot is released and the customer's payment refunded. The body is optional.
    """,
)
