"""A customer's and a vendor's flows through a client generated from /openapi.json.

Run by test_generated_client.py as `python client_flow.py BASE_URL`, with the package
that openapi-python-client generated (`marketlink_client`) on the path, once
`mypy --strict` has passed over it. Typed all the way: a field the document does not
mark required is `Unset` and fails the type check; an enum that says it never is null
fails while parsing; a status the document does not list raises UnexpectedStatus.
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import TypeVar

from marketlink_client import AuthenticatedClient, Client
from marketlink_client.api.accounts import login
from marketlink_client.api.catalog import add_variant, get_variant, list_services, publish_service
from marketlink_client.api.orders import (
    cancel_order,
    get_order,
    list_order_events,
    list_orders,
    place_order,
    start_work,
)
from marketlink_client.api.payments import list_order_payments, start_payment
from marketlink_client.api.vendors import get_my_vendor_profile
from marketlink_client.models import (
    CatalogSort,
    ErrorOut,
    ErrorOutErrors,
    EventSource,
    LoginIn,
    OrderIn,
    OrderStatus,
    PaginationMetadata,
    PaymentStatus,
    ServiceIn,
    TransitionIn,
    VariantIn,
)

# `marketlink seed-demo`'s accounts (entrypoints/cli.py).
DEMO_CUSTOMER = ("demo-customer@example.com", "demo-customer-password")
DEMO_VENDOR = ("demo-vendor@example.com", "demo-vendor-password")

T = TypeVar("T")


def ok(answer: T | ErrorOut | None) -> T:
    """The success model of an answer (a failure stops the flow, saying what came)."""
    assert answer is not None and not isinstance(answer, ErrorOut), answer
    return answer


def refused(answer: object, status: int, error: str) -> ErrorOut:
    """The error model of an answer, with its status and `error` code."""
    assert isinstance(answer, ErrorOut), answer
    assert (answer.code, answer.error) == (status, error), answer
    return answer


def signed_in(base_url: str, email: str, password: str) -> AuthenticatedClient:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    tokens = ok(login.sync(client=anonymous, body=LoginIn(email=email, password=password)))
    assert tokens.token_type == "Bearer" and tokens.expires_in > 0
    return AuthenticatedClient(
        base_url=base_url, token=tokens.access_token, raise_on_unexpected_status=True
    )


def main(base_url: str) -> None:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    customer = signed_in(base_url, *DEMO_CUSTOMER)
    vendor = signed_in(base_url, *DEMO_VENDOR)
    wrong = LoginIn(email=DEMO_CUSTOMER[0], password="not-the-password")
    refused(login.sync(client=anonymous, body=wrong), 401, "invalid_credentials")

    # The vendor publishes a service with one slot.
    shop = ok(get_my_vendor_profile.sync(client=vendor))
    service = ok(
        publish_service.sync(
            client=vendor,
            body=ServiceIn(name="Wheel alignment", description="Four wheels, laser-measured."),
        )
    )
    slot = VariantIn(name="Car", price="2000.00", estimated_minutes=45, stock=1)
    variant = ok(add_variant.sync(service.id, client=vendor, body=slot))
    assert (variant.price, variant.available, variant.is_active) == ("2000.00", 1, True)

    # Anyone lists and filters the catalog; the page comes in X-Pagination.
    first = list_services.sync_detailed(
        client=anonymous, available=True, sort=CatalogSort.PRICE, page_size=2
    )
    cheapest = ok(first.parsed)
    page = PaginationMetadata.from_dict(json.loads(first.headers["X-Pagination"]))
    assert len(cheapest) == 2 and page.total >= 4 and page.total_pages >= 2 and page.page == 1
    found = ok(
        list_services.sync(
            client=anonymous,
            vendor_id=shop.id,
            q="alignment",
            min_price="1000.00",
            max_price="3000.00",
            sort=CatalogSort.NEWEST,
        )
    )
    assert [s.id for s in found] == [service.id]
    assert [v.id for v in found[0].variants] == [variant.id]
    invalid = refused(
        list_services.sync(client=anonymous, min_price="cheap"), 422, "validation_error"
    )
    assert isinstance(invalid.errors, ErrorOutErrors), invalid
    messages: list[str] = invalid.errors["query"]["min_price"]
    expected = 'Must be a string of digits with at most 2 decimals, such as "1500.00".'
    assert messages == [expected], messages

    # The customer books the slot, then reads the order and its history.
    order = ok(place_order.sync(client=customer, body=OrderIn(variant_id=variant.id)))
    assert (order.status, order.total_amount, order.currency) == (
        OrderStatus.PENDING,
        "2000.00",
        "BDT",
    )
    assert order.payment_url is not None and order.payment_url.startswith(base_url)
    assert ok(get_order.sync(order.id, client=customer)).expires_at > order.created_at
    again = place_order.sync(client=customer, body=OrderIn(variant_id=variant.id))
    refused(again, 409, "out_of_stock")
    [created] = ok(list_order_events.sync(order.id, client=customer))
    assert (created.from_status, created.to_status, created.source) == (
        None,
        OrderStatus.PENDING,
        EventSource.API,
    )

    # Opening the payment: one attempt, nothing from the gateway yet (null, not "").
    links = ok(start_payment.sync(order.id, client=customer))
    assert links.gateway_url.startswith("http")
    # The same pay link (its token is signed when written: it may carry a later second).
    assert links.payment_url.split("?token=")[0] == order.payment_url.split("?token=")[0]
    [payment] = ok(list_order_payments.sync(order.id, client=customer))
    assert payment.status is PaymentStatus.INITIATED and payment.order_id == order.id
    assert (payment.flag, payment.refund_status, payment.val_id, payment.bank_tran_id) == (
        None,
        None,
        None,
        None,
    )
    assert (payment.amount, payment.currency, payment.notices) == ("2000.00", "BDT", [])

    # The vendor sees the order among its pending ones; an unpaid job cannot start.
    pending = ok(list_orders.sync(client=vendor, status=OrderStatus.PENDING))
    assert order.id in {o.id for o in pending}
    refused(start_work.sync(order.id, client=vendor), 409, "invalid_transition")
    assert len(ok(list_order_payments.sync(order.id, client=vendor))) == 1
    refused(place_order.sync(client=vendor, body=OrderIn(variant_id=variant.id)), 403, "forbidden")

    # The customer cancels: the slot comes back, the history says who and why.
    reason = TransitionIn(reason="Changed my mind")
    cancelled = ok(cancel_order.sync(order.id, client=customer, body=reason))
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.payment_url is None  # no longer payable
    events = ok(list_order_events.sync(order.id, client=customer))
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, OrderStatus.PENDING),
        (OrderStatus.PENDING, OrderStatus.CANCELLED),
    ]
    assert events[-1].reason == "Changed my mind" and events[-1].actor_id == order.customer_id
    assert ok(get_variant.sync(variant.id, client=anonymous)).available == 1
    refused(cancel_order.sync(order.id, client=customer), 409, "invalid_transition")
    refused(get_order.sync(uuid.uuid4(), client=customer), 404, "not_found")
    print("the customer's and the vendor's flows ran through the generated client")


if __name__ == "__main__":
    main(sys.argv[1])
