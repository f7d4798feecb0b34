"""Accounts over HTTP: registration, tokens, sessions, profile, failed-login limits."""

import base64
import json
import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token

from marketlink.entrypoints.http.app import create_app
from tests.e2e.conftest import PASSWORD, assert_error, bearer

pytestmark = pytest.mark.e2e

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"


def registration(**overrides):
    return {
        "email": "rahim@example.com",
        "password": PASSWORD,
        "first_name": "Rahim",
        "last_name": "Uddin",
        "role": "customer",
        **overrides,
    }


class TestRegister:
    def test_returns_the_user_without_any_password(self, client):
        response = client.post(REGISTER, json=registration(phone_number="+8801700000000"))
        assert response.status_code == 201
        user = response.json
        assert set(user) == {
            "id",
            "email",
            "first_name",
            "last_name",
            "phone_number",
            "role",
            "is_active",
            "date_joined",
        }
        assert user["email"] == "rahim@example.com"
        assert user["role"] == "customer"
        assert user["is_active"] is True
        assert user["phone_number"] == "+8801700000000"
        assert user["date_joined"].endswith("+00:00")
        assert PASSWORD not in response.get_data(as_text=True)
        assert "argon2" not in response.get_data(as_text=True)

    def test_admin_role_is_refused(self, client):
        body = assert_error(client.post(REGISTER, json=registration(role="admin")), 422)
        assert "role" in body["errors"]["json"]

    def test_duplicate_email_is_a_conflict_whatever_its_case(self, client):
        assert client.post(REGISTER, json=registration()).status_code == 201
        response = client.post(REGISTER, json=registration(email="  RAHIM@Example.com"))
        assert_error(response, 409, "email_taken")

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"email": "not-an-email"}, "email"),
            ({"password": "short"}, "password"),
            ({"first_name": ""}, "first_name"),
            ({"role": "superuser"}, "role"),
            ({"is_staff": True}, "is_staff"),
        ],
    )
    def test_invalid_bodies_answer_422_with_field_errors(self, client, change, field):
        body = assert_error(client.post(REGISTER, json=registration(**change)), 422)
        assert set(body["errors"]["json"]) == {field}

    def test_a_malformed_json_body_answers_json(self, client):
        response = client.post(REGISTER, data="{not json", content_type="application/json")
        assert_error(response, 400)


class TestLogin:
    def test_returns_a_bearer_token_pair(self, client, api):
        user = api.register()
        response = client.post(LOGIN, json={"email": user["email"], "password": PASSWORD})
        assert response.status_code == 200
        tokens = response.json
        assert tokens["token_type"] == "Bearer"
        assert tokens["expires_in"] == 15 * 60
        assert tokens["access_token"] != tokens["refresh_token"]

    def test_the_same_401_for_a_wrong_password_and_an_unknown_email(self, client, api):
        user = api.register()
        wrong = client.post(LOGIN, json={"email": user["email"], "password": "wrong-password"})
        unknown = client.post(LOGIN, json={"email": "nobody@example.com", "password": PASSWORD})
        assert_error(wrong, 401, "invalid_credentials")
        assert_error(unknown, 401, "invalid_credentials")
        assert wrong.json == unknown.json

    def test_the_email_is_case_insensitive(self, client, api):
        user = api.register()
        response = client.post(LOGIN, json={"email": user["email"].upper(), "password": PASSWORD})
        assert response.status_code == 200


class TestTokens:
    def test_the_access_token_carries_the_user_and_role(self, client, api):
        vendor = api.account("vendor")
        claims = _claims(vendor.access_token)
        assert claims["sub"] == str(vendor.id)
        assert claims["role"] == "vendor"
        assert claims["sid"] == _claims(vendor.refresh_token)["sid"]
        assert client.get(ME, headers=vendor.headers).json["id"] == vendor.id

    def test_the_jwt_prefix_works_like_bearer(self, client, api):
        user = api.account()
        response = client.get(ME, headers={"Authorization": f"JWT {user.access_token}"})
        assert response.status_code == 200
        assert response.json["email"] == user.email

    def test_a_missing_token_is_401(self, client):
        assert_error(client.get(ME), 401)

    def test_a_tampered_token_is_401(self, client, api):
        user = api.account()
        header, payload, signature = user.access_token.split(".")
        forged = _encode({**_claims(user.access_token), "role": "admin"})
        assert_error(client.get(ME, headers=bearer(f"{header}.{forged}.{signature}")), 401)
        flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
        assert_error(client.get(ME, headers=bearer(f"{header}.{payload}.{flipped}")), 401)
        assert_error(client.get(ME, headers=bearer("not-a-token")), 401)

    def test_an_expired_token_is_401(self, app, client, api):
        user = api.account()
        with app.app_context():
            expired = create_access_token(
                str(user.id),
                additional_claims={"role": "customer", "sid": _claims(user.access_token)["sid"]},
                expires_delta=timedelta(seconds=-30),
            )
        assert_error(client.get(ME, headers=bearer(expired)), 401, "token_expired")

    def test_a_token_of_the_wrong_type_is_401(self, client, api):
        user = api.account()
        assert_error(client.get(ME, headers=bearer(user.refresh_token)), 401)
        assert_error(client.post(REFRESH, headers=bearer(user.access_token)), 401)

    def test_refresh_gives_a_working_access_token_of_the_same_session(self, client, api):
        user = api.account()
        response = client.post(REFRESH, headers=bearer(user.refresh_token))
        assert response.status_code == 200
        fresh = response.json["access_token"]
        assert response.json["token_type"] == "Bearer"
        assert _claims(fresh)["sid"] == _claims(user.access_token)["sid"]
        assert client.get(ME, headers=bearer(fresh)).status_code == 200


class TestLogout:
    def test_revokes_the_access_and_the_refresh_token(self, client, api):
        user = api.account()
        refreshed = client.post(REFRESH, headers=bearer(user.refresh_token)).json["access_token"]
        response = client.post(LOGOUT, headers=user.headers)
        assert response.status_code == 204
        assert_error(client.get(ME, headers=user.headers), 401, "token_revoked")
        assert_error(client.get(ME, headers=bearer(refreshed)), 401, "token_revoked")
        assert_error(client.post(REFRESH, headers=bearer(user.refresh_token)), 401)

    def test_other_sessions_of_the_same_user_keep_working(self, client, api):
        user = api.account()
        other = api.login(user.email)
        assert client.post(LOGOUT, headers=user.headers).status_code == 204
        assert client.get(ME, headers=bearer(other["access_token"])).status_code == 200


class TestProfile:
    def test_names_and_phone_can_change(self, client, api):
        user = api.account()
        response = client.patch(
            ME,
            headers=user.headers,
            json={"first_name": "Karim", "last_name": "Hasan", "phone_number": "01700000000"},
        )
        assert response.status_code == 200
        assert client.get(ME, headers=user.headers).json == response.json
        assert response.json["first_name"] == "Karim"
        assert response.json["phone_number"] == "01700000000"

    @pytest.mark.parametrize(
        "change", [{"role": "admin"}, {"is_active": False}, {"email": "new@example.com"}]
    )
    def test_role_email_and_is_active_are_read_only(self, client, api, change):
        user = api.account()
        body = assert_error(client.patch(ME, headers=user.headers, json=change), 422)
        assert set(body["errors"]["json"]) == set(change)
        me = client.get(ME, headers=user.headers).json
        assert (me["role"], me["is_active"], me["email"]) == ("customer", True, user.email)


class TestFailedLoginLimits:
    def test_an_account_is_limited_after_ten_failures_per_minute(self, client, api):
        user = api.register()
        wrong = {"email": user["email"], "password": "wrong-password"}
        for _ in range(10):
            assert client.post(LOGIN, json=wrong).status_code == 401
        limited = client.post(LOGIN, json={"email": user["email"], "password": PASSWORD})
        assert_error(limited, 429, "rate_limited")
        assert 0 < int(limited.headers["Retry-After"]) <= 60
        # Another account from the same address is not locked out by this one.
        other = api.register()
        response = client.post(LOGIN, json={"email": other["email"], "password": PASSWORD})
        assert response.status_code == 200

    def test_an_address_is_limited_after_thirty_failures(self, client):
        for n in range(30):
            body = {"email": f"guess{n}@example.com", "password": "wrong-password"}
            assert client.post(LOGIN, json=body).status_code == 401
        response = client.post(LOGIN, json={"email": "guess99@example.com", "password": "x"})
        assert_error(response, 429, "rate_limited")
        assert int(response.headers["Retry-After"]) > 0

    def test_successful_logins_are_not_counted(self, client, api):
        user = api.register()
        body = {"email": user["email"], "password": PASSWORD}
        for _ in range(15):
            assert client.post(LOGIN, json=body).status_code == 200

    def test_rate_limits_off_disables_them(self, settings, container):
        container.settings.override(replace(settings, rate_limits=False))
        app = create_app(container=container)
        try:
            client = app.test_client()
            wrong = {"email": "someone@example.com", "password": "wrong-password"}
            statuses = {client.post(LOGIN, json=wrong).status_code for _ in range(15)}
            assert statuses == {401}
        finally:
            container.unwire()


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _encode(claims: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()


# A token that is not one ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "t7e3.e30.x",  # its header decodes to the byte 0xb7, which is not UTF-8
        "not-a-jwt",
        "a.b.c",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.forged-signature",
    ],
)
def test_a_garbage_bearer_token_is_just_an_invalid_token(client, caplog, token):
    with caplog.at_level(logging.INFO, logger="marketlink"):
        response = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    body = assert_error(response, 401, "invalid_token")
    assert body["message"] == "Invalid token."
    assert set(body) == {"code", "status", "message", "error"}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    # The decoder's reason is for the log, not for the client.
    [record] = [r for r in caplog.records if "invalid token" in r.getMessage().lower()]
    assert record.name.startswith("marketlink")
    assert len(record.getMessage()) > len("Invalid token")
