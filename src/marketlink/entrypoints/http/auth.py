"""Tokens: who the caller is, as JWTs from flask-jwt-extended.

One login is one session: its access and refresh tokens share a session id (`sid`),
refreshing keeps it, and logging out revokes it through the TokenBlocklist port, so
both tokens stop working at once. The same look-up, made on every authenticated request,
also answers for the token's user: an account an admin switched off is on the blocklist
too (see SetUserActive), so its tokens stop working at once, not when they expire, and
no request reads the users table just to check.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask, Response
from flask_jwt_extended import (
    JWTManager,
    create_access_token,
    create_refresh_token,
    get_jwt,
    jwt_required,
)
from flask_smorest import Blueprint

from marketlink.application.actors import Actor
from marketlink.application.ports import TokenBlocklist
from marketlink.application.use_cases.accounts import SESSION_LIFETIME
from marketlink.domain.users import Role, User
from marketlink.entrypoints.http.errors import error_response
from marketlink.entrypoints.http.schemas import ErrorOut

ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
REFRESH_TOKEN_LIFETIME = SESSION_LIFETIME
TOKEN_TYPE = "Bearer"  # noqa: S105 - the scheme name, not a secret
BEARER_AUTH = "bearerAuth"

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def configure_jwt(
    app: Flask,
    secret_key: str,
    blocklist: Callable[[], TokenBlocklist],
) -> JWTManager:
    """Sets up flask-jwt-extended; every token problem answers 401 in the error shape."""
    app.config.update(
        JWT_SECRET_KEY=secret_key,
        JWT_ACCESS_TOKEN_EXPIRES=ACCESS_TOKEN_LIFETIME,
        JWT_REFRESH_TOKEN_EXPIRES=REFRESH_TOKEN_LIFETIME,
        JWT_TOKEN_LOCATION=["headers"],
        JWT_HEADER_TYPE=TOKEN_TYPE,
        JWT_ALGORITHM="HS256",
    )
    jwt = JWTManager(app)

    @jwt.token_in_blocklist_loader
    def _is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        # One look-up: the session logged out, or its user switched off by an admin.
        session_id = payload.get("sid")
        try:
            user_id = int(payload["sub"])
        except (KeyError, TypeError, ValueError):
            return True
        return not isinstance(session_id, str) or blocklist().is_revoked(session_id, user_id)

    @jwt.unauthorized_loader
    def _missing(reason: str) -> Response:
        return _unauthorized("Authentication required: send Authorization: Bearer <token>.")

    @jwt.invalid_token_loader
    def _invalid(reason: str) -> Response:
        # The decoder's reason tells the client nothing about its token: it goes to the log.
        log.info("invalid token: %s", reason)
        return _unauthorized("Invalid token.", "invalid_token")

    @jwt.expired_token_loader
    def _expired(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return _unauthorized("The token has expired.", "token_expired")

    @jwt.revoked_token_loader
    def _revoked(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return _unauthorized(
            "The token has been revoked: signed out, or the account switched off.",
            "token_revoked",
        )

    @jwt.needs_fresh_token_loader
    def _not_fresh(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return _unauthorized("A fresh token is required.", "fresh_token_required")

    @jwt.token_verification_failed_loader
    def _failed(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return _unauthorized("The token failed verification.", "invalid_token")

    return jwt


# How every authenticated route documents the answer `_unauthorized` gives.
_REFUSED_TOKEN_DOC: dict[str, Any] = {
    "schema": ErrorOut,
    "description": "`authorization_required`, `invalid_token`, `token_expired`, "
    "`token_revoked`: the token is missing, invalid, expired or revoked",
    "headers": {"WWW-Authenticate": {"description": TOKEN_TYPE, "schema": {"type": "string"}}},
}


def _unauthorized(message: str, error: str = "authorization_required") -> Response:
    return error_response(401, message, error=error, headers={"WWW-Authenticate": TOKEN_TYPE})


def issue_tokens(user: User) -> dict[str, Any]:
    """A new session: an access and a refresh token sharing one fresh session id."""
    claims = _claims(user, session_id=secrets.token_urlsafe(16))
    return {
        "access_token": create_access_token(str(user.id), additional_claims=claims),
        "refresh_token": create_refresh_token(str(user.id), additional_claims=claims),
        "token_type": TOKEN_TYPE,
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
    }


def refresh_access_token(user: User, session_id: str) -> dict[str, Any]:
    """A new access token for the same session (the refresh token keeps its expiry)."""
    claims = _claims(user, session_id=session_id)
    return {
        "access_token": create_access_token(str(user.id), additional_claims=claims),
        "token_type": TOKEN_TYPE,
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
    }


def _claims(user: User, *, session_id: str) -> dict[str, Any]:
    return {"role": user.role.value, "sid": session_id}


def current_actor() -> Actor:
    """The authenticated caller, as the use cases know them."""
    claims = get_jwt()
    return Actor(int(claims["sub"]), Role(claims["role"]))


def current_session_id() -> str:
    return str(get_jwt()["sid"])


def authenticated(blp: Blueprint, *, refresh: bool = False) -> Callable[[F], F]:
    """Requires a valid token (a refresh token if `refresh`) and documents it.

    Goes outermost, above the smorest decorators: a missing or bad token answers 401
    before the body is even read.
    """

    def decorator(func: F) -> F:
        func = blp.alt_response(401, **_REFUSED_TOKEN_DOC)(func)
        func = blp.doc(security=[{BEARER_AUTH: []}])(func)
        return jwt_required(refresh=refresh)(func)  # type: ignore[no-any-return]

    return decorator


_JWT_PREFIX = re.compile(r"^\s*JWT\s+", re.IGNORECASE)


class JwtPrefixMiddleware:
    """Accepts `Authorization: JWT <token>` (the seed's clients) exactly like `Bearer`."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self._wsgi_app = wsgi_app

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        header = environ.get("HTTP_AUTHORIZATION")
        if isinstance(header, str) and _JWT_PREFIX.match(header):
            environ["HTTP_AUTHORIZATION"] = _JWT_PREFIX.sub(f"{TOKEN_TYPE} ", header, count=1)
        return self._wsgi_app(environ, start_response)
