"""Operations: health, readiness, the API description, and errors that never leak."""

import re
import uuid
from dataclasses import replace

import pytest
from dependency_injector import providers

from marketlink.application.use_cases.accounts import Register
from marketlink.config import ConfigError
from marketlink.containers import Container
from marketlink.entrypoints.http.app import create_app
from tests.e2e.conftest import assert_error

pytestmark = pytest.mark.e2e


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_checks_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok"}}


def _ready(settings):
    container = Container(settings=settings)
    app = create_app(container=container)
    try:
        return app.test_client().get("/readyz")
    finally:
        container.unwire()
        container.engine().dispose()


def test_readyz_names_the_database_when_it_is_down(settings, tmp_path):
    missing = tmp_path / "no-such-folder" / "db.sqlite"
    response = _ready(replace(settings, database_url=f"sqlite:///{missing}"))
    body = assert_error(response, 503, "not_ready")
    assert "database" in body["message"]
    assert body["checks"] == {"database": "down"}


def test_readyz_names_redis_when_it_is_down(settings):
    response = _ready(replace(settings, redis_url="redis://127.0.0.1:1/0"))
    body = assert_error(response, 503, "not_ready")
    assert body["checks"] == {"database": "ok", "redis": "down"}
    assert "redis" in body["message"]


def test_unknown_routes_and_methods_answer_json(client):
    body = assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    assert "<" not in body["message"]
    assert_error(client.get("/nothing-here"), 404)
    response = client.put("/api/v1/services")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_an_unexpected_error_is_a_json_500_without_details(app, client, api, container):
    user = api.account()

    def broken(actor):
        raise RuntimeError("secret internals: /etc/passwd")

    with container.get_profile.override(providers.Object(broken)):
        response = client.get("/api/v1/users/me", headers=user.headers)
    body = assert_error(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    assert "secret internals" not in text
    assert "Traceback" not in text
    assert set(body) == {"code", "status", "message", "error"}


def test_views_get_this_apps_container(app, container, api):
    """Wiring is process-global: the views must resolve providers of *this* container."""
    calls = []

    class Spy(Register):
        def __call__(self, cmd, *, allow_admin=False):
            calls.append(cmd.email)
            return super().__call__(cmd, allow_admin=allow_admin)

    with container.register.override(
        providers.Factory(Spy, container.uow, container.password_hasher, container.clock)
    ):
        api.register(email="spy@example.com")
    assert calls == ["spy@example.com"]
    assert isinstance(container.register(), Register)


def test_an_oversized_body_answers_json(client):
    body = '{"email": "' + "x" * (2 * 1024 * 1024) + '"}'
    response = client.post("/api/v1/auth/login", data=body, content_type="application/json")
    assert_error(response, 413)


def test_openapi_describes_the_api(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    for path in (
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/users/me",
        "/api/v1/vendors/me",
        "/api/v1/vendors",
        "/api/v1/vendors/{vendor_id}",
        "/api/v1/services",
        "/api/v1/services/{service_id}",
        "/api/v1/services/{service_id}/variants",
        "/api/v1/variants/{variant_id}",
        "/healthz",
        "/readyz",
    ):
        assert path in spec["paths"], path
    patch = spec["paths"]["/api/v1/variants/{variant_id}"]["patch"]
    assert {"401", "403", "404", "409", "422"} <= set(patch["responses"])
    assert patch["security"] == [{"bearerAuth": []}]
    assert "error" in spec["components"]["schemas"]["ErrorOut"]["properties"]


def test_swagger_ui_is_served_with_local_assets(client):
    page = client.get("/swagger/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) >= 3
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by this app"
        assert client.get(asset).status_code == 200, asset
    assert "/openapi.json" in html


def test_production_without_secrets_does_not_start(monkeypatch, tmp_path):
    monkeypatch.setenv("MARKETLINK_ENV", "production")
    monkeypatch.setenv("MARKETLINK_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY and JWT_SECRET_KEY must be set"):
        create_app()


# Bodies that are not JSON where JSON is expected -----------------------------------------------


def _json_body_routes(client) -> list[tuple[str, str]]:
    """Every operation of the OpenAPI document that takes a JSON body, its ids filled in."""
    routes = []
    for path, operations in client.get("/openapi.json").json["paths"].items():
        for method, operation in operations.items():
            content = (
                operation.get("requestBody", {}).get("content", {})
                if method != "parameters"
                else {}
            )
            if "application/json" in content:
                assert {"400", "415"} <= set(operation["responses"]), (method, path)
                filled = re.sub(r"\{order_id\}", str(uuid.uuid4()), path)
                routes.append((method.upper(), re.sub(r"\{\w+_id\}", "1", filled)))
    return routes


def test_every_json_body_route_is_found(client):
    routes = _json_body_routes(client)
    assert ("POST", "/api/v1/orders") in routes
    assert ("POST", "/api/v1/auth/register") in routes
    assert len(routes) >= 16


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "text/plain"}, {}, {"Content-Type": "application/x-www-form-urlencoded"}],
    ids=["text/plain", "no content type", "a form"],
)
def test_a_json_body_sent_as_something_else_is_415(client, api, headers):
    customer = api.account()
    for method, path in _json_body_routes(client):
        response = client.open(
            path,
            method=method,
            data='{"variant_id": 1}',
            headers={**customer.headers, **headers},
        )
        body = assert_error(response, 415, "unsupported_media_type")
        assert "Content-Type: application/json" in body["message"], path
        assert body["message"].endswith("."), path


def test_malformed_json_is_400_with_one_clear_message(client, api):
    customer = api.account()
    for method, path in _json_body_routes(client):
        response = client.open(
            path,
            method=method,
            data='{"variant_id": 1,',
            content_type="application/json",
            headers=customer.headers,
        )
        body = assert_error(response, 400, "bad_request")
        assert body["message"] == "Invalid JSON body.", path
        assert "browser" not in response.get_data(as_text=True), path
        assert body["errors"] == {
            "json": ["Expecting property name enclosed in double quotes: line 1, column 18."]
        }, path


def test_a_body_that_is_not_utf8_is_400(client, api):
    customer = api.account()
    response = client.post(
        "/api/v1/orders",
        data=b'{"variant_id": "\xb7"}',
        content_type="application/json",
        headers=customer.headers,
    )
    body = assert_error(response, 400, "bad_request")
    assert body["message"] == "Invalid JSON body."
    assert body["errors"] == {"json": ["The body is not UTF-8."]}


def test_json_with_a_charset_or_a_json_suffix_type_is_json(client, api):
    customer = api.account()
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = client.patch(
            "/api/v1/users/me",
            data='{"first_name": "Karim"}',
            content_type=content_type,
            headers=customer.headers,
        )
        assert response.status_code == 200, (content_type, response.json)


def test_an_optional_body_may_be_left_out_whatever_the_content_type(client, api):
    # The lifecycle steps take an optional body: nothing sent is not a body of another type.
    customer = api.account()
    order_id = uuid.uuid4()
    for headers in ({}, {"Content-Type": "application/x-www-form-urlencoded"}):
        response = client.post(
            f"/api/v1/orders/{order_id}/cancel", headers={**customer.headers, **headers}
        )
        assert_error(response, 404, "not_found")


def test_without_a_token_the_answer_is_still_401(client):
    response = client.post("/api/v1/orders", data='{"variant_id": 1}', content_type="text/plain")
    assert_error(response, 401)


def test_a_415_is_not_the_answer_kept_for_an_idempotency_key(client, api):
    # The fingerprint is the method, path and body: the same body sent again as JSON runs.
    customer = api.account()
    headers = {**customer.headers, "Idempotency-Key": "typed-later"}
    order_id = uuid.uuid4()
    wrong = client.post(
        f"/api/v1/orders/{order_id}/cancel", data="{}", content_type="text/plain", headers=headers
    )
    assert_error(wrong, 415)
    right = client.post(
        f"/api/v1/orders/{order_id}/cancel",
        data="{}",
        content_type="application/json",
        headers=headers,
    )
    assert_error(right, 404, "not_found")
    assert "Idempotent-Replayed" not in right.headers


# The root: where `make run`'s "Running on http://127.0.0.1:8000" leads ------------------------


def _links(page: str) -> dict[str, str]:
    return {href: text for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', page)}


def test_the_root_is_a_small_page_that_leads_to_the_docs_and_the_health_checks(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    links = _links(response.get_data(as_text=True))
    assert {"/swagger/", "/openapi.json", "/healthz", "/readyz"} <= set(links)
    for href in links:
        assert client.get(href).status_code == 200, href
    assert client.head("/").status_code == 200


def test_the_root_links_the_admin_panels_sign_in_page(client):
    # The panel is served now (entrypoints/admin): the root leads to its sign-in page, and
    # /admin/ itself sends an anonymous visitor there.
    links = _links(client.get("/").get_data(as_text=True))
    assert links["/admin/login"] == "Admin panel"
    assert client.get("/admin/login").status_code == 200
    assert client.get("/admin/").location.startswith("/admin/login")
