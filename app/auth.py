"""Who is calling: session users (Flask-Login) and API bearer tokens."""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, Response, current_app, g, redirect, request, session, url_for
from flask_login import current_user, user_loaded_from_cookie

from app.extensions import db, login_manager
from app.models import User
from app.security import SAFE_METHODS
from app.services.users import note_session_seen, session_for, user_for_token
from app.web.errors import json_error


def bearer_token() -> str | None:
    """The raw token from an `Authorization: Bearer …` header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def token_authenticated() -> bool:
    """Whether a valid API token (not a cookie) authenticated this request; tokens count only under /api/."""
    return bool(current_user.is_authenticated and g.get("authenticated_by") == "token")


def current_session():
    """The user_sessions row of the signed-in cookie session, or None (anonymous, or a token caller)."""
    return g.get("user_session") if current_user.is_authenticated else None


def remember_cookie_name() -> str:
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")


def seed_csrf(session_id: str) -> None:
    """Make this browser's CSRF secret follow from its signed-in session, not from the cookie session it rides in.

    A remembered phone's browser session (and the random secret Flask-WTF keeps in it) goes when the browser closes,
    while the pages it kept and the token its outbox sends with still carry the old CSRF token; derived from the
    session's id, the secret comes back with the remember cookie, and still ends with the user_sessions row."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    key = str(current_app.config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key).encode()
    session[field] = hmac.new(key, f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()
    g.pop(field, None)  # Flask-WTF keeps the token it made for this request in g


def _token_user() -> User | None:
    """The caller an API bearer token names (noting when it was used), or None."""
    raw = bearer_token()
    if not raw or not request.path.startswith("/api/"):
        return None
    user = user_for_token(raw)
    if user is not None:
        g.authenticated_by = "token"
        if db.session.dirty:
            db.session.commit()  # last_used_at, kept even if the request itself fails
    return user


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        if bearer_token() and request.path.startswith("/api/"):
            # A request that names a token is that token's caller, whatever cookie rides along (with a remember
            # cookie, Flask-Login would not ask the request loader).
            return _token_user()
        # Signing out, a password change, a role change or disabling deleted the row: the cookie is dead for good,
        # and so is a remember cookie naming it (dropped from the browser, too).
        row = session_for(session_id, idle_limit=current_app.permanent_session_lifetime)
        if row is None:
            if remember_cookie_name() in request.cookies:
                session["_remember"] = "clear"
            return None
        if request.method in SAFE_METHODS:
            # Its own short transaction, so a page view's read transaction is never upgraded to a write.
            with db.engine.begin() as connection:
                note_session_seen(row, connection)
        else:
            note_session_seen(row, db.session.connection())
        g.user_session, g.authenticated_by = row, "session"
        return row.user

    @login_manager.request_loader
    def load_from_token(_request) -> User | None:
        return _token_user()

    @user_loaded_from_cookie.connect_via(app)
    def restored(_app, user: User) -> None:
        # A closed browser came back with its remember cookie: the session's CSRF secret comes back too (seed_csrf).
        if g.get("authenticated_by") == "session":
            seed_csrf(user.get_id())

    @app.before_request
    def restore_remembered_session() -> None:
        # Registered before create_app's CSRF check: the first write after a browser restart (an outbox flush) has
        # only the remember cookie, and its CSRF secret exists once the session is restored from it.
        if (
            request.method not in SAFE_METHODS
            and "_user_id" not in session
            and remember_cookie_name() in request.cookies
        ):
            current_user._get_current_object()

    @login_manager.unauthorized_handler
    def unauthorized() -> Response | tuple:
        if request.path.startswith("/api/"):
            return json_error(401, "Sign in again, or send a valid API token.")
        login = url_for("auth.login", next=request.full_path if request.query_string else request.path)
        if request.headers.get("HX-Request") == "true":
            resp = Response(status=401)
            resp.headers["HX-Redirect"] = login
            return resp
        return redirect(login)
