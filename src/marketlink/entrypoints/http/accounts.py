"""Accounts: registering, signing in and out, and one's own profile."""

# flask-smorest ships no type information: its decorators are untyped.
# mypy: allow-untyped-decorators

from __future__ import annotations

from typing import Any

from dependency_injector.wiring import Provide, inject
from flask.views import MethodView

from marketlink.application.errors import (
    ConcurrentUpdate,
    EmailTaken,
    InvalidCredentials,
    NotFound,
)
from marketlink.application.ports import Clock
from marketlink.application.use_cases.accounts import (
    GetProfile,
    Login,
    Logout,
    ProfileChanges,
    Register,
    RegisterUser,
    ResumeSession,
    UpdateProfile,
)
from marketlink.containers import Container
from marketlink.domain.users import Role, User
from marketlink.entrypoints.http.auth import (
    REFRESH_TOKEN_LIFETIME,
    authenticated,
    current_actor,
    current_session_id,
    issue_tokens,
    refresh_access_token,
)
from marketlink.entrypoints.http.blueprint import Blueprint
from marketlink.entrypoints.http.schemas import (
    LoginIn,
    ProfilePatchIn,
    RefreshedOut,
    RegisterIn,
    TokensOut,
    UserOut,
)

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts and sessions")

# The endpoint the failed-login limits apply to (see ratelimits.py).
LOGIN_ENDPOINT = "accounts.SignIn"


@blp.route("/auth/register")
class Registration(MethodView):
    @blp.doc(operationId="register")
    @blp.arguments(RegisterIn)
    @blp.response(201, UserOut)
    @blp.raises(EmailTaken, ConcurrentUpdate)
    @inject
    def post(self, data: dict[str, Any], register: Register = Provide[Container.register]) -> User:
        """Open a customer or vendor account"""
        return register(
            RegisterUser(
                email=data["email"],
                password=data["password"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                role=Role(data["role"]),
                phone_number=data["phone_number"],
            )
        )


@blp.route("/auth/login")
class SignIn(MethodView):
    @blp.doc(operationId="login")
    @blp.arguments(LoginIn)
    @blp.response(200, TokensOut)
    @blp.raises(InvalidCredentials, 429)
    @inject
    def post(self, data: dict[str, Any], login: Login = Provide[Container.login]) -> Any:
        """Sign in: an access token (15 minutes) and a refresh token (7 days)"""
        return issue_tokens(login(data["email"], data["password"]))


@blp.route("/auth/refresh")
class Refresh(MethodView):
    @authenticated(blp, refresh=True)
    @blp.doc(operationId="refreshToken")
    @blp.response(200, RefreshedOut)
    @blp.raises(InvalidCredentials)
    @inject
    def post(self, resume: ResumeSession = Provide[Container.resume_session]) -> Any:
        """A new access token for the refresh token's session"""
        # Reads the user (not a hot path): still active, and its role as it is now.
        user = resume(current_actor().user_id)
        return refresh_access_token(user, current_session_id())


@blp.route("/auth/logout")
class SignOut(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="logout")
    @blp.response(204)
    @inject
    def post(
        self,
        logout: Logout = Provide[Container.logout],
        clock: Clock = Provide[Container.clock],
    ) -> None:
        """Sign out: the access token and its refresh token stop working"""
        # Revoked until every token of the session has expired on its own.
        logout(current_session_id(), clock.now() + REFRESH_TOKEN_LIFETIME)


@blp.route("/users/me")
class Me(MethodView):
    @authenticated(blp)
    @blp.doc(operationId="getMe")
    @blp.response(200, UserOut)
    @blp.raises(NotFound)
    @inject
    def get(self, get_profile: GetProfile = Provide[Container.get_profile]) -> User:
        """Your profile"""
        return get_profile(current_actor())

    @authenticated(blp)
    @blp.doc(operationId="updateMe")
    @blp.arguments(ProfilePatchIn)
    @blp.response(200, UserOut)
    @blp.raises(NotFound, ConcurrentUpdate)
    @inject
    def patch(
        self,
        data: dict[str, Any],
        update_profile: UpdateProfile = Provide[Container.update_profile],
    ) -> User:
        """Change your names or phone number (role, email and is_active are read-only)"""
        if "phone_number" in data and data["phone_number"] is None:
            data["phone_number"] = ""  # null clears the number
        return update_profile(current_actor(), ProfileChanges(**data))
