"""Settings from the environment: defaults, generated development secrets, clear failures."""

import os
import stat

import pytest

from marketlink.config import ConfigError, Settings


@pytest.fixture
def env(tmp_path):
    return {"MARKETLINK_INSTANCE_DIR": str(tmp_path / "instance")}


def test_development_defaults(env, tmp_path):
    settings = Settings.from_env(env)
    instance = tmp_path / "instance"
    assert settings.database_url == f"sqlite:///{instance / 'marketlink.db'}"
    assert settings.redis_url is None
    assert settings.public_base_url == "http://127.0.0.1:8000"
    assert settings.frontend_url is None
    assert settings.reservation_ttl_seconds == 1800
    assert settings.max_unpaid_orders == 5
    assert settings.rate_limits is True
    assert settings.rate_limit_register == "10 per hour"
    assert settings.rate_limit_book == "30 per minute"
    assert settings.trusted_proxies == 0
    assert settings.cors_origins == ()
    assert settings.api_docs is True
    assert (settings.port, settings.threads) == (8000, 4)
    assert settings.workers == 2 * (os.cpu_count() or 1) + 1
    assert not settings.is_production


def test_development_secrets_are_generated_once_and_kept_private(env, tmp_path):
    first = Settings.from_env(env)
    second = Settings.from_env(env)
    assert len(first.secret_key) >= 32
    assert first.secret_key != first.jwt_secret_key
    assert (second.secret_key, second.jwt_secret_key) == (first.secret_key, first.jwt_secret_key)
    for name in ("secret_key", "jwt_secret_key"):
        mode = stat.S_IMODE((tmp_path / "instance" / name).stat().st_mode)
        assert mode == 0o600
    assert not [p for p in (tmp_path / "instance").iterdir() if p.name.startswith(".")]


def test_secrets_from_the_environment_win(env):
    settings = Settings.from_env({**env, "SECRET_KEY": "s" * 40, "JWT_SECRET_KEY": "j" * 40})
    assert (settings.secret_key, settings.jwt_secret_key) == ("s" * 40, "j" * 40)


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, "SECRET_KEY and JWT_SECRET_KEY"),
        ({"SECRET_KEY": "x" * 40}, "JWT_SECRET_KEY"),
        ({"JWT_SECRET_KEY": "x" * 40}, "SECRET_KEY"),
    ],
)
def test_production_without_secrets_fails_with_one_clear_line(env, given, missing):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**env, "MARKETLINK_ENV": "production", **given})
    message = str(caught.value)
    assert message == f"{missing} must be set when MARKETLINK_ENV=production."
    assert "\n" not in message


PRODUCTION = {
    "MARKETLINK_ENV": "production",
    "SECRET_KEY": "s" * 40,
    "JWT_SECRET_KEY": "j" * 40,
    "SSLCOMMERZ_STORE_ID": "shop",
    "SSLCOMMERZ_STORE_PASSWORD": "pw",
}


@pytest.mark.parametrize(
    ("removed", "missing"),
    [
        (("SSLCOMMERZ_STORE_ID",), "SSLCOMMERZ_STORE_ID"),
        (
            ("SSLCOMMERZ_STORE_ID", "SSLCOMMERZ_STORE_PASSWORD"),
            # Without a store password, WEBHOOK_SECRET has nothing to default to either.
            "SSLCOMMERZ_STORE_ID and SSLCOMMERZ_STORE_PASSWORD and WEBHOOK_SECRET",
        ),
    ],
)
def test_production_without_gateway_credentials_fails_with_one_clear_line(env, removed, missing):
    given = {k: v for k, v in PRODUCTION.items() if k not in removed}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**env, **given})
    assert str(caught.value) == f"{missing} must be set when MARKETLINK_ENV=production."


def test_production_webhook_secret_defaults_to_the_store_password(env):
    assert Settings.from_env({**env, **PRODUCTION}).webhook_secret == "pw"
    given = {**env, **PRODUCTION, "WEBHOOK_SECRET": "w"}
    assert Settings.from_env(given).webhook_secret == "w"


def test_production_never_writes_secrets(env, tmp_path):
    with pytest.raises(ConfigError):
        Settings.from_env({**env, "MARKETLINK_ENV": "production"})
    assert not (tmp_path / "instance" / "secret_key").exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "eighty"),
        ("PORT", "70000"),
        ("WORKERS", "0"),
        ("THREADS", "-1"),
        ("RESERVATION_TTL_SECONDS", "1.5"),
        ("MAX_UNPAID_ORDERS", "-1"),
        ("RATE_LIMITS", "maybe"),
        ("SSLCOMMERZ_LIVE", "sometimes"),
        ("MARKETLINK_ENV", "staging"),
        ("VENDOR_APPROVAL", "sometimes"),
    ],
)
def test_invalid_values_fail_with_one_line_naming_the_variable(env, name, value):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**env, name: value})
    assert name in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "manual"), [(None, False), ("auto", False), ("manual", True), ("MANUAL", True)]
)
def test_vendor_approval_is_automatic_unless_manual(env, value, manual):
    given = {} if value is None else {"VENDOR_APPROVAL": value}
    settings = Settings.from_env({**env, **given})
    assert settings.vendors_need_approval is manual
    assert settings.vendor_approval == ("manual" if manual else "auto")


def test_numbers_and_switches(env):
    settings = Settings.from_env(
        {
            **env,
            "RATE_LIMITS": "off",
            "MAX_UNPAID_ORDERS": "0",
            "RESERVATION_TTL_SECONDS": "60",
            "PORT": "9000",
            "WORKERS": "3",
            "THREADS": "8",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "DATABASE_URL": "postgresql+psycopg://u@h/db",
            "FRONTEND_URL": "https://app.example.com/",
        }
    )
    assert settings.rate_limits is False
    assert settings.max_unpaid_orders == 0
    assert settings.reservation_ttl_seconds == 60
    assert (settings.port, settings.workers, settings.threads) == (9000, 3, 8)
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.frontend_url == "https://app.example.com"


def test_the_public_base_url_follows_the_port_unless_set(env):
    moved = Settings.from_env({**env, "PORT": "9000"})
    assert moved.public_base_url == "http://127.0.0.1:9000"
    assert moved.sslcommerz_base_url == "http://127.0.0.1:9000/_sandbox/sslcommerz"
    behind_a_proxy = Settings.from_env(
        {**env, "PORT": "9000", "PUBLIC_BASE_URL": "https://ml.example.com/"}
    )
    assert behind_a_proxy.public_base_url == "https://ml.example.com"
    by_hand = Settings(secret_key="s", jwt_secret_key="j", database_url="sqlite://", port=9001)
    assert by_hand.public_base_url == "http://127.0.0.1:9001"
    assert by_hand.sslcommerz_base_url == "http://127.0.0.1:9001/_sandbox/sslcommerz"


class TestGateway:
    def test_without_credentials_the_offline_sandbox_is_used(self, env):
        settings = Settings.from_env({**env, "PUBLIC_BASE_URL": "http://localhost:5000/"})
        assert settings.use_sandbox
        assert settings.gateway_store_id == "testbox"
        assert settings.webhook_secret == "qwerty"
        assert settings.sslcommerz_base_url == "http://localhost:5000/_sandbox/sslcommerz"

    def test_with_credentials_the_sslcommerz_sandbox_then_live(self, env):
        creds = {**env, "SSLCOMMERZ_STORE_ID": "shop", "SSLCOMMERZ_STORE_PASSWORD": "pw"}
        settings = Settings.from_env(creds)
        assert not settings.use_sandbox
        assert settings.sslcommerz_base_url == "https://sandbox.sslcommerz.com"
        assert settings.webhook_secret == "pw"
        live = Settings.from_env({**creds, "SSLCOMMERZ_LIVE": "true", "WEBHOOK_SECRET": "w"})
        assert live.sslcommerz_base_url == "https://securepay.sslcommerz.com"
        assert live.webhook_secret == "w"

    def test_the_sandbox_is_never_used_in_production(self, env):
        settings = Settings.from_env({**env, **PRODUCTION})
        assert not settings.use_sandbox
        assert settings.sslcommerz_base_url == "https://sandbox.sslcommerz.com"


def test_security_settings(env):
    settings = Settings.from_env(
        {
            **env,
            "RATE_LIMIT_REGISTER": "3 per minute",
            "RATE_LIMIT_BOOK": "5/second",
            "TRUSTED_PROXIES": "2",
            "CORS_ORIGINS": "https://shop.example, http://localhost:3000/",
            "API_DOCS": "off",
        }
    )
    assert settings.rate_limit_register == "3 per minute"
    assert settings.rate_limit_book == "5/second"
    assert settings.trusted_proxies == 2
    assert settings.cors_origins == ("https://shop.example", "http://localhost:3000")
    assert settings.api_docs is False


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RATE_LIMIT_REGISTER", "lots", "RATE_LIMIT_REGISTER must be a rate such as"),
        ("RATE_LIMIT_BOOK", "10 per fortnight", "RATE_LIMIT_BOOK must be a rate such as"),
        ("TRUSTED_PROXIES", "-1", "TRUSTED_PROXIES must be 0..10"),
        ("CORS_ORIGINS", "*", "CORS_ORIGINS must list origins"),
        ("CORS_ORIGINS", "shop.example", "CORS_ORIGINS must list origins"),
        ("CORS_ORIGINS", "https://shop.example/path", "CORS_ORIGINS must list origins"),
        ("API_DOCS", "maybe", "API_DOCS must be on or off"),
    ],
)
def test_bad_security_settings_fail_with_one_clear_line(env, name, value, message):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**env, name: value})
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
