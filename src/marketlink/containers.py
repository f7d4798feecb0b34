"""The composition root: the one place where ports meet adapters.

One container per application (wiring is process-global, see docs/style.md §4 P1).
Engines, clients and other shared, thread-safe objects are ThreadSafeSingletons;
units of work and use cases are Factories, so every call gets fresh ones and the
transaction is the use case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from dependency_injector import containers, providers

from marketlink.adapters.clock import SystemClock
from marketlink.adapters.local_lock import InProcessLock
from marketlink.adapters.password_strength import ZxcvbnPasswordStrength
from marketlink.adapters.passwords import Argon2PasswordHasher
from marketlink.adapters.pay_links import SignedPayLinks
from marketlink.adapters.readiness import readiness_probes
from marketlink.adapters.redis_blocklist import RedisTokenBlocklist
from marketlink.adapters.redis_lock import RedisLock
from marketlink.adapters.sqlalchemy.admin_queries import SqlAdminQueries
from marketlink.adapters.sqlalchemy.blocklist import SqlTokenBlocklist
from marketlink.adapters.sqlalchemy.engine import create_engine_for
from marketlink.adapters.sqlalchemy.idempotency import SqlIdempotencyStore
from marketlink.adapters.sqlalchemy.migrate import upgrade_database
from marketlink.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from marketlink.adapters.sslcommerz.client import SslCommerzGateway
from marketlink.application.use_cases import (
    accounts,
    admin,
    admin_reads,
    audit,
    catalog,
    orders,
    payments,
    vendors,
)
from marketlink.config import Settings
from marketlink.sandbox.ipn import IpnSender
from marketlink.sandbox.routes import create_sandbox_blueprint
from marketlink.sandbox.state import SqlSandboxStore

# A pay link stays valid as long as the reservation it pays for, and a little more, so a
# customer who opens it at the last second still reaches the gateway (which then decides).
PAY_LINK_GRACE_SECONDS = 300

REDIS = "redis"
LOCAL = "local"


def _backend(settings: Settings) -> str:
    """Which backend the Redis-or-local ports use: Redis whenever REDIS_URL is set."""
    return REDIS if settings.redis_url else LOCAL


def _booking_policy(settings: Settings) -> orders.BookingPolicy:
    return orders.BookingPolicy(
        reservation_ttl_seconds=settings.reservation_ttl_seconds,
        max_unpaid_orders=settings.max_unpaid_orders,
    )


def _pay_links(settings: Settings) -> SignedPayLinks:
    return SignedPayLinks(
        settings.secret_key,
        settings.public_base_url,
        settings.reservation_ttl_seconds + PAY_LINK_GRACE_SECONDS,
    )


def _gateway(settings: Settings) -> SslCommerzGateway:
    return SslCommerzGateway(
        settings.sslcommerz_base_url,
        settings.gateway_store_id,
        settings.gateway_store_password,
        settings.webhook_secret,
    )


def _audited(
    use_case: providers.Factory[Any],
    describe: Callable[..., audit.AuditSubject],
    uow: providers.Provider[Any],
    trail: providers.Provider[Any],
) -> providers.Factory[Any]:
    """An admin use case that leaves one audit entry per admin call (see audit.Audited):
    `use_case` is built on the unit-of-work factory the wrapper hands it."""
    return providers.Factory(audit.Audited, use_case.provider, uow, trail, describe)


class Container(containers.DeclarativeContainer):
    wiring_config = containers.WiringConfiguration(
        packages=["marketlink.entrypoints.http"],
        auto_wire=False,
        warn_unresolved=True,
    )

    settings = providers.Dependency(instance_of=Settings)

    # Infrastructure ---------------------------------------------------------------------

    backend = providers.Callable(_backend, settings)

    # Calling it brings the schema up to date (`marketlink migrate`).
    migrate_database = providers.Callable(upgrade_database, settings.provided.database_url)

    engine = providers.ThreadSafeSingleton(create_engine_for, settings.provided.database_url)

    redis_client = providers.Selector(
        backend,
        redis=providers.ThreadSafeSingleton(
            redis.Redis.from_url,
            settings.provided.redis_url,
            socket_connect_timeout=2,
            socket_timeout=5,
            health_check_interval=30,
        ),
        local=providers.Object(None),
    )

    # Adapters ---------------------------------------------------------------------------

    # A fresh, unopened unit of work per call (`container.unit_of_work()`).
    unit_of_work = providers.Factory(SqlAlchemyUnitOfWork, engine)
    # What the use cases receive: that factory itself, as a provider (a UnitOfWorkFactory),
    # so each `with self._uow() as uow:` is a transaction of its own.
    uow = unit_of_work.provider

    clock = providers.ThreadSafeSingleton(SystemClock)

    password_hasher = providers.ThreadSafeSingleton(Argon2PasswordHasher)

    password_strength = providers.ThreadSafeSingleton(ZxcvbnPasswordStrength)

    token_blocklist = providers.Selector(
        backend,
        redis=providers.ThreadSafeSingleton(RedisTokenBlocklist, redis_client),
        local=providers.ThreadSafeSingleton(SqlTokenBlocklist, engine),
    )

    idempotency_store = providers.ThreadSafeSingleton(SqlIdempotencyStore, engine)

    # The admin panel's read model: read-only, on connections of its own from the engine.
    admin_queries = providers.ThreadSafeSingleton(SqlAdminQueries, engine)

    lock = providers.Selector(
        backend,
        redis=providers.ThreadSafeSingleton(RedisLock, redis_client),
        local=providers.ThreadSafeSingleton(InProcessLock),
    )

    readiness_probes = providers.Callable(readiness_probes, engine, redis_client)

    pay_links = providers.ThreadSafeSingleton(_pay_links, settings)

    gateway = providers.ThreadSafeSingleton(_gateway, settings)

    callback_urls = providers.Callable(
        payments.CallbackUrls.under, settings.provided.public_base_url
    )

    # The offline gateway (settings.use_sandbox): its routes, on its own tables (made by
    # `marketlink migrate`), posting its IPNs back to this app's webhook.
    sandbox_store = providers.ThreadSafeSingleton(SqlSandboxStore, engine)
    sandbox_ipn = providers.ThreadSafeSingleton(
        IpnSender, merchant_base=settings.provided.public_base_url
    )
    sandbox_blueprint = providers.Factory(
        create_sandbox_blueprint,
        sandbox_store,
        ipn=sandbox_ipn,
        store_id=settings.provided.gateway_store_id,
        store_password=settings.provided.gateway_store_password,
    )

    booking_policy = providers.Callable(_booking_policy, settings)

    # Use cases --------------------------------------------------------------------------

    # Accounts
    register = providers.Factory(accounts.Register, uow, password_hasher, clock)
    # A singleton on purpose: it keeps the dummy hash that makes a login for an unknown
    # email take as long as one with a wrong password (and holds nothing else).
    login = providers.ThreadSafeSingleton(accounts.Login, uow, password_hasher)
    resume_session = providers.Factory(accounts.ResumeSession, uow)
    logout = providers.Factory(accounts.Logout, token_blocklist)
    get_profile = providers.Factory(accounts.GetProfile, uow)
    update_profile = providers.Factory(accounts.UpdateProfile, uow)

    # Writes the audit trail's entries (the admin actions below are wrapped in Audited).
    audit_trail = providers.Factory(audit.AuditTrail, uow, clock)

    # Vendors
    create_vendor_profile = providers.Factory(
        vendors.CreateVendorProfile,
        uow,
        clock,
        approval_required=settings.provided.vendors_need_approval,
    )
    get_own_vendor_profile = providers.Factory(vendors.GetOwnVendorProfile, uow)
    update_own_vendor_profile = providers.Factory(vendors.UpdateOwnVendorProfile, uow)
    list_vendors = providers.Factory(vendors.ListVendors, uow)
    get_vendor = providers.Factory(vendors.GetVendor, uow)

    # Catalog
    publish_service = providers.Factory(catalog.PublishService, uow, clock)
    # An admin's edits of a shop's catalogue are admin actions: audited (the owner's are not).
    update_service = _audited(
        providers.Factory(catalog.UpdateService), audit.service_update, uow, audit_trail
    )
    deactivate_service = _audited(
        providers.Factory(catalog.DeactivateService), audit.service_deactivate, uow, audit_trail
    )
    add_variant = providers.Factory(catalog.AddVariant, uow)
    update_variant = _audited(
        providers.Factory(catalog.UpdateVariant), audit.variant_update, uow, audit_trail
    )
    deactivate_variant = _audited(
        providers.Factory(catalog.DeactivateVariant), audit.variant_deactivate, uow, audit_trail
    )
    search_catalog = providers.Factory(catalog.SearchCatalog, uow)
    get_service = providers.Factory(catalog.GetService, uow)
    get_variant = providers.Factory(catalog.GetVariant, uow)

    # Payments (before orders: cancelling a paid order requests its refund)
    refunds = providers.Factory(payments.Refunds, uow, gateway, clock)
    start_payment = providers.Factory(payments.StartPayment, uow, gateway, clock, callback_urls)
    settle_payment = providers.Factory(payments.SettlePayment, uow, gateway, clock, refunds)
    handle_gateway_notice = providers.Factory(payments.HandleGatewayNotice, gateway, settle_payment)
    confirm_from_return = providers.Factory(payments.ConfirmFromReturn, uow, settle_payment)
    reconcile_payments = providers.Factory(
        payments.ReconcilePayments, uow, gateway, clock, settle_payment, refunds
    )
    get_order_payments = providers.Factory(payments.GetOrderPayments, uow)
    list_flagged_payments = providers.Factory(payments.ListFlaggedPayments, uow)
    # An admin's verdicts, audited. Each Audited builds its use case per call on the unit
    # of work factory it is given (a `.provider`: the use case's other arguments are set).
    accept_payment = _audited(
        providers.Factory(payments.AcceptPayment, clock=clock, refunds=refunds),
        audit.payment_accept,
        uow,
        audit_trail,
    )
    refund_payment = _audited(
        providers.Factory(payments.RefundPayment, clock=clock, refunds=refunds),
        audit.payment_refund,
        uow,
        audit_trail,
    )

    # Orders
    place_order = providers.Factory(orders.PlaceOrder, uow, lock, clock, booking_policy)
    get_order = providers.Factory(orders.GetOrder, uow)
    list_orders = providers.Factory(orders.ListOrders, uow)
    get_order_events = providers.Factory(orders.GetOrderEvents, uow)
    # Cancelling and failing are audited when an admin does them (not a customer or shop).
    cancel_order = _audited(
        providers.Factory(orders.CancelOrder, clock=clock, refunds=refunds),
        audit.order_cancel,
        uow,
        audit_trail,
    )
    start_work = providers.Factory(orders.StartWork, uow, clock)
    complete_work = providers.Factory(orders.CompleteWork, uow, clock)
    fail_work = _audited(
        providers.Factory(orders.FailWork, clock=clock, refunds=refunds),
        audit.order_fail,
        uow,
        audit_trail,
    )
    expire_unpaid_orders = providers.Factory(orders.ExpireUnpaidOrders, uow, clock)

    # Admin
    list_users = providers.Factory(admin.ListUsers, uow)
    set_user_active = _audited(
        providers.Factory(admin.SetUserActive, blocklist=token_blocklist),
        audit.user_switch,
        uow,
        audit_trail,
    )
    set_vendor_active = _audited(
        providers.Factory(admin.SetVendorActive), audit.vendor_switch, uow, audit_trail
    )
    approve_vendor = _audited(
        providers.Factory(admin.ApproveVendor), audit.vendor_approval, uow, audit_trail
    )
    list_audit_entries = providers.Factory(audit.ListAuditEntries, uow)
    # The command line's: no signed-in admin, so not Audited (promoting records itself).
    create_admin = providers.Factory(admin.CreateAdmin, register, password_strength)
    promote_to_admin = providers.Factory(admin.PromoteToAdmin, uow, audit_trail)

    # Admin panel reads (the panel calls these, never admin_queries itself)
    admin_dashboard = providers.Factory(admin_reads.AdminDashboard, admin_queries, clock)
    admin_list_users = providers.Factory(admin_reads.AdminListUsers, admin_queries)
    admin_list_vendors = providers.Factory(admin_reads.AdminListVendors, admin_queries)
    admin_list_services = providers.Factory(admin_reads.AdminListServices, admin_queries)
    admin_list_variants = providers.Factory(admin_reads.AdminListVariants, admin_queries)
    admin_list_orders = providers.Factory(admin_reads.AdminListOrders, admin_queries)
    admin_list_payments = providers.Factory(admin_reads.AdminListPayments, admin_queries)
    admin_list_notices = providers.Factory(admin_reads.AdminListNotices, admin_queries)
    admin_order_detail = providers.Factory(admin_reads.AdminOrderDetail, admin_queries)
