"""With REDIS_URL, failed logins are counted in the container's Redis, on its client's terms."""

from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis

from marketlink.containers import Container
from marketlink.entrypoints.http.app import MarketLink, create_app
from tests.e2e.conftest import fast_hasher

pytestmark = pytest.mark.e2e

LOGIN = "/api/v1/auth/login"


@pytest.fixture
def redis_app(settings, redis_url) -> Iterator[MarketLink]:
    container = Container(settings=replace(settings, redis_url=redis_url))
    container.password_hasher.override(fast_hasher())
    app = create_app(container=container)
    yield app
    container.unwire()
    container.engine().dispose()
    container.redis_client().close()


def _limiter_client(app: MarketLink) -> redis.Redis:
    (limiter,) = app.extensions["limiter"]
    client = limiter.storage.storage
    assert isinstance(client, redis.Redis)
    return client


def test_the_limiter_uses_the_containers_redis_pool_and_its_timeouts(redis_app):
    client = _limiter_client(redis_app)
    pool = redis_app.container.redis_client().connection_pool
    assert client.connection_pool is pool
    options = client.connection_pool.connection_kwargs
    assert options["socket_connect_timeout"] == 2
    assert options["socket_timeout"] == 5
    assert options["health_check_interval"] == 30


def test_a_failed_login_is_counted_in_the_configured_redis_database(redis_app, redis_url):
    email = "limits-in-redis@example.com"
    response = redis_app.test_client().post(LOGIN, json={"email": email, "password": "wrong"})
    assert response.status_code == 401
    configured = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
    try:
        keys = [key.decode() for key in configured.scan_iter(match="*marketlink*")]
    finally:
        configured.close()
    assert any(f"account:{email}" in key for key in keys), keys
    assert any("address:" in key for key in keys), keys
