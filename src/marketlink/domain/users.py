"""People who use MarketLink and what they may be."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


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
    id: int | None = None
