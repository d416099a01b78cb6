"""Who is calling: session users (Flask-Login) and API bearer tokens."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask, Response, redirect, request, url_for

from app.extensions import db, login_manager
from app.models import User


def bearer_token() -> str | None:
    """The raw token from an `Authorization: Bearer …` header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        if bearer_token() and request.path.startswith("/api/"):
            # A request that names a token is that token's caller, whatever cookie rides along.
            return None
        user_id, _, token = session_id.partition(":")
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        # A rotated session token (password change, disabled account) ends this session.
        if user is None or not user.active or user.session_token != token:
            return None
        return user

    @login_manager.request_loader
    def load_from_token(_request) -> User | None:
        from app.services.users import user_for_token

        raw = bearer_token()
        if not raw or not request.path.startswith("/api/"):
            return None
        user = user_for_token(raw)
        if user is not None and db.session.dirty:
            db.session.commit()  # last_used_at, kept even if the request itself fails
        return user

    @login_manager.unauthorized_handler
    def unauthorized() -> Response | tuple:
        from app.web.errors import json_error

        if request.path.startswith("/api/"):
            return json_error(401, "Sign in again, or send a valid API token.")
        login = url_for("auth.login", next=request.full_path if request.query_string else request.path)
        if request.headers.get("HX-Request") == "true":
            resp = Response(status=401)
            resp.headers["HX-Redirect"] = login
            return resp
        return redirect(login)


def user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
