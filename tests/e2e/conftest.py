"""HTTP through the real app and the real container, on a migrated temporary SQLite file.

One app (and container) per test: dependency-injector's wiring is process-global, so
each test wires its own container and unwires it at the end (docs/style.md §4 P1, P2).
"""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import argon2
import pytest
from dependency_injector import providers
from flask import Response
from flask.testing import FlaskClient

from marketlink.adapters.passwords import Argon2PasswordHasher
from marketlink.adapters.sqlalchemy.migrate import upgrade_database
from marketlink.config import Settings
from marketlink.containers import Container
from marketlink.entrypoints.http.app import MarketLink, create_app

PASSWORD = "correct-horse-battery"
_ids = itertools.count(1)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database file; every test gets its own copy."""
    path = tmp_path_factory.mktemp("e2e-template") / "marketlink.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    path = tmp_path / "marketlink.db"
    shutil.copyfile(migrated_sqlite, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    return Settings(
        secret_key="e2e-secret-key-0123456789abcdef0123456789",
        jwt_secret_key="e2e-jwt-secret-key-0123456789abcdef012345",
        database_url=sqlite_url,
        instance_dir=tmp_path,
    )


def fast_hasher() -> Argon2PasswordHasher:
    """Real argon2id, with small costs: the tests register many accounts."""
    return Argon2PasswordHasher(argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def container(settings: Settings) -> Container:
    container = Container(settings=settings)
    container.password_hasher.override(providers.Object(fast_hasher()))
    return container


# Every message a client reads is a sentence: a capital letter (or a digit) first, a full
# stop (or ? or !) last.
MESSAGE_STYLE = re.compile(r"[A-Z0-9\"'`].*[.?!]", re.DOTALL)


def _messages(body: Any) -> Iterator[str]:
    """The top-level message of an error body and every field message under `errors`."""
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            yield body["message"]
        yield from _field_messages(body.get("errors"))


def _field_messages(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _field_messages(item)
    elif isinstance(node, dict):
        for item in node.values():
            yield from _field_messages(item)


@pytest.fixture
def app(container: Container) -> Iterator[MarketLink]:
    """The app, checking that every error message it sends in the test is written alike."""
    app = create_app(container=container)
    badly_written: list[str] = []

    @app.after_request
    def _check_message_style(response: Response) -> Response:
        if response.status_code >= 400 and response.is_json:
            for message in _messages(response.get_json(silent=True)):
                if not MESSAGE_STYLE.fullmatch(message):
                    badly_written.append(f"{response.status_code}: {message!r}")
        return response

    yield app
    container.unwire()
    container.engine().dispose()
    assert not badly_written, f"error messages not written as sentences: {badly_written}"


@pytest.fixture
def client(app: MarketLink) -> FlaskClient:
    return app.test_client()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Account:
    id: int
    email: str
    role: str
    access_token: str
    refresh_token: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ApiDriver:
    """Drives the API the way a client does, asserting every setup step succeeded."""

    client: FlaskClient

    def register(self, role: str = "customer", **overrides: Any) -> dict[str, Any]:
        body = {
            "email": f"user{next(_ids)}@example.com",
            "password": PASSWORD,
            "first_name": "Test",
            "last_name": "User",
            "role": role,
            **overrides,
        }
        response = self.client.post("/api/v1/auth/register", json=body)
        assert response.status_code == 201, response.json
        return response.json

    def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.json
        return response.json

    def account(self, role: str = "customer") -> Account:
        user = self.register(role)
        tokens = self.login(user["email"])
        return Account(
            id=user["id"],
            email=user["email"],
            role=role,
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            headers=bearer(tokens["access_token"]),
        )

    def vendor(self, business_name: str = "Shop") -> Account:
        vendor = self.account("vendor")
        response = self.client.post(
            "/api/v1/vendors/me",
            headers=vendor.headers,
            json={"business_name": business_name, "address": "Dhaka"},
        )
        assert response.status_code == 201, response.json
        return vendor

    def service(self, vendor: Account, name: str = "Brake repair", **extra: Any) -> dict:
        response = self.client.post(
            "/api/v1/services", headers=vendor.headers, json={"name": name, **extra}
        )
        assert response.status_code == 201, response.json
        return response.json

    def variant(
        self,
        vendor: Account,
        service_id: int,
        *,
        name: str = "Front",
        price: str = "1500.00",
        stock: int = 2,
        estimated_minutes: int = 60,
    ) -> dict:
        response = self.client.post(
            f"/api/v1/services/{service_id}/variants",
            headers=vendor.headers,
            json={
                "name": name,
                "price": price,
                "stock": stock,
                "estimated_minutes": estimated_minutes,
            },
        )
        assert response.status_code == 201, response.json
        return response.json


@pytest.fixture
def api(client: FlaskClient) -> ApiDriver:
    return ApiDriver(client)


def assert_error(response: Any, status: int, error: str | None = None) -> dict[str, Any]:
    """The contract's error shape: JSON with code, status (and the stable `error` code)."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.json
    assert body["code"] == status
    assert isinstance(body["status"], str)
    if error is not None:
        assert body["error"] == error
    return body
