"""The application factory: Flask, flask-smorest, JWT, rate limits, and the container."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from marketlink.config import Settings
from marketlink.containers import Container
from marketlink.entrypoints.admin import init_admin
from marketlink.entrypoints.admin.auth import LOGIN_ENDPOINT as ADMIN_LOGIN_ENDPOINT
from marketlink.entrypoints.http import (
    accounts,
    admin,
    catalog,
    health,
    openapi,
    orders,
    paths,
    pay_link,
    payments,
    vendors,
)
from marketlink.entrypoints.http.auth import BEARER_AUTH, JwtPrefixMiddleware, configure_jwt
from marketlink.entrypoints.http.blueprint import Api
from marketlink.entrypoints.http.errors import register_error_handlers
from marketlink.entrypoints.http.home import register_home
from marketlink.entrypoints.http.json_bodies import JsonProvider
from marketlink.entrypoints.http.ratelimits import limit_failed_logins

API_PREFIX = "/api/v1"
SWAGGER_ASSETS = "/swagger/assets/"
MAX_BODY_BYTES = 1024 * 1024


class MarketLink(Flask):
    """Flask, with the container this app was built with."""

    container: Container
    json_provider_class = JsonProvider


def create_app(settings: Settings | None = None, container: Container | None = None) -> MarketLink:
    """Builds the app; without a container, one is made from `settings` (or the environment).

    Wiring is process-global: one app (and container) per process, one per test.
    """
    if container is None:
        container = Container(settings=settings or Settings.from_env())
    elif settings is not None:
        container.settings.override(settings)
    container.check_dependencies()
    settings = container.settings()

    app = MarketLink("marketlink", instance_path=str(settings.instance_dir))
    app.container = container
    app.config.update(_flask_config(settings))
    container.wire()

    app.url_map.converters.update(paths.CONVERTERS)
    api = Api(app)
    for converter in paths.CONVERTERS.values():
        api.register_converter(converter, paths.converter_schema)
    api.spec.components.security_scheme(
        BEARER_AUTH, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    for blueprint in (
        health.blp,
        accounts.blp,
        vendors.blp,
        catalog.blp,
        orders.blp,
        payments.blp,
        pay_link.blp,
        admin.blp,
    ):
        api.register_blueprint(blueprint)
    if settings.use_sandbox:
        # The offline gateway, in this same process (never in production: see use_sandbox).
        app.register_blueprint(container.sandbox_blueprint())

    init_admin(app)  # the panel at /admin/: before the limiter, which limits its sign-in
    app.add_url_rule(f"{SWAGGER_ASSETS}<path:filename>", "swagger_ui_assets", _swagger_ui_asset)
    register_home(app)  # not an API operation: outside the OpenAPI document
    register_error_handlers(app)  # after Api(), so that ours answer HTTP errors too
    configure_jwt(app, settings.jwt_secret_key, container.token_blocklist)
    limit_failed_logins(
        app, settings, (accounts.LOGIN_ENDPOINT, ADMIN_LOGIN_ENDPOINT), container.redis_client()
    )
    app.wsgi_app = JwtPrefixMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    return app


def _flask_config(settings: Settings) -> dict[str, Any]:
    return {
        "SECRET_KEY": settings.secret_key,
        "MAX_CONTENT_LENGTH": MAX_BODY_BYTES,
        "API_TITLE": "MarketLink",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/swagger/",
        # Served by this app from the swagger-ui-bundle package: no CDN, works offline.
        "OPENAPI_SWAGGER_UI_URL": SWAGGER_ASSETS,
        "API_SPEC_OPTIONS": {
            "info": {"description": openapi.DESCRIPTION},
        },
    }


def _swagger_ui_asset(filename: str) -> Response:
    return send_from_directory(swagger_ui_path, filename, max_age=3600)
