"""Starting a payment: a gateway session for a pending order, opened outside any transaction."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from marketlink.application.actors import Actor
from marketlink.application.errors import (
    Forbidden,
    GatewayRejected,
    GatewayUnavailable,
    NotFound,
    NotPayable,
)
from marketlink.application.ports import (
    Clock,
    GatewaySession,
    PaymentGateway,
    SessionRequest,
    UnitOfWork,
    UnitOfWorkFactory,
)
from marketlink.application.use_cases.order_access import visible_order
from marketlink.domain.orders import OrderStatus, RepairOrder
from marketlink.domain.payments import Payment, PaymentEvent
from marketlink.domain.users import Role


@dataclass(frozen=True, slots=True)
class CallbackUrls:
    success: str
    fail: str
    cancel: str
    ipn: str

    @classmethod
    def under(cls, public_base_url: str) -> CallbackUrls:
        base = public_base_url.rstrip("/")
        return cls(
            success=f"{base}/api/v1/payments/sslcommerz/success",
            fail=f"{base}/api/v1/payments/sslcommerz/fail",
            cancel=f"{base}/api/v1/payments/sslcommerz/cancel",
            ipn=f"{base}/api/v1/webhooks/sslcommerz/",
        )


def new_tran_id(order_id: uuid.UUID) -> str:
    """Unique per attempt and recognisably this order's: "ML", then 12 hex digits of the
    order's id and 12 random ones; 26 characters, within MAX_TRAN_ID_LENGTH."""
    return f"ML{order_id.hex[:12].upper()}{secrets.token_hex(6).upper()}"


@dataclass(frozen=True, slots=True)
class OpenedPayment:
    order_id: uuid.UUID
    tran_id: str
    gateway_url: str


class StartPayment:
    """Opens a gateway session for a pending order, or reuses the one already open."""

    def __init__(
        self, uow: UnitOfWorkFactory, gateway: PaymentGateway, clock: Clock, urls: CallbackUrls
    ) -> None:
        self._uow = uow
        self._gateway = gateway
        self._clock = clock
        self._urls = urls

    def __call__(self, order_id: uuid.UUID, actor: Actor | None = None) -> OpenedPayment:
        """`actor` is None when the caller proved itself with the order's signed pay link."""
        with self._uow() as uow:
            order = self._payable_order(uow, order_id, actor)
            current = uow.payments.open_for_order(order.id)
            if current is not None and current.gateway_url:
                return OpenedPayment(order.id, current.tran_id, current.gateway_url)
            customer = uow.users.get(order.customer_id)
            now = self._clock.now()
            payment = Payment(
                tran_id=new_tran_id(order.id),
                order_id=order.id,
                amount=order.total_amount,
                created_at=now,
                updated_at=now,
            )
            # Stored before the gateway hears of it, so any notice for this tran_id finds it.
            uow.payments.add(payment)
            uow.commit()
        request = SessionRequest(
            tran_id=payment.tran_id,
            amount=order.total_amount,
            product_name=f"{order.service_name} - {order.variant_name}"[:255],
            customer_name=(f"{customer.first_name} {customer.last_name}" if customer else "")[:50],
            customer_email=(customer.email if customer else "")[:50],
            customer_phone=((customer.phone_number or "") if customer else "")[:20],
            success_url=self._urls.success,
            fail_url=self._urls.fail,
            cancel_url=self._urls.cancel,
            ipn_url=self._urls.ipn,
            order_ref=str(order.id),
        )
        try:
            session = self._gateway.create_session(request)
        except (GatewayUnavailable, GatewayRejected):
            self._record_session(payment.tran_id, None)
            raise
        self._record_session(payment.tran_id, session)
        return OpenedPayment(order.id, payment.tran_id, session.gateway_url)

    def _payable_order(
        self, uow: UnitOfWork, order_id: uuid.UUID, actor: Actor | None
    ) -> RepairOrder:
        if actor is None:
            order = uow.orders.get(order_id)
            if order is None:
                raise NotFound("Order not found.")
        else:
            order = visible_order(uow, actor, order_id)
            if actor.role is not Role.CUSTOMER:
                raise Forbidden("Only the customer pays for an order.")
        if order.status is not OrderStatus.PENDING or order.is_expired(self._clock.now()):
            raise NotPayable(f"This order is {order.status} and cannot be paid.")
        return order

    def _record_session(self, tran_id: str, session: GatewaySession | None) -> None:
        """The session the gateway opened, or None when it could not open one."""
        with self._uow() as uow:
            payment = uow.payments.get(tran_id)
            if payment is None or not payment.can(PaymentEvent.SESSION_OPENED):
                return  # settled meanwhile: what the gateway said since wins
            if session is None:
                payment.fail_session(self._clock.now())
            else:
                payment.open_session(session.session_key, session.gateway_url, self._clock.now())
            uow.payments.save(payment)
            uow.commit()
