"""The one place where errors become HTTP answers, all in flask-smorest's JSON shape.

`{"code": 409, "status": "Conflict", "message": "...", "error": "out_of_stock"}`: the
status code and `error` come from the table below, the message from the error itself.
No request ever gets a stack trace or an HTML page.
"""

from __future__ import annotations

import http
import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from marketlink.application import errors as app_errors
from marketlink.application.errors import InvalidNotice
from marketlink.domain import errors as domain_errors

log = logging.getLogger(__name__)

# Seconds a client should wait before retrying a busy or unreachable dependency.
RETRY_AFTER_SECONDS = {
    app_errors.LockTimeout: 1,
    app_errors.GatewayUnavailable: 30,
}

# The `error` code of errors that come from HTTP itself rather than from a business rule.
HTTP_ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
}

# What each of those means, as the OpenAPI document says it.
HTTP_ERROR_MEANINGS = {
    400: "The request is malformed.",
    401: "The request needs a valid token.",
    403: "The request is not allowed.",
    404: "There is nothing at this address.",
    405: "This address does not take this method.",
    413: "The body is larger than allowed.",
    415: "The body is not of a type this route takes.",
    422: "The body, the query or a header is not valid; `errors` says where.",
    429: "Too many attempts; wait `Retry-After` seconds.",
    500: "Something went wrong on our side.",
}

# HTTP-level refusals that always say when to try again: the rate limits (ratelimits.py).
HTTP_RETRY_AFTER = frozenset({429})

# Most specific first: the first class an error is an instance of decides its status.
STATUS_FOR: tuple[tuple[type[domain_errors.DomainError], int], ...] = (
    (app_errors.NotFound, 404),
    (app_errors.Forbidden, 403),
    (app_errors.VendorProfileRequired, 403),
    (app_errors.InvalidCredentials, 401),
    (app_errors.EmailTaken, 409),
    (app_errors.VendorProfileExists, 409),
    (app_errors.ConcurrentUpdate, 409),
    (app_errors.IdempotencyKeyReused, 422),
    (app_errors.IdempotencyKeyInProgress, 409),
    (app_errors.NotPayable, 409),
    (app_errors.TooManyUnpaidOrders, 429),
    (app_errors.LockTimeout, 503),
    (app_errors.GatewayUnavailable, 503),
    (app_errors.GatewayRejected, 502),
    (InvalidNotice, 400),
    (domain_errors.OutOfStock, 409),
    (domain_errors.InvalidTransition, 409),
    (domain_errors.StockBelowReserved, 409),
    (domain_errors.NothingReserved, 409),
    (domain_errors.InactiveVariant, 404),
    (domain_errors.InvalidValue, 422),
    (domain_errors.InvalidMoney, 422),
    (domain_errors.CurrencyMismatch, 422),
    # Anything else a business rule refuses.
    (domain_errors.DomainError, 409),
)


def status_for(error: domain_errors.DomainError) -> int:
    return status_of(type(error))


def status_of(error_type: type[domain_errors.DomainError]) -> int:
    """The status every error of this class answers (the OpenAPI document says the same)."""
    for known_type, status in STATUS_FOR:
        if issubclass(error_type, known_type):
            return status
    return 409


def retry_after_of(error_type: type[domain_errors.DomainError]) -> int | None:
    """The seconds an error of this class tells the client to wait (`Retry-After`), if any."""
    for known_type, seconds in RETRY_AFTER_SECONDS.items():
        if issubclass(error_type, known_type):
            return seconds
    return None


def error_body(
    status: int,
    message: str | None = None,
    *,
    error: str | None = None,
    errors: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": status, "status": http.HTTPStatus(status).phrase}
    if message:
        body["message"] = message
    if error:
        body["error"] = error
    if errors:
        body["errors"] = errors
    return body


def error_response(
    status: int,
    message: str | None = None,
    *,
    error: str | None = None,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    response = jsonify(error_body(status, message, error=error, errors=errors))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_domain_error(error: domain_errors.DomainError) -> Response:
    headers = {}
    seconds = retry_after_of(type(error))
    if seconds is not None:
        headers["Retry-After"] = str(seconds)
    return error_response(status_for(error), error.message, error=error.code, headers=headers)


def handle_http_exception(error: HTTPException) -> Response:
    """flask-smorest's handler, plus the `error` key and JSON for every werkzeug error."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    message = data.get("message")
    if message is None and status != 500:
        message = error.description
    errors = data.get("errors") or data.get("messages")
    code = HTTP_ERROR_CODES.get(status) or http.HTTPStatus(status).name.lower()
    response = error_response(status, message, error=code, errors=errors)
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def handle_unexpected(error: Exception) -> Response:
    log.exception("Unhandled error", exc_info=error)
    return error_response(500, "Something went wrong on our side.", error="internal_error")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(domain_errors.DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
