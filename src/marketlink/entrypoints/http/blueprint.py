"""flask-smorest, the way every MarketLink blueprint uses it.

The one difference: a `page_size` above the maximum is capped (the contract says
"max 100"), where flask-smorest would refuse it with 422.
"""

from __future__ import annotations

import http
from collections.abc import Callable
from copy import deepcopy
from functools import wraps
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import current_app, request
from flask_smorest.pagination import PaginationParameters
from flask_smorest.utils import unpack_tuple_response

from marketlink.application.ports import PageRequest
from marketlink.entrypoints.http.json_bodies import JsonBodyParser
from marketlink.entrypoints.http.schemas import ErrorOut, PageQuery

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class Api(flask_smorest.Api):  # type: ignore[misc]  # flask-smorest is untyped
    ERROR_SCHEMA = ErrorOut


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]  # flask-smorest is untyped
    # 415 for a body that is not JSON where JSON is expected, one message for bad JSON.
    ARGUMENTS_PARSER = JsonBodyParser()

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        """As flask-smorest's, with one schema instance for every request.

        Given a Schema class, webargs makes an instance per request, a deep copy of
        every declared field: about a tenth of a catalog request's CPU time. Loading
        does not change a schema, so one instance serves all threads.
        """
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)  # type: ignore[no-any-return]

    def paginate(
        self,
        pager: None = None,
        *,
        page: int | None = None,
        page_size: int | None = None,
        max_page_size: int | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Pagination inside the view: it gets `pagination_parameters`, sets `item_count`."""
        if pager is not None:
            raise NotImplementedError("MarketLink views paginate in the use case")
        cap = max_page_size or MAX_PAGE_SIZE
        schema = _page_schema(page or 1, page_size or DEFAULT_PAGE_SIZE, cap)
        parsing = schema()  # one instance for every request, as for `arguments`
        parser = self.PAGINATION_ARGUMENTS_PARSER
        error_status = parser.DEFAULT_VALIDATION_STATUS

        def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                params = parser.parse(parsing, request, location="query")
                kwargs["pagination_parameters"] = params
                result, status, headers = unpack_tuple_response(
                    current_app.ensure_sync(func)(*args, **kwargs)
                )
                if params.item_count is not None:
                    result, headers = self._set_pagination_metadata(params, result, headers)
                return result, status, headers

            apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
            apidoc["pagination"] = {
                "parameters": {"in": "query", "schema": schema},
                "response": {error_status: http.HTTPStatus(error_status).name},
            }
            wrapper._apidoc = apidoc  # type: ignore[attr-defined]  # flask-smorest's doc info
            return wrapper

        return decorator


def _page_schema(default_page: int, default_page_size: int, cap: int) -> type[ma.Schema]:
    class CappedPageQuery(PageQuery):
        page_size = ma.fields.Integer(
            load_default=default_page_size,
            validate=ma.validate.Range(min=1),
            metadata={"description": f"Items per page; values above {cap} are capped at {cap}"},
        )

        @ma.post_load
        def _paginator(self, data: dict[str, Any], **kwargs: Any) -> PaginationParameters:
            return PaginationParameters(data.get("page", default_page), min(data["page_size"], cap))

    return CappedPageQuery


def page_request(params: PaginationParameters) -> PageRequest:
    return PageRequest(page=params.page, page_size=params.page_size)
