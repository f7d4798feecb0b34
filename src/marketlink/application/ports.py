"""Ports: what the use cases need from the outside world, and nothing about how."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Generic, Protocol, Self, TypeVar

from marketlink.domain.audit import AuditEntry
from marketlink.domain.catalog import Service, ServiceVariant
from marketlink.domain.money import Money
from marketlink.domain.orders import OrderEvent, OrderStatus, RepairOrder
from marketlink.domain.payments import Payment, RecordedNotice
from marketlink.domain.users import User, VendorProfile

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    page_size: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int


class CatalogSort(StrEnum):
    PRICE = "price"
    PRICE_DESC = "-price"
    NAME = "name"
    NEWEST = "-created_at"


@dataclass(frozen=True, slots=True)
class CatalogQuery:
    """Public catalog search: active services of open (active, approved) vendors, each with
    its active variants."""

    vendor_id: int | None = None
    text: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    available_only: bool = False
    sort: CatalogSort = CatalogSort.NEWEST
    page: PageRequest = field(default_factory=PageRequest)


@dataclass(frozen=True, slots=True)
class OrderScope:
    """Whose orders a listing may show: one customer's, one vendor's, or everyone's."""

    customer_id: int | None = None
    vendor_id: int | None = None


# Repositories ---------------------------------------------------------------------------


class UserRepository(Protocol):
    def add(self, user: User) -> None:
        """Stores a new user and sets its id; raises EmailTaken on a duplicate email."""

    def get(self, user_id: int) -> User | None: ...
    def get_by_email(self, email: str) -> User | None: ...
    def save(self, user: User) -> None: ...
    def list(self, page: PageRequest) -> Page[User]: ...


class VendorRepository(Protocol):
    def add(self, vendor: VendorProfile) -> None:
        """Stores a new profile and sets its id; raises VendorProfileExists on a second one."""

    def get(self, vendor_id: int) -> VendorProfile | None: ...
    def get_by_user(self, user_id: int) -> VendorProfile | None: ...
    def save(self, vendor: VendorProfile) -> None: ...
    def list(self, page: PageRequest, *, active_only: bool = True) -> Page[VendorProfile]:
        """Oldest first; `active_only`: only the shops open to customers (active, approved)."""


class ServiceRepository(Protocol):
    def add(self, service: Service) -> None: ...
    def get(self, service_id: int) -> Service | None:
        """The service with all its variants, active or not."""

    def save(self, service: Service) -> None:
        """Saves the service's own fields; variants are saved through VariantRepository."""

    def search(self, query: CatalogQuery) -> Page[Service]:
        """Active services of active vendors, each carrying only its active variants."""


@dataclass(frozen=True, slots=True)
class Offer:
    """A variant with what booking needs to know of its service and shop."""

    variant: ServiceVariant
    service_name: str
    vendor_id: int
    on_sale: bool  # the variant and its service are active, its vendor active and approved


class VariantRepository(Protocol):
    def add(self, variant: ServiceVariant) -> None: ...
    def get(self, variant_id: int) -> ServiceVariant | None: ...
    def get_for_update(self, variant_id: int) -> ServiceVariant | None:
        """Loads the variant and holds a row lock on it until the unit of work ends."""

    def get_offer_for_update(self, variant_id: int) -> Offer | None:
        """`get_for_update`, with the variant's service and vendor read in the same step."""

    def save(self, variant: ServiceVariant) -> None:
        """Writes the variant back, refusing a stale write (raises ConcurrentUpdate)."""


class OrderRepository(Protocol):
    def add(self, order: RepairOrder) -> None:
        """Stores a new order and its pending history entries."""

    def get(self, order_id: uuid.UUID) -> RepairOrder | None: ...

    def save_transition(self, order: RepairOrder, expected: OrderStatus) -> bool:
        """Compare-and-set: writes the order's status only if the row is still `expected`.

        Appends the order's new history entries when it wins; returns False when another
        path changed the status first (and then writes nothing).
        """

    def list(
        self, scope: OrderScope, status: OrderStatus | None, page: PageRequest
    ) -> Page[RepairOrder]: ...
    def count_unpaid(self, customer_id: int) -> int: ...
    def expired_ids(self, now: datetime, limit: int) -> builtins.list[uuid.UUID]:
        """Ids of pending orders whose reservation ran out, oldest first.

        An order with a payment held for review (flag 'review') does not expire.
        """

    def events(self, order_id: uuid.UUID) -> builtins.list[OrderEvent]: ...


class PaymentRepository(Protocol):
    def add(self, payment: Payment) -> None: ...
    def get(self, tran_id: str) -> Payment | None:
        """The payment alone: its `notices` are left empty (see get_with_notices)."""

    def get_with_notices(self, tran_id: str) -> Payment | None:
        """The payment with its notices, oldest first: what an admin judges it by."""

    def save(self, payment: Payment) -> None: ...
    def open_for_order(self, order_id: uuid.UUID) -> Payment | None:
        """The order's payment attempt still waiting for the gateway, if any."""

    def for_order(self, order_id: uuid.UUID) -> list[Payment]:
        """Newest first, each with its notices."""

    def notice_seen(self, key: str) -> bool: ...
    def record_notice(self, notice: RecordedNotice) -> bool:
        """Stores a gateway notice once; False when one with the same key was stored before."""

    def flagged(self, flag: str | None, page: PageRequest) -> Page[Payment]: ...
    def awaiting_notice(self, older_than: datetime, limit: int) -> list[Payment]: ...
    def refunds_pending(self, limit: int) -> list[Payment]: ...


class AuditRepository(Protocol):
    """The audit trail: entries are added and read, never changed or removed."""

    def add(self, entry: AuditEntry) -> None:
        """Appends the entry (written with the unit of work's commit)."""

    def list(self, page: PageRequest) -> Page[AuditEntry]:
        """Newest first, each with its id."""


class UnitOfWork(Protocol):
    """One transaction. Leaving the block without `commit()` rolls everything back."""

    users: UserRepository
    vendors: VendorRepository
    services: ServiceRepository
    variants: VariantRepository
    orders: OrderRepository
    payments: PaymentRepository
    audit: AuditRepository

    def __enter__(self) -> Self: ...
    def __exit__(self, *exc_info: object) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


# Infrastructure ---------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


class PasswordStrength(Protocol):
    def weakness(self, password: str, user_inputs: Sequence[str] = ()) -> str | None:
        """Why the password is too easy to guess (a sentence), or None when it is strong.

        `user_inputs`: what an attacker knows of the account (email, names)."""


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...


class TokenBlocklist(Protocol):
    """Revoked sessions and switched-off users; an entry may go once its tokens expired."""

    def revoke(self, session_id: str, expires_at: datetime) -> None:
        """Refuses every token of the session (logout)."""

    def revoke_user(self, user_id: int, ttl_seconds: int) -> None:
        """Refuses every token of the user, for `ttl_seconds` (at least a session's life)."""

    def restore_user(self, user_id: int) -> None:
        """Undoes revoke_user: the user's sessions not revoked one by one work again."""

    def is_revoked(self, session_id: str, user_id: int) -> bool:
        """Whether the session is revoked or its user switched off (one look-up per request)."""


class Lock(Protocol):
    def hold(self, key: str, *, ttl: float, wait: float) -> AbstractContextManager[None]:
        """Holds `key` for at most `ttl` seconds; waits at most `wait` for it (LockTimeout).

        The lock is an optimisation: correctness never depends on still holding it.
        """


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: str


class IdempotencyStore(Protocol):
    def claim(self, user_id: int, key: str, fingerprint: str) -> StoredResponse | None:
        """Claims the key for a new request, or returns the response stored for it.

        Raises IdempotencyKeyReused when the key came with another request, and
        IdempotencyKeyInProgress while the first request still runs.
        """

    def complete(self, user_id: int, key: str, response: StoredResponse) -> None: ...
    def release(self, user_id: int, key: str) -> None:
        """Forgets a claim whose request failed, so that it may be retried."""


# Payment gateway ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionRequest:
    tran_id: str
    amount: Money
    product_name: str
    customer_name: str
    customer_email: str
    customer_phone: str
    success_url: str
    fail_url: str
    cancel_url: str
    ipn_url: str
    order_ref: str


@dataclass(frozen=True, slots=True)
class GatewaySession:
    session_key: str
    gateway_url: str


@dataclass(frozen=True, slots=True)
class GatewayTransaction:
    """What the gateway's validation or query API says about one transaction."""

    status: str
    tran_id: str
    val_id: str = ""
    amount: Decimal | None = None
    currency: str = ""
    bank_tran_id: str = ""
    card_type: str = ""
    card_no: str = ""
    risk_level: int = 0
    session_key: str = ""


@dataclass(frozen=True, slots=True)
class RefundAnswer:
    status: str
    refund_ref_id: str = ""
    reason: str = ""


class PaymentGateway(Protocol):
    def create_session(self, request: SessionRequest) -> GatewaySession:
        """Raises GatewayUnavailable (transport) or GatewayRejected (the gateway said no)."""

    def validate(self, val_id: str) -> GatewayTransaction: ...
    def query_transactions(self, tran_id: str) -> list[GatewayTransaction]: ...
    def verify_notice(self, fields: Mapping[str, str]) -> bool:
        """True when the notice's `verify_sign` is authentic."""

    def refund(
        self, bank_tran_id: str, amount: Money, refund_trans_id: str, remarks: str
    ) -> RefundAnswer: ...
    def refund_status(self, refund_ref_id: str) -> RefundAnswer: ...


class PayLinks(Protocol):
    """MarketLink's own signed, expiring pay links: booking never waits on the gateway."""

    def url_for(self, order_id: uuid.UUID) -> str: ...
    def is_valid(self, order_id: uuid.UUID, token: str) -> bool: ...
