"""flask-smorest, the way every MarketLink blueprint uses it.

Three differences:

- A view declares the errors it may raise (`@blp.raises(OutOfStock, ...)`), and its
  OpenAPI responses are made from the error table that builds the answers (errors.py):
  the document says exactly the statuses, codes and headers a client gets.
- Pagination is flask-smorest's, with MarketLink's defaults (20 items, at most 100); a
  `page_size` above the maximum is capped, not refused (the contract says "max 100").
- The OpenAPI document gets MarketLink's enum and header components (openapi.py).
"""

from __future__ import annotations

import http
from collections.abc import Callable, Iterable, Mapping
from copy import deepcopy
from typing import Any, TypeVar

import flask_smorest
import marshmallow as ma
from flask_smorest.pagination import PaginationParameters
from webargs.flaskparser import FlaskParser

from marketlink.application.ports import PageRequest
from marketlink.domain.errors import DomainError
from marketlink.entrypoints.http import openapi
from marketlink.entrypoints.http.errors import (
    HTTP_ERROR_CODES,
    HTTP_ERROR_MEANINGS,
    HTTP_RETRY_AFTER,
    retry_after_of,
    status_of,
)
from marketlink.entrypoints.http.json_bodies import JsonBodyParser
from marketlink.entrypoints.http.schemas import MAX_PAGE, ErrorOut

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

F = TypeVar("F", bound=Callable[..., Any])

# What a view may answer besides its success: a DomainError class (its status comes from
# errors.STATUS_FOR) or the status of an HTTP-level refusal (its code from HTTP_ERROR_CODES).
Raised = type[DomainError] | int


class Api(flask_smorest.Api):  # type: ignore[misc]  # flask-smorest is untyped
    ERROR_SCHEMA = ErrorOut

    def _init_spec(self, *args: Any, **kwargs: Any) -> None:
        super()._init_spec(*args, **kwargs)
        openapi.configure(self.spec, self.ma_plugin.converter)

    def _register_pagination_header(self) -> None:
        """None of flask-smorest's: `openapi.configure` registers MarketLink's (JSON)."""


class PageParser(FlaskParser):
    """Reads `page` and `page_size` for flask-smorest's pagination, with two rules more.

    - A `page_size` above the schema's maximum is capped before the schema validates it,
      so the view and `X-Pagination` both see the capped size.
    - A `page` above MAX_PAGE is refused (422), so that no offset outgrows the database.
    """

    def pre_load(
        self, location_data: Mapping[str, Any], *, schema: Any, req: Any, location: str
    ) -> Mapping[str, Any]:
        page = _integer(location_data, "page")
        if page is not None:
            try:
                _PAGES(page)
            except ma.ValidationError as error:
                raise ma.ValidationError({"page": error.messages}) from None
        size, cap = _integer(location_data, "page_size"), _maximum(schema.fields["page_size"])
        if size is None or cap is None or size <= cap:
            return location_data
        return {**location_data, "page_size": cap}


_PAGES = ma.validate.Range(1, MAX_PAGE)


def _integer(data: Mapping[str, Any], name: str) -> int | None:
    """The parameter as the schema's Integer would read it; None if absent or not one."""
    try:
        return int(data[name])
    except (KeyError, TypeError, ValueError):  # absent, or for the schema to refuse
        return None


def _maximum(field: Any) -> int | None:
    for validator in field.validators:
        maximum = getattr(validator, "max", None)
        if isinstance(maximum, int):
            return maximum
    return None


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]  # flask-smorest is untyped
    DEFAULT_PAGINATION_PARAMETERS = {
        "page": 1,
        "page_size": DEFAULT_PAGE_SIZE,
        "max_page_size": MAX_PAGE_SIZE,
    }
    PAGINATION_ARGUMENTS_PARSER = PageParser()
    # 415 for a body that is not JSON where JSON is expected, one message for bad JSON.
    ARGUMENTS_PARSER = JsonBodyParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prepare_doc_cbks.append(self._prepare_errors_doc)

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        """As flask-smorest's, with one schema instance for every request; a JSON body's
        refusals (400, 415) are documented with it.

        Given a Schema class, webargs makes an instance per request, a deep copy of
        every declared field: about a tenth of a catalog request's CPU time. Loading
        does not change a schema, so one instance serves all threads.
        """
        if isinstance(schema, type):
            schema = schema()
        parse = super().arguments(schema, *args, **kwargs)
        if kwargs.get("location", "json") != "json":
            return parse  # type: ignore[no-any-return]
        # A JSON body may be malformed (400) or sent as another type (415): JsonBodyParser.
        return lambda func: parse(self.raises(400, 415)(func))

    def raises(self, *raised: Raised) -> Callable[[F], F]:
        """Documents what a view answers when it raises one of `raised` (errors.py's table).

        Stacks with other `raises` and with flask-smorest's own error responses (422 of
        `arguments`, 401 of `authenticated`): one response per status lists every code.
        """

        def decorator(func: F) -> F:
            apidoc = deepcopy(getattr(func, "_apidoc", {}))
            apidoc["raises"] = [*apidoc.get("raises", []), *raised]
            func._apidoc = apidoc  # type: ignore[attr-defined]  # flask-smorest's doc info
            return func

        return decorator

    def _document_pagination_metadata(self, spec: Any, resp_doc: dict[str, Any]) -> None:
        """`X-Pagination` is JSON: documented as content, so that generators read it."""
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = openapi.PAGINATION_HEADER

    def _prepare_errors_doc(
        self, doc: dict[str, Any], doc_info: dict[str, Any], **kwargs: Any
    ) -> dict[str, Any]:
        raised: list[Raised] = doc_info.get("raises", [])
        responses = doc.setdefault("responses", {})
        for status, group in _by_status(raised).items():
            responses[status] = _error_response(status, group, responses.get(status))
        return doc


def _by_status(raised: Iterable[Raised]) -> dict[int, list[Raised]]:
    groups: dict[int, list[Raised]] = {}
    for item in raised:
        status = item if isinstance(item, int) else status_of(item)
        group = groups.setdefault(status, [])
        if item not in group:
            group.append(item)
    return dict(sorted(groups.items()))


def _error_response(status: int, group: list[Raised], documented: Any) -> dict[str, Any]:
    """One error response: each code it may carry, and `Retry-After` where it is sent."""
    lines: list[str] = []
    headers: dict[str, Any] = {}
    if isinstance(documented, Mapping):  # described by another decorator (authenticated)
        lines.append(f"- {documented.get('description', '')}")
        headers.update(documented.get("headers", {}))
    elif documented is not None and status in HTTP_ERROR_CODES:  # flask-smorest's own
        group = [status, *(item for item in group if item != status)]
    for item in group:
        lines.append(f"- {_describe(item)}")
        if status in HTTP_RETRY_AFTER if isinstance(item, int) else retry_after_of(item):
            headers["Retry-After"] = openapi.RETRY_AFTER_HEADER
    response: dict[str, Any] = {
        "description": "\n".join([f"{http.HTTPStatus(status).phrase}:", "", *lines]),
        "content": {"application/json": {"schema": ErrorOut}},
    }
    if headers:
        response["headers"] = headers
    return response


def _describe(item: Raised) -> str:
    if isinstance(item, int):
        return f"`{HTTP_ERROR_CODES[item]}`: {HTTP_ERROR_MEANINGS[item]}"
    summary = (item.__doc__ or "").strip().splitlines()[0] if item.__doc__ else item.code
    return f"`{item.code}`: {summary}"


def page_request(params: PaginationParameters) -> PageRequest:
    return PageRequest(page=params.page, page_size=params.page_size)
