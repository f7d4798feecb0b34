"""The admin panel through the real app: who gets in, how long, and CSRF on every POST."""

from __future__ import annotations

import pytest

from marketlink.domain.users import Role
from marketlink.entrypoints.admin import auth
from tests.e2e.admin_panel_support import (
    PASSWORD,
    csrf_token,
    make_user,
    sign_in,
)

pytestmark = pytest.mark.e2e

PAGES = (
    "/admin/",
    "/admin/users/",
    "/admin/vendors/",
    "/admin/services/",
    "/admin/variants/",
    "/admin/orders/",
    "/admin/orders/details/?id=00000000-0000-0000-0000-000000000001",
    "/admin/payments/",
    "/admin/notices/",
    "/admin/users/export/csv/",
    "/admin/orders/export/csv/",
)
# Every action of the panel: (list, action).
ACTIONS = (
    ("users", "deactivate"),
    ("users", "reactivate"),
    ("vendors", "deactivate"),
    ("vendors", "reactivate"),
    ("orders", "cancel"),
    ("orders", "fail"),
    ("payments", "accept"),
    ("payments", "refund"),
)


def _is_sign_in_redirect(response) -> bool:
    return response.status_code == 302 and response.location.startswith("/admin/login")


def test_an_anonymous_visitor_is_sent_to_the_sign_in_page_from_every_page(client):
    for path in PAGES:
        assert _is_sign_in_redirect(client.get(path)), path
    page = client.get("/admin/login")
    assert page.status_code == 200
    assert 'name="password"' in page.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.VENDOR])
def test_a_customer_or_vendor_is_refused_with_a_clear_message(client, container, role):
    someone = make_user(container, role)

    refused = sign_in(client, someone.email)

    assert refused.status_code == 403
    text = refused.get_data(as_text=True)
    assert f"This panel is for administrators only: a {role.value} account" in text
    for path in PAGES:
        assert _is_sign_in_redirect(client.get(path)), path


def test_a_wrong_password_is_refused_and_counted(client, container):
    admin = make_user(container)

    refused = sign_in(client, admin.email, "not-the-password")

    assert refused.status_code == 401
    assert "Wrong e-mail or password" in refused.get_data(as_text=True)
    assert _is_sign_in_redirect(client.get("/admin/"))


def test_failed_sign_ins_are_limited_like_the_apis_login(client, container):
    admin = make_user(container)
    statuses = [sign_in(client, admin.email, "wrong-password").status_code for _ in range(11)]

    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    # The right password waits too, and the API's login counts the same failures.
    assert sign_in(client, admin.email).status_code == 429
    api = client.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert api.status_code == 429


def test_an_admin_signs_in_sees_every_page_and_signs_out(client, container):
    admin = make_user(container)

    signed_in = sign_in(client, admin.email)

    assert signed_in.status_code == 302
    assert signed_in.location == "/admin/"
    cookie = client.get_cookie("marketlink_admin")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert not cookie.secure  # Secure in production only (see the unit test of install)
    for path in (p for p in PAGES if "details" not in p):  # no such order: see below
        page = client.get(path)
        page.get_data()  # the CSV export streams
        page.close()
        assert page.status_code == 200, path
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "<svg" in dashboard and "Orders placed" in dashboard
    unknown = client.get(next(p for p in PAGES if "details" in p), follow_redirects=True)
    assert "Order not found." in unknown.get_data(as_text=True)

    token = csrf_token(client, "/admin/")
    out = client.post("/admin/logout", data={"csrf_token": token})

    assert _is_sign_in_redirect(out)
    assert _is_sign_in_redirect(client.get("/admin/"))


def test_a_signed_out_sessions_cookie_does_not_come_back(client, app, container):
    admin = make_user(container)
    sign_in(client, admin.email)
    copied = client.get_cookie("marketlink_admin").value

    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    replay = app.test_client()
    replay.set_cookie("marketlink_admin", copied)

    assert _is_sign_in_redirect(replay.get("/admin/"))


def test_the_next_page_after_sign_in_stays_in_the_panel(client, container):
    admin = make_user(container)
    token = csrf_token(client)
    for target, expected in (
        ("/admin/orders/", "/admin/orders/"),
        ("https://elsewhere.example/", "/admin/"),
        ("//elsewhere.example/admin/", "/admin/"),
    ):
        client.post("/admin/logout", data={"csrf_token": token})
        token = csrf_token(client)
        response = client.post(
            "/admin/login",
            data={"email": admin.email, "password": PASSWORD, "csrf_token": token, "next": target},
        )
        assert response.location == expected, target
        token = csrf_token(client, "/admin/")


def test_a_deactivated_admin_loses_access_at_the_next_request(client, container):
    admin, other = make_user(container), make_user(container)
    sign_in(client, admin.email)
    assert client.get("/admin/users/").status_code == 200
    assert other.id is not None and admin.id is not None

    container.set_user_active()(_actor(other.id), admin.id, False)

    assert _is_sign_in_redirect(client.get("/admin/users/"))


def test_a_session_ends_after_the_idle_timeout(client, container, monkeypatch):
    admin = make_user(container)
    sign_in(client, admin.email)
    start = auth._now()
    idle = container.settings().admin_idle_minutes * 60

    monkeypatch.setattr(auth, "_now", lambda: start + idle - 5)
    assert client.get("/admin/").status_code == 200  # activity: the clock starts again
    monkeypatch.setattr(auth, "_now", lambda: start + 2 * idle - 10)
    assert client.get("/admin/").status_code == 200
    monkeypatch.setattr(auth, "_now", lambda: start + 3 * idle)
    response = client.get("/admin/")

    assert _is_sign_in_redirect(response)
    assert "without activity" in client.get(response.location).get_data(as_text=True)


def _actor(user_id: int):
    from marketlink.application.actors import Actor

    return Actor(user_id, Role.ADMIN)


# CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("view", "name"), ACTIONS)
def test_an_action_without_a_valid_csrf_token_is_refused_and_changes_nothing(
    client, app, container, view, name
):
    admin, target = make_user(container), make_user(container, Role.CUSTOMER)
    assert target.id is not None
    sign_in(client, admin.email)
    other = app.test_client()
    sign_in(other, make_user(container).email)
    others_token = csrf_token(other, "/admin/")
    form = {"action": name, "rowid": str(target.id), "url": f"/admin/{view}/"}

    for token in (None, "", "forged", others_token):
        data = dict(form) if token is None else {**form, "csrf_token": token}
        response = client.post(f"/admin/{view}/action/", data=data)
        assert response.status_code == 400, (token, response.status_code)
        assert "nothing was changed" in response.get_data(as_text=True)

    with container.unit_of_work() as uow:
        assert uow.users.get(target.id).is_active


def test_an_anonymous_post_to_an_action_is_refused(client, container):
    target = make_user(container, Role.CUSTOMER)
    token = csrf_token(client)  # a token of an anonymous session: still not signed in
    for view, name in ACTIONS:
        response = client.post(
            f"/admin/{view}/action/",
            data={"action": name, "rowid": str(target.id), "csrf_token": token},
        )
        assert _is_sign_in_redirect(response), (view, name)
    with container.unit_of_work() as uow:
        assert uow.users.get(target.id).is_active


def test_sign_in_and_sign_out_need_the_csrf_token_too(client, container):
    admin = make_user(container)
    no_token = client.post("/admin/login", data={"email": admin.email, "password": PASSWORD})
    assert no_token.status_code == 400
    assert _is_sign_in_redirect(client.get("/admin/"))

    sign_in(client, admin.email)
    assert client.post("/admin/logout").status_code == 400
    assert client.get("/admin/").status_code == 200


def test_a_bulk_action_applies_one_by_one_and_says_why_others_were_refused(client, container):
    admin = make_user(container)
    customers = [make_user(container, Role.CUSTOMER) for _ in range(2)]
    sign_in(client, admin.email)
    token = csrf_token(client, "/admin/users/")
    ids = [str(c.id) for c in customers] + [str(admin.id), "999999"]

    response = client.post(
        "/admin/users/action/",
        data={"action": "deactivate", "rowid": ids, "csrf_token": token, "url": "/admin/users/"},
        follow_redirects=True,
    )

    text = response.get_data(as_text=True)
    assert "Deactivate: 2 of 4 user(s) done." in text
    assert "Deactivate: 2 of 4 refused." in text
    assert "An admin cannot switch off their own account." in text
    assert "User not found." in text
    with container.unit_of_work() as uow:
        assert not any(uow.users.get(c.id).is_active for c in customers)
        assert uow.users.get(admin.id).is_active
