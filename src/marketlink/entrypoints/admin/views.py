"""The panel's lists with their actions: each action is the use case the API uses, with
the signed-in admin as the actor (the use case decides, and writes the audit row).

A bulk action applies to each selected row on its own, through the same use case, and
says how many succeeded and, for the others, why each was refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action

from marketlink.application import admin_queries as q
from marketlink.application.actors import Actor
from marketlink.application.ports import PageRequest
from marketlink.domain.audit import AuditEntry
from marketlink.domain.errors import DomainError
from marketlink.entrypoints.admin.auth import current_actor
from marketlink.entrypoints.admin.lists import ListView

MAX_REASONS_SHOWN = 10


def _use_case(name: str) -> Any:
    return getattr(current_app.container, name)()  # type: ignore[attr-defined]


def apply_each(
    ids: Iterable[str], verb: str, do: Callable[[Actor, str], object], *, noun: str
) -> None:
    """Runs `do` for each id on its own; flashes how many succeeded and why others did not."""
    actor = current_actor()
    done = 0
    refused: list[str] = []
    for raw in ids:
        try:
            do(actor, raw)
        except (DomainError, ValueError) as error:
            message = error.message if isinstance(error, DomainError) else "Not a valid id."
            refused.append(f"{noun} {raw}: {message}")
        else:
            done += 1
    total = done + len(refused)
    if done:
        flash(f"{verb}: {done} of {total} {noun}(s) done.", "success")
    if refused:
        shown = "; ".join(refused[:MAX_REASONS_SHOWN])
        more = len(refused) - MAX_REASONS_SHOWN
        extra = f" (and {more} more)" if more > 0 else ""
        flash(f"{verb}: {len(refused)} of {total} refused. {shown}{extra}", "error")


class UserList(ListView):
    @action("deactivate", "Deactivate", "Deactivate the selected accounts?")
    def deactivate(self, ids: list[str]) -> None:
        set_active = _use_case("set_user_active")
        apply_each(ids, "Deactivate", lambda a, i: set_active(a, int(i), False), noun="user")

    @action("reactivate", "Reactivate", "Reactivate the selected accounts?")
    def reactivate(self, ids: list[str]) -> None:
        set_active = _use_case("set_user_active")
        apply_each(ids, "Reactivate", lambda a, i: set_active(a, int(i), True), noun="user")


class VendorList(ListView):
    @action("deactivate", "Deactivate", "Deactivate the selected shops?")
    def deactivate(self, ids: list[str]) -> None:
        set_active = _use_case("set_vendor_active")
        apply_each(ids, "Deactivate", lambda a, i: set_active(a, int(i), False), noun="vendor")

    @action("reactivate", "Reactivate", "Reactivate the selected shops?")
    def reactivate(self, ids: list[str]) -> None:
        set_active = _use_case("set_vendor_active")
        apply_each(ids, "Reactivate", lambda a, i: set_active(a, int(i), True), noun="vendor")

    @action("approve", "Approve", "Approve the selected shops?")
    def approve(self, ids: list[str]) -> None:
        approve = _use_case("approve_vendor")
        apply_each(ids, "Approve", lambda a, i: approve(a, int(i)), noun="vendor")

    def is_action_allowed(self, name: str) -> bool:
        # Approval comes with VENDOR_APPROVAL (the audited backend's use case).
        if name == "approve" and not hasattr(current_app.container, "approve_vendor"):  # type: ignore[attr-defined]
            return False
        return super().is_action_allowed(name)


ADMIN_REASON = "by an admin in the panel"


class OrderList(ListView):
    can_view_details = True
    details_template = "marketlink_admin/order_detail.html"
    column_formatters = {"id": lambda view, _ctx, row, _name: view.detail_link(row)}
    column_formatters_export: dict[str, Any] = {}  # the CSV has the plain id, not the link

    def detail_link(self, row: q.OrderRow) -> Any:
        from markupsafe import Markup

        url = url_for(".details_view", id=str(row.id))
        return Markup('<a href="{}">{}</a>').format(url, str(row.id))

    @action("cancel", "Cancel", "Cancel the selected orders? A paid one gets its refund requested.")
    def cancel(self, ids: list[str]) -> None:
        cancel = _use_case("cancel_order")
        apply_each(ids, "Cancel", lambda a, i: cancel(a, uuid.UUID(i), ADMIN_REASON), noun="order")

    @action("fail", "Fail", "Mark the selected orders in progress as failed?")
    def fail(self, ids: list[str]) -> None:
        fail = _use_case("fail_work")
        apply_each(ids, "Fail", lambda a, i: fail(a, uuid.UUID(i), ADMIN_REASON), noun="order")

    @expose("/details/")
    def details_view(self) -> Any:
        raw = request.args.get("id", "")
        try:
            order_id = uuid.UUID(raw)
        except ValueError:
            abort(404)
        try:
            detail = _use_case("admin_order_detail")(current_actor(), order_id)
        except DomainError as error:
            flash(error.message, "error")
            return redirect(url_for(".index_view"))
        actions, confirmation = self.get_actions_list()
        return self.render(
            self.details_template,
            detail=detail,
            actions=actions,
            actions_confirmation=confirmation,
            action_form=self.action_form(),
            return_url=request.full_path,
            payments_url=url_for("panel_payments.index_view", flt0_order_id_equals=order_id),
        )


class PaymentList(ListView):
    @action("accept", "Accept", "Accept the selected payments held for review?")
    def accept(self, ids: list[str]) -> None:
        accept = _use_case("accept_payment")
        apply_each(ids, "Accept", lambda a, i: accept(a, i), noun="payment")

    @action("refund", "Refund / retry refund", "Refund the selected flagged payments?")
    def refund(self, ids: list[str]) -> None:
        refund = _use_case("refund_payment")
        apply_each(ids, "Refund", lambda a, i: refund(a, i), noun="payment")


# The audit trail is read page by page, newest first (no search, filter or sort: the
# trail's use case offers none); this spec only names its columns for the list.
AUDIT = q.ListSpec(
    name="audit",
    id_column="id",
    columns=("id", "at", "actor_id", "action", "object_kind", "object_id", "outcome", "detail"),
    searchable=(),
    filters=(),
    sortable=(),
    default_sort=q.Sort("at", q.SortDirection.DESC),
)


class AuditList(ListView):
    """The audit trail: nobody edits it, here or anywhere (no action, no form)."""

    def read(self, query: q.ListQuery) -> Any:
        page = PageRequest(page=query.page, page_size=query.page_size)
        return _use_case(self.use_case)(current_actor(), page)


# (view class, read use case, spec, row type, menu name, endpoint)
LISTS: tuple[tuple[type[ListView], str, q.ListSpec, type, str, str], ...] = (
    (UserList, "admin_list_users", q.USERS, q.UserRow, "Users", "users"),
    (VendorList, "admin_list_vendors", q.VENDORS, q.VendorRow, "Vendors", "vendors"),
    (ListView, "admin_list_services", q.SERVICES, q.ServiceRow, "Services", "services"),
    (ListView, "admin_list_variants", q.VARIANTS, q.VariantRow, "Variants", "variants"),
    (OrderList, "admin_list_orders", q.ORDERS, q.OrderRow, "Orders", "orders"),
    (PaymentList, "admin_list_payments", q.PAYMENTS, q.PaymentRow, "Payments", "payments"),
    (ListView, "admin_list_notices", q.NOTICES, q.NoticeRow, "Gateway notices", "notices"),
    (AuditList, "list_audit_entries", AUDIT, AuditEntry, "Audit trail", "audit"),
)


def list_views(container: Any) -> list[ListView]:
    """One view per list whose read use case the container has."""
    return [
        view(use_case, spec, row, name=name, endpoint=f"panel_{endpoint}", url=endpoint)
        for view, use_case, spec, row, name, endpoint in LISTS
        if hasattr(container, use_case)
    ]
