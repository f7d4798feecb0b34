"""Settings: everything MarketLink reads from the environment, checked once at startup."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import limits

DEVELOPMENT = "development"
PRODUCTION = "production"
TEST = "test"
ENVIRONMENTS = (DEVELOPMENT, PRODUCTION, TEST)

# The offline sandbox speaks for SSLCommerz's public sandbox store.
SANDBOX_STORE_ID = "testbox"
SANDBOX_STORE_PASSWORD = "qwerty"  # noqa: S105 - SSLCommerz's published sandbox password
SANDBOX_PATH = "/_sandbox/sslcommerz"
SSLCOMMERZ_SANDBOX_URL = "https://sandbox.sslcommerz.com"
SSLCOMMERZ_LIVE_URL = "https://securepay.sslcommerz.com"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class ConfigError(Exception):
    """The environment does not describe a runnable MarketLink; the message is one line."""


DEFAULT_PORT = 8000

# VENDOR_APPROVAL: a new vendor profile is open at once, or waits for an admin.
AUTO = "auto"
MANUAL = "manual"
VENDOR_APPROVALS = (AUTO, MANUAL)

DEFAULT_RATE_LIMIT_REGISTER = "10 per hour"
DEFAULT_RATE_LIMIT_BOOK = "30 per minute"


def local_base_url(port: int) -> str:
    """PUBLIC_BASE_URL's default: this machine, on the port the server listens on."""
    return f"http://127.0.0.1:{port}"


def _default_workers() -> int:
    return 2 * (os.cpu_count() or 1) + 1


@dataclass(frozen=True, slots=True)
class Settings:
    """The configuration table of the contract (docs/api.md), resolved to concrete values."""

    secret_key: str
    jwt_secret_key: str
    database_url: str
    env: str = DEVELOPMENT
    instance_dir: Path = field(default_factory=lambda: Path("instance").resolve())
    redis_url: str | None = None
    sslcommerz_store_id: str | None = None
    sslcommerz_store_password: str | None = None
    sslcommerz_live: bool = False
    sslcommerz_base_url: str = ""
    webhook_secret: str = ""
    public_base_url: str = ""  # unset: http://127.0.0.1:<port>, this server itself
    frontend_url: str | None = None
    reservation_ttl_seconds: int = 1800
    max_unpaid_orders: int = 5
    rate_limits: bool = True
    rate_limit_register: str = DEFAULT_RATE_LIMIT_REGISTER
    rate_limit_book: str = DEFAULT_RATE_LIMIT_BOOK
    trusted_proxies: int = 0
    cors_origins: tuple[str, ...] = ()
    api_docs: bool = True
    vendor_approval: str = AUTO
    port: int = DEFAULT_PORT
    workers: int = field(default_factory=_default_workers)
    threads: int = 4
    admin_idle_minutes: int = 30

    def __post_init__(self) -> None:
        # A Settings built by hand (tests) gets the same derived defaults as from_env.
        if not self.public_base_url:
            # Pay links and the gateway's callbacks (the sandbox's too) reach this server.
            object.__setattr__(self, "public_base_url", local_base_url(self.port))
        if not self.sslcommerz_base_url:
            object.__setattr__(self, "sslcommerz_base_url", self._default_gateway_url())
        if not self.webhook_secret:
            object.__setattr__(self, "webhook_secret", self.gateway_store_password)

    @property
    def vendors_need_approval(self) -> bool:
        return self.vendor_approval == MANUAL

    @property
    def is_production(self) -> bool:
        return self.env == PRODUCTION

    @property
    def use_sandbox(self) -> bool:
        """The built-in offline gateway: no credentials configured, and never in production."""
        return not self.is_production and not (
            self.sslcommerz_store_id and self.sslcommerz_store_password
        )

    @property
    def gateway_store_id(self) -> str:
        return SANDBOX_STORE_ID if self.use_sandbox else self.sslcommerz_store_id or ""

    @property
    def gateway_store_password(self) -> str:
        if self.use_sandbox:
            return SANDBOX_STORE_PASSWORD
        return self.sslcommerz_store_password or ""

    def _default_gateway_url(self) -> str:
        if self.use_sandbox:
            return self.public_base_url.rstrip("/") + SANDBOX_PATH
        return SSLCOMMERZ_LIVE_URL if self.sslcommerz_live else SSLCOMMERZ_SANDBOX_URL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Reads the environment; raises ConfigError with one clear line when it is unusable."""
        env = _Env(os.environ if environ is None else environ)
        mode = (env.text("MARKETLINK_ENV") or DEVELOPMENT).lower()
        if mode not in ENVIRONMENTS:
            raise ConfigError(
                f"MARKETLINK_ENV must be one of {', '.join(ENVIRONMENTS)}, not {mode!r}."
            )
        instance_dir = Path(env.text("MARKETLINK_INSTANCE_DIR") or "instance").resolve()
        production = mode == PRODUCTION

        secret_key = env.text("SECRET_KEY")
        jwt_secret_key = env.text("JWT_SECRET_KEY")
        if production:
            missing = [
                name
                for name, value in (("SECRET_KEY", secret_key), ("JWT_SECRET_KEY", jwt_secret_key))
                if not value
            ]
            if missing:
                raise ConfigError(
                    f"{' and '.join(missing)} must be set when MARKETLINK_ENV=production."
                )
        secret_key = secret_key or _instance_secret(instance_dir, "secret_key")
        jwt_secret_key = jwt_secret_key or _instance_secret(instance_dir, "jwt_secret_key")

        database_url = env.text("DATABASE_URL")
        if not database_url:
            _make_instance_dir(instance_dir)
            database_url = f"sqlite:///{instance_dir / 'marketlink.db'}"

        vendor_approval = (env.text("VENDOR_APPROVAL") or AUTO).lower()
        if vendor_approval not in VENDOR_APPROVALS:
            raise ConfigError(
                f"VENDOR_APPROVAL must be one of {', '.join(VENDOR_APPROVALS)}, "
                f"not {vendor_approval!r}."
            )

        store_id = env.text("SSLCOMMERZ_STORE_ID")
        store_password = env.text("SSLCOMMERZ_STORE_PASSWORD")
        webhook_secret = env.text("WEBHOOK_SECRET") or store_password or ""
        if production:
            # Without them the app would verify notices with an empty secret: anyone could
            # sign one.
            missing = [
                name
                for name, value in (
                    ("SSLCOMMERZ_STORE_ID", store_id),
                    ("SSLCOMMERZ_STORE_PASSWORD", store_password),
                    ("WEBHOOK_SECRET", webhook_secret),
                )
                if not value
            ]
            if missing:
                raise ConfigError(
                    f"{' and '.join(missing)} must be set when MARKETLINK_ENV=production."
                )

        port = env.integer("PORT", DEFAULT_PORT, minimum=1, maximum=65535)
        public_base_url = (env.text("PUBLIC_BASE_URL") or local_base_url(port)).rstrip("/")
        return cls(
            env=mode,
            instance_dir=instance_dir,
            secret_key=secret_key,
            jwt_secret_key=jwt_secret_key,
            database_url=database_url,
            redis_url=env.text("REDIS_URL"),
            sslcommerz_store_id=store_id,
            sslcommerz_store_password=store_password,
            sslcommerz_live=env.flag("SSLCOMMERZ_LIVE", default=False),
            sslcommerz_base_url=(env.text("SSLCOMMERZ_BASE_URL") or "").rstrip("/"),
            webhook_secret=webhook_secret,
            public_base_url=public_base_url,
            frontend_url=(env.text("FRONTEND_URL") or "").rstrip("/") or None,
            reservation_ttl_seconds=env.integer("RESERVATION_TTL_SECONDS", 1800, minimum=1),
            max_unpaid_orders=env.integer("MAX_UNPAID_ORDERS", 5, minimum=0),
            rate_limits=env.flag("RATE_LIMITS", default=True),
            rate_limit_register=env.rate_limit("RATE_LIMIT_REGISTER", DEFAULT_RATE_LIMIT_REGISTER),
            rate_limit_book=env.rate_limit("RATE_LIMIT_BOOK", DEFAULT_RATE_LIMIT_BOOK),
            trusted_proxies=env.integer("TRUSTED_PROXIES", 0, minimum=0, maximum=10),
            cors_origins=env.origins("CORS_ORIGINS"),
            api_docs=env.flag("API_DOCS", default=True),
            vendor_approval=vendor_approval,
            port=port,
            workers=env.integer("WORKERS", _default_workers(), minimum=1),
            threads=env.integer("THREADS", 4, minimum=1),
            admin_idle_minutes=env.integer("ADMIN_IDLE_MINUTES", 30, minimum=1),
        )


class _Env:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def flag(self, name: str, *, default: bool) -> bool:
        value = self.text(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ConfigError(f"{name} must be on or off (true/false), not {value!r}.")

    def rate_limit(self, name: str, default: str) -> str:
        """A limit in flask-limiter's notation ("10 per hour"), checked here, not per request."""
        value = self.text(name) or default
        try:
            limits.parse_many(value)
        except ValueError:
            raise ConfigError(
                f"{name} must be a rate such as '10 per hour', not {value!r}."
            ) from None
        return value

    def origins(self, name: str) -> tuple[str, ...]:
        """Comma-separated browser origins (scheme://host[:port]); unset: none."""
        origins = tuple(
            part.strip().rstrip("/") for part in (self.text(name) or "").split(",") if part.strip()
        )
        for origin in origins:
            scheme, _, host = origin.partition("://")
            if scheme not in ("http", "https") or not host or "/" in host or origin == "*":
                raise ConfigError(
                    f"{name} must list origins such as https://shop.example, not {origin!r}."
                )
        return origins

    def integer(self, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {value!r}.") from None
        if number < minimum or (maximum is not None and number > maximum):
            bounds = f"at least {minimum}" if maximum is None else f"{minimum}..{maximum}"
            raise ConfigError(f"{name} must be {bounds}, not {number}.")
        return number


def _make_instance_dir(instance_dir: Path) -> None:
    try:
        instance_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"Cannot create the instance folder {instance_dir}: {exc}.") from None


def _instance_secret(instance_dir: Path, name: str) -> str:
    """A development secret generated once and kept in the instance folder (mode 0600).

    Several processes may start at once (gunicorn workers): the file is written aside and
    linked into place, so exactly one value wins and nobody reads a half-written file.
    """
    _make_instance_dir(instance_dir)
    path = instance_dir / name
    try:
        if not path.exists():
            fd, tmp = tempfile.mkstemp(dir=instance_dir, prefix=f".{name}.")
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, secrets.token_hex(32).encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process won the race; use its value
            finally:
                os.unlink(tmp)
        value = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"Cannot keep the {name} in {instance_dir}: {exc}.") from None
    if not value:
        raise ConfigError(f"{path} is empty; delete it to generate a new secret.")
    return value
