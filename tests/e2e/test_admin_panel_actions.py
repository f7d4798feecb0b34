"""The panel's actions through the real app: each is the use case the API uses, with the
admin as the actor, and leaves its trace (order history with source admin, audit rows)."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from dependency_injector import providers

from marketlink.application.ports import PageRequest
from marketlink.application.use_cases.order_transitions import apply_transition
from marketlink.domain.money import Money
from marketlink.domain.orders import EventSource, OrderStatus
from marketlink.domain.payments import Payment, ValidatedFacts, Verdict, judge_success
from marketlink.domain.users import Role
from tests.e2e.admin_panel_support import csrf_token, make_user, sign_in
from tests.e2e.conftest import ApiDriver, assert_error
from tests.fakes import FakePaymentGateway

pytestmark = pytest.mark.e2e


@pytest.fixture
def admin(client, container):
    admin = make_user(container)
    sign_in(client, admin.email)
    return admin


def _act(client, view: str, action: str, *ids: object) -> str:
    token = csrf_token(client, f"/admin/{view}/")
    response = client.post(
        f"/admin/{view}/action/",
        data={"action": action, "rowid": [str(i) for i in ids], "csrf_token": token},
        follow_redirects=True,
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _audit(container, admin):
    from marketlink.application.actors import Actor

    page = container.list_audit_entries()(Actor(admin.id, Role.ADMIN), PageRequest(1, 100))
    return list(page.items)


def _shop_with_an_order(api: ApiDriver):
    vendor = api.vendor("Panel Garage")
    service = api.service(vendor)
    variant = api.variant(vendor, service["id"], stock=1)
    customer = api.account()
    order = api.client.post(
        "/api/v1/orders", headers=customer.headers, json={"variant_id": variant["id"]}
    )
    assert order.status_code == 201, order.json
    return vendor, service, variant, customer, order.json


def test_cancelling_an_order_in_the_panel_releases_its_slot_once_with_history_and_audit(
    client, api: ApiDriver, container, admin
):
    _vendor, _service, variant, customer, order = _shop_with_an_order(api)
    assert client.get(f"/api/v1/variants/{variant['id']}").json["available"] == 0

    first = _act(client, "orders", "cancel", order["id"])
    again = _act(client, "orders", "cancel", order["id"])

    assert "Cancel: 1 of 1 order(s) done." in first
    assert "Cancel: 1 of 1 refused." in again
    assert client.get(f"/api/v1/variants/{variant['id']}").json["available"] == 1
    events = client.get(f"/api/v1/orders/{order['id']}/events", headers=customer.headers).json
    assert events[-1]["to_status"] == "cancelled"
    assert events[-1]["source"] == "admin" and events[-1]["actor_id"] == admin.id
    entries = [e for e in _audit(container, admin) if e.object_id == order["id"]]
    assert [(e.action, e.outcome.split(":")[0]) for e in entries] == [
        ("order.cancel", "refused"),
        ("order.cancel", "done"),
    ]
    detail = client.get(f"/admin/orders/details/?id={order['id']}").get_data(as_text=True)
    assert "cancelled" in detail and "admin" in detail
    payments = client.get(f"/admin/payments/?flt0_order_id_equals={order['id']}")
    assert payments.status_code == 200
    assert f"flt0_order_id_equals={order['id']}" in detail


def test_failing_an_order_needs_it_in_progress(client, api: ApiDriver, container, admin):
    _vendor, _service, _variant, _customer, order = _shop_with_an_order(api)

    text = _act(client, "orders", "fail", order["id"])

    assert "Fail: 1 of 1 refused." in text
    [entry] = [e for e in _audit(container, admin) if e.object_id == order["id"]]
    assert entry.action == "order.fail" and not entry.succeeded


def test_a_user_deactivated_in_the_panel_loses_tokens_and_login_until_reactivated(
    client, api: ApiDriver, container, admin
):
    customer = api.account()

    assert "Deactivate: 1 of 1 user(s) done." in _act(client, "users", "deactivate", customer.id)

    assert_error(client.get("/api/v1/users/me", headers=customer.headers), 401)
    login = {"email": customer.email, "password": "correct-horse-battery"}
    assert_error(client.post("/api/v1/auth/login", json=login), 401)
    assert "Reactivate: 1 of 1 user(s) done." in _act(client, "users", "reactivate", customer.id)
    assert client.post("/api/v1/auth/login", json=login).status_code == 200
    actions = [e.action for e in _audit(container, admin) if e.object_id == str(customer.id)]
    assert sorted(actions) == ["user.deactivate", "user.reactivate"]


def test_a_vendor_deactivated_in_the_panel_leaves_the_catalog(
    client, api: ApiDriver, container, admin
):
    vendor = api.vendor("Gone Garage")
    service = api.service(vendor, "Gone service")
    api.variant(vendor, service["id"])
    shop = client.get("/api/v1/vendors/me", headers=vendor.headers).json

    assert "Deactivate: 1 of 1 vendor(s) done." in _act(client, "vendors", "deactivate", shop["id"])

    names = {s["name"] for s in client.get("/api/v1/services").json}
    assert "Gone service" not in names
    _act(client, "vendors", "reactivate", shop["id"])
    assert "Gone service" in {s["name"] for s in client.get("/api/v1/services").json}


def test_accepting_or_refunding_an_unknown_payment_is_refused_and_audited(client, container, admin):
    # Accepting and refunding flagged payments: see test_payment_flows.py (the same use
    # cases, there through the admin API); here, that the panel's actions reach them.
    accepted = _act(client, "payments", "accept", "no-such-tran")
    refunded = _act(client, "payments", "refund", "no-such-tran")

    assert "Accept: 1 of 1 refused." in accepted
    assert "Refund: 1 of 1 refused." in refunded
    outcomes = [e.outcome for e in _audit(container, admin) if e.object_id == "no-such-tran"]
    assert len(outcomes) == 2 and all(o.startswith("refused") for o in outcomes)


def test_lists_search_filter_sort_and_export_through_flask_admin(
    client, api: ApiDriver, container, admin
):
    someone = api.account()
    api.account("vendor")

    found = client.get(f"/admin/users/?search={someone.email}").get_data(as_text=True)
    vendors_only = client.get("/admin/users/?flt0_role_equals=vendor").get_data(as_text=True)
    bad = client.get("/admin/users/?flt0_role_equals=nobody", follow_redirects=True)
    export = client.get("/admin/users/export/csv/?flt0_role_equals=customer")
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))

    assert someone.email in found and admin.email not in found
    assert admin.email not in vendors_only and someone.email not in vendors_only
    assert bad.status_code == 200
    assert export.mimetype == "text/csv"
    assert [row["Email"] for row in rows] == [someone.email]
    assert client.get("/admin/users/?sort=1&desc=1").status_code == 200


def test_in_production_the_session_cookie_is_secure(settings, tmp_path):
    import dataclasses

    from dependency_injector import providers

    from marketlink.containers import Container
    from marketlink.entrypoints.http.app import create_app
    from tests.e2e.conftest import fast_hasher

    production = dataclasses.replace(
        settings,
        env="production",
        sslcommerz_store_id="store",
        sslcommerz_store_password="store-password",
        webhook_secret="webhook-secret",
        sslcommerz_base_url="https://gateway.invalid",
    )
    container = Container(settings=production)
    container.password_hasher.override(providers.Object(fast_hasher()))
    app = create_app(container=container)
    try:
        client = app.test_client()
        admin = make_user(container)
        signed_in = sign_in(client, admin.email)
        cookie = signed_in.headers["Set-Cookie"]
        assert "marketlink_admin=" in cookie
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        container.unwire()
        container.engine().dispose()


def test_with_manual_approval_a_new_shop_is_bookable_only_once_approved_in_the_panel(
    client, api: ApiDriver, container, admin
):
    import dataclasses

    container.settings.override(dataclasses.replace(container.settings(), vendor_approval="manual"))
    try:
        vendor = api.vendor("Waiting Garage")
        service = api.service(vendor, "Waiting service")
        api.variant(vendor, service["id"])
        shop = client.get("/api/v1/vendors/me", headers=vendor.headers).json
        assert "Waiting service" not in {s["name"] for s in client.get("/api/v1/services").json}
        waiting = client.get("/admin/").get_data(as_text=True)
        assert 'data-figure="vendors_awaiting_approval">1<' in waiting

        assert "Approve: 1 of 1 vendor(s) done." in _act(client, "vendors", "approve", shop["id"])

        assert "Waiting service" in {s["name"] for s in client.get("/api/v1/services").json}
        [entry] = [e for e in _audit(container, admin) if e.action == "vendor.approve"]
        assert entry.object_id == str(shop["id"]) and entry.succeeded
    finally:
        container.settings.reset_override()


def test_every_link_of_the_dashboard_opens_a_filtered_list(client, admin):
    import re

    dashboard = client.get("/admin/").get_data(as_text=True)
    links = set(re.findall(r'href="(/admin/[a-z_]+/\?flt0_[^"]+)"', dashboard))

    assert len(links) >= 6
    for link in links:
        page = client.get(link.replace("&amp;", "&"))
        text = page.get_data(as_text=True)
        assert page.status_code == 200, link
        assert "Invalid Filter Value" not in text and "alert-danger" not in text, link
        assert "active-filter" in text or "filter_form" in text or "flt0" in text, link


# The money actions, with a gateway that records what it is asked -------------------------


@pytest.fixture
def gateway(container) -> FakePaymentGateway:
    gateway = FakePaymentGateway()
    container.gateway.override(providers.Object(gateway))
    return gateway


def _validated_payment(container, order_id: str, *, risk_level: int) -> str:
    """A payment of the order that the gateway's validation API confirmed (risky: held)."""
    with container.uow()() as uow:
        order = uow.orders.get(uuid.UUID(order_id))
        now = container.clock().now()
        payment = Payment(
            f"ML{order.id.hex[:12].upper()}PANEL", order.id, order.total_amount, now, now
        )
        facts = ValidatedFacts(
            "VALID",
            payment.tran_id,
            order.total_amount.amount,
            order.total_amount.currency,
            risk_level,
            val_id="VAL-PANEL",
            bank_tran_id="BANK-PANEL",
        )
        judgement = judge_success(payment, True, facts)
        payment.record_validation(judgement, facts, now)
        uow.payments.add(payment)
        uow.payments.save(payment)
        if judgement.verdict is Verdict.CONFIRM:
            assert apply_transition(
                uow, order, OrderStatus.PAID, now=now, source=EventSource.WEBHOOK, actor_id=None
            )
        uow.commit()
    return payment.tran_id


def test_cancelling_a_paid_order_in_the_panel_refunds_what_was_paid(
    client, api: ApiDriver, container, admin, gateway
):
    _vendor, _service, variant, customer, order = _shop_with_an_order(api)
    tran_id = _validated_payment(container, order["id"], risk_level=0)
    assert (
        client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers).json["status"]
        == "paid"
    )

    assert "Cancel: 1 of 1 order(s) done." in _act(client, "orders", "cancel", order["id"])

    assert gateway.refunds == [("BANK-PANEL", Money.of("1500.00"), f"RF{tran_id}"[:30])]
    assert client.get(f"/api/v1/variants/{variant['id']}").json["available"] == 1
    [payment] = client.get(f"/api/v1/orders/{order['id']}/payments", headers=customer.headers).json
    assert (payment["flag"], payment["refund_status"]) == ("refund", "refund_pending")


def test_accepting_a_held_payment_in_the_panel_marks_its_order_paid(
    client, api: ApiDriver, container, admin, gateway
):
    _vendor, _service, _variant, customer, order = _shop_with_an_order(api)
    tran_id = _validated_payment(container, order["id"], risk_level=1)
    assert (
        client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers).json["status"]
        == "pending"
    )

    assert "1 of 1" in _act(client, "payments", "accept", tran_id)

    assert (
        client.get(f"/api/v1/orders/{order['id']}", headers=customer.headers).json["status"]
        == "paid"
    )
    events = client.get(f"/api/v1/orders/{order['id']}/events", headers=customer.headers).json
    assert (events[-1]["source"], events[-1]["actor_id"]) == ("admin", admin.id)
    assert [(e.action, e.outcome) for e in _audit(container, admin)] == [("payment.accept", "done")]
    assert gateway.refunds == []
