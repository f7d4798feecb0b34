"""Driving the admin panel as a browser would: its sign-in form, its CSRF tokens."""

from __future__ import annotations

import re
import uuid

from flask.testing import FlaskClient

from marketlink.application.use_cases.accounts import RegisterUser
from marketlink.containers import Container
from marketlink.domain.users import Role, User

PASSWORD = "correct-horse-battery"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def make_user(container: Container, role: Role = Role.ADMIN, email: str | None = None) -> User:
    email = email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.com"
    return container.register()(
        RegisterUser(email, PASSWORD, "Test", role.value.title(), role), allow_admin=True
    )


def csrf_token(client: FlaskClient, path: str = "/admin/login") -> str:
    page = client.get(path)
    match = _TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD):
    token = csrf_token(client)
    return client.post(
        "/admin/login", data={"email": email, "password": password, "csrf_token": token}
    )
