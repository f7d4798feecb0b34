"""Hand-written fakes of every port: dict-backed, no I/O, small enough to trust."""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Self

from marketlink.application.errors import (
    ConcurrentUpdate,
    EmailTaken,
    GatewayUnavailable,
    IdempotencyKeyInProgress,
    IdempotencyKeyReused,
    LockTimeout,
    VendorProfileExists,
)
from marketlink.application.ports import (
    CatalogQuery,
    CatalogSort,
    GatewaySession,
    GatewayTransaction,
    Offer,
    OrderScope,
    Page,
    PageRequest,
    RefundAnswer,
    SessionRequest,
    StoredResponse,
)
from marketlink.domain.audit import AuditEntry
from marketlink.domain.catalog import Service, ServiceVariant
from marketlink.domain.money import Money
from marketlink.domain.orders import OrderEvent, OrderStatus, RepairOrder
from marketlink.domain.payments import (
    Payment,
    PaymentFlag,
    PaymentStatus,
    RecordedNotice,
    RefundStatus,
)
from marketlink.domain.users import User, VendorProfile


def _page(items: list[Any], page: PageRequest) -> Page[Any]:
    return Page(items[page.offset : page.offset + page.page_size], len(items))


@dataclass
class FakeDatabase:
    """The committed state every FakeUnitOfWork works on a copy of."""

    users: dict[int, User] = field(default_factory=dict)
    vendors: dict[int, VendorProfile] = field(default_factory=dict)
    services: dict[int, Service] = field(default_factory=dict)
    variants: dict[int, ServiceVariant] = field(default_factory=dict)
    orders: dict[uuid.UUID, RepairOrder] = field(default_factory=dict)
    events: list[OrderEvent] = field(default_factory=list)
    payments: dict[str, Payment] = field(default_factory=dict)
    notices: dict[str, RecordedNotice] = field(default_factory=dict)
    audit: list[AuditEntry] = field(default_factory=list)
    last_id: int = 0

    def next_id(self) -> int:
        self.last_id += 1
        return self.last_id


class FakeUserRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def add(self, user: User) -> None:
        if any(u.email == user.email for u in self._db.users.values()):
            raise EmailTaken()
        user.id = self._db.next_id()
        self._db.users[user.id] = user

    def get(self, user_id: int) -> User | None:
        return self._db.users.get(user_id)

    def get_by_email(self, email: str) -> User | None:
        return next((u for u in self._db.users.values() if u.email == email), None)

    def save(self, user: User) -> None:
        assert user.id is not None
        self._db.users[user.id] = user

    def list(self, page: PageRequest) -> Page[User]:
        return _page(sorted(self._db.users.values(), key=lambda u: u.id or 0), page)


class FakeVendorRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def add(self, vendor: VendorProfile) -> None:
        if self.get_by_user(vendor.user_id) is not None:
            raise VendorProfileExists()
        vendor.id = self._db.next_id()
        self._db.vendors[vendor.id] = vendor

    def get(self, vendor_id: int) -> VendorProfile | None:
        return self._db.vendors.get(vendor_id)

    def get_by_user(self, user_id: int) -> VendorProfile | None:
        return next((v for v in self._db.vendors.values() if v.user_id == user_id), None)

    def save(self, vendor: VendorProfile) -> None:
        assert vendor.id is not None
        self._db.vendors[vendor.id] = vendor

    def list(self, page: PageRequest, *, active_only: bool = True) -> Page[VendorProfile]:
        vendors = [v for v in self._db.vendors.values() if v.is_open or not active_only]
        return _page(sorted(vendors, key=lambda v: v.id or 0), page)


class FakeServiceRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def add(self, service: Service) -> None:
        service.id = self._db.next_id()
        self._db.services[service.id] = service

    def get(self, service_id: int) -> Service | None:
        service = self._db.services.get(service_id)
        if service is None:
            return None
        service.variants = sorted(
            (v for v in self._db.variants.values() if v.service_id == service_id),
            key=lambda v: v.id or 0,
        )
        return service

    def save(self, service: Service) -> None:
        assert service.id is not None
        self._db.services[service.id] = service

    def search(self, query: CatalogQuery) -> Page[Service]:
        found = []
        for service in self._db.services.values():
            vendor = self._db.vendors.get(service.vendor_id)
            if not service.is_active or vendor is None or not vendor.is_open:
                continue
            if query.vendor_id is not None and service.vendor_id != query.vendor_id:
                continue
            text = (query.text or "").lower()
            if (
                text
                and text not in service.name.lower()
                and text not in service.description.lower()
            ):
                continue
            variants = [
                v for v in self._db.variants.values() if v.service_id == service.id and v.is_active
            ]
            priced = [
                v
                for v in variants
                if (query.min_price is None or v.price.amount >= query.min_price)
                and (query.max_price is None or v.price.amount <= query.max_price)
            ]
            if (query.min_price is not None or query.max_price is not None) and not priced:
                continue
            if query.available_only and not any(v.available > 0 for v in variants):
                continue
            found.append(replace(service, variants=sorted(variants, key=lambda v: v.id or 0)))

        def cheapest(s: Service) -> Decimal:
            return min((v.price.amount for v in s.variants), default=Decimal("Infinity"))

        ordering = {
            CatalogSort.PRICE: lambda s: (cheapest(s), s.id),
            CatalogSort.PRICE_DESC: lambda s: (-cheapest(s), s.id),
            CatalogSort.NAME: lambda s: (s.name, s.id),
            CatalogSort.NEWEST: lambda s: (-s.created_at.timestamp(), s.id),
        }
        return _page(sorted(found, key=ordering[query.sort]), query.page)


class FakeVariantRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db
        self.locked: list[int] = []

    def add(self, variant: ServiceVariant) -> None:
        variant.id = self._db.next_id()
        self._db.variants[variant.id] = variant

    def get(self, variant_id: int) -> ServiceVariant | None:
        return self._db.variants.get(variant_id)

    def get_for_update(self, variant_id: int) -> ServiceVariant | None:
        self.locked.append(variant_id)
        return self.get(variant_id)

    def get_offer_for_update(self, variant_id: int) -> Offer | None:
        variant = self.get_for_update(variant_id)
        if variant is None:
            return None
        service = self._db.services[variant.service_id]
        vendor = self._db.vendors[service.vendor_id]
        assert vendor.id is not None
        on_sale = variant.is_active and service.is_active and vendor.is_open
        return Offer(variant, service.name, vendor.id, on_sale)

    def save(self, variant: ServiceVariant) -> None:
        assert variant.id is not None
        if not 0 <= variant.reserved <= variant.stock:
            raise AssertionError("the database CHECK constraint would refuse this")
        self._db.variants[variant.id] = variant


class FakeOrderRepository:
    def __init__(
        self, db: FakeDatabase, committed: FakeDatabase, cas_losers: set[uuid.UUID]
    ) -> None:
        self._db = db
        self._committed = committed
        self._cas_losers = cas_losers

    def add(self, order: RepairOrder) -> None:
        self._db.orders[order.id] = order
        self._db.events.extend(order.new_events)
        order.new_events.clear()

    def get(self, order_id: uuid.UUID) -> RepairOrder | None:
        return self._db.orders.get(order_id)

    def save_transition(self, order: RepairOrder, expected: OrderStatus) -> bool:
        committed = self._committed.orders.get(order.id)
        if order.id in self._cas_losers:
            # Primed by a test: another path wins this race once.
            self._cas_losers.discard(order.id)
            return False
        if committed is not None and committed.status is not expected:
            return False
        self._db.orders[order.id] = order
        self._db.events.extend(order.new_events)
        order.new_events.clear()
        return True

    def list(
        self, scope: OrderScope, status: OrderStatus | None, page: PageRequest
    ) -> Page[RepairOrder]:
        orders = [
            o
            for o in self._db.orders.values()
            if (scope.customer_id is None or o.customer_id == scope.customer_id)
            and (scope.vendor_id is None or o.vendor_id == scope.vendor_id)
            and (status is None or o.status is status)
        ]
        return _page(sorted(orders, key=lambda o: o.created_at, reverse=True), page)

    def count_unpaid(self, customer_id: int) -> int:
        return sum(
            1
            for o in self._db.orders.values()
            if o.customer_id == customer_id and o.status is OrderStatus.PENDING
        )

    def expired_ids(self, now: datetime, limit: int) -> list[uuid.UUID]:
        under_review = {
            p.order_id for p in self._db.payments.values() if p.flag is PaymentFlag.REVIEW
        }
        expired = [
            o
            for o in self._db.orders.values()
            if o.status is OrderStatus.PENDING and o.expires_at <= now and o.id not in under_review
        ]
        return [o.id for o in sorted(expired, key=lambda o: o.expires_at)][:limit]

    def events(self, order_id: uuid.UUID) -> list[OrderEvent]:
        return [e for e in self._db.events if e.order_id == order_id]


class FakePaymentRepository:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def add(self, payment: Payment) -> None:
        self._db.payments[payment.tran_id] = payment

    def get(self, tran_id: str) -> Payment | None:
        payment = self._db.payments.get(tran_id)
        if payment is not None:
            payment.notices = []  # as the database's: the payment alone
        return payment

    def get_with_notices(self, tran_id: str) -> Payment | None:
        payment = self._db.payments.get(tran_id)
        if payment is not None:
            payment.notices = self._notices_of(tran_id)
        return payment

    def _notices_of(self, tran_id: str) -> list[RecordedNotice]:
        notices = [n for n in self._db.notices.values() if n.tran_id == tran_id]
        return sorted(notices, key=lambda n: n.received_at)

    def save(self, payment: Payment) -> None:
        self._db.payments[payment.tran_id] = payment

    def open_for_order(self, order_id: uuid.UUID) -> Payment | None:
        open_ = [p for p in self._db.payments.values() if p.order_id == order_id and p.is_open]
        return max(open_, key=lambda p: p.created_at, default=None)

    def for_order(self, order_id: uuid.UUID) -> list[Payment]:
        payments = [p for p in self._db.payments.values() if p.order_id == order_id]
        for p in payments:
            p.notices = [n for n in self._db.notices.values() if n.tran_id == p.tran_id]
        return sorted(payments, key=lambda p: p.created_at, reverse=True)

    def notice_seen(self, key: str) -> bool:
        return key in self._db.notices

    def record_notice(self, notice: RecordedNotice) -> bool:
        if notice.key in self._db.notices:
            return False
        self._db.notices[notice.key] = notice
        return True

    def flagged(self, flag: str | None, page: PageRequest) -> Page[Payment]:
        found = [
            p
            for p in self._db.payments.values()
            if p.flag is not None and (flag is None or p.flag == flag)
        ]
        for p in found:
            p.notices = [n for n in self._db.notices.values() if n.tran_id == p.tran_id]
        return _page(sorted(found, key=lambda p: p.created_at, reverse=True), page)

    def awaiting_notice(self, older_than: datetime, limit: int) -> list[Payment]:
        found = [
            p
            for p in self._db.payments.values()
            if p.status is PaymentStatus.INITIATED
            and p.session_key
            and p.created_at < older_than
            and self._db.orders[p.order_id].status is OrderStatus.PENDING
        ]
        return found[:limit]

    def refunds_pending(self, limit: int) -> list[Payment]:
        found = [p for p in self._db.payments.values() if p.refund_status is RefundStatus.PENDING]
        return found[:limit]


class FakeAuditRepository:
    """Append-only, as the table: no way to change or remove an entry."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db

    def add(self, entry: AuditEntry) -> None:
        self._db.audit.append(replace(entry, id=len(self._db.audit) + 1))

    def list(self, page: PageRequest) -> Page[AuditEntry]:
        newest_first = sorted(self._db.audit, key=lambda e: (e.at, e.id or 0), reverse=True)
        return _page(newest_first, page)


class FakeUnitOfWork:
    """Works on a deep copy of the committed state; commit publishes it, anything else drops it."""

    def __init__(self, committed: FakeDatabase, store: FakeUnitOfWorkFactory) -> None:
        self._committed = committed
        self._store = store
        self.committed = False

    def __enter__(self) -> Self:
        self._db = copy.deepcopy(self._committed)
        self.users = FakeUserRepository(self._db)
        self.vendors = FakeVendorRepository(self._db)
        self.services = FakeServiceRepository(self._db)
        self.variants = FakeVariantRepository(self._db)
        self.orders = FakeOrderRepository(self._db, self._committed, self._store.cas_losers)
        self.payments = FakePaymentRepository(self._db)
        self.audit = FakeAuditRepository(self._db)
        self._store.opened.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.rollback()

    def commit(self) -> None:
        if self._store.fail_next_commit:
            self._store.fail_next_commit = False
            raise ConcurrentUpdate()
        for name in ("users", "vendors", "services", "variants", "orders", "payments", "notices"):
            getattr(self._committed, name).clear()
            getattr(self._committed, name).update(getattr(self._db, name))
        self._committed.events[:] = self._db.events
        self._committed.audit[:] = self._db.audit
        self._committed.last_id = self._db.last_id
        self.committed = True

    def rollback(self) -> None:
        pass


class FakeUnitOfWorkFactory:
    def __init__(self) -> None:
        self.db = FakeDatabase()
        self.opened: list[FakeUnitOfWork] = []
        self.cas_losers: set[uuid.UUID] = set()
        self.fail_next_commit = False

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.db, self)

    @property
    def commits(self) -> int:
        return sum(1 for u in self.opened if u.committed)


class FakeClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.current = now or datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class FakePasswordHasher:
    def hash(self, password: str) -> str:
        return f"hashed:{password}"

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == f"hashed:{password}"


class FakeTokenBlocklist:
    def __init__(self) -> None:
        self.revoked: dict[str, datetime] = {}
        self.revoked_users: dict[int, int] = {}  # user id -> ttl in seconds

    def revoke(self, session_id: str, expires_at: datetime) -> None:
        self.revoked[session_id] = expires_at

    def revoke_user(self, user_id: int, ttl_seconds: int) -> None:
        self.revoked_users[user_id] = ttl_seconds

    def restore_user(self, user_id: int) -> None:
        self.revoked_users.pop(user_id, None)

    def is_revoked(self, session_id: str, user_id: int) -> bool:
        return session_id in self.revoked or user_id in self.revoked_users


class FakeLock:
    """Records every key it was asked for; can be primed to time out."""

    def __init__(self) -> None:
        self.held: list[str] = []
        self.times_out = False
        self.active: set[str] = set()
        self._mutex = threading.Lock()

    @contextmanager
    def hold(self, key: str, *, ttl: float, wait: float) -> Iterator[None]:
        if self.times_out:
            raise LockTimeout()
        with self._mutex:
            self.held.append(key)
            self.active.add(key)
        try:
            yield
        finally:
            with self._mutex:
                self.active.discard(key)


class FakeIdempotencyStore:
    def __init__(self) -> None:
        self.rows: dict[tuple[int, str], tuple[str, StoredResponse | None]] = {}

    def claim(self, user_id: int, key: str, fingerprint: str) -> StoredResponse | None:
        row = self.rows.get((user_id, key))
        if row is None:
            self.rows[(user_id, key)] = (fingerprint, None)
            return None
        stored_fingerprint, response = row
        if stored_fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if response is None:
            raise IdempotencyKeyInProgress()
        return response

    def complete(self, user_id: int, key: str, response: StoredResponse) -> None:
        fingerprint, _ = self.rows[(user_id, key)]
        self.rows[(user_id, key)] = (fingerprint, response)

    def release(self, user_id: int, key: str) -> None:
        self.rows.pop((user_id, key), None)


class FakePaymentGateway:
    """Scripted answers; records every call so tests can say what crossed the wire."""

    def __init__(self) -> None:
        self.sessions: list[SessionRequest] = []
        self.validations: dict[str, GatewayTransaction] = {}
        self.transactions: dict[str, list[GatewayTransaction]] = {}
        self.refunds: list[tuple[str, Money, str]] = []
        self.refund_answer = RefundAnswer("success", "REF-1")
        self.refund_status_answer = RefundAnswer("refunded", "REF-1")
        self.down = False
        self.authentic = True
        self.validate_calls: list[str] = []
        self.query_calls: list[str] = []

    def _check_up(self) -> None:
        if self.down:
            raise GatewayUnavailable()

    def create_session(self, request: SessionRequest) -> GatewaySession:
        self._check_up()
        self.sessions.append(request)
        key = f"SESSION{len(self.sessions)}"
        return GatewaySession(key, f"https://gateway.test/pay/{key}")

    def validate(self, val_id: str) -> GatewayTransaction:
        self._check_up()
        self.validate_calls.append(val_id)
        return self.validations.get(val_id, GatewayTransaction("INVALID_TRANSACTION", ""))

    def query_transactions(self, tran_id: str) -> list[GatewayTransaction]:
        self._check_up()
        self.query_calls.append(tran_id)
        return self.transactions.get(tran_id, [])

    def verify_notice(self, fields: Mapping[str, str]) -> bool:
        return self.authentic

    def refund(
        self, bank_tran_id: str, amount: Money, refund_trans_id: str, remarks: str
    ) -> RefundAnswer:
        self._check_up()
        self.refunds.append((bank_tran_id, amount, refund_trans_id))
        paid = next(
            (t.amount for t in self.validations.values() if t.bank_tran_id == bank_tran_id), None
        )
        if paid is not None and amount.amount > paid:
            # As SSLCommerz's refund API: never more than the transaction's amount.
            return RefundAnswer("failed", reason="refund_amount exceeds the transaction amount")
        return self.refund_answer

    def refund_status(self, refund_ref_id: str) -> RefundAnswer:
        self._check_up()
        return self.refund_status_answer
