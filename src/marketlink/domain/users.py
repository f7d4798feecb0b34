"""People who use MarketLink and what they may be."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from marketlink.domain.errors import InvalidValue


class Role(StrEnum):
    CUSTOMER = "customer"
    VENDOR = "vendor"
    ADMIN = "admin"


@dataclass(eq=False)
class User:
    email: str
    password_hash: str
    first_name: str
    last_name: str
    role: Role
    date_joined: datetime
    phone_number: str | None = None
    is_active: bool = True
    id: int | None = None

    @staticmethod
    def normalize_email(email: str) -> str:
        return email.strip().lower()

    def rename(
        self,
        first_name: str | None = None,
        last_name: str | None = None,
        phone_number: str | None = None,
    ) -> None:
        if first_name is not None:
            self.first_name = first_name
        if last_name is not None:
            self.last_name = last_name
        if phone_number is not None:
            self.phone_number = phone_number or None


@dataclass(eq=False)
class VendorProfile:
    user_id: int
    business_name: str
    address: str
    created_at: datetime
    is_active: bool = True
    # With VENDOR_APPROVAL=manual a new profile waits for an admin; until then its services
    # are not in the catalog and cannot be booked.
    is_approved: bool = True
    id: int | None = None

    @property
    def is_open(self) -> bool:
        """Whether the shop is in the catalog and takes bookings: active and approved."""
        return self.is_active and self.is_approved


# What an account's email address and password must be, wherever an account is opened:
# the API's registration (its schema asks `is_valid_email`) and the command line's
# create-admin (through the Register use case, which asks `valid_email`).

MAX_EMAIL_LENGTH = 254  # the longest address SMTP carries (RFC 5321, 4.5.3.1.3)
MIN_PASSWORD_LENGTH = 8
INVALID_EMAIL = "Not a valid email address."

# marshmallow's Email validator (itself Django's), so that the API accepts what it did.
_LETTERS = "\u00a1-\uffff"
_USER_PART = re.compile(
    r"(^[-!#$%&'*+/=?^`{}|~\w]+(\.[-!#$%&'*+/=?^`{}|~\w]+)*\Z"  # dot-atom
    r'|^"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"\Z)',
    re.IGNORECASE,
)
_DOMAIN_PART = re.compile(
    rf"(?:[A-Z0-9{_LETTERS}](?:[A-Z0-9{_LETTERS}-]{{0,61}}[A-Z0-9{_LETTERS}])?\.)+"
    rf"(?:[A-Z{_LETTERS}]{{2,6}}|[A-Z0-9{_LETTERS}-]{{2,}})\Z"
    r"|^\[(25[0-5]|2[0-4]\d|[0-1]?\d?\d)(\.(25[0-5]|2[0-4]\d|[0-1]?\d?\d)){3}\]\Z",  # [IPv4]
    re.IGNORECASE,
)
_DOMAINS_WITHOUT_A_DOT = ("localhost",)


def is_valid_email(email: str) -> bool:
    """The form of an address (`user@domain`), whatever its length."""
    if "@" not in email:
        return False
    user, domain = email.rsplit("@", 1)
    if not _USER_PART.match(user):
        return False
    return domain in _DOMAINS_WITHOUT_A_DOT or bool(_DOMAIN_PART.match(domain))


def valid_email(email: str) -> str:
    """The address as an account keeps it (trimmed, lower case); InvalidValue if it is not one."""
    address = email.strip()
    if len(address) > MAX_EMAIL_LENGTH or not is_valid_email(address):
        raise InvalidValue(INVALID_EMAIL)
    return User.normalize_email(address)


def check_password(password: str) -> None:
    """A new password is long enough (its strength beyond that is the user's)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidValue(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
