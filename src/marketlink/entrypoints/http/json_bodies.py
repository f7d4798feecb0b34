"""Reading JSON bodies: the two ways a body can fail before its fields are looked at.

webargs, left to itself, reads a body sent without `Content-Type: application/json` as
no body at all (so a valid JSON body answers 422 "Missing data for required field"),
and answers malformed JSON with werkzeug's generic 400 text. Here:

- a body of another content type where JSON is expected -> 415, naming the type
  expected. No body at all is not a body of another type: an optional body (the
  lifecycle steps') may still be left out.
- a body that is not JSON -> 400 "Invalid JSON body.", with where it went wrong.

Form-encoded routes (the gateway's IPN and return pages) read `request.form` and never
come here.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import flask
from webargs.flaskparser import FlaskParser, abort, is_json_request

JSON = "application/json"


class JsonBodyParser(FlaskParser):
    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req) and req.get_data(cache=True):
            instead = f", not {req.mimetype}" if req.mimetype else ""
            abort(415, message=f"Send the body as JSON with Content-Type: {JSON}{instead}.")
        return super()._raw_load_json(req)

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
