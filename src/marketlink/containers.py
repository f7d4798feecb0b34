"""The composition root: the one place where ports meet adapters.

One container per application (wiring is process-global, see style.md §4 P1).
Engines, clients and other shared, thread-safe objects are ThreadSafeSingletons;
units of work and use cases are Factories, so every call gets fresh ones and the
transaction is the use case.
"""

from __future__ import annotations

import redis
from dependency_injector import containers, providers

from marketlink.adapters.clock import SystemClock
from marketlink.adapters.local_lock import InProcessLock
from marketlink.adapters.passwords import Argon2PasswordHasher
from marketlink.adapters.readiness import readiness_probes
from marketlink.adapters.redis_blocklist import RedisTokenBlocklist
from marketlink.adapters.redis_lock import RedisLock
from marketlink.adapters.sqlalchemy.blocklist import SqlTokenBlocklist
from marketlink.adapters.sqlalchemy.engine import create_engine_for
from marketlink.adapters.sqlalchemy.idempotency import SqlIdempotencyStore
from marketlink.adapters.sqlalchemy.migrate import upgrade_database
from marketlink.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from marketlink.application.use_cases import accounts, catalog, vendors
from marketlink.config import Settings

REDIS = "redis"
LOCAL = "local"


def _backend(settings: Settings) -> str:
    """Which backend the Redis-or-local ports use: Redis whenever REDIS_URL is set."""
    return REDIS if settings.redis_url else LOCAL


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

    uow = providers.ThreadSafeSingleton(SqlAlchemyUnitOfWork, engine)

    clock = providers.ThreadSafeSingleton(SystemClock)

    password_hasher = providers.ThreadSafeSingleton(Argon2PasswordHasher)

    token_blocklist = providers.Selector(
        backend,
        redis=providers.ThreadSafeSingleton(RedisTokenBlocklist, redis_client),
        local=providers.ThreadSafeSingleton(SqlTokenBlocklist, engine),
    )

    idempotency_store = providers.ThreadSafeSingleton(SqlIdempotencyStore, engine)

    lock = providers.Selector(
        backend,
        redis=providers.ThreadSafeSingleton(RedisLock, redis_client),
        local=providers.ThreadSafeSingleton(InProcessLock),
    )

    readiness_probes = providers.Callable(readiness_probes, engine, redis_client)

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

    # Vendors
    create_vendor_profile = providers.Factory(vendors.CreateVendorProfile, uow, clock)
    get_own_vendor_profile = providers.Factory(vendors.GetOwnVendorProfile, uow)
    update_own_vendor_profile = providers.Factory(vendors.UpdateOwnVendorProfile, uow)
    list_vendors = providers.Factory(vendors.ListVendors, uow)
    get_vendor = providers.Factory(vendors.GetVendor, uow)

    # Catalog
    publish_service = providers.Factory(catalog.PublishService, uow, clock)
    update_service = providers.Factory(catalog.UpdateService, uow)
    deactivate_service = providers.Factory(catalog.DeactivateService, uow)
    add_variant = providers.Factory(catalog.AddVariant, uow)
    update_variant = providers.Factory(catalog.UpdateVariant, uow)
    deactivate_variant = providers.Factory(catalog.DeactivateVariant, uow)
    search_catalog = providers.Factory(catalog.SearchCatalog, uow)
    get_service = providers.Factory(catalog.GetService, uow)
    get_variant = providers.Factory(catalog.GetVariant, uow)

    # Orders and payments: added with the booking and payment entrypoints.
