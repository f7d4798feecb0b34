"""Every list of the panel: one Flask-Admin model view over the read use cases' list specs.

MarketLink has no ORM classes (Core tables, hand-mapped repositories), so instead of
Flask-Admin's SQLAlchemy ModelView the panel implements its BaseModelView, as the peewee
and pymongo back ends do, over the admin read use cases (marketlink.application
.use_cases.admin_reads): `ListView` reads a list's `ListSpec` (columns, searchable,
filterable and sortable columns, default order) and turns Flask-Admin's list request
(page, sort, search, filters, page size; CSV export too) into a `ListQuery`. Read-only:
nothing is created, edited or deleted here; every change is an action (actions.py)
that goes through a use case.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask_admin import BaseView
from flask_admin.model import BaseModelView, typefmt
from flask_admin.model.filters import BaseFilter
from markupsafe import Markup
from wtforms import Form

from marketlink.application.admin_queries import (
    MAX_PAGE_SIZE,
    FilterKind,
    FilterSpec,
    ListQuery,
    ListSpec,
    Sort,
    SortDirection,
)
from marketlink.application.errors import InvalidListQuery
from marketlink.domain.money import Money
from marketlink.entrypoints.admin.auth import LOGIN_ENDPOINT, current_actor, current_admin_user

EXPORT_MAX_ROWS = min(5_000, MAX_PAGE_SIZE)


class PanelView(BaseView):
    """Every page of the panel: only a signed-in admin sees it (the guard in auth.py
    already sent everyone else to the sign-in page; this holds even without it)."""

    def is_accessible(self) -> bool:
        return current_admin_user() is not None

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        return redirect(url_for(LOGIN_ENDPOINT, next=request.full_path.rstrip("?")))


class SpecFilter(BaseFilter):
    """A list's filterable column: equality with one value, checked by the spec."""

    def __init__(self, spec: FilterSpec) -> None:
        options: Sequence[tuple[str, str]] | None = None
        if spec.kind is FilterKind.CHOICE:
            options = [(value, value.replace("_", " ")) for value in spec.choices]
        elif spec.kind is FilterKind.BOOL:
            options = [("true", "yes"), ("false", "no")]
        super().__init__(spec.label, options)
        self.spec = spec

    def validate(self, value: Any) -> bool:
        try:
            self.spec.coerce(value)
        except InvalidListQuery:
            return False
        return True

    def operation(self) -> str:
        return "equals"


def _money(_view: Any, value: Money, _name: str = "") -> str:
    return f"{value.amount} {value.currency}"


def _enum(_view: Any, value: enum.Enum, _name: str = "") -> str:
    return str(value.value)


def _time(_view: Any, value: datetime, _name: str = "") -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _formatters(base: dict[type, Callable[..., Any]]) -> dict[type, Callable[..., Any]]:
    return {**base, Money: _money, enum.Enum: _enum, datetime: _time}


class _NoForm(Form):
    """The lists are read-only: Flask-Admin still asks for a form class."""


class ListView(PanelView, BaseModelView):
    """A read-only list over one admin read use case, shaped by its ListSpec."""

    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = False
    can_export = True
    export_types = ["csv"]
    export_max_rows = EXPORT_MAX_ROWS
    can_set_page_size = True
    page_size = 20
    # Filter arguments by name (?flt0_flag_equals=refund), so that links to a filtered
    # list (the dashboard's) stay right whatever the order of the filters.
    named_filter_urls = True
    simple_list_pager = False

    column_type_formatters = _formatters(dict(typefmt.BASE_FORMATTERS))
    column_type_formatters_detail = _formatters(dict(typefmt.DETAIL_FORMATTERS))
    column_type_formatters_export = _formatters(dict(typefmt.EXPORT_FORMATTERS))

    def __init__(
        self,
        use_case: str,
        spec: ListSpec,
        row_type: type,
        *,
        name: str,
        endpoint: str,
        url: str | None = None,
        category: str | None = None,
    ) -> None:
        # `use_case`: the container's provider of the list's read use case.
        self.use_case = use_case
        self.spec = spec
        self.column_list = list(spec.columns)
        self.column_searchable_list = list(spec.searchable)
        self.column_filters = [SpecFilter(flt) for flt in spec.filters]
        self.column_sortable_list = list(spec.sortable)
        self.column_default_sort = (spec.default_sort.column, spec.default_sort.descending)
        super().__init__(row_type, name=name, category=category, endpoint=endpoint, url=url)

    # What Flask-Admin asks of a model back end -------------------------------------------

    def get_pk_value(self, model: Any) -> Any:
        return str(getattr(model, self.spec.id_column))

    def scaffold_list_columns(self) -> list[str]:
        return list(self.spec.columns)

    def scaffold_sortable_columns(self) -> dict[str, str]:
        return {column: column for column in self.spec.sortable}

    def init_search(self) -> bool:
        return bool(self.spec.searchable)

    def search_placeholder(self) -> str | None:
        return "Search " + ", ".join(c.replace("_", " ") for c in self.spec.searchable)

    def scaffold_filters(self, name: Any) -> list[BaseFilter] | None:
        return None

    def scaffold_form(self) -> type[Form]:
        return _NoForm

    def scaffold_list_form(self, widget: Any = None, validators: Any = None) -> type[Form]:
        return _NoForm

    def get_list(
        self,
        page: int | None,
        sort_field: Any,
        sort_desc: bool,
        search: str | None,
        filters: Any,
        page_size: int | None = None,
    ) -> tuple[int, list[Any]]:
        query = self.list_query(page, sort_field, sort_desc, search, filters, page_size)
        try:
            result = self.read(query)
        except InvalidListQuery as error:
            flash(str(error), "error")
            return 0, []
        return result.total, list(result.items)

    def list_query(
        self,
        page: int | None,
        sort_field: Any,
        sort_desc: bool,
        search: str | None,
        filters: Any,
        page_size: int | None,
    ) -> ListQuery:
        chosen: dict[str, object] = {}
        for index, _name, value in filters or ():
            flt = self._filters[index] if self._filters else None
            if isinstance(flt, SpecFilter):
                chosen[flt.spec.column] = value
        sort = None
        if sort_field:
            direction = SortDirection.DESC if sort_desc else SortDirection.ASC
            sort = Sort(str(sort_field), direction)
        return ListQuery(
            page=(page or 0) + 1,
            page_size=min(page_size or self.page_size, MAX_PAGE_SIZE),
            search=search or "",
            filters=chosen,
            sort=sort,
        )

    def read(self, query: ListQuery) -> Any:
        use_case = getattr(current_app.container, self.use_case)()  # type: ignore[attr-defined]
        return use_case(current_actor(), query)

    def get_one(self, id: Any) -> Any:
        return None

    def create_model(self, form: Any) -> bool:
        return False

    def update_model(self, form: Any, model: Any) -> bool:
        return False

    def delete_model(self, model: Any) -> bool:
        return False


def link(endpoint: str, text: str, **values: Any) -> Markup:
    """A link to another page of the panel (escaped text)."""
    return Markup('<a href="{}">{}</a>').format(url_for(endpoint, **values), text)
