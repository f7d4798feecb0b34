"""The admin API: accounts and shops switched on and off, shops approved, payments held
or flagged, and the audit trail every one of these actions writes.

Admins only: every use case behind these routes refuses any other role (403).
"""

# flask-smorest ships no type information: its decorators are untyped.
# mypy: allow-untyped-decorators

from __future__ import annotations

from typing import Any

from dependency_injector.wiring import Provide, inject
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters

from marketlink.application.errors import (
    CannotDeactivateSelf,
    ConcurrentUpdate,
    Forbidden,
    NotFound,
    NotPayable,
)
from marketlink.application.use_cases.admin import ListUsers
from marketlink.application.use_cases.audit import Audited, ListAuditEntries
from marketlink.application.use_cases.payments import ListFlaggedPayments
from marketlink.containers import Container
from marketlink.domain.audit import AuditEntry
from marketlink.domain.payments import Payment, PaymentFlag
from marketlink.domain.users import User, VendorProfile
from marketlink.entrypoints.http.auth import authenticated, current_actor
from marketlink.entrypoints.http.blueprint import Blueprint, page_request
from marketlink.entrypoints.http.payment_schemas import (
    ActivePatchIn,
    FlaggedPaymentsQuery,
    PaymentOut,
)
from marketlink.entrypoints.http.schemas import MAX_ID, AuditEntryOut, UserOut, VendorOut

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin", description="Administration")

ID = f"int(min=1, max={MAX_ID})"
TRAN_ID = "string(maxlength=30)"


# Accounts and shops -------------------------------------------------------------------------


@blp.route("/users")
class Users(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="listUsers")
    @blp.response(200, UserOut(many=True))
    @blp.raises(Forbidden)
    @blp.paginate()
    @inject
    def get(
        self,
        pagination_parameters: PaginationParameters,
        list_users: ListUsers = Provide[Container.list_users],
    ) -> list[User]:
        """Every account, active or not, oldest first"""
        page = list_users(current_actor(), page_request(pagination_parameters))
        pagination_parameters.item_count = page.total
        return list(page.items)


@blp.route(f"/users/<{ID}:user_id>")
class OneUser(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="setUserActive")
    @blp.arguments(ActivePatchIn)
    @blp.response(200, UserOut)
    @blp.raises(Forbidden, NotFound, CannotDeactivateSelf, ConcurrentUpdate)
    @inject
    def patch(
        self,
        data: dict[str, Any],
        user_id: int,
        set_active: Audited[[int, bool], User] = Provide[Container.set_user_active],
    ) -> User:
        """Switch an account on or off (an inactive user cannot sign in)"""
        return set_active(current_actor(), user_id, data["is_active"])


@blp.route(f"/vendors/<{ID}:vendor_id>")
class OneVendor(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="setVendorActive")
    @blp.arguments(ActivePatchIn)
    @blp.response(200, VendorOut)
    @blp.raises(Forbidden, NotFound, ConcurrentUpdate)
    @inject
    def patch(
        self,
        data: dict[str, Any],
        vendor_id: int,
        set_active: Audited[[int, bool], VendorProfile] = Provide[Container.set_vendor_active],
    ) -> VendorProfile:
        """Switch a shop on or off (an inactive shop leaves the catalog, takes no bookings)"""
        return set_active(current_actor(), vendor_id, data["is_active"])


@blp.route(f"/vendors/<{ID}:vendor_id>/approve")
class ApproveVendor(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="approveVendor")
    @blp.response(200, VendorOut)
    @blp.raises(Forbidden, NotFound, ConcurrentUpdate)
    @inject
    def post(
        self,
        vendor_id: int,
        approve: Audited[[int], VendorProfile] = Provide[Container.approve_vendor],
    ) -> VendorProfile:
        """Approve a shop waiting for approval (VENDOR_APPROVAL=manual): it enters the catalog"""
        return approve(current_actor(), vendor_id)


# Payments -----------------------------------------------------------------------------------


@blp.route("/payments")
class FlaggedPayments(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="listFlaggedPayments")
    @blp.arguments(FlaggedPaymentsQuery, location="query")
    @blp.response(200, PaymentOut(many=True))
    @blp.raises(Forbidden)
    @blp.paginate()
    @inject
    def get(
        self,
        query: dict[str, Any],
        pagination_parameters: PaginationParameters,
        list_flagged: ListFlaggedPayments = Provide[Container.list_flagged_payments],
    ) -> list[Payment]:
        """Payments flagged for a refund or held for review, newest first"""
        flag = PaymentFlag(query["flag"]) if "flag" in query else None
        page = list_flagged(current_actor(), flag, page_request(pagination_parameters))
        pagination_parameters.item_count = page.total
        return list(page.items)


@blp.route(f"/payments/<{TRAN_ID}:tran_id>/accept")
class AcceptHeldPayment(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="acceptPayment")
    @blp.response(200, PaymentOut)
    @blp.raises(Forbidden, NotFound, NotPayable, ConcurrentUpdate)
    @inject
    def post(
        self,
        tran_id: str,
        accept: Audited[[str], Payment] = Provide[Container.accept_payment],
    ) -> Payment:
        """Accept a payment held for review: its order is paid (or refunded if it ended)"""
        return accept(current_actor(), tran_id)


@blp.route(f"/payments/<{TRAN_ID}:tran_id>/refund")
class RefundFlaggedPayment(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="refundPayment")
    @blp.response(200, PaymentOut)
    @blp.raises(Forbidden, NotFound, NotPayable, ConcurrentUpdate)
    @inject
    def post(
        self,
        tran_id: str,
        refund: Audited[[str], Payment] = Provide[Container.refund_payment],
    ) -> Payment:
        """Refund a flagged payment; a held order is cancelled and its slot released"""
        return refund(current_actor(), tran_id)


# The audit trail ----------------------------------------------------------------------------


@blp.route("/audit")
class AuditTrail(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="listAuditEntries")
    @blp.response(200, AuditEntryOut(many=True))
    @blp.raises(Forbidden)
    @blp.paginate()
    @inject
    def get(
        self,
        pagination_parameters: PaginationParameters,
        list_entries: ListAuditEntries = Provide[Container.list_audit_entries],
    ) -> list[AuditEntry]:
        """Every admin action and its outcome, newest first"""
        page = list_entries(current_actor(), page_request(pagination_parameters))
        pagination_parameters.item_count = page.total
        return list(page.items)
