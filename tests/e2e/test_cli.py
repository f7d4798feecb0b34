"""The `marketlink` command line, run in-process against a temporary SQLite database."""

import json
import uuid
from importlib.metadata import version

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from marketlink.config import Settings
from marketlink.containers import Container
from marketlink.entrypoints.cli import DEMO_CUSTOMER, DEMO_VENDOR, cli
from marketlink.entrypoints.http.app import create_app
from marketlink.entrypoints.http.openapi import render

pytestmark = pytest.mark.e2e

DEMO_ORDER = uuid.UUID(int=1)
STRONG = "violet-kettle-harbour-93"


@pytest.fixture
def env(tmp_path):
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "MARKETLINK_INSTANCE_DIR": str(tmp_path / "instance"),
        "MARKETLINK_ENV": "development",
        "REDIS_URL": "",
        "SECRET_KEY": "",
        "JWT_SECRET_KEY": "",
    }


@pytest.fixture
def runner():
    return CliRunner()


def invoke(runner, env, *args, **kwargs):
    return runner.invoke(cli, list(args), env=env, catch_exceptions=False, **kwargs)


@pytest.fixture
def migrated(runner, env):
    result = invoke(runner, env, "migrate")
    assert result.exit_code == 0, result.output
    return env


@pytest.fixture
def client_for(monkeypatch):
    apps = []

    def make(env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        container = Container(settings=Settings.from_env())
        apps.append(container)
        return create_app(container=container).test_client()

    yield make
    for container in apps:
        container.unwire()
        container.engine().dispose()


def login(client, email, password):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_migrate_then_the_app_is_ready(migrated, client_for):
    assert client_for(migrated).get("/readyz").status_code == 200


def test_migrate_makes_the_offline_sandbox_tables(migrated, client_for):
    engine = sa.create_engine(migrated["DATABASE_URL"])
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"sandbox_sessions", "sandbox_transactions", "sandbox_refunds"} <= tables
    session = client_for(migrated).post(
        "/_sandbox/sslcommerz/gwprocess/v4/api.php",
        data={
            "store_id": "testbox",
            "store_passwd": "qwerty",
            "total_amount": "1500.00",
            "currency": "BDT",
            "tran_id": "CLI-MIGRATED-1",
            "success_url": "http://127.0.0.1:5000/s",
            "fail_url": "http://127.0.0.1:5000/f",
            "cancel_url": "http://127.0.0.1:5000/c",
        },
    )
    assert session.status_code == 200 and session.get_json()["status"] == "SUCCESS"


def test_create_admin(runner, migrated, client_for):
    result = invoke(
        runner, migrated, "create-admin", "--email", "root@example.com", "--password", STRONG
    )
    assert result.exit_code == 0, result.output
    client = client_for(migrated)
    response = login(client, "root@example.com", STRONG)
    assert response.status_code == 200
    token = response.json["access_token"]
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json["role"] == "admin"


def test_create_admin_prompts_for_what_is_missing(runner, migrated, client_for):
    result = invoke(
        runner, migrated, "create-admin", input=f"root@example.com\n{STRONG}\n{STRONG}\n"
    )
    assert result.exit_code == 0, result.output
    assert login(client_for(migrated), "root@example.com", STRONG).status_code == 200
    assert STRONG not in result.output, "hidden when typed, never printed"
    assert "Repeat for confirmation" in result.output


def test_create_admin_asks_again_when_the_two_passwords_differ(runner, migrated, client_for):
    typed = f"root@example.com\n{STRONG}\nsomething-else\n{STRONG}\n{STRONG}\n"
    result = invoke(runner, migrated, "create-admin", input=typed)
    assert result.exit_code == 0, result.output
    assert "do not match" in result.output and STRONG not in result.output
    assert login(client_for(migrated), "root@example.com", STRONG).status_code == 200


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("eleven-char", "at least 12 characters"),
        ("password1234", "too easy to guess"),
        ("qwertyuiop123", "too easy to guess"),
        ("root@example.com", "too easy to guess"),  # the account's own email
    ],
)
def test_create_admin_refuses_a_weak_password(runner, migrated, client_for, password, why):
    result = runner.invoke(
        cli, ["create-admin", "--email", "root@example.com", "--password", password], env=migrated
    )
    assert result.exit_code == 1
    assert why in result.output
    assert password not in result.output.replace("root@example.com", "")
    assert login(client_for(migrated), "root@example.com", password).status_code == 401


def test_create_admin_promote_makes_an_existing_user_an_admin(runner, migrated, client_for):
    client = client_for(migrated)
    body = {
        "email": "Kim@Example.com",
        "password": "kims-password",
        "first_name": "K",
        "last_name": "L",
        "role": "customer",
    }
    assert client.post("/api/v1/auth/register", json=body).status_code == 201

    result = invoke(runner, migrated, "create-admin", "--email", "kim@example.com", "--promote")

    assert result.exit_code == 0, result.output
    assert "kim@example.com is an admin now" in result.output
    assert "Password" not in result.output, "promoting asks for no password"
    token = login(client, "kim@example.com", "kims-password").json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/users/me", headers=headers).json["role"] == "admin"
    [entry] = client.get("/api/v1/admin/audit", headers=headers).json
    assert (entry["action"], entry["actor_id"], entry["outcome"], entry["detail"]) == (
        "user.promote",
        None,
        "done",
        "was customer",
    )


def test_create_admin_promote_refuses_an_unknown_email_or_a_password(runner, migrated):
    unknown = runner.invoke(
        cli, ["create-admin", "--email", "nobody@example.com", "--promote"], env=migrated
    )
    assert unknown.exit_code == 1
    assert unknown.output.strip() == "marketlink: No account has this email."
    with_password = runner.invoke(
        cli,
        ["create-admin", "--email", "a@example.com", "--promote", "--password", STRONG],
        env=migrated,
    )
    assert with_password.exit_code == 1 and "--promote" in with_password.output


def test_create_admin_refuses_a_short_password(runner, migrated):
    result = runner.invoke(
        cli, ["create-admin", "--email", "a@example.com", "--password", "short"], env=migrated
    )
    assert result.exit_code == 1
    assert "at least 8" in result.output


def test_seed_demo_and_once(runner, migrated, client_for):
    first = invoke(runner, migrated, "seed-demo")
    assert first.exit_code == 0, first.output
    assert DEMO_VENDOR.email in first.output and DEMO_VENDOR.password in first.output
    assert DEMO_CUSTOMER.email in first.output and DEMO_CUSTOMER.password in first.output

    again = invoke(runner, migrated, "seed-demo", "--once")
    assert again.exit_code == 0
    assert "nothing to do" in again.output

    client = client_for(migrated)
    services = client.get(
        "/api/v1/services?q=brake&min_price=100&max_price=2000&available=true&sort=price"
    )
    assert len(services.json) == 1
    assert json.loads(services.headers["X-Pagination"])["total"] == 1
    prices = [v["price"] for v in services.json[0]["variants"]]
    assert prices and all(100 <= float(p) <= 2000 for p in prices)
    assert len(client.get("/api/v1/services").json) == 3
    for demo in (DEMO_VENDOR, DEMO_CUSTOMER):
        assert login(client, demo.email, demo.password).status_code == 200


def test_seed_demo_twice_without_once_fails_clearly(runner, migrated):
    assert invoke(runner, migrated, "seed-demo").exit_code == 0
    result = runner.invoke(cli, ["seed-demo"], env=migrated)
    assert result.exit_code == 1
    assert "exists already" in result.output


def test_a_config_error_is_one_line_and_exit_code_1(runner, env):
    result = runner.invoke(cli, ["migrate"], env={**env, "MARKETLINK_ENV": "production"})
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "marketlink: SECRET_KEY and JWT_SECRET_KEY must be set when MARKETLINK_ENV=production."
    ]
    assert "Traceback" not in result.output


def test_flasks_own_commands_end_the_same_way(runner, env):
    result = runner.invoke(cli, ["routes"], env={**env, "MARKETLINK_ENV": "production"})
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "marketlink: SECRET_KEY and JWT_SECRET_KEY must be set when MARKETLINK_ENV=production."
    ]


def test_an_invalid_number_is_a_config_error(runner, env):
    result = runner.invoke(cli, ["serve"], env={**env, "PORT": "http"})
    assert result.exit_code == 1
    assert "PORT must be a whole number" in result.output


def test_help_lists_the_commands(runner, env):
    result = invoke(runner, env, "--help")
    assert result.exit_code == 0
    for command in ("migrate", "create-admin", "seed-demo", "run", "serve"):
        assert command in result.output


@pytest.mark.parametrize(("args", "environ"), [(["--port", "9100"], {}), ([], {"PORT": "9100"})])
def test_run_hands_out_links_and_callbacks_on_the_port_it_serves(
    runner, env, monkeypatch, args, environ
):
    served = {}

    def run_simple(host, port, app, **options):
        served.update(host=host, port=port, app=app)

    monkeypatch.setattr("marketlink.entrypoints.cli.run_simple", run_simple)
    unset = {"PORT": "", "PUBLIC_BASE_URL": ""}
    result = invoke(runner, {**env, **unset, **environ}, "run", *args)

    assert result.exit_code == 0, result.output
    container = served["app"].container
    try:
        settings = container.settings()
        assert (served["host"], served["port"]) == ("127.0.0.1", 9100)
        assert settings.public_base_url == "http://127.0.0.1:9100"
        assert settings.sslcommerz_base_url == "http://127.0.0.1:9100/_sandbox/sslcommerz"
        assert container.pay_links().url_for(DEMO_ORDER).startswith("http://127.0.0.1:9100/pay/")
        assert container.callback_urls().ipn == "http://127.0.0.1:9100/api/v1/webhooks/sslcommerz/"
    finally:
        container.unwire()
        container.engine().dispose()


def test_seed_demo_once_prints_the_demo_sign_ins_every_time(runner, migrated):
    # `make run` seeds with --once: the credentials must show on every run, not the first.
    for _ in range(2):
        result = invoke(runner, migrated, "seed-demo", "--once")
        assert result.exit_code == 0, result.output
        for demo in (DEMO_VENDOR, DEMO_CUSTOMER):
            [line] = [line for line in result.output.splitlines() if demo.email in line]
            assert demo.password in line and demo.role.value in line


# The command line shows MarketLink, not Flask ------------------------------------------------

COMMANDS = [
    "create-admin",
    "expire-orders",
    "migrate",
    "reconcile-payments",
    "routes",
    "run",
    "seed-demo",
    "serve",
    "shell",
    "write-openapi",
]


def test_help_shows_marketlinks_commands_and_options_only(runner, env):
    result = invoke(runner, env, "--help")
    assert result.exit_code == 0, result.output
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line]
    assert listed == COMMANDS
    options = result.output.split("Options:")[1].split("Commands:")[0]
    for flask_own in ("--env-file", "--app", "--debug", "Flask"):
        assert flask_own not in options, flask_own
    assert "--version" in options and "--help" in options
    assert "..." not in result.output.split("Commands:")[1], "every summary is shown whole"


def test_version_is_marketlinks(runner, env):
    result = invoke(runner, env, "--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"marketlink {version('marketlink')}"


def test_routes_lists_the_api(runner, migrated):
    result = invoke(runner, migrated, "routes")
    assert result.exit_code == 0, result.output
    assert "/api/v1/orders" in result.output
    assert "orders.Start" in result.output


def test_write_openapi_writes_the_served_document(runner, migrated, client_for, tmp_path):
    target = tmp_path / "docs" / "openapi.json"
    target.parent.mkdir()
    result = invoke(runner, migrated, "write-openapi", str(target))
    assert result.exit_code == 0, result.output
    served = client_for(migrated).get("/openapi.json")
    assert json.loads(target.read_text()) == served.get_json()
    assert target.read_text() == render(served.get_json())  # as docs/openapi.json is kept
    assert json.loads(target.read_text())["paths"]

    printed = invoke(runner, migrated, "write-openapi", "-")
    assert printed.output.encode() == target.read_bytes()


# One rule for an account's email and password, wherever the account is opened -----------------


def test_create_admin_refuses_what_registration_refuses(runner, migrated, client_for):
    result = runner.invoke(
        cli,
        ["create-admin", "--email", "not-an-email", "--password", "long-password"],
        env=migrated,
    )
    assert result.exit_code == 1
    assert result.output.strip() == "marketlink: Not a valid email address."
    response = login(client_for(migrated), "not-an-email", "long-password")
    assert response.status_code == 401, "no account was made"


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "a@b",
        "a@@example.com",
        "two words@example.com",
        "trailing-dot@example.com.",
        "x" * 250 + "@example.com",
        "",
        "rahim@example.com",
        "  padded@example.com  ",
        "first.last+tag@sub.example.co",
        "admin@localhost",
        "karim@ex\u00e4mple.com",
    ],
)
def test_the_cli_and_the_api_accept_the_same_emails(runner, migrated, client_for, email):
    client = client_for(migrated)
    api = client.post(
        "/api/v1/auth/register",
        json={
            "email": email,
            "password": "long-password",
            "first_name": "A",
            "last_name": "B",
            "role": "customer",
        },
    )
    assert api.status_code in (201, 422), api.json
    email_for_cli = f"cli-{email.strip()}" if email.strip() else email
    result = runner.invoke(
        cli, ["create-admin", "--email", email_for_cli, "--password", STRONG], env=migrated
    )
    assert result.exit_code == (0 if api.status_code == 201 else 1), (api.json, result.output)
