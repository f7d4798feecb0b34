"""The catalog: vendors publish services and variants; anyone may browse what is active."""

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
    VendorProfileRequired,
)
from marketlink.application.ports import CatalogQuery, CatalogSort
from marketlink.application.use_cases.catalog import (
    AddVariant,
    DeactivateService,
    DeactivateVariant,
    GetService,
    GetVariant,
    NewVariant,
    PublishService,
    SearchCatalog,
    ServiceChanges,
    UpdateService,
    UpdateVariant,
    VariantChanges,
)
from marketlink.containers import Container
from marketlink.domain.catalog import Service, ServiceVariant
from marketlink.domain.errors import StockBelowReserved
from marketlink.domain.money import Money
from marketlink.entrypoints.http.auth import authenticated, current_actor
from marketlink.entrypoints.http.blueprint import Blueprint, page_request
from marketlink.entrypoints.http.schemas import (
    MAX_ID,
    ServiceIn,
    ServiceOut,
    ServicePatchIn,
    ServiceQuery,
    VariantIn,
    VariantOut,
    VariantPatchIn,
)

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Services and variants")

ID = f"int(min=1, max={MAX_ID})"


@blp.route("/services")
class Services(MethodView):
    @blp.doc(operationId="listServices")
    @blp.arguments(ServiceQuery, location="query")
    @blp.response(200, ServiceOut(many=True))
    @blp.paginate()
    @inject
    def get(
        self,
        query: dict[str, Any],
        pagination_parameters: PaginationParameters,
        search: SearchCatalog = Provide[Container.search_catalog],
    ) -> list[Service]:
        """Active services of active vendors, each with its active variants"""
        page = search(
            CatalogQuery(
                vendor_id=query.get("vendor_id"),
                text=query.get("q") or None,
                min_price=query.get("min_price"),
                max_price=query.get("max_price"),
                available_only=query.get("available", False),
                sort=CatalogSort(query["sort"]),
                page=page_request(pagination_parameters),
            )
        )
        pagination_parameters.item_count = page.total
        return list(page.items)

    @authenticated(blp)
    @blp.doc(operationId="publishService")
    @blp.arguments(ServiceIn)
    @blp.response(201, ServiceOut)
    @blp.raises(Forbidden, VendorProfileRequired, ConcurrentUpdate)
    @inject
    def post(
        self,
        data: dict[str, Any],
        publish: PublishService = Provide[Container.publish_service],
    ) -> Service:
        """Publish a service (add its variants next)"""
        return publish(current_actor(), data["name"], data["description"])


@blp.route(f"/services/<{ID}:service_id>")
class OneService(MethodView):
    @blp.doc(operationId="getService")
    @blp.response(200, ServiceOut)
    @blp.raises(NotFound)
    @inject
    def get(
        self, service_id: int, get_service: GetService = Provide[Container.get_service]
    ) -> Service:
        """One active service with its active variants"""
        return get_service(service_id)

    @authenticated(blp)
    @blp.doc(operationId="updateService")
    @blp.arguments(ServicePatchIn)
    @blp.response(200, ServiceOut)
    @blp.raises(Forbidden, NotFound, ConcurrentUpdate)
    @inject
    def patch(
        self,
        data: dict[str, Any],
        service_id: int,
        update: UpdateService = Provide[Container.update_service],
    ) -> Service:
        """Change your service (owning vendor or admin)"""
        return update(current_actor(), service_id, ServiceChanges(**data))

    @authenticated(blp)
    @blp.doc(operationId="deactivateService")
    @blp.response(204)
    @blp.raises(Forbidden, NotFound, ConcurrentUpdate)
    @inject
    def delete(
        self,
        service_id: int,
        deactivate: DeactivateService = Provide[Container.deactivate_service],
    ) -> None:
        """Withdraw your service from the catalog (a soft delete)"""
        deactivate(current_actor(), service_id)


@blp.route(f"/services/<{ID}:service_id>/variants")
class Variants(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="addVariant")
    @blp.arguments(VariantIn)
    @blp.response(201, VariantOut)
    @blp.raises(Forbidden, NotFound, ConcurrentUpdate)
    @inject
    def post(
        self,
        data: dict[str, Any],
        service_id: int,
        add: AddVariant = Provide[Container.add_variant],
    ) -> ServiceVariant:
        """Add a bookable variant to your service"""
        new = NewVariant(
            name=data["name"],
            price=Money(data["price"]),
            estimated_minutes=data["estimated_minutes"],
            stock=data["stock"],
        )
        return add(current_actor(), service_id, new)


@blp.route(f"/variants/<{ID}:variant_id>")
class OneVariant(MethodView):
    @blp.doc(operationId="getVariant")
    @blp.response(200, VariantOut)
    @blp.raises(NotFound)
    @inject
    def get(
        self, variant_id: int, get_variant: GetVariant = Provide[Container.get_variant]
    ) -> ServiceVariant:
        """One active variant"""
        return get_variant(variant_id)

    @authenticated(blp)
    @blp.doc(operationId="updateVariant")
    @blp.arguments(VariantPatchIn)
    @blp.response(200, VariantOut)
    @blp.raises(Forbidden, NotFound, StockBelowReserved, ConcurrentUpdate)
    @inject
    def patch(
        self,
        data: dict[str, Any],
        variant_id: int,
        update: UpdateVariant = Provide[Container.update_variant],
    ) -> ServiceVariant:
        """Change your variant: price, stock, name, estimated_minutes, is_active"""
        if "price" in data:
            data["price"] = Money(data["price"])
        return update(current_actor(), variant_id, VariantChanges(**data))

    @authenticated(blp)
    @blp.doc(operationId="deactivateVariant")
    @blp.response(204)
    @blp.raises(Forbidden, NotFound, ConcurrentUpdate)
    @inject
    def delete(
        self,
        variant_id: int,
        deactivate: DeactivateVariant = Provide[Container.deactivate_variant],
    ) -> None:
        """Withdraw your variant (a soft delete)"""
        deactivate(current_actor(), variant_id)
