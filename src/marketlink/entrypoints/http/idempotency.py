"""`Idempotency-Key`: a retried request gets the first answer, and the work is done once.

Use it on a view that needs it, under `authenticated(blp)` and above the smorest
decorators (so that it sees the final response, validation errors included)::

    @blp.route("/orders/<order_id:order_id>/cancel")
    class Cancel(MethodView):
        @authenticated(blp)
        @idempotent(blp)
        @blp.arguments(TransitionIn, required=False)
        @blp.response(200, OrderOut)
        @inject
        def post(self, data, order_id, ...): ...

A request without the header runs as usual. With it:

- Keys belong to the authenticated user: two users may use the same key.
- The request's fingerprint is the SHA-256 of its method, path and body (a JSON body
  in canonical form, so key order and whitespace do not matter; any other body as sent).
- The first request claims the key in the IdempotencyStore (its own committed
  transaction, visible to a concurrent duplicate at once) and runs the view.
- A final answer (any 2xx, 3xx or 4xx except 401, 415 and 429) is stored with its status,
  body and Content-Type. The same key with the same fingerprint within 24 hours is
  answered from the store, with `Idempotent-Replayed: true`, and the view does not run.
- A transient answer (401, 415, 429, any 5xx such as a 503 lock timeout, or an exception)
  releases the claim: the client may retry with the same key and the work runs then.
- The same key with another fingerprint -> 422 `idempotency_key_reused`; the same key
  while the first request still runs -> 409 `idempotency_key_in_progress`.
- A header that is empty, longer than 255 characters, or not printable ASCII -> 422.

The store is reached through the container (`Container.idempotency_store`).
"""

# flask-smorest ships no type information: its decorators are untyped.
# mypy: allow-untyped-decorators

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from dependency_injector.wiring import Provide, inject
from flask import Response, current_app, request
from flask_smorest import abort

from marketlink.application.errors import (
    ConcurrentUpdate,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
)
from marketlink.application.ports import IdempotencyStore, StoredResponse
from marketlink.containers import Container
from marketlink.entrypoints.http.auth import current_actor
from marketlink.entrypoints.http.blueprint import Blueprint

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
_VALID_KEY = re.compile(rf"[\x20-\x7e]{{1,{MAX_KEY_LENGTH}}}")

# Answers not worth repeating to a retry: they may turn out differently next time. A 415
# depends on the Content-Type, which the fingerprint leaves out: the same body sent again
# as JSON must run.
_TRANSIENT = frozenset({401, 415, 429})
# Refusals that did no work and ask for a retry: kept, the retry would meet them forever.
_TRANSIENT_ERRORS = (ConcurrentUpdate,)

F = TypeVar("F", bound=Callable[..., Any])

_HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    "description": (
        "Makes a retry safe: the same key with the same body within 24 hours returns the "
        "first response and does the work once."
    ),
}


def idempotent(blp: Blueprint) -> Callable[[F], F]:
    """Honours an optional `Idempotency-Key` header on the view, and documents it."""

    def decorator(func: F) -> F:
        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            raw_key = request.headers.get(HEADER)
            if raw_key is None:
                return func(*args, **kwargs)
            return _run_once(_checked_key(raw_key), func, args, kwargs)

        documented = blp.doc(parameters=[_HEADER_DOC])(wrapper)
        # 422 also for a malformed header (`validation_error`).
        raised = (IdempotencyKeyInProgress, IdempotencyKeyReused, 422)
        return blp.raises(*raised)(documented)  # type: ignore[no-any-return]

    return decorator


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 of the method, the path and the body (canonical JSON when it is JSON)."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except ValueError:  # not JSON (or empty): the bytes as sent
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _checked_key(raw_key: str) -> str:
    if not _VALID_KEY.fullmatch(raw_key) or not raw_key.strip():
        abort(
            422,
            message=f"Invalid {HEADER} header.",
            errors={
                "headers": {HEADER: [f"Must be 1 to {MAX_KEY_LENGTH} printable ASCII characters."]}
            },
        )
    return raw_key


def _run_once(key: str, view: Callable[..., Any], args: Any, kwargs: Any) -> Response:
    store = _store()
    user_id = current_actor().user_id
    # Raises IdempotencyKeyReused (422) or IdempotencyKeyInProgress (409) for a duplicate.
    stored = store.claim(user_id, key, fingerprint(request.method, request.path, _body()))
    if stored is not None:
        return _replay(stored)
    refusal: Exception | None = None
    try:
        try:
            response = current_app.make_response(view(*args, **kwargs))
        except Exception as exc:
            # The answer the error handlers give is the answer to store (or not).
            refusal = exc
            response = current_app.make_response(current_app.handle_user_exception(exc))
    except BaseException:
        store.release(user_id, key)
        raise
    if _is_final(response.status_code) and not isinstance(refusal, _TRANSIENT_ERRORS):
        try:
            store.complete(user_id, key, _recorded(response))
        except Exception:
            # The work is done and this answer is right: give it. A retry meets the claim
            # (409) rather than doing the work twice.
            log.exception("could not store the response for an idempotency key")
    else:
        store.release(user_id, key)
    return response


@inject
def _store(store: IdempotencyStore = Provide[Container.idempotency_store]) -> IdempotencyStore:
    return store


def _body() -> bytes:
    return request.get_data(cache=True)


def _is_final(status: int) -> bool:
    return status < 500 and status not in _TRANSIENT


def _recorded(response: Response) -> StoredResponse:
    body = json.dumps(
        {"content_type": response.content_type, "body": response.get_data(as_text=True)}
    )
    return StoredResponse(response.status_code, body)


def _replay(stored: StoredResponse) -> Response:
    try:
        recorded = json.loads(stored.body)
        body, content_type = str(recorded["body"]), str(recorded["content_type"])
    except (ValueError, KeyError, TypeError):  # not recorded by `_recorded`: a bare JSON body
        body, content_type = stored.body, "application/json"
    response = current_app.response_class(body, status=stored.status, content_type=content_type)
    response.headers[REPLAYED_HEADER] = "true"
    return response
