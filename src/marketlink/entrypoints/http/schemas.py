"""What goes over the wire: marshmallow schemas for request bodies, queries and responses.

JSON bodies refuse unknown fields (422); query strings ignore the pagination and any
other parameters they do not declare. Money travels as a string with two decimals.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from marketlink.application.ports import CatalogSort
from marketlink.domain.catalog import MAX_ESTIMATED_MINUTES, MAX_PRICE, MAX_STOCK
from marketlink.domain.users import (
    MAX_EMAIL_LENGTH,
    MIN_PASSWORD_LENGTH,
    Role,
    is_valid_email,
)

NAME_LENGTH = validate.Length(min=1, max=255)
# Ids are int4 columns: a larger id names nothing, and the database would refuse to compare it.
MAX_ID = 2**31 - 1
MAX_PAGE = 1_000_000
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes anything; this only bounds the work per request


MONEY_DOC = {"type": "string", "format": "decimal", "example": "1500.00", "description": "BDT"}

# A price in a query string: a decimal (never a float, as everywhere money goes).
PRICE_FILTER_DOC = {"type": "string", "format": "decimal", "example": "1000.00"}

# The demo customer that `marketlink seed-demo` creates (cli.DEMO_CUSTOMER; a test keeps
# them equal): Swagger's login example signs in as them.
DEMO_CUSTOMER_EMAIL = "demo-customer@example.com"
DEMO_CUSTOMER_PASSWORD = "demo-customer-password"  # noqa: S105 - published demo data


def example(value: Any, **metadata: Any) -> dict[str, Any]:
    """A field's OpenAPI metadata with an example, which Swagger puts in its request body."""
    return {"example": value, **metadata}


# Base schemas ---------------------------------------------------------------------------


class JsonSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class QuerySchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE


# Fields ---------------------------------------------------------------------------------


class Text(fields.String):
    """A string with surrounding whitespace removed, so "   " is not a name."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return str(super()._deserialize(value, attr, data, **kwargs)).strip()


class Email(fields.Email):
    """An email address as the domain accepts one (`is_valid_email`: the rule the command
    line's create-admin applies too), surrounding whitespace removed before it is checked."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, validate.Email)]
        self.validators.insert(0, self._domain_rule)

    def _domain_rule(self, value: str) -> None:
        if not is_valid_email(value):
            raise self.make_error("invalid")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return str(super()._deserialize(value, attr, data, **kwargs)).strip()


class StrictBoolean(fields.Boolean):
    """JSON true or false only (not "yes", 1 or "on")."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class QueryBoolean(fields.Boolean):
    """`true` or `false` in a query string."""

    truthy = {"true"}
    falsy = {"false"}


class Timestamp(fields.DateTime):
    """ISO 8601 with the timezone, to the second; a naive value is taken as UTC."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"A Timestamp field serialises a datetime, not {type(value).__name__}.")
        moment: datetime = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat(timespec="seconds")


def has_at_most_two_places(value: Decimal) -> bool:
    """Exact, without rounding: "1.50" and "1.500" pass, "1.505" does not."""
    _, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return False
    extra = -2 - exponent
    return extra <= 0 or all(digit == 0 for digit in digits[-extra:])


def validate_money(value: Decimal) -> None:
    if not Decimal(0) < value <= MAX_PRICE.amount:
        raise ma.ValidationError(f"Must be above 0 and at most {MAX_PRICE}.")
    if not has_at_most_two_places(value):
        raise ma.ValidationError("Must have at most 2 decimal places.")


def validate_price_filter(value: Decimal) -> None:
    if value < 0:
        raise ma.ValidationError("Must not be negative.")
    if not has_at_most_two_places(value):
        raise ma.ValidationError("Must have at most 2 decimal places.")


# Money in: a string of ASCII digits, at most two decimals. Decimal() alone would take a
# float (1.5), exponents ("12.5e1"), underscores ("1_000") and any script's digits ("١٢٣").
_MONEY_TEXT = re.compile(r"[0-9]+(?:\.[0-9]{1,2})?")
MONEY_TEXT_MESSAGE = 'Must be a string of digits with at most 2 decimals, such as "1500.00".'


def _money_text(value: Any) -> Decimal:
    if not isinstance(value, str) or not _MONEY_TEXT.fullmatch(value):
        raise ma.ValidationError(MONEY_TEXT_MESSAGE)
    return Decimal(value)


class MoneyAmount(fields.Decimal):
    """An input amount of BDT: above 0, at most 500000.00, at most 2 decimals, never rounded."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate_money)
        kwargs.setdefault("metadata", MONEY_DOC)
        super().__init__(as_string=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        return _money_text(value)


class PriceFilter(fields.Decimal):
    """A price in a query string: the same digits as money in, zero allowed."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate_price_filter)
        kwargs.setdefault("metadata", PRICE_FILTER_DOC)
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        return _money_text(value)


def strict_int(*, minimum: int, maximum: int, **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(minimum, maximum), **kwargs)


# Errors ---------------------------------------------------------------------------------


class ErrorOut(ma.Schema):
    """Every error: flask-smorest's shape plus a stable `error` code for domain errors."""

    code = fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = fields.String(required=True, metadata={"description": "HTTP status name"})
    message = fields.String(metadata={"description": "What went wrong, for people"})
    error = fields.String(metadata={"description": "Stable machine-readable code"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.List(fields.String())),
        metadata={
            "description": "Validation errors: by location (`json`, `query`, `headers`), "
            "then by field (`_schema` for the whole), a list of messages",
            "example": {"json": {"variant_id": ["Missing data for required field."]}},
        },
    )


class PaginationMetadata(ma.Schema):
    """`X-Pagination` (JSON): page numbers absent when there is no such page."""

    total = fields.Integer(required=True, metadata={"description": "Items in all pages"})
    total_pages = fields.Integer(required=True, metadata={"description": "Number of pages"})
    first_page = fields.Integer(metadata={"description": "First page number"})
    last_page = fields.Integer(metadata={"description": "Last page number"})
    page = fields.Integer(metadata={"description": "This page's number"})
    previous_page = fields.Integer(metadata={"description": "Previous page number"})
    next_page = fields.Integer(metadata={"description": "Next page number"})


# Accounts -------------------------------------------------------------------------------


class RegisterIn(JsonSchema):
    email = Email(
        required=True,
        validate=validate.Length(max=MAX_EMAIL_LENGTH),
        metadata=example("nadia@example.com"),
    )
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH),
        metadata=example(
            "correct-horse-battery", description=f"At least {MIN_PASSWORD_LENGTH} characters"
        ),
    )
    first_name = Text(required=True, validate=NAME_LENGTH, metadata=example("Nadia"))
    last_name = Text(required=True, validate=NAME_LENGTH, metadata=example("Islam"))
    phone_number = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=32),
        metadata=example("+8801711000000"),
    )
    role = fields.String(
        required=True,
        validate=validate.OneOf([Role.CUSTOMER.value, Role.VENDOR.value]),
        metadata=example(Role.CUSTOMER.value),
    )


class LoginIn(JsonSchema):
    email = fields.String(
        required=True,
        validate=validate.Length(min=1, max=254),
        metadata=example(DEMO_CUSTOMER_EMAIL),
    )
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(max=MAX_PASSWORD_LENGTH),
        metadata=example(DEMO_CUSTOMER_PASSWORD),
    )


class TokensOut(ma.Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(
        required=True, metadata={"description": "Seconds until the access token expires"}
    )


class RefreshedOut(ma.Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True)


class ProfilePatchIn(JsonSchema):
    """Names and phone only: role, email and is_active are refused (422)."""

    first_name = Text(validate=NAME_LENGTH, metadata=example("Karim"))
    last_name = Text(validate=NAME_LENGTH, metadata=example("Hasan"))
    phone_number = Text(
        allow_none=True,
        validate=validate.Length(max=32),
        metadata=example("+8801711000000", description="null clears it"),
    )


class UserOut(ma.Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    phone_number = fields.String(required=True, allow_none=True)
    role = fields.Enum(Role, by_value=True, required=True)
    is_active = fields.Boolean(required=True)
    date_joined = Timestamp(required=True)


# Vendors --------------------------------------------------------------------------------


SHOP_NAME = example("Demo Auto Care")
SHOP_ADDRESS = example("House 12, Road 5, Dhanmondi")


class VendorIn(JsonSchema):
    business_name = Text(required=True, validate=NAME_LENGTH, metadata=SHOP_NAME)
    address = Text(required=True, validate=validate.Length(min=1, max=500), metadata=SHOP_ADDRESS)


class VendorPatchIn(JsonSchema):
    business_name = Text(validate=NAME_LENGTH, metadata=SHOP_NAME)
    address = Text(validate=validate.Length(min=1, max=500), metadata=SHOP_ADDRESS)


class VendorOut(ma.Schema):
    id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    business_name = fields.String(required=True)
    address = fields.String(required=True)
    is_active = fields.Boolean(required=True)
    is_approved = fields.Boolean(
        required=True,
        metadata={
            "description": "False while the shop waits for an admin's approval "
            "(VENDOR_APPROVAL=manual): until then it is not in the catalog"
        },
    )
    created_at = Timestamp(required=True)


class AuditEntryOut(ma.Schema):
    """One admin action in the audit trail."""

    id = fields.Integer(required=True)
    at = Timestamp(required=True)
    actor_id = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "The admin's user id; null for the command line"},
    )
    action = fields.String(required=True, metadata={"example": "order.cancel"})
    object_kind = fields.String(
        required=True, metadata={"description": "user, vendor, order or payment"}
    )
    object_id = fields.String(required=True)
    outcome = fields.String(
        required=True,
        metadata={"description": "'done', or 'refused: <error code>'", "example": "done"},
    )
    detail = fields.String(required=True)


# Catalog --------------------------------------------------------------------------------


VARIANT_NAME = example("Front axle")
MINUTES = example(60, description="How long the job takes")
STOCK = example(3, description="Bookings it can hold at the same time")


class VariantIn(JsonSchema):
    name = Text(required=True, validate=NAME_LENGTH, metadata=VARIANT_NAME)
    price = MoneyAmount(required=True)
    estimated_minutes = strict_int(
        minimum=1, maximum=MAX_ESTIMATED_MINUTES, required=True, metadata=MINUTES
    )
    stock = strict_int(minimum=0, maximum=MAX_STOCK, required=True, metadata=STOCK)


class VariantPatchIn(JsonSchema):
    name = Text(validate=NAME_LENGTH, metadata=VARIANT_NAME)
    price = MoneyAmount()
    estimated_minutes = strict_int(minimum=1, maximum=MAX_ESTIMATED_MINUTES, metadata=MINUTES)
    stock = strict_int(minimum=0, maximum=MAX_STOCK, metadata=STOCK)
    is_active = StrictBoolean(metadata=example(True))


class VariantOut(ma.Schema):
    id = fields.Integer(required=True)
    service_id = fields.Integer(required=True)
    name = fields.String(required=True)
    price = fields.Decimal(
        as_string=True, places=2, attribute="price.amount", required=True, metadata=MONEY_DOC
    )
    estimated_minutes = fields.Integer(required=True)
    stock = fields.Integer(required=True)
    reserved = fields.Integer(required=True)
    available = fields.Integer(required=True)
    is_active = fields.Boolean(required=True)


SERVICE_NAME = example("Brake pad replacement")
SERVICE_DESCRIPTION = example("New brake pads, discs checked, brake fluid topped up.")


class ServiceIn(JsonSchema):
    name = Text(required=True, validate=NAME_LENGTH, metadata=SERVICE_NAME)
    description = Text(
        load_default="", validate=validate.Length(max=5000), metadata=SERVICE_DESCRIPTION
    )


class ServicePatchIn(JsonSchema):
    name = Text(validate=NAME_LENGTH, metadata=SERVICE_NAME)
    description = Text(validate=validate.Length(max=5000), metadata=SERVICE_DESCRIPTION)
    is_active = StrictBoolean(metadata=example(True))


class ServiceOut(ma.Schema):
    id = fields.Integer(required=True)
    vendor_id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    is_active = fields.Boolean(required=True)
    created_at = Timestamp(required=True)
    variants = fields.List(fields.Nested(VariantOut), required=True)


class VendorDetailOut(VendorOut):
    services = fields.List(fields.Nested(ServiceOut), required=True)


class ServiceQuery(QuerySchema):
    vendor_id = fields.Integer(validate=validate.Range(1, MAX_ID))
    q = fields.String(
        validate=validate.Length(max=255),
        metadata={"description": "Name or description contains this (case-insensitive)"},
    )
    min_price = PriceFilter()
    max_price = PriceFilter()
    available = QueryBoolean(metadata={"description": "true: only services with a free slot"})
    sort = fields.Enum(CatalogSort, by_value=True, load_default=CatalogSort.NEWEST)

    @ma.validates_schema
    def _price_range(self, data: dict[str, Any], **kwargs: Any) -> None:
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            raise ma.ValidationError("Must not be above max_price.", "min_price")
