"""`marketlink`: the one console script, with MarketLink's commands only (a Flask AppGroup).

Configuration problems end the command with their one-line message and exit code 1.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from time import sleep
from typing import IO, Any, NoReturn

import click
from flask.cli import AppGroup, NoAppException, ScriptInfo, routes_command, shell_command
from gunicorn.app.base import BaseApplication
from werkzeug.serving import run_simple

from marketlink.application.actors import Actor
from marketlink.application.errors import EmailTaken, InconsistentState
from marketlink.application.use_cases.accounts import RegisterUser
from marketlink.application.use_cases.catalog import NewVariant
from marketlink.application.use_cases.orders import ExpiryReport
from marketlink.application.use_cases.payments import RECONCILE_QUIET_PERIOD
from marketlink.config import ConfigError, Settings
from marketlink.containers import Container
from marketlink.domain.errors import DomainError
from marketlink.domain.money import Money
from marketlink.domain.users import Role
from marketlink.entrypoints.balanced_worker import BalancedThreadWorker
from marketlink.entrypoints.http import openapi
from marketlink.entrypoints.http.app import MarketLink, create_app


class _ConfigUnusable(NoAppException):
    """A ConfigError met while FlaskGroup loads the app (e.g. for `--help`)."""


def _create_app_for_flask() -> MarketLink:
    try:
        return create_app()
    except ConfigError as exc:
        raise _ConfigUnusable(str(exc)) from None


def _fail(message: str) -> NoReturn:
    click.echo(f"marketlink: {message}", err=True)
    sys.exit(1)


def _settings(port: int | None = None) -> Settings:
    """The environment's settings; a `--port` counts as PORT (PUBLIC_BASE_URL follows it)."""
    environ = os.environ if port is None else {**os.environ, "PORT": str(port)}
    try:
        return Settings.from_env(environ)
    except ConfigError as exc:
        _fail(str(exc))


@contextlib.contextmanager
def _container() -> Iterator[Container]:
    """The composition root alone, for commands that need use cases but not the web app."""
    container = Container(settings=_settings())
    try:
        yield container
    finally:
        container.engine().dispose()


class _MarketLinkGroup(AppGroup):
    """MarketLink's commands, and only them: not FlaskGroup, whose `--app`, `--env-file`,
    `--debug` and `--version` ("Show the Flask version") and plugin commands (`limiter`,
    `openapi`) are Flask's business, not an operator's.

    The two Flask commands kept (`routes`, `shell`) load the app through the ScriptInfo
    every invocation gets here, as FlaskGroup would give them.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        extra.setdefault(
            "obj",
            ScriptInfo(
                create_app=_create_app_for_flask, set_debug_flag=False, load_dotenv_defaults=False
            ),
        )
        return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        # `routes` and `shell` load the app through ScriptInfo: a configuration problem
        # ends them like ours, not with a usage message.
        try:
            return super().invoke(ctx)
        except _ConfigUnusable as exc:
            _fail(exc.message)


cli = _MarketLinkGroup(
    name="marketlink",
    help="MarketLink: book local repair shops.",
)
click.version_option(
    package_name="marketlink", prog_name="marketlink", message="%(prog)s %(version)s"
)(cli)


# Schema and accounts ----------------------------------------------------------------------


@cli.command("migrate", with_appcontext=False, short_help="Bring the database schema up to date.")
def migrate() -> None:
    """Bring the database schema up to date (Alembic)."""
    with _container() as container:
        container.migrate_database()
    click.echo("database is up to date")


@cli.command("create-admin", with_appcontext=False, short_help="Create an administrator account.")
@click.option("--email", prompt=True, help="The admin's email (prompted when omitted).")
@click.option(
    "--password",
    default=None,
    help="The admin's password (prompted for twice, hidden, when omitted): at least 12 "
    "characters, and not a common one.",
)
@click.option("--first-name", default="Admin", show_default=True)
@click.option("--last-name", default="MarketLink", show_default=True)
@click.option(
    "--promote",
    is_flag=True,
    help="Make the existing account with this email an admin instead (no password asked).",
)
def create_admin(
    email: str, password: str | None, first_name: str, last_name: str, promote: bool
) -> None:
    """Create an administrator account (the createsuperuser of MarketLink), or promote one."""
    if promote:
        if password is not None:
            _fail("--promote keeps the account's password: leave --password out.")
        with _container() as container:
            try:
                user = container.promote_to_admin()(email)
            except DomainError as exc:
                _fail(exc.message)
        click.echo(f"{user.email} is an admin now (id {user.id})")
        return
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _container() as container:
        try:
            user = container.create_admin()(
                RegisterUser(email, password, first_name, last_name, Role.ADMIN)
            )
        except DomainError as exc:
            _fail(exc.message)
    click.echo(f"admin {user.email} created (id {user.id})")


# Demo data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DemoAccount:
    email: str
    password: str
    first_name: str
    last_name: str
    role: Role


DEMO_VENDOR = _DemoAccount(
    "demo-vendor@example.com", "demo-vendor-password", "Rahim", "Uddin", Role.VENDOR
)
DEMO_CUSTOMER = _DemoAccount(
    "demo-customer@example.com", "demo-customer-password", "Karim", "Hasan", Role.CUSTOMER
)

# (service, description, [(variant, price, minutes, stock)])
DEMO_CATALOG: list[tuple[str, str, list[tuple[str, str, int, int]]]] = [
    (
        "Brake pad replacement",
        "New brake pads, discs checked, brake fluid topped up.",
        [("Front axle", "1500.00", 60, 3), ("Rear axle", "1200.00", 60, 2)],
    ),
    (
        "Oil change",
        "Engine oil and filter.",
        [("Mineral oil", "800.00", 30, 4), ("Synthetic oil", "1800.00", 30, 4)],
    ),
    (
        "Full service",
        "Inspection of 40 points, fluids, filters and a road test.",
        [("Basic", "2500.00", 180, 1), ("Premium", "4500.00", 240, 1)],
    ),
]


@cli.command(
    "seed-demo",
    with_appcontext=False,
    short_help="Create the demo shop, its services and a customer.",
)
@click.option(
    "--once",
    is_flag=True,
    help="Create nothing if the demo vendor exists already (the sign-ins are still shown).",
)
def seed_demo(once: bool) -> None:
    """A demo vendor with a shop, services and variants, and a demo customer."""
    with _container() as container:
        try:
            vendor = _demo_account(container, DEMO_VENDOR)
        except EmailTaken:
            if once:
                click.echo("demo data exists already; nothing to do")
                _echo_demo_sign_ins()  # `make run` seeds with --once: show them every time
                return
            _fail(f"{DEMO_VENDOR.email} exists already (use --once to skip quietly).")
        container.create_vendor_profile()(vendor, "Demo Auto Care", "House 12, Road 5, Dhanmondi")
        for name, description, variants in DEMO_CATALOG:
            service = container.publish_service()(vendor, name, description)
            if service.id is None:
                raise InconsistentState(f"The service {name!r} was stored without an id.")
            for variant, price, minutes, stock in variants:
                new = NewVariant(variant, Money(Decimal(price)), minutes, stock)
                container.add_variant()(vendor, service.id, new)
        with contextlib.suppress(EmailTaken):  # a customer of that name is fine as it is
            _demo_account(container, DEMO_CUSTOMER)
    click.echo("demo data created")
    _echo_demo_sign_ins()


def _echo_demo_sign_ins() -> None:
    click.echo("sign in with:")
    for demo in (DEMO_VENDOR, DEMO_CUSTOMER):
        click.echo(f"  {demo.role.value:<8}  {demo.email}  {demo.password}")


def _demo_account(container: Container, demo: _DemoAccount) -> Actor:
    user = container.register()(
        RegisterUser(demo.email, demo.password, demo.first_name, demo.last_name, demo.role)
    )
    if user.id is None:
        raise InconsistentState(f"The account {demo.email} was stored without an id.")
    return Actor(user.id, user.role)


# Orders and payments --------------------------------------------------------------------


@cli.command(
    "expire-orders",
    with_appcontext=False,
    short_help="Cancel expired unpaid orders, release their slots.",
)
@click.option(
    "--every",
    type=click.FloatRange(min=0.1),
    default=None,
    metavar="SECONDS",
    help="Sweep again every SECONDS until interrupted (Ctrl-C); default: once.",
)
def expire_orders(every: float | None) -> None:
    """Cancel unpaid orders past their reservation time and release their slots."""
    with _container() as container:
        if every is None:
            click.echo(_expiry_summary(_expire_all(container)))
            return
        try:
            while True:
                try:
                    click.echo(_expiry_summary(_expire_all(container)))
                except Exception as exc:  # a database hiccup must not end the loop
                    click.echo(f"marketlink: expiry sweep failed: {exc}", err=True)
                sleep(every)
        except KeyboardInterrupt:
            click.echo("stopped")


def _expire_all(container: Container) -> ExpiryReport:
    """Sweeps batch after batch while the last one still cancelled something."""
    cancelled = skipped = 0
    while True:
        report = container.expire_unpaid_orders()()
        cancelled += report.cancelled
        skipped += report.skipped
        if report.cancelled == 0:
            return ExpiryReport(cancelled, skipped)


def _expiry_summary(report: ExpiryReport) -> str:
    summary = f"cancelled {report.cancelled} expired order{'s' if report.cancelled != 1 else ''}"
    if report.skipped:
        summary += f" ({report.skipped} skipped: changed meanwhile)"
    return summary


@cli.command(
    "reconcile-payments",
    with_appcontext=False,
    short_help="Settle lost gateway notices, poll pending refunds.",
)
@click.option(
    "--min-age",
    type=click.IntRange(min=0),
    default=int(RECONCILE_QUIET_PERIOD.total_seconds()),
    show_default=True,
    metavar="SECONDS",
    help="Ask only about sessions opened at least SECONDS ago (a younger one's notice may "
    "still be on its way).",
)
def reconcile_payments(min_age: int) -> None:
    """Ask the gateway about payments whose notice never came, and about pending refunds."""
    with _container() as container:
        try:
            report = container.reconcile_payments(quiet_period=timedelta(seconds=min_age))()
        except DomainError as exc:
            _fail(exc.message)
    click.echo(
        f"checked {report.checked} open payment{'s' if report.checked != 1 else ''}, "
        f"settled {report.settled}; polled {report.refunds_polled} pending "
        f"refund{'s' if report.refunds_polled != 1 else ''}"
    )


# Looking inside: the API's description, its routes, a shell -----------------------------


@cli.command(
    "write-openapi",
    with_appcontext=False,
    short_help="Write the OpenAPI document to PATH ('-': stdout).",
)
@click.argument("path", type=click.File("w", lazy=True), metavar="PATH")
def write_openapi(path: IO[str]) -> None:
    """Write the OpenAPI document to PATH ('-': standard output), as /openapi.json serves it.

    Written as docs/openapi.json is committed (`make openapi`): pretty, keys sorted.
    """
    with _app() as app, app.test_client() as client:
        document = client.get(app.config["OPENAPI_URL_PREFIX"] + app.config["OPENAPI_JSON_PATH"])
    if document.status_code != 200:
        _fail(f"The app does not serve its OpenAPI document (HTTP {document.status_code}).")
    click.echo(openapi.render(document.get_json()), file=path, nl=False)


# Flask's own two, under MarketLink's help (new commands: Flask's objects stay as they are).
cli.add_command(
    click.Command(
        "routes",
        callback=routes_command.callback,
        params=routes_command.params,
        help="List the HTTP routes the app serves: endpoint, methods and rule of each.",
        short_help="List the HTTP routes (endpoint, methods, rule).",
    )
)
cli.add_command(
    click.Command(
        "shell",
        callback=shell_command.callback,
        params=shell_command.params,
        help="A Python shell with the app loaded: `app`, and its container `app.container`.",
        short_help="A Python shell with the app loaded.",
    )
)


@contextlib.contextmanager
def _app() -> Iterator[MarketLink]:
    """The web app of the environment's settings, for commands that look at it."""
    app = create_app(_settings())
    try:
        yield app
    finally:
        app.container.unwire()
        app.container.engine().dispose()


# Servers ----------------------------------------------------------------------------------


@cli.command("run", with_appcontext=False, short_help="The development server.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=None, help="Default: PORT (8000).")
def run(host: str, port: int | None) -> None:
    """The development server (threaded, no reloader)."""
    settings = _settings(port)
    app = create_app(settings)
    # werkzeug directly: Flask's app.run() refuses to serve inside a `flask`-style CLI group.
    # Threaded, so that a gateway call to the sandbox in this same server cannot deadlock.
    run_simple(host, settings.port, app, threaded=True, use_reloader=False)


# Requests in flight at once while the offline gateway handles one payment in this server.
SANDBOX_MIN_THREADS = 3


@cli.command("serve", with_appcontext=False, short_help="The production server (gunicorn) on PORT.")
@click.option(
    "--host",
    default=None,
    help="Default: 0.0.0.0 in production, 127.0.0.1 otherwise.",
)
def serve(host: str | None) -> None:
    """The production server: gunicorn, gthread workers, on PORT."""
    settings = _settings()  # fail fast, before any worker starts
    bind_host = host or ("0.0.0.0" if settings.is_production else "127.0.0.1")  # noqa: S104
    threads = settings.threads
    if settings.use_sandbox and threads < SANDBOX_MIN_THREADS:
        # The offline gateway is served by these same workers, and one payment nests three
        # requests (the customer's, the IPN it sends, the validation call the IPN makes):
        # a gthread worker queues what it accepts, so each worker must be able to run them.
        click.echo(
            f"marketlink: THREADS={threads} raised to {SANDBOX_MIN_THREADS} for the offline "
            "gateway sandbox",
            err=True,
        )
        threads = SANDBOX_MIN_THREADS
    BalancedThreadWorker.prepare(settings.workers)
    _Gunicorn(
        settings,
        {
            "bind": f"{bind_host}:{settings.port}",
            "workers": settings.workers,
            "threads": threads,
            "worker_class": BalancedThreadWorker,
            "keepalive": 5,
            "timeout": 60,
            "graceful_timeout": 30,
            "accesslog": None,
            "errorlog": "-",
            "proc_name": "marketlink",
            # One shared ~/.gunicorn socket would collide between servers on one machine.
            "control_socket_disable": True,
        },
    ).run()


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn run from Python: each worker builds its own app (and engine) after the fork."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self._settings = settings
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self) -> MarketLink:
        return create_app(self._settings)


def main() -> None:
    try:
        cli.main(prog_name="marketlink")
    except ConfigError as exc:
        _fail(str(exc))
