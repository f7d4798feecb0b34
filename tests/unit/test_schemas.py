"""The wire format on its own: pure marshmallow, no app, no database."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import marshmallow as ma
import pytest
from flask import Flask
from flask_smorest.pagination import PaginationParameters
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.exceptions import UnprocessableEntity

from marketlink.domain.catalog import Service, ServiceVariant
from marketlink.domain.money import Money
from marketlink.domain.users import Role, User, is_valid_email
from marketlink.entrypoints.http.blueprint import Blueprint
from marketlink.entrypoints.http.schemas import (
    LoginIn,
    ProfilePatchIn,
    RegisterIn,
    ServiceOut,
    ServicePatchIn,
    ServiceQuery,
    UserOut,
    VariantIn,
    VariantOut,
    VariantPatchIn,
    has_at_most_two_places,
)

REGISTRATION = {
    "email": "rahim@example.com",
    "password": "correct-horse",
    "first_name": "Rahim",
    "last_name": "Uddin",
    "role": "customer",
}
VARIANT = {"name": "Front axle", "price": "1500.00", "estimated_minutes": 60, "stock": 2}


def errors_of(schema: ma.Schema, data: dict) -> dict:
    with pytest.raises(ma.ValidationError) as caught:
        schema.load(data)
    return caught.value.messages  # type: ignore[return-value]


class TestRegistration:
    def test_accepts_a_customer_and_a_vendor(self):
        assert RegisterIn().load(REGISTRATION)["role"] == "customer"
        assert RegisterIn().load({**REGISTRATION, "role": "vendor"})["role"] == "vendor"

    def test_refuses_the_admin_role(self):
        assert "role" in errors_of(RegisterIn(), {**REGISTRATION, "role": "admin"})

    def test_refuses_a_bad_email_and_a_short_password(self):
        errors = errors_of(RegisterIn(), {**REGISTRATION, "email": "nope", "password": "short"})
        assert set(errors) == {"email", "password"}

    def test_refuses_unknown_fields(self):
        errors = errors_of(RegisterIn(), {**REGISTRATION, "is_staff": True})
        assert errors == {"is_staff": ["Unknown field."]}

    def test_names_are_trimmed_and_may_not_be_blank(self):
        assert RegisterIn().load({**REGISTRATION, "first_name": "  Rahim "})["first_name"] == (
            "Rahim"
        )
        assert "first_name" in errors_of(RegisterIn(), {**REGISTRATION, "first_name": "   "})
        assert "last_name" in errors_of(RegisterIn(), {**REGISTRATION, "last_name": "x" * 256})

    def test_login_takes_email_and_password_only(self):
        assert "remember_me" in errors_of(
            LoginIn(), {"email": "a@example.com", "password": "x", "remember_me": True}
        )


class TestProfilePatch:
    @pytest.mark.parametrize(
        ("field", "value"),
        [("role", "admin"), ("email", "new@example.com"), ("is_active", False), ("id", 7)],
    )
    def test_read_only_fields_are_refused(self, field, value):
        assert field in errors_of(ProfilePatchIn(), {field: value})

    def test_names_and_phone_may_change(self):
        data = {"first_name": "Karim", "last_name": "Hasan", "phone_number": "+8801700000000"}
        assert ProfilePatchIn().load(data) == data


class TestVariantValidation:
    def test_accepts_a_valid_variant(self):
        loaded = VariantIn().load(VARIANT)
        assert loaded["price"] == Decimal("1500.00")
        assert loaded["stock"] == 2

    @pytest.mark.parametrize("price", ["10.555", "0.001", 10.555])
    def test_refuses_more_than_two_decimals(self, price):
        assert errors_of(VariantIn(), {**VARIANT, "price": price}) == {
            "price": ['Must be a string of digits with at most 2 decimals, such as "1500.00".']
        }

    @pytest.mark.parametrize("price", ["-1.00", "0", "0.00", "500000.01", "1e9"])
    def test_refuses_prices_out_of_range(self, price):
        assert "price" in errors_of(VariantIn(), {**VARIANT, "price": price})

    @pytest.mark.parametrize("price", ["NaN", "Infinity", "abc", True, None])
    def test_refuses_what_is_not_an_amount(self, price):
        assert "price" in errors_of(VariantIn(), {**VARIANT, "price": price})

    def test_the_largest_price_and_trailing_zeros_are_fine(self):
        assert VariantIn().load({**VARIANT, "price": "500000.00"})["price"] == Decimal("500000")
        assert VariantIn().load({**VARIANT, "price": "12.50"})["price"] == Decimal("12.5")
        # Money in has at most two decimals, trailing zeros included (issue 11).
        assert "price" in errors_of(VariantIn(), {**VARIANT, "price": "12.500"})

    @pytest.mark.parametrize("stock", [-1, 100_001, 1.5, "2", True])
    def test_stock_is_a_strict_integer_in_range(self, stock):
        assert "stock" in errors_of(VariantIn(), {**VARIANT, "stock": stock})

    @pytest.mark.parametrize("minutes", [0, 10_081, 30.5, "60"])
    def test_estimated_minutes_is_an_integer_in_range(self, minutes):
        assert "estimated_minutes" in errors_of(
            VariantIn(), {**VARIANT, "estimated_minutes": minutes}
        )

    def test_all_fields_are_required_on_create(self):
        assert set(errors_of(VariantIn(), {})) == {"name", "price", "estimated_minutes", "stock"}

    def test_patch_takes_any_subset_but_nothing_unknown(self):
        assert VariantPatchIn().load({"stock": 0, "is_active": False}) == {
            "stock": 0,
            "is_active": False,
        }
        assert "reserved" in errors_of(VariantPatchIn(), {"reserved": 0})
        assert "is_active" in errors_of(VariantPatchIn(), {"is_active": "yes"})

    def test_service_patch_refuses_a_vendor_change(self):
        assert "vendor_id" in errors_of(ServicePatchIn(), {"vendor_id": 2})


def test_two_places_check_is_exact():
    assert has_at_most_two_places(Decimal("1"))
    assert has_at_most_two_places(Decimal("1.20000"))
    assert has_at_most_two_places(Decimal("1E+3"))
    assert not has_at_most_two_places(Decimal("1.0000000000000000000000000000001"))
    assert not has_at_most_two_places(Decimal("1.001"))


class TestCatalogQuery:
    def test_parses_every_filter(self):
        loaded = ServiceQuery().load(
            {
                "vendor_id": "3",
                "q": "brake",
                "min_price": "100",
                "max_price": "2000",
                "available": "true",
                "sort": "price",
                "page": "1",
            }
        )
        assert loaded == {
            "vendor_id": 3,
            "q": "brake",
            "min_price": Decimal(100),
            "max_price": Decimal(2000),
            "available": True,
            "sort": "price",
        }

    @pytest.mark.parametrize(
        "query",
        [
            {"sort": "cheapest"},
            {"available": "yes"},
            {"min_price": "-1"},
            {"max_price": "abc"},
            {"vendor_id": "0"},
            {"min_price": "300", "max_price": "200"},
        ],
    )
    def test_refuses_invalid_values(self, query):
        with pytest.raises(ma.ValidationError):
            ServiceQuery().load(query)

    def test_newest_first_by_default(self):
        assert ServiceQuery().load({}) == {"sort": "-created_at"}


def paginated(query: dict[str, str]) -> PaginationParameters:
    """What MarketLink's Blueprint hands a paginated view for this query string."""
    blp = Blueprint("pages", __name__)
    seen = []

    @blp.paginate()
    def view(pagination_parameters):
        seen.append(pagination_parameters)
        pagination_parameters.item_count = 0
        return []

    with Flask(__name__).test_request_context(query_string=query):
        view()
    return seen[0]


class TestPagination:
    def test_defaults(self):
        params = paginated({})
        assert (params.page, params.page_size) == (1, 20)

    def test_page_size_above_the_maximum_is_capped(self):
        assert paginated({"page_size": "1000"}).page_size == 100

    @pytest.mark.parametrize(
        "query", [{"page": "0"}, {"page_size": "0"}, {"page": "x"}, {"page": "1000001"}]
    )
    def test_refuses_invalid_values(self, query):
        with pytest.raises(UnprocessableEntity):
            paginated(query)


class TestOutput:
    def test_user_json_never_has_the_password(self):
        user = User(
            email="a@example.com",
            password_hash="$argon2id$secret",
            first_name="A",
            last_name="B",
            role=Role.VENDOR,
            date_joined=datetime(2026, 11, 28, 13, 15, 36, 123456, tzinfo=UTC),
            id=7,
        )
        dumped = UserOut().dump(user)
        assert dumped == {
            "id": 7,
            "email": "a@example.com",
            "first_name": "A",
            "last_name": "B",
            "phone_number": None,
            "role": "vendor",
            "is_active": True,
            "date_joined": "2026-11-28T13:15:36+00:00",
        }

    def test_money_is_a_string_with_two_decimals(self):
        variant = ServiceVariant(
            service_id=1, name="Front", price=Money.of("1500"), estimated_minutes=60, stock=3
        )
        variant.id, variant.reserved = 9, 1
        assert VariantOut().dump(variant) == {
            "id": 9,
            "service_id": 1,
            "name": "Front",
            "price": "1500.00",
            "estimated_minutes": 60,
            "stock": 3,
            "reserved": 1,
            "available": 2,
            "is_active": True,
        }

    def test_timestamps_keep_their_offset_and_naive_ones_are_utc(self):
        dhaka = timezone(timedelta(hours=6))
        service = Service(1, "Brakes", datetime(2026, 1, 2, 3, 4, 5, tzinfo=dhaka), id=1)
        assert ServiceOut().dump(service)["created_at"] == "2026-01-02T03:04:05+06:00"
        service.created_at = datetime(2026, 1, 2, 3, 4, 5)
        assert ServiceOut().dump(service)["created_at"] == "2026-01-02T03:04:05+00:00"
        assert ServiceOut().dump(service)["variants"] == []


class TestTheEmailRule:
    """Registration checks an email with the domain's rule (create-admin uses it too), which
    accepts exactly what marshmallow's Email validator accepted."""

    @staticmethod
    def _marshmallow_accepts(email: str) -> bool:
        try:
            ma.validate.Email()(email)
        except ma.ValidationError:
            return False
        return True

    @settings(max_examples=400, deadline=None)
    @given(
        st.text(alphabet='ab.-_+@"\\ [1]9äöé\u00a0\x01', max_size=24)
        | st.from_regex(r"[a-z.+\-]{0,6}@[a-zä0-9\-.]{0,12}", fullmatch=True)
    )
    def test_it_agrees_with_marshmallows_validator(self, email):
        assert is_valid_email(email) == self._marshmallow_accepts(email)

    def test_registration_refuses_what_the_domain_refuses(self):
        for email in ("not-an-email", "a@b", "x@example.com."):
            assert set(errors_of(RegisterIn(), {**REGISTRATION, "email": email})) == {"email"}
        assert RegisterIn().load({**REGISTRATION, "email": "a@localhost"})["email"] == "a@localhost"
