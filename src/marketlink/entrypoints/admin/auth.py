"""Signing in to the panel: its own page, a signed session cookie, an idle timeout.

The panel keeps its session in Flask's cookie (signed with SECRET_KEY, HttpOnly,
SameSite=Lax, Secure in production). The cookie holds the admin's id, a session id and
the time of the last request. Every request under /admin/ is checked here, before any
view runs:

- the session must not have idled past ADMIN_IDLE_MINUTES, nor been signed out (its
  session id is revoked on the same token blocklist the API's logout uses, so a copied
  cookie is dead after logout too);
- its user is read again through ResumeSession: a deactivated admin, or one who is no
  longer an admin, loses access at this very request;
- a POST must carry this session's CSRF token (Flask-WTF), or it is refused before it
  reaches a view, so it changes nothing.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.wrappers import Response

from marketlink.application.actors import Actor
from marketlink.application.errors import InvalidCredentials
from marketlink.domain.users import Role, User

PREFIX = "/admin"
LOGIN_ENDPOINT = "admin_auth.login"
# The login form's e-mail field: the rate limiter counts failures per account from it.
EMAIL_FIELD = "email"

_USER = "admin_user_id"
_SID = "admin_sid"
_SEEN = "admin_seen"
_CHECKED = "marketlink_admin_user"  # on flask.g: the session is checked once a request

bp = Blueprint("admin_auth", __name__, url_prefix=PREFIX, template_folder="templates")
csrf = CSRFProtect()

REFUSED_ROLE = (
    "This panel is for administrators only: a {role} account cannot sign in here. "
    "Use the MarketLink app instead."
)
BAD_CREDENTIALS = "Wrong e-mail or password, or the account is switched off."
SIGNED_OUT_IDLE = "You were signed out after {minutes} minutes without activity."
SIGNED_OUT_GONE = "Your session has ended: sign in again."


def install(app: Flask) -> None:
    """The sign-in pages, the session cookie's settings, CSRF and the per-request check."""
    settings = app.container.settings()  # type: ignore[attr-defined]
    app.config.update(
        SESSION_COOKIE_NAME="marketlink_admin",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.is_production,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.admin_idle_minutes),
        # CSRF is checked here for the panel only (the JSON API uses bearer tokens).
        WTF_CSRF_CHECK_DEFAULT=False,
        # The idle timeout ends a session; a token need not expire sooner than it.
        WTF_CSRF_TIME_LIMIT=None,
    )
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.before_request(_guard)
    app.register_error_handler(CSRFError, _csrf_refused)


def _is_panel(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def _is_open(endpoint: str | None) -> bool:
    """What an anonymous visitor may reach: the sign-in page and the packaged assets."""
    return endpoint in (LOGIN_ENDPOINT, "panel.static")


def _guard() -> Response | None:
    if not _is_panel(request.path):
        return None
    if request.method == "POST":
        csrf.protect()  # raises CSRFError: refused before any view runs
    if _is_open(request.endpoint):
        return None
    user = current_admin_user()
    if user is None:
        return _to_login()
    return None


def _now() -> float:
    return time.time()


def current_admin_user() -> User | None:
    """The signed-in admin of this request, checked once per request (None: nobody)."""
    if _CHECKED not in g:
        setattr(g, _CHECKED, _check_session())
    user: User | None = g.get(_CHECKED)
    return user


def _check_session() -> User | None:
    user_id, session_id, seen = session.get(_USER), session.get(_SID), session.get(_SEEN)
    if not isinstance(user_id, int) or not isinstance(session_id, str):
        return None
    container = current_app.container  # type: ignore[attr-defined]
    idle = container.settings().admin_idle_minutes
    if not isinstance(seen, int | float) or _now() - seen > idle * 60:
        _end_session(session_id)
        flash(SIGNED_OUT_IDLE.format(minutes=idle), "warning")
        return None
    if container.token_blocklist().is_revoked(session_id, user_id):
        session.clear()
        flash(SIGNED_OUT_GONE, "warning")
        return None
    try:
        user = container.resume_session()(user_id)
    except InvalidCredentials:
        _end_session(session_id)
        flash(SIGNED_OUT_GONE, "warning")
        return None
    if user.role is not Role.ADMIN:
        _end_session(session_id)
        flash(REFUSED_ROLE.format(role=user.role.value), "danger")
        return None
    session[_SEEN] = int(_now())
    return user


def current_actor() -> Actor:
    """The signed-in admin as the use cases know them (only called behind the guard)."""
    user = current_admin_user()
    if user is None or user.id is None:
        raise InvalidCredentials()
    return Actor(user.id, Role.ADMIN)


def _to_login() -> Response:
    return redirect(url_for(LOGIN_ENDPOINT, next=request.full_path.rstrip("?")))


def _end_session(session_id: str | None) -> None:
    if session_id:
        expires = datetime.now(UTC) + timedelta(
            minutes=current_app.container.settings().admin_idle_minutes  # type: ignore[attr-defined]
        )
        current_app.container.logout()(session_id, expires)  # type: ignore[attr-defined]
    session.clear()


def _safe_next(target: str | None) -> str:
    """Only a path inside the panel: never an open redirect to another host."""
    if target and _is_panel(target) and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("panel.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form; a failed attempt answers 401, which the rate limiter counts."""
    if request.method == "GET":
        if current_admin_user() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("marketlink_admin/login.html", next=request.args.get("next"))
    email = request.form.get(EMAIL_FIELD, "")
    password = request.form.get("password", "")
    container = current_app.container  # type: ignore[attr-defined]
    try:
        user = container.login()(email, password)
    except InvalidCredentials:
        return _login_refused(BAD_CREDENTIALS, email, 401)
    if user.role is not Role.ADMIN:
        # The right password of a customer or vendor: no panel session, and said plainly.
        return _login_refused(REFUSED_ROLE.format(role=user.role.value), email, 403)
    session.clear()  # a fresh session (and CSRF token) at every sign-in
    session.permanent = True
    session[_USER] = user.id
    session[_SID] = secrets.token_urlsafe(16)
    session[_SEEN] = int(_now())
    return redirect(_safe_next(request.form.get("next")))


def _login_refused(message: str, email: str, status: int) -> tuple[str, int]:
    page = render_template(
        "marketlink_admin/login.html", error=message, email=email, next=request.form.get("next")
    )
    return page, status


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    _end_session(session.get(_SID))
    flash("You are signed out.", "info")
    return redirect(url_for(LOGIN_ENDPOINT))


def _csrf_refused(error: CSRFError) -> tuple[str, int]:
    page = render_template(
        "marketlink_admin/refused.html",
        message="The form has expired or did not come from this panel: nothing was changed. "
        "Reload the page and try again.",
    )
    return page, 400
