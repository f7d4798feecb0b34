"""Orders over HTTP: booking, the lifecycle and its permissions, history, idempotency, expiry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner
from dependency_injector import providers

from marketlink.application.errors import ConcurrentUpdate
from marketlink.application.use_cases.accounts import RegisterUser
from marketlink.application.use_cases.order_transitions import apply_transition
from marketlink.domain.orders import EventSource, OrderStatus
from marketlink.domain.users import Role
from marketlink.entrypoints import cli as cli_module
from marketlink.entrypoints.cli import cli
from marketlink.entrypoints.http.idempotency import fingerprint
from tests.e2e.conftest import PASSWORD, Account, assert_error, bearer
from tests.fakes import FakeClock, FakeLock

pytestmark = pytest.mark.e2e

ORDERS = "/api/v1/orders"
ORDER_FIELDS = {
    "id",
    "customer_id",
    "vendor_id",
    "variant_id",
    "service_name",
    "variant_name",
    "status",
    "total_amount",
    "currency",
    "payment_url",
    "created_at",
    "updated_at",
    "expires_at",
}
EVENT_FIELDS = {"at", "from_status", "to_status", "actor_id", "source", "reason"}


@dataclass
class Shop:
    vendor: Account
    vendor_id: int
    service: dict[str, Any]
    variant: dict[str, Any]

    @property
    def variant_id(self) -> int:
        return int(self.variant["id"])


@pytest.fixture
def open_shop(client, api):
    def make(stock: int = 2, price: str = "1500.00") -> Shop:
        vendor = api.vendor()
        service = api.service(vendor, "Brake repair")
        variant = api.variant(vendor, service["id"], name="Front pads", price=price, stock=stock)
        profile = client.get("/api/v1/vendors/me", headers=vendor.headers).json
        return Shop(vendor, profile["id"], service, variant)

    return make


@pytest.fixture
def shop(open_shop) -> Shop:
    return open_shop()


@pytest.fixture
def admin(container, api) -> Account:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    user = container.register()(
        RegisterUser(email, PASSWORD, "Ad", "Min", Role.ADMIN), allow_admin=True
    )
    token = api.login(email)["access_token"]
    return Account(user.id, email, "admin", token, "", bearer(token))


def book(client, customer: Account, variant_id: Any, key: str | None = None, **body: Any):
    headers = dict(customer.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(ORDERS, headers=headers, json={"variant_id": variant_id, **body})


def booked(client, customer: Account, shop: Shop) -> dict[str, Any]:
    response = book(client, customer, shop.variant_id)
    assert response.status_code == 201, response.json
    return response.json


def act(client, who: Account, order_id: str, action: str, **kwargs: Any):
    return client.post(f"{ORDERS}/{order_id}/{action}", headers=who.headers, **kwargs)


def slots(client, shop: Shop) -> tuple[int, int]:
    """(reserved, available), as anyone sees them on the variant."""
    variant = client.get(f"/api/v1/variants/{shop.variant_id}").json
    return variant["reserved"], variant["available"]


def mark_paid(container, order_id: str) -> None:
    """What a verified payment does (the payment flow is tested on its own)."""
    with container.uow()() as uow:
        order = uow.orders.get(uuid.UUID(order_id))
        assert apply_transition(
            uow,
            order,
            OrderStatus.PAID,
            now=container.clock().now(),
            source=EventSource.WEBHOOK,
            actor_id=None,
            reason="payment validated",
        )
        uow.commit()


def status_of(client, who: Account, order_id: str) -> str:
    response = client.get(f"{ORDERS}/{order_id}", headers=who.headers)
    assert response.status_code == 200, response.json
    return str(response.json["status"])


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


# Booking ------------------------------------------------------------------------------------


class TestBooking:
    def test_a_customer_books_a_slot_and_gets_the_order_with_its_pay_link(
        self, client, api, container, shop
    ):
        customer = api.account()
        response = book(client, customer, shop.variant_id)

        assert response.status_code == 201
        order = response.json
        assert set(order) == ORDER_FIELDS
        assert order["status"] == "pending"
        assert order["customer_id"] == customer.id
        assert order["vendor_id"] == shop.vendor_id
        assert order["variant_id"] == shop.variant_id
        assert (order["service_name"], order["variant_name"]) == ("Brake repair", "Front pads")
        assert (order["total_amount"], order["currency"]) == ("1500.00", "BDT")
        assert uuid.UUID(order["id"])
        created, expires = at(order["created_at"]), at(order["expires_at"])
        assert created.utcoffset() == timedelta(0)
        assert expires - created == timedelta(seconds=1800)
        assert order["updated_at"] == order["created_at"]
        link = urlsplit(order["payment_url"])
        assert f"{link.scheme}://{link.netloc}" == "http://127.0.0.1:8000"
        assert link.path == f"/pay/{order['id']}"
        [token] = parse_qs(link.query)["token"]
        assert container.pay_links().is_valid(uuid.UUID(order["id"]), token)
        assert slots(client, shop) == (1, 1)

    def test_the_amount_is_computed_on_the_server_and_a_client_amount_is_refused(
        self, client, api, shop
    ):
        customer = api.account()
        for extra in ({"total_amount": "1.00"}, {"amount": "1.00"}, {"currency": "USD"}):
            body = assert_error(book(client, customer, shop.variant_id, **extra), 422)
            assert set(body["errors"]["json"]) == set(extra)
        assert slots(client, shop) == (0, 2)
        assert booked(client, customer, shop)["total_amount"] == "1500.00"

    @pytest.mark.parametrize("variant_id", [None, "1", 0, -3, 1.5, True, 2**63, [1], {}])
    def test_the_variant_id_must_be_a_positive_integer(self, client, api, shop, variant_id):
        assert_error(book(client, api.account(), variant_id), 422, "validation_error")

    @pytest.mark.parametrize("body", [{}, [], "x", None])
    def test_a_body_without_a_variant_id_is_refused(self, client, api, body):
        customer = api.account()
        response = client.post(ORDERS, headers=customer.headers, json=body)
        assert_error(response, 422)

    def test_a_body_that_is_not_json_is_a_client_error(self, client, api):
        customer = api.account()
        response = client.post(
            ORDERS, headers=customer.headers, data="{not json", content_type="application/json"
        )
        assert response.status_code in (400, 422)
        assert response.json["code"] == response.status_code

    def test_vendors_and_admins_do_not_book(self, client, api, shop, admin):
        assert_error(book(client, shop.vendor, shop.variant_id), 403, "forbidden")
        assert_error(book(client, admin, shop.variant_id), 403, "forbidden")
        assert slots(client, shop) == (0, 2)

    def test_booking_needs_a_token(self, client, shop):
        response = client.post(ORDERS, json={"variant_id": shop.variant_id})
        assert_error(response, 401)

    def test_an_unknown_or_withdrawn_variant_is_not_found(self, client, api, open_shop):
        customer = api.account()
        assert_error(book(client, customer, 987654321), 404, "not_found")
        withdrawn = open_shop()
        client.delete(f"/api/v1/variants/{withdrawn.variant_id}", headers=withdrawn.vendor.headers)
        assert_error(book(client, customer, withdrawn.variant_id), 404, "not_found")
        closed = open_shop()
        client.delete(f"/api/v1/services/{closed.service['id']}", headers=closed.vendor.headers)
        assert_error(book(client, customer, closed.variant_id), 404, "not_found")

    def test_no_free_slot_is_out_of_stock(self, client, api, open_shop):
        shop = open_shop(stock=1)
        booked(client, api.account(), shop)
        assert_error(book(client, api.account(), shop.variant_id), 409, "out_of_stock")
        assert slots(client, shop) == (1, 0)

    def test_a_customer_holds_at_most_five_unpaid_orders(self, client, api, open_shop):
        shop = open_shop(stock=10)
        customer = api.account()
        orders = [booked(client, customer, shop) for _ in range(5)]

        assert_error(book(client, customer, shop.variant_id), 429, "too_many_unpaid_orders")
        assert slots(client, shop) == (5, 5)
        booked(client, api.account(), shop)  # the limit is per customer

        assert act(client, customer, orders[0]["id"], "cancel").status_code == 200
        booked(client, customer, shop)

    def test_a_busy_variant_answers_503_with_retry_after_and_books_nothing(
        self, client, api, container, shop
    ):
        lock = FakeLock()
        lock.times_out = True
        container.lock.override(providers.Object(lock))

        response = book(client, api.account(), shop.variant_id)

        assert_error(response, 503, "lock_timeout")
        assert int(response.headers["Retry-After"]) >= 1
        container.lock.reset_override()
        assert slots(client, shop) == (0, 2)


# Reading ------------------------------------------------------------------------------------


class TestReading:
    def test_an_order_is_seen_by_its_customer_its_shop_and_admins_only(
        self, client, api, open_shop, admin
    ):
        shop, other_shop = open_shop(), open_shop()
        customer, stranger = api.account(), api.account()
        order = booked(client, customer, shop)
        url = f"{ORDERS}/{order['id']}"

        for who in (customer, shop.vendor, admin):
            response = client.get(url, headers=who.headers)
            assert response.status_code == 200
            assert response.json == order
        for who in (stranger, other_shop.vendor):
            assert_error(client.get(url, headers=who.headers), 404, "not_found")
            assert_error(client.get(f"{url}/events", headers=who.headers), 404, "not_found")
        assert_error(client.get(url), 401)

    @pytest.mark.parametrize(
        "order_id", ["abc", "123", "00000000-0000-0000-0000-00000000000g", "%00"]
    )
    def test_a_malformed_order_id_is_not_found(self, client, api, order_id):
        customer = api.account()
        for suffix in ("", "/events", "/cancel"):
            method = client.post if suffix == "/cancel" else client.get
            response = method(f"{ORDERS}/{order_id}{suffix}", headers=customer.headers)
            assert_error(response, 404)

    def test_an_unknown_order_is_not_found(self, client, api, admin):
        url = f"{ORDERS}/{uuid.uuid4()}"
        assert_error(client.get(url, headers=admin.headers), 404, "not_found")
        assert_error(client.get(f"{url}/events", headers=admin.headers), 404, "not_found")
        for action in ("cancel", "start", "complete", "fail"):
            assert_error(client.post(f"{url}/{action}", headers=admin.headers), 404)

    def test_listing_is_scoped_by_role_and_filtered_by_status(self, client, api, open_shop, admin):
        shop, other_shop = open_shop(stock=5), open_shop(stock=5)
        alice, bob = api.account(), api.account()
        a1 = booked(client, alice, shop)
        a2 = booked(client, alice, other_shop)
        b1 = booked(client, bob, shop)
        act(client, alice, a2["id"], "cancel")

        def ids(who: Account, query: str = "") -> list[str]:
            response = client.get(f"{ORDERS}{query}", headers=who.headers)
            assert response.status_code == 200, response.json
            assert all(set(o) == ORDER_FIELDS for o in response.json)
            return [o["id"] for o in response.json]

        assert set(ids(alice)) == {a1["id"], a2["id"]}
        assert ids(alice, "?status=cancelled") == [a2["id"]]
        assert ids(alice, "?status=pending") == [a1["id"]]
        assert set(ids(shop.vendor)) == {a1["id"], b1["id"]}
        assert ids(other_shop.vendor) == [a2["id"]]
        assert set(ids(admin)) >= {a1["id"], a2["id"], b1["id"]}
        assert ids(admin, "?status=completed") == []
        assert ids(api.account("vendor")) == []  # a vendor without a shop
        assert_error(client.get(ORDERS), 401)

    @pytest.mark.parametrize("status", ["bogus", "PENDING", "", "paid,pending"])
    def test_an_unknown_status_filter_is_refused(self, client, api, status):
        customer = api.account()
        response = client.get(f"{ORDERS}?status={status}", headers=customer.headers)
        body = assert_error(response, 422, "validation_error")
        assert "status" in body["errors"]["query"]

    def test_listing_is_paginated_newest_first(self, client, api, open_shop):
        shop = open_shop(stock=10)
        customer = api.account()
        made = [booked(client, customer, shop)["id"] for _ in range(3)]

        first = client.get(f"{ORDERS}?page=1&page_size=2", headers=customer.headers)
        second = client.get(f"{ORDERS}?page=2&page_size=2", headers=customer.headers)

        assert first.status_code == second.status_code == 200
        assert len(first.json) == 2 and len(second.json) == 1
        assert {o["id"] for o in first.json + second.json} == set(made)
        stamps = [o["created_at"] for o in first.json + second.json]
        assert stamps == sorted(stamps, reverse=True)
        pagination = first.json_module.loads(first.headers["X-Pagination"])
        assert pagination["total"] == 3
        assert pagination["total_pages"] == 2
        capped = client.get(f"{ORDERS}?page_size=1000", headers=customer.headers)
        assert capped.status_code == 200
        assert_error(client.get(f"{ORDERS}?page=0", headers=customer.headers), 422)

    def test_the_contract_is_in_the_openapi_document(self, client):
        spec = client.get("/openapi.json").json
        paths = spec["paths"]
        for path in (
            "/api/v1/orders",
            "/api/v1/orders/{order_id}",
            "/api/v1/orders/{order_id}/events",
            "/api/v1/orders/{order_id}/cancel",
            "/api/v1/orders/{order_id}/start",
            "/api/v1/orders/{order_id}/complete",
            "/api/v1/orders/{order_id}/fail",
        ):
            assert path in paths, path
        booking = paths["/api/v1/orders"]["post"]
        assert "Idempotency-Key" in {p["name"] for p in booking.get("parameters", [])}
        assert {"201", "403", "404", "409", "422", "429", "503"} <= set(booking["responses"])
        order_schema = spec["components"]["schemas"]["OrderOut"]
        assert set(order_schema["properties"]) == ORDER_FIELDS


# The lifecycle -------------------------------------------------------------------------------


def order_in(client, container, customer: Account, shop: Shop, status: str) -> str:
    """An order of `customer` at `shop`, brought to `status` the way it happens for real."""
    order_id = booked(client, customer, shop)["id"]
    steps = {
        "pending": [],
        "paid": ["paid"],
        "processing": ["paid", "start"],
        "completed": ["paid", "start", "complete"],
        "failed": ["paid", "start", "fail"],
        "cancelled": ["cancel"],
    }[status]
    for step in steps:
        if step == "paid":
            mark_paid(container, order_id)
        else:
            response = act(client, shop.vendor, order_id, step)
            assert response.status_code == 200, response.json
    assert status_of(client, customer, order_id) == status
    return order_id


# What the owning vendor may do from each status; anything else is an invalid transition.
VENDOR_MOVES = {
    ("pending", "cancel"): "cancelled",
    ("paid", "cancel"): "cancelled",
    ("paid", "start"): "processing",
    ("processing", "complete"): "completed",
    ("processing", "fail"): "failed",
}
ACTIVE = {"pending", "paid", "processing"}


class TestLifecycle:
    @pytest.mark.parametrize(
        "status", ["pending", "paid", "processing", "completed", "cancelled", "failed"]
    )
    @pytest.mark.parametrize("action", ["cancel", "start", "complete", "fail"])
    def test_every_move_is_either_allowed_or_an_invalid_transition(
        self, client, api, container, open_shop, status, action
    ):
        shop = open_shop(stock=1)
        customer = api.account()
        order_id = order_in(client, container, customer, shop, status)
        held = 1 if status in ACTIVE else 0
        assert slots(client, shop) == (held, 1 - held)

        response = act(client, shop.vendor, order_id, action)

        target = VENDOR_MOVES.get((status, action))
        if target is None:
            assert_error(response, 409, "invalid_transition")
            assert status_of(client, customer, order_id) == status
            assert slots(client, shop) == (held, 1 - held)
        else:
            assert response.status_code == 200, response.json
            assert set(response.json) == ORDER_FIELDS
            assert response.json["status"] == target
            assert status_of(client, customer, order_id) == target
            now_held = 1 if target in ACTIVE else 0
            assert slots(client, shop) == (now_held, 1 - now_held)

    def test_the_customer_cancels_a_pending_order_and_the_slot_comes_back_once(
        self, client, api, open_shop
    ):
        shop = open_shop(stock=2)
        customer = api.account()
        order = booked(client, customer, shop)
        booked(client, api.account(), shop)  # keeps one slot held throughout
        assert slots(client, shop) == (2, 0)

        response = act(client, customer, order["id"], "cancel")
        assert response.status_code == 200
        assert response.json["status"] == "cancelled"
        assert at(response.json["updated_at"]) >= at(order["updated_at"])
        assert slots(client, shop) == (1, 1)

        for _ in range(3):
            assert_error(act(client, customer, order["id"], "cancel"), 409, "invalid_transition")
        assert slots(client, shop) == (1, 1)

    def test_the_customer_may_not_cancel_a_paid_order_but_the_shop_and_admins_may(
        self, client, api, container, open_shop, admin
    ):
        shop = open_shop(stock=3)
        customer = api.account()
        by_shop = order_in(client, container, customer, shop, "paid")
        by_admin = order_in(client, container, customer, shop, "paid")

        assert_error(act(client, customer, by_shop, "cancel"), 409, "invalid_transition")
        assert act(client, shop.vendor, by_shop, "cancel").json["status"] == "cancelled"
        assert act(client, admin, by_admin, "cancel").json["status"] == "cancelled"
        assert slots(client, shop) == (0, 3)
        [*_, last] = client.get(f"{ORDERS}/{by_admin}/events", headers=admin.headers).json
        assert (last["source"], last["actor_id"]) == ("admin", admin.id)

    def test_admins_cancel_pending_orders_and_fail_jobs_but_do_not_run_them(
        self, client, api, container, open_shop, admin
    ):
        shop = open_shop(stock=3)
        customer = api.account()
        pending = order_in(client, container, customer, shop, "pending")
        assert act(client, admin, pending, "cancel").json["status"] == "cancelled"

        paid = order_in(client, container, customer, shop, "paid")
        assert_error(act(client, admin, paid, "start"), 403, "forbidden")
        processing = order_in(client, container, customer, shop, "processing")
        assert_error(act(client, admin, processing, "complete"), 403, "forbidden")
        assert act(client, admin, processing, "fail").json["status"] == "failed"
        assert slots(client, shop) == (1, 2)

    def test_customers_do_not_run_jobs(self, client, api, container, open_shop):
        shop = open_shop(stock=3)
        customer = api.account()
        paid = order_in(client, container, customer, shop, "paid")
        processing = order_in(client, container, customer, shop, "processing")
        assert_error(act(client, customer, paid, "start"), 403, "forbidden")
        assert_error(act(client, customer, processing, "complete"), 403, "forbidden")
        assert_error(act(client, customer, processing, "fail"), 403, "forbidden")
        assert status_of(client, customer, paid) == "paid"
        assert status_of(client, customer, processing) == "processing"

    def test_nobody_else_may_touch_an_order(self, client, api, container, open_shop):
        shop, other_shop = open_shop(stock=2), open_shop()
        customer, stranger = api.account(), api.account()
        pending = order_in(client, container, customer, shop, "pending")
        processing = order_in(client, container, customer, shop, "processing")

        assert_error(act(client, stranger, pending, "cancel"), 404, "not_found")
        for action in ("cancel", "start", "complete", "fail"):
            order_id = pending if action == "cancel" else processing
            assert_error(act(client, other_shop.vendor, order_id, action), 404, "not_found")
        assert status_of(client, customer, pending) == "pending"
        assert status_of(client, customer, processing) == "processing"
        for action in ("cancel", "start", "complete", "fail"):
            assert_error(client.post(f"{ORDERS}/{pending}/{action}"), 401)

    def test_the_body_of_a_step_is_optional_and_its_reason_is_kept(
        self, client, api, container, open_shop
    ):
        shop = open_shop(stock=5)
        customer = api.account()
        no_body = order_in(client, container, customer, shop, "pending")
        empty_json = order_in(client, container, customer, shop, "pending")
        empty_object = order_in(client, container, customer, shop, "pending")
        with_reason = order_in(client, container, customer, shop, "pending")

        assert act(client, customer, no_body, "cancel").status_code == 200
        assert (
            act(
                client, customer, empty_json, "cancel", data="", content_type="application/json"
            ).status_code
            == 200
        )
        assert act(client, customer, empty_object, "cancel", json={}).status_code == 200
        response = act(client, customer, with_reason, "cancel", json={"reason": "  sold my car "})
        assert response.status_code == 200

        events = client.get(f"{ORDERS}/{with_reason}/events", headers=customer.headers).json
        assert events[-1]["reason"] == "sold my car"
        events = client.get(f"{ORDERS}/{no_body}/events", headers=customer.headers).json
        assert events[-1]["reason"] == ""

    @pytest.mark.parametrize(
        "body", [{"reason": 5}, {"reason": "x" * 501}, {"status": "cancelled"}, {"why": "x"}, []]
    )
    def test_a_bad_step_body_is_refused_and_changes_nothing(
        self, client, api, container, shop, body
    ):
        customer = api.account()
        order_id = order_in(client, container, customer, shop, "pending")
        assert_error(act(client, customer, order_id, "cancel", json=body), 422)
        assert status_of(client, customer, order_id) == "pending"
        assert slots(client, shop) == (1, 1)

    def test_the_history_lists_every_change_oldest_first(
        self, client, api, container, open_shop, admin
    ):
        shop = open_shop(stock=2)
        customer = api.account()
        order = booked(client, customer, shop)
        order_id = order["id"]
        mark_paid(container, order_id)
        act(client, shop.vendor, order_id, "start", json={"reason": "car on the lift"})
        act(client, shop.vendor, order_id, "complete")

        for who in (customer, shop.vendor, admin):
            response = client.get(f"{ORDERS}/{order_id}/events", headers=who.headers)
            assert response.status_code == 200
            events = response.json
            assert all(set(e) == EVENT_FIELDS for e in events)
            assert [
                (e["from_status"], e["to_status"], e["source"], e["actor_id"], e["reason"])
                for e in events
            ] == [
                (None, "pending", "api", customer.id, ""),
                ("pending", "paid", "webhook", None, "payment validated"),
                ("paid", "processing", "api", shop.vendor.id, "car on the lift"),
                ("processing", "completed", "api", shop.vendor.id, ""),
            ]
            stamps = [at(e["at"]) for e in events]
            assert stamps == sorted(stamps)
            assert stamps[0] == at(order["created_at"])
        assert slots(client, shop) == (0, 2)


# Idempotency-Key ------------------------------------------------------------------------------


def order_count(client, customer: Account) -> int:
    response = client.get(ORDERS, headers=customer.headers)
    return int(response.json_module.loads(response.headers["X-Pagination"])["total"])


class TestIdempotencyKey:
    def test_a_replay_gets_the_first_response_and_books_once(self, client, api, shop):
        customer = api.account()
        first = book(client, customer, shop.variant_id, key="book-1")
        again = book(client, customer, shop.variant_id, key="book-1")

        assert first.status_code == again.status_code == 201
        assert again.get_data() == first.get_data()
        assert again.content_type == first.content_type == "application/json"
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert order_count(client, customer) == 1
        assert slots(client, shop) == (1, 1)

    def test_the_body_is_compared_as_json_not_as_text(self, client, api, shop):
        customer = api.account()
        headers = {**customer.headers, "Idempotency-Key": "spaced"}
        first = client.post(
            ORDERS,
            headers=headers,
            data=f'{{"variant_id": {shop.variant_id}}}',
            content_type="application/json",
        )
        again = client.post(
            ORDERS,
            headers=headers,
            data=f'{{ "variant_id":{shop.variant_id} }}\n',
            content_type="application/json",
        )
        assert first.status_code == again.status_code == 201
        assert again.json == first.json
        assert order_count(client, customer) == 1

    def test_the_same_key_with_another_request_is_refused(self, client, api, open_shop):
        shop, other = open_shop(), open_shop()
        customer = api.account()
        first = book(client, customer, shop.variant_id, key="k")
        assert first.status_code == 201

        assert_error(
            book(client, customer, other.variant_id, key="k"), 422, "idempotency_key_reused"
        )
        cancel = client.post(
            f"{ORDERS}/{first.json['id']}/cancel",
            headers={**customer.headers, "Idempotency-Key": "k"},
        )
        assert_error(cancel, 422, "idempotency_key_reused")
        assert order_count(client, customer) == 1
        assert slots(client, other) == (0, 2)
        assert status_of(client, customer, first.json["id"]) == "pending"

    def test_a_lost_race_is_not_kept_for_the_key_so_its_retry_runs(
        self, client, api, shop, container
    ):
        # 409 concurrent_update says "try again": the retry with the same key must do the
        # work, not replay the refusal for 24 hours.
        customer = api.account()
        order_id = book(client, customer, shop.variant_id).json["id"]
        headers = {**customer.headers, "Idempotency-Key": "retry-me"}

        def loses_once(*args: Any, **kwargs: Any) -> Any:
            container.cancel_order.reset_last_overriding()
            raise ConcurrentUpdate()

        container.cancel_order.override(providers.Object(loses_once))
        lost = client.post(f"{ORDERS}/{order_id}/cancel", headers=headers)
        assert_error(lost, 409, "concurrent_update")
        retried = client.post(f"{ORDERS}/{order_id}/cancel", headers=headers)
        assert retried.status_code == 200, retried.json
        assert retried.json["status"] == "cancelled"
        assert "Idempotent-Replayed" not in retried.headers

    def test_keys_belong_to_one_user(self, client, api, shop):
        alice, bob = api.account(), api.account()
        mine = book(client, alice, shop.variant_id, key="shared")
        theirs = book(client, bob, shop.variant_id, key="shared")
        assert mine.status_code == theirs.status_code == 201
        assert mine.json["id"] != theirs.json["id"]
        assert slots(client, shop) == (2, 0)

    @pytest.mark.parametrize("key", ["", "   ", "x" * 256, "tab\there", "caf\u00e9"])
    def test_a_malformed_key_is_refused_and_nothing_is_booked(self, client, api, shop, key):
        customer = api.account()
        body = assert_error(
            book(client, customer, shop.variant_id, key=key), 422, "validation_error"
        )
        assert "Idempotency-Key" in body["errors"]["headers"]
        assert slots(client, shop) == (0, 2)

    def test_the_longest_key_is_fine(self, client, api, shop):
        customer = api.account()
        key = "k" * 255
        assert book(client, customer, shop.variant_id, key=key).status_code == 201
        assert book(client, customer, shop.variant_id, key=key).status_code == 201
        assert slots(client, shop) == (1, 1)

    def test_a_final_refusal_is_replayed_too(self, client, api, open_shop):
        shop = open_shop(stock=1)
        booked(client, api.account(), shop)
        customer = api.account()
        refused = book(client, customer, shop.variant_id, key="late")
        assert_error(refused, 409, "out_of_stock")
        client.patch(
            f"/api/v1/variants/{shop.variant_id}", headers=shop.vendor.headers, json={"stock": 2}
        )

        again = book(client, customer, shop.variant_id, key="late")
        assert again.status_code == 409
        assert again.get_data() == refused.get_data()
        assert book(client, customer, shop.variant_id, key="later").status_code == 201

    def test_a_busy_answer_is_not_kept_so_a_retry_does_the_work(self, client, api, container, shop):
        customer = api.account()
        lock = FakeLock()
        lock.times_out = True
        container.lock.override(providers.Object(lock))
        assert_error(book(client, customer, shop.variant_id, key="retry-me"), 503, "lock_timeout")

        container.lock.reset_override()
        retried = book(client, customer, shop.variant_id, key="retry-me")
        assert retried.status_code == 201
        assert "Idempotent-Replayed" not in retried.headers
        assert slots(client, shop) == (1, 1)

    def test_too_many_unpaid_orders_is_not_kept_either(self, client, api, open_shop):
        shop = open_shop(stock=10)
        customer = api.account()
        orders = [booked(client, customer, shop) for _ in range(5)]
        assert_error(book(client, customer, shop.variant_id, key="sixth"), 429)
        act(client, customer, orders[0]["id"], "cancel")
        assert book(client, customer, shop.variant_id, key="sixth").status_code == 201

    def test_the_same_key_while_the_first_request_runs_is_in_progress(
        self, client, api, container, shop
    ):
        customer = api.account()
        body = f'{{"variant_id":{shop.variant_id}}}'.encode()
        # The first request has claimed the key and is still running.
        container.idempotency_store().claim(
            customer.id, "running", fingerprint("POST", ORDERS, body)
        )
        response = book(client, customer, shop.variant_id, key="running")
        assert_error(response, 409, "idempotency_key_in_progress")
        assert slots(client, shop) == (0, 2)

    def test_a_replayed_cancel_answers_like_the_first_and_releases_once(
        self, client, api, container, open_shop
    ):
        shop = open_shop(stock=2)
        customer = api.account()
        order_id = booked(client, customer, shop)["id"]
        booked(client, api.account(), shop)
        headers = {**customer.headers, "Idempotency-Key": "cancel-1"}

        first = client.post(f"{ORDERS}/{order_id}/cancel", headers=headers, json={"reason": "x"})
        again = client.post(f"{ORDERS}/{order_id}/cancel", headers=headers, json={"reason": "x"})

        assert first.status_code == again.status_code == 200
        assert again.get_data() == first.get_data()
        assert again.json["status"] == "cancelled"
        assert slots(client, shop) == (1, 1)
        events = client.get(f"{ORDERS}/{order_id}/events", headers=customer.headers).json
        assert [e["to_status"] for e in events] == ["pending", "cancelled"]
        # Without the key, a second cancel is what it is: an invalid transition.
        assert_error(act(client, customer, order_id, "cancel"), 409, "invalid_transition")

    def test_a_cancel_without_a_body_can_be_replayed(self, client, api, shop):
        customer = api.account()
        order_id = booked(client, customer, shop)["id"]
        headers = {**customer.headers, "Idempotency-Key": "bare"}
        first = client.post(f"{ORDERS}/{order_id}/cancel", headers=headers)
        again = client.post(f"{ORDERS}/{order_id}/cancel", headers=headers)
        assert first.status_code == again.status_code == 200
        assert again.get_data() == first.get_data()


# Expiry -----------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(settings, tmp_path):
    return {
        "DATABASE_URL": settings.database_url,
        "MARKETLINK_INSTANCE_DIR": str(tmp_path / "cli-instance"),
        "MARKETLINK_ENV": "development",
        "REDIS_URL": "",
        "SECRET_KEY": settings.secret_key,
        "JWT_SECRET_KEY": settings.jwt_secret_key,
    }


def run_cli(cli_env, *args: str):
    result = CliRunner().invoke(cli, list(args), env=cli_env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


class TestExpireOrders:
    def test_expire_orders_cancels_an_expired_order_and_releases_its_slot(
        self, client, api, container, open_shop, cli_env
    ):
        shop = open_shop(stock=2)
        customer = api.account()
        # Booked two hours ago: its 30-minute reservation ran out long since.
        container.clock.override(
            providers.Object(FakeClock(datetime.now().astimezone() - timedelta(hours=2)))
        )
        expired = booked(client, customer, shop)
        container.clock.reset_override()
        fresh = booked(client, customer, shop)
        assert slots(client, shop) == (2, 0)

        output = run_cli(cli_env, "expire-orders")

        assert "cancelled 1 expired order" in output
        assert status_of(client, customer, expired["id"]) == "cancelled"
        assert status_of(client, customer, fresh["id"]) == "pending"
        assert slots(client, shop) == (1, 1)
        [*_, last] = client.get(f"{ORDERS}/{expired['id']}/events", headers=customer.headers).json
        assert (last["from_status"], last["to_status"]) == ("pending", "cancelled")
        assert (last["source"], last["actor_id"]) == ("expiry", None)
        assert last["reason"]
        assert_error(act(client, customer, expired["id"], "cancel"), 409, "invalid_transition")

        assert "cancelled 0 expired orders" in run_cli(cli_env, "expire-orders")
        assert slots(client, shop) == (1, 1)

    def test_expire_orders_every_sweeps_until_interrupted(
        self, client, api, container, shop, cli_env, monkeypatch
    ):
        customer = api.account()
        container.clock.override(
            providers.Object(FakeClock(datetime.now().astimezone() - timedelta(hours=2)))
        )
        order = booked(client, customer, shop)
        container.clock.reset_override()
        pauses: list[float] = []

        def sleep(seconds: float) -> None:
            pauses.append(seconds)
            if len(pauses) == 2:
                raise KeyboardInterrupt

        monkeypatch.setattr(cli_module, "sleep", sleep)

        output = run_cli(cli_env, "expire-orders", "--every", "5")

        assert output.splitlines() == [
            "cancelled 1 expired order",
            "cancelled 0 expired orders",
            "stopped",
        ]
        assert pauses == [5.0, 5.0]
        assert status_of(client, customer, order["id"]) == "cancelled"
        assert slots(client, shop) == (0, 2)

    def test_expire_orders_refuses_a_silly_interval(self, cli_env):
        result = CliRunner().invoke(cli, ["expire-orders", "--every", "0"], env=cli_env)
        assert result.exit_code == 2
        assert "--every" in result.output


# The pay link in an order ------------------------------------------------------------------------


class TestPaymentUrl:
    """`payment_url` is the order's pay link while it is pending, and null after that."""

    def test_a_pending_order_carries_its_pay_link_everywhere(self, client, api, shop, container):
        customer = api.account()
        order = booked(client, customer, shop)
        one = client.get(f"{ORDERS}/{order['id']}", headers=customer.headers).json
        [listed] = client.get(ORDERS, headers=customer.headers).json
        # Each link is signed when it is written (the token carries that second), so links
        # read a second apart differ in their token only: each is this order's, and valid.
        for url in (order["payment_url"], one["payment_url"], listed["payment_url"]):
            link, token = url.split("?token=")
            assert link == f"http://127.0.0.1:8000/pay/{order['id']}"
            assert container.pay_links().is_valid(uuid.UUID(order["id"]), token)

    @pytest.mark.parametrize("status", ["paid", "processing", "completed", "cancelled", "failed"])
    def test_an_order_no_longer_pending_has_none(self, client, api, container, shop, status):
        customer = api.account()
        order_id = order_in(client, container, customer, shop, status)
        for who in (customer, shop.vendor):
            one = client.get(f"{ORDERS}/{order_id}", headers=who.headers).json
            [listed] = client.get(ORDERS, headers=who.headers).json
            assert one["payment_url"] is None, who.role
            assert listed["payment_url"] is None, who.role
            assert set(one) == ORDER_FIELDS

    @pytest.mark.parametrize(
        ("status", "action"),
        [
            ("pending", "cancel"),
            ("paid", "cancel"),
            ("paid", "start"),
            ("processing", "complete"),
            ("processing", "fail"),
        ],
    )
    def test_a_lifecycle_step_answers_the_order_without_it(
        self, client, api, container, shop, status, action
    ):
        customer = api.account()
        order_id = order_in(client, container, customer, shop, status)
        moved = act(client, shop.vendor, order_id, action)
        assert moved.status_code == 200, moved.json
        assert moved.json["payment_url"] is None

    def test_a_replayed_booking_is_the_first_answer_byte_for_byte(self, client, api, shop):
        # The contract: the same key returns the first response. Its pay link is the one
        # handed out then, and once the order is cancelled that link says so (409 page).
        customer = api.account()
        first = book(client, customer, shop.variant_id, key="book-then-cancel")
        assert act(client, customer, first.json["id"], "cancel").status_code == 200
        again = book(client, customer, shop.variant_id, key="book-then-cancel")
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.get_data() == first.get_data()

    def test_a_replayed_cancel_has_no_pay_link(self, client, api, shop):
        customer = api.account()
        order = booked(client, customer, shop)
        headers = {**customer.headers, "Idempotency-Key": "cancel-twice"}
        first = client.post(f"{ORDERS}/{order['id']}/cancel", headers=headers)
        again = client.post(f"{ORDERS}/{order['id']}/cancel", headers=headers)
        assert first.json["payment_url"] is None
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json == first.json

    def test_the_openapi_document_says_it_may_be_null(self, client):
        order = client.get("/openapi.json").json["components"]["schemas"]["OrderOut"]
        assert order["properties"]["payment_url"]["nullable"] is True


# Order ids that are not UUIDs --------------------------------------------------------------------

ORDER_ROUTES = [
    ("GET", ""),
    ("GET", "/events"),
    ("GET", "/payments"),
    ("POST", "/payment"),
    ("POST", "/cancel"),
    ("POST", "/start"),
    ("POST", "/complete"),
    ("POST", "/fail"),
]
NOT_UUIDS = ["123", "not-a-uuid", "0" * 32, f"{uuid.uuid4()}x", "%20"]


class TestOrderIdsThatAreNotUuids:
    """An id that cannot be an order's is answered like an order that does not exist."""

    @pytest.mark.parametrize(("method", "suffix"), ORDER_ROUTES)
    @pytest.mark.parametrize("role", ["customer", "vendor"])
    def test_it_is_not_found_like_an_unknown_order(self, client, api, method, suffix, role):
        who = api.account(role)
        unknown = client.open(
            f"{ORDERS}/{uuid.uuid4()}{suffix}", method=method, headers=who.headers
        )
        body = assert_error(unknown, 404, "not_found")
        for order_id in NOT_UUIDS:
            response = client.open(
                f"{ORDERS}/{order_id}{suffix}", method=method, headers=who.headers
            )
            assert response.status_code == 404, order_id
            assert response.json == body, order_id

    @pytest.mark.parametrize(("method", "suffix"), ORDER_ROUTES)
    def test_without_a_token_it_is_unauthorized_like_an_unknown_order(self, client, method, suffix):
        unknown = client.open(f"{ORDERS}/{uuid.uuid4()}{suffix}", method=method)
        body = assert_error(unknown, 401)
        response = client.open(f"{ORDERS}/123{suffix}", method=method)
        assert response.status_code == 401
        assert response.json == body

    def test_the_openapi_document_still_says_uuid(self, client):
        paths = client.get("/openapi.json").json["paths"]
        for _method, suffix in ORDER_ROUTES:
            [parameter] = paths[f"/api/v1/orders/{{order_id}}{suffix}"]["parameters"]
            assert parameter["schema"] == {"type": "string", "format": "uuid"}, suffix
