"""Failed logins are limited per account and per client address (flask-limiter).

Only failed attempts count (a 401), so a user who signs in fine is never slowed
down; once an account or an address has failed too often, even the right password
waits, with 429 and Retry-After.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import redis
from flask import Flask, Response, render_template, request
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from marketlink.config import Settings
from marketlink.entrypoints.http.errors import HTTP_ERROR_CODES, error_response

FAILED_LOGINS_PER_ACCOUNT = "10 per minute"
FAILED_LOGINS_PER_ADDRESS = "30 per minute"
TOO_MANY = "Too many failed attempts; try again later."


def _failed(response: Response) -> bool:
    return response.status_code == 401


def _account_key() -> str:
    # The API's login sends JSON; the admin panel's sign-in page, a form: one count each
    # account, whichever door the attempts come through. The form is read on the panel's
    # page only: reading it elsewhere would consume a body the API still has to refuse.
    if request.path.startswith("/admin/"):
        email = request.form.get("email")
    else:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) else None
    if not isinstance(email, str):
        return "account:?"
    return f"account:{email.strip().lower()[:254]}"


def _address_key() -> str:
    return f"address:{get_remote_address()}"


def _storage(redis_client: redis.Redis | None) -> tuple[str, dict[str, Any]]:
    """Where the counts live: in the container's Redis when there is one, else in memory.

    With Redis, limits' storage is built on the container client's connection pool
    (limits' `connection_pool` option), so it reaches the same server and database with
    the same timeouts and health checks as every other Redis client; its URI then only
    selects the Redis storage, and the pool decides where it connects.
    """
    if redis_client is None:
        return "memory://", {}
    return "redis://", {"connection_pool": redis_client.connection_pool}


def limit_failed_logins(
    app: Flask,
    settings: Settings,
    login_endpoints: Iterable[str],
    redis_client: redis.Redis | None,
) -> Limiter:
    """Installs the limiter on `app` and limits its login views; RATE_LIMITS=off disables it.

    A failed attempt is one that answers 401: the API's login and the panel's sign-in page
    both do, and count against the same per-account and per-address limits.

    `redis_client` is the container's (None without REDIS_URL): the counts are kept there.
    """
    app.config["RATELIMIT_ENABLED"] = settings.rate_limits
    storage_uri, storage_options = _storage(redis_client)
    limiter = Limiter(
        key_func=_address_key,
        storage_uri=storage_uri,
        storage_options=storage_options,
        # A Redis outage must not lock everybody out: count in memory until it is back.
        in_memory_fallback_enabled=True,
        key_prefix="marketlink",
        headers_enabled=False,
        enabled=settings.rate_limits,
    )
    limiter.init_app(app)

    # Shared limits: the same counts for every login view, whichever an attempt uses.
    per_account = limiter.shared_limit(
        FAILED_LOGINS_PER_ACCOUNT, "login-account", key_func=_account_key, deduct_when=_failed
    )
    per_address = limiter.shared_limit(
        FAILED_LOGINS_PER_ADDRESS, "login-address", key_func=_address_key, deduct_when=_failed
    )
    for endpoint in login_endpoints:
        view: Any = app.view_functions[endpoint]
        app.view_functions[endpoint] = per_address(per_account(view))

    @app.errorhandler(RateLimitExceeded)
    def _too_many(error: RateLimitExceeded) -> Response:
        current = limiter.current_limit
        retry_after = 60
        if current is not None:
            window = current.limit.get_expiry()
            retry_after = max(1, min(window, math.ceil(current.reset_at - time.time())))
        headers = {"Retry-After": str(retry_after)}
        if request.path.startswith("/admin"):
            # A person at a sign-in page (the admin panel's) reads a page, not JSON.
            page = render_template("marketlink_admin/refused.html", message=TOO_MANY)
            return Response(page, 429, headers=headers, mimetype="text/html")
        return error_response(
            429,
            TOO_MANY,
            error=HTTP_ERROR_CODES[429],
            headers=headers,
        )

    return limiter
