"""`Blueprint.raises`: the OpenAPI error responses come from the table that builds them."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.views import MethodView

from marketlink.application.errors import LockTimeout, NotFound
from marketlink.domain.errors import DomainError
from marketlink.entrypoints.http import errors
from marketlink.entrypoints.http.blueprint import Api, Blueprint


class TooLate(DomainError):
    """The offer has ended."""

    code = "too_late"


def served(raised: type[DomainError]) -> tuple[dict[str, Any], Flask]:
    """A small app whose one view raises `raised`, declared with `raises`, and its document."""
    app = Flask(__name__)
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    blp = Blueprint("toy", __name__)

    @blp.route("/toy")
    class Toy(MethodView):
        @blp.response(200)
        @blp.raises(raised, NotFound)
        @blp.raises(LockTimeout, 413)
        def get(self) -> None:
            raise raised()

    api.register_blueprint(blp)
    errors.register_error_handlers(app)
    return api.spec.to_dict()["paths"]["/toy"]["get"]["responses"], app


def test_each_status_lists_its_codes_and_retry_after_where_it_is_sent():
    responses, _ = served(TooLate)
    assert set(responses) == {"200", "404", "409", "413", "503", "default"}
    assert responses["404"]["description"] == "Not Found:\n\n- `not_found`: Not found."
    assert responses["409"]["description"] == "Conflict:\n\n- `too_late`: The offer has ended."
    assert "`payload_too_large`" in responses["413"]["description"]
    assert responses["503"]["headers"] == {
        "Retry-After": {"$ref": "#/components/headers/RETRY_AFTER"}
    }
    assert "headers" not in responses["409"]
    assert responses["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }


def test_the_document_and_the_answer_follow_the_same_table(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(errors, "STATUS_FOR", ((TooLate, 410), *errors.STATUS_FOR))
    responses, app = served(TooLate)
    assert "410" in responses and "409" not in responses
    answer = app.test_client().get("/toy")
    assert answer.status_code == 410 and answer.json["error"] == "too_late"
