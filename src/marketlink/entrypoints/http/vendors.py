"""Vendor profiles: one per vendor account, the shop customers see."""

# flask-smorest ships no type information: its decorators are untyped.
# mypy: allow-untyped-decorators

from __future__ import annotations

from typing import Any

from dependency_injector.wiring import Provide, inject
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters

from marketlink.application.errors import (
    ConcurrentUpdate,
    Forbidden,
    NotFound,
    VendorProfileExists,
)
from marketlink.application.use_cases.vendors import (
    CreateVendorProfile,
    GetOwnVendorProfile,
    GetVendor,
    ListVendors,
    UpdateOwnVendorProfile,
    VendorChanges,
)
from marketlink.containers import Container
from marketlink.domain.users import VendorProfile
from marketlink.entrypoints.http.auth import authenticated, current_actor
from marketlink.entrypoints.http.blueprint import Blueprint, page_request
from marketlink.entrypoints.http.schemas import (
    MAX_ID,
    VendorDetailOut,
    VendorIn,
    VendorOut,
    VendorPatchIn,
)

blp = Blueprint("vendors", __name__, url_prefix="/api/v1", description="Vendor profiles")


@blp.route("/vendors/me")
class OwnProfile(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="createMyVendorProfile")
    @blp.arguments(VendorIn)
    @blp.response(201, VendorOut)
    @blp.raises(Forbidden, VendorProfileExists, ConcurrentUpdate)
    @inject
    def post(
        self,
        data: dict[str, Any],
        create: CreateVendorProfile = Provide[Container.create_vendor_profile],
    ) -> VendorProfile:
        """Create your vendor profile"""
        return create(current_actor(), data["business_name"], data["address"])

    @authenticated(blp)
    @blp.doc(operationId="getMyVendorProfile")
    @blp.response(200, VendorOut)
    @blp.raises(Forbidden, NotFound)
    @inject
    def get(
        self, get_own: GetOwnVendorProfile = Provide[Container.get_own_vendor_profile]
    ) -> VendorProfile:
        """Your vendor profile"""
        return get_own(current_actor())

    @authenticated(blp)
    @blp.doc(operationId="updateMyVendorProfile")
    @blp.arguments(VendorPatchIn)
    @blp.response(200, VendorOut)
    @blp.raises(Forbidden, NotFound, ConcurrentUpdate)
    @inject
    def patch(
        self,
        data: dict[str, Any],
        update: UpdateOwnVendorProfile = Provide[Container.update_own_vendor_profile],
    ) -> VendorProfile:
        """Change your business name or address"""
        return update(current_actor(), VendorChanges(**data))


@blp.route("/vendors")
class Vendors(MethodView):
    @blp.doc(operationId="listVendors")
    @blp.response(200, VendorOut(many=True))
    @blp.paginate()
    @inject
    def get(
        self,
        pagination_parameters: PaginationParameters,
        list_vendors: ListVendors = Provide[Container.list_vendors],
    ) -> list[VendorProfile]:
        """Active vendors"""
        page = list_vendors(page_request(pagination_parameters))
        pagination_parameters.item_count = page.total
        return list(page.items)


@blp.route(f"/vendors/<int(min=1, max={MAX_ID}):vendor_id>")
class Vendor(MethodView):
    @blp.doc(operationId="getVendor")
    @blp.response(200, VendorDetailOut)
    @blp.raises(NotFound)
    @inject
    def get(self, vendor_id: int, get_vendor: GetVendor = Provide[Container.get_vendor]) -> Any:
        """One active vendor with its active services"""
        found = get_vendor(vendor_id)
        return {**vars(found.vendor), "services": found.services}
