"""Who is calling: session users (Flask-Login) and API bearer tokens."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, redirect, request, url_for
from flask_login import current_user

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


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        if bearer_token() and request.path.startswith("/api/"):
            # A request that names a token is that token's caller, whatever cookie rides along.
            return None
        # Signing out, a password change, a role change or disabling deleted the row: the cookie is dead for good.
        row = session_for(session_id, idle_limit=current_app.permanent_session_lifetime)
        if row is None:
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
        raw = bearer_token()
        if not raw or not request.path.startswith("/api/"):
            return None
        user = user_for_token(raw)
        if user is not None:
            g.authenticated_by = "token"
            if db.session.dirty:
                db.session.commit()  # last_used_at, kept even if the request itself fails
        return user

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
