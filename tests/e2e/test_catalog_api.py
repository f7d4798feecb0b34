"""Vendors and the catalog over HTTP: who may change what, what anyone may see."""

import json

import pytest

from marketlink.application.actors import Actor
from marketlink.application.use_cases.accounts import RegisterUser
from marketlink.domain.users import Role
from tests.e2e.conftest import PASSWORD, assert_error, bearer

pytestmark = pytest.mark.e2e

SEARCH = (
    "/api/v1/services?q=brake&min_price=100&max_price=2000&available=true"
    "&sort=price&page=1&page_size=5"
)


def deactivate_vendor(container, user_id: int) -> None:
    """What an admin will do through the admin API (not part of this slice)."""
    with container.uow()() as uow:
        vendor = uow.vendors.get_by_user(user_id)
        vendor.is_active = False
        uow.vendors.save(vendor)
        uow.commit()


def admin_headers(container, api) -> dict[str, str]:
    container.register()(
        RegisterUser("root@example.com", PASSWORD, "Ad", "Min", Role.ADMIN), allow_admin=True
    )
    return bearer(api.login("root@example.com")["access_token"])


class TestVendorProfile:
    def test_a_customer_may_not_have_one(self, client, api):
        customer = api.account("customer")
        response = client.post(
            "/api/v1/vendors/me",
            headers=customer.headers,
            json={"business_name": "X", "address": "Y"},
        )
        assert_error(response, 403, "forbidden")

    def test_one_profile_per_vendor(self, client, api):
        vendor = api.account("vendor")
        body = {"business_name": "Rahim Motors", "address": "Mirpur 10, Dhaka"}
        created = client.post("/api/v1/vendors/me", headers=vendor.headers, json=body)
        assert created.status_code == 201
        assert set(created.json) == {
            "id",
            "user_id",
            "business_name",
            "address",
            "is_active",
            "is_approved",  # issue 10: the vendor JSON gained it
            "created_at",
        }
        assert created.json["user_id"] == vendor.id
        again = client.post("/api/v1/vendors/me", headers=vendor.headers, json=body)
        assert_error(again, 409, "vendor_profile_exists")

    def test_read_and_change_ones_own_profile(self, client, api):
        vendor = api.account("vendor")
        assert_error(client.get("/api/v1/vendors/me", headers=vendor.headers), 404)
        client.post(
            "/api/v1/vendors/me",
            headers=vendor.headers,
            json={"business_name": "A", "address": "B"},
        )
        changed = client.patch(
            "/api/v1/vendors/me", headers=vendor.headers, json={"address": "Gulshan 2"}
        )
        assert changed.status_code == 200
        assert changed.json["address"] == "Gulshan 2"
        assert client.get("/api/v1/vendors/me", headers=vendor.headers).json == changed.json
        assert_error(
            client.patch("/api/v1/vendors/me", headers=vendor.headers, json={"is_active": False}),
            422,
        )

    def test_public_listing_shows_active_vendors_with_their_active_services(
        self, client, api, container
    ):
        shop = api.vendor("Open shop")
        closed = api.vendor("Closed shop")
        live = api.service(shop, "Brake repair")
        gone = api.service(shop, "Old service")
        client.delete(f"/api/v1/services/{gone['id']}", headers=shop.headers)
        deactivate_vendor(container, closed.id)

        listing = client.get("/api/v1/vendors?page=1&page_size=10")
        assert listing.status_code == 200
        assert [v["business_name"] for v in listing.json] == ["Open shop"]
        assert json.loads(listing.headers["X-Pagination"])["total"] == 1

        shop_id = listing.json[0]["id"]
        page = client.get(f"/api/v1/vendors/{shop_id}")
        assert page.status_code == 200
        assert page.json["business_name"] == "Open shop"
        assert [s["id"] for s in page.json["services"]] == [live["id"]]
        closed_id = client.get("/api/v1/vendors/me", headers=closed.headers).json["id"]
        assert_error(client.get(f"/api/v1/vendors/{closed_id}"), 404)


class TestPublishing:
    def test_a_vendor_publishes_a_service_and_its_variants(self, client, api):
        vendor = api.vendor()
        service = api.service(vendor, "Brake pad replacement", description="Pads and discs")
        assert set(service) == {
            "id",
            "vendor_id",
            "name",
            "description",
            "is_active",
            "created_at",
            "variants",
        }
        assert service["variants"] == []
        variant = api.variant(vendor, service["id"], price="1500.5", stock=2)
        assert variant == {
            "id": variant["id"],
            "service_id": service["id"],
            "name": "Front",
            "price": "1500.50",
            "estimated_minutes": 60,
            "stock": 2,
            "reserved": 0,
            "available": 2,
            "is_active": True,
        }
        shown = client.get(f"/api/v1/services/{service['id']}").json
        assert shown["variants"] == [variant]
        assert client.get(f"/api/v1/variants/{variant['id']}").json == variant

    def test_only_vendors_with_a_profile_publish(self, client, api):
        body = {"name": "Brakes"}
        assert_error(client.post("/api/v1/services", json=body), 401)
        customer = api.account("customer")
        assert_error(client.post("/api/v1/services", headers=customer.headers, json=body), 403)
        no_profile = api.account("vendor")
        response = client.post("/api/v1/services", headers=no_profile.headers, json=body)
        assert_error(response, 403, "vendor_profile_required")

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"price": "-10.00"}, "price"),
            ({"price": "0"}, "price"),
            ({"price": "10.555"}, "price"),
            ({"price": "500000.01"}, "price"),
            ({"stock": -1}, "stock"),
            ({"stock": 1.5}, "stock"),
            ({"stock": "3"}, "stock"),
            ({"estimated_minutes": 0}, "estimated_minutes"),
            ({"name": ""}, "name"),
            ({"reserved": 0}, "reserved"),
        ],
    )
    def test_invalid_variants_answer_422_with_field_errors(self, client, api, change, field):
        vendor = api.vendor()
        service = api.service(vendor)
        body = {"name": "Front", "price": "100.00", "estimated_minutes": 30, "stock": 1, **change}
        response = client.post(
            f"/api/v1/services/{service['id']}/variants", headers=vendor.headers, json=body
        )
        errors = assert_error(response, 422)["errors"]["json"]
        assert set(errors) == {field}

    def test_unknown_service_fields_are_refused(self, client, api):
        vendor = api.vendor()
        response = client.post(
            "/api/v1/services", headers=vendor.headers, json={"name": "X", "vendor_id": 99}
        )
        assert assert_error(response, 422)["errors"]["json"] == {"vendor_id": ["Unknown field."]}


class TestOwnership:
    @pytest.fixture
    def setup(self, api):
        owner = api.vendor("Owner")
        service = api.service(owner, "Brakes")
        variant = api.variant(owner, service["id"])
        return owner, service, variant

    def test_another_vendor_gets_404_for_the_service_and_the_variant(self, client, api, setup):
        _owner, service, variant = setup
        other = api.vendor("Competitor")
        service_url = f"/api/v1/services/{service['id']}"
        variant_url = f"/api/v1/variants/{variant['id']}"
        assert_error(client.patch(service_url, headers=other.headers, json={"name": "X"}), 404)
        assert_error(client.delete(service_url, headers=other.headers), 404)
        assert_error(client.patch(variant_url, headers=other.headers, json={"stock": 0}), 404)
        assert_error(client.delete(variant_url, headers=other.headers), 404)
        assert_error(
            client.post(
                f"{service_url}/variants",
                headers=other.headers,
                json={"name": "X", "price": "1.00", "estimated_minutes": 1, "stock": 1},
            ),
            404,
        )
        # Nothing changed.
        assert client.get(service_url).json["name"] == "Brakes"
        assert client.get(variant_url).json == variant

    def test_a_customer_is_forbidden(self, client, api, setup):
        _, service, variant = setup
        customer = api.account("customer")
        response = client.patch(
            f"/api/v1/variants/{variant['id']}", headers=customer.headers, json={"stock": 5}
        )
        assert_error(response, 403)
        assert_error(
            client.delete(f"/api/v1/services/{service['id']}", headers=customer.headers), 403
        )

    def test_the_owner_changes_and_withdraws(self, client, setup):
        owner, service, variant = setup
        variant_url = f"/api/v1/variants/{variant['id']}"
        changed = client.patch(
            variant_url, headers=owner.headers, json={"price": "1750.00", "stock": 5}
        )
        assert changed.status_code == 200
        assert (changed.json["price"], changed.json["stock"], changed.json["available"]) == (
            "1750.00",
            5,
            5,
        )
        renamed = client.patch(
            f"/api/v1/services/{service['id']}",
            headers=owner.headers,
            json={"name": "Brake service"},
        )
        assert renamed.json["name"] == "Brake service"

        deleted = client.delete(variant_url, headers=owner.headers)
        assert deleted.status_code == 204
        assert deleted.get_data() == b""
        assert_error(client.get(variant_url), 404)
        assert (
            client.delete(f"/api/v1/services/{service['id']}", headers=owner.headers).status_code
            == 204
        )
        assert_error(client.get(f"/api/v1/services/{service['id']}"), 404)

    def test_an_admin_may_change_any_service(self, client, api, container, setup):
        _, service, _ = setup
        headers = admin_headers(container, api)
        response = client.patch(
            f"/api/v1/services/{service['id']}", headers=headers, json={"description": "Checked"}
        )
        assert response.status_code == 200
        assert response.json["description"] == "Checked"

    def test_stock_cannot_go_below_reserved_slots(self, client, container, setup):
        owner, _, variant = setup
        with container.uow()() as uow:
            held = uow.variants.get_for_update(variant["id"])
            held.reserve()
            uow.variants.save(held)
            uow.commit()
        url = f"/api/v1/variants/{variant['id']}"
        assert client.get(url).json["reserved"] == 1
        assert client.get(url).json["available"] == 1
        response = client.patch(url, headers=owner.headers, json={"stock": 0})
        assert_error(response, 409, "stock_below_reserved")
        assert client.get(url).json["stock"] == 2


class TestSearch:
    def test_filters_sorts_and_paginates_active_services_of_active_vendors(
        self, client, api, container
    ):
        shop = api.vendor("Open shop")
        pads = api.service(shop, "Brake pad replacement")
        api.variant(shop, pads["id"], price="1500.00", stock=2)
        flush = api.service(shop, "Brake fluid flush")
        api.variant(shop, flush["id"], price="150.00", stock=1)
        alignment = api.service(shop, "Wheel alignment", description="Includes a brake check")
        api.variant(shop, alignment["id"], price="1200.00", stock=1)

        full = api.service(shop, "Brake disc skimming")  # no free slot
        api.variant(shop, full["id"], price="800.00", stock=0)
        dear = api.service(shop, "Premium brake overhaul")  # too expensive
        api.variant(shop, dear["id"], price="2500.00", stock=3)
        oil = api.service(shop, "Oil change")  # not about brakes
        api.variant(shop, oil["id"], price="500.00", stock=3)
        withdrawn = api.service(shop, "Brake cable")  # deactivated service
        api.variant(shop, withdrawn["id"], price="1000.00", stock=3)
        client.delete(f"/api/v1/services/{withdrawn['id']}", headers=shop.headers)
        hidden = api.service(shop, "Brake light")  # its only variant is deactivated
        hidden_variant = api.variant(shop, hidden["id"], price="300.00", stock=3)
        client.delete(f"/api/v1/variants/{hidden_variant['id']}", headers=shop.headers)

        closed = api.vendor("Closed shop")
        shoes = api.service(closed, "Brake shoes")
        api.variant(closed, shoes["id"], price="1000.00", stock=3)
        deactivate_vendor(container, closed.id)

        response = client.get(SEARCH)  # anonymous
        assert response.status_code == 200
        assert [s["name"] for s in response.json] == [
            "Brake fluid flush",
            "Wheel alignment",
            "Brake pad replacement",
        ]
        pagination = json.loads(response.headers["X-Pagination"])
        assert pagination["total"] == 3
        assert pagination["page"] == 1
        assert pagination["total_pages"] == 1
        for service in response.json:
            assert all(v["is_active"] for v in service["variants"])

        descending = client.get(SEARCH.replace("sort=price", "sort=-price"))
        assert [s["name"] for s in descending.json] == [
            "Brake pad replacement",
            "Wheel alignment",
            "Brake fluid flush",
        ]
        second_page = client.get(SEARCH.replace("page=1&page_size=5", "page=2&page_size=2"))
        assert [s["name"] for s in second_page.json] == ["Brake pad replacement"]
        assert json.loads(second_page.headers["X-Pagination"])["total_pages"] == 2

    def test_page_size_above_100_is_capped(self, client, api, container):
        shop = api.vendor()
        actor = Actor(shop.id, Role.VENDOR)
        publish = container.publish_service()
        for n in range(101):
            publish(actor, f"Service {n}")
        vendor_id = client.get("/api/v1/vendors/me", headers=shop.headers).json["id"]

        response = client.get(f"/api/v1/services?vendor_id={vendor_id}&page_size=1000")
        assert response.status_code == 200
        assert len(response.json) == 100
        pagination = json.loads(response.headers["X-Pagination"])
        assert (pagination["total"], pagination["total_pages"]) == (101, 2)

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ("sort=cheapest", "sort"),
            ("available=yes", "available"),
            ("min_price=-1", "min_price"),
            ("max_price=abc", "max_price"),
            ("min_price=10.555", "min_price"),
            ("vendor_id=abc", "vendor_id"),
            ("page=0", "page"),
            ("page_size=0", "page_size"),
            ("page_size=many", "page_size"),
        ],
    )
    def test_invalid_query_values_answer_422(self, client, query, field):
        body = assert_error(client.get(f"/api/v1/services?{query}"), 422)
        assert field in body["errors"]["query"]

    def test_unknown_ids_are_404(self, client):
        assert_error(client.get("/api/v1/services/999999"), 404, "not_found")
        assert_error(client.get("/api/v1/variants/999999"), 404, "not_found")
        assert_error(client.get("/api/v1/vendors/999999"), 404, "not_found")
        assert_error(client.get(f"/api/v1/services/{10**30}"), 404)
