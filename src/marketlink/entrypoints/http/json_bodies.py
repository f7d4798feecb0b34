"""Reading JSON bodies: the two ways a body can fail before its fields are looked at.

webargs, left to itself, reads a body sent without `Content-Type: application/json` as
no body at all (so a valid JSON body answers 422 "Missing data for required field"),
and answers malformed JSON with werkzeug's generic 400 text. Here:

- a body of another content type where JSON is expected -> 415, naming the type
  expected. No body at all is not a body of another type: an optional body (the
  lifecycle steps') may still be left out.
- a body that is not JSON -> 400 "Invalid JSON body.", with where it went wrong.
- a body nested deeper than MAX_JSON_DEPTH -> 400 too. No MarketLink body is deeper than
  a few levels, and a body thousands of levels deep would exhaust the parser's recursion
  (RecursionError, a 500) before any field was looked at.

Form-encoded routes (the gateway's IPN and return pages) read `request.form` and never
come here.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import flask
from flask.json.provider import DefaultJSONProvider
from webargs.flaskparser import FlaskParser, abort, is_json_request

JSON = "application/json"
MAX_JSON_DEPTH = 32
TOO_DEEP = f"The body is nested deeper than {MAX_JSON_DEPTH} levels."


class JsonBodyParser(FlaskParser):
    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req) and req.get_data(cache=True):
            instead = f", not {req.mimetype}" if req.mimetype else ""
            abort(415, message=f"Send the body as JSON with Content-Type: {JSON}{instead}.")
        try:
            body = super()._raw_load_json(req)
        except RecursionError:
            self._too_deep()
        if depth_of(body) > MAX_JSON_DEPTH:
            self._too_deep()
        return body

    @staticmethod
    def _too_deep() -> NoReturn:
        abort(400, message="Invalid JSON body.", errors={"json": [TOO_DEEP]})

    def _handle_invalid_json_error(
        self,
        error: json.JSONDecodeError | UnicodeDecodeError,
        req: flask.Request,
        *args: Any,
        **kwargs: Any,
    ) -> NoReturn:
        # webargs reports a body that is not UTF-8 as a JSONDecodeError "from" the other.
        if isinstance(error, UnicodeDecodeError) or isinstance(error.__cause__, UnicodeDecodeError):
            where = "The body is not UTF-8."
        else:
            where = f"{error.msg}: line {error.lineno}, column {error.colno}."
        abort(400, exc=error, message="Invalid JSON body.", errors={"json": [where]})


def depth_of(document: Any) -> int:
    """How deeply arrays and objects nest in a parsed document (a scalar: 0), without
    recursion, so that no document can exhaust the stack here either."""
    deepest = 0
    todo: list[tuple[Any, int]] = [(document, 0)]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth + 1)
            todo.extend((child, depth + 1) for child in node)
    return deepest


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON, with a body too deep to parse read as malformed (ValueError), so that
    `request.get_json` answers 400, or None when silent, instead of raising RecursionError."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError(TOO_DEEP) from None
