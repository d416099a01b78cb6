"""Signing in and out, and changing one's own password."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from app.auth import current_session
from app.extensions import db, limiter
from app.models import ApiToken, User, Via, utcnow
from app.services import users as user_service
from app.services.errors import Invalid
from app.web import committing, form_errors, render, safe_next, submit

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email.")])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password.")])


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    password = PasswordField("New password", validators=[DataRequired(), Length(min=user_service.MIN_PASSWORD)])
    confirm = PasswordField("Repeat the new password", validators=[EqualTo("password", "The passwords differ.")])


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm()
    next_url = request.args.get("next") or request.form.get("next")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(next_url))
    if request.method == "POST":

        def sign_in() -> None:
            user = user_service.authenticate(form.email.data, form.password.data)
            if user is None:
                raise Invalid("That email and password do not match an active account.", field="password")
            previous = current_session()
            if previous is not None:
                # Signing in over a session replaces it: the old cookie must not live on in a copy.
                user_service.end_session(previous)
            _sign_in(user)
            user.last_login_at = utcnow()

        ok, _ = submit(form, sign_in)
        if ok:
            return redirect(safe_next(next_url))
        return render("auth/login.html", form=form, next=next_url, errors=form_errors(form), status=422)
    return render("auth/login.html", form=form, next=next_url, errors={})


def _sign_in(user: User) -> None:
    """A new session row for this browser, named in its cookie."""
    user_service.start_session(
        user, user_agent=request.user_agent.string, idle_limit=current_app.permanent_session_lifetime
    )
    login_user(user)


@bp.post("/logout")
def logout():
    row = current_session()
    if row is not None:
        # The row goes, so a copy of this cookie (a shared computer, a stolen cookie) signs nobody in.
        with committing():
            user_service.end_session(row)
    logout_user()
    resp = redirect(url_for("auth.login", signed_out=1))
    # Drop cached pages of this user; storage stays, since the offline outbox may hold unsent work.
    resp.headers["Clear-Site-Data"] = '"cache"'
    return resp


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if request.method == "POST":
        user = current_user._get_current_object()

        def change() -> int:
            if not user.check_password(form.current.data):
                raise Invalid("That is not your current password.", field="current")
            revoked = user_service.change_password(user, form.password.data, by=user, via=Via.web)
            # Every session ended, this one too: this browser goes on in a new one, under a new key.
            _sign_in(user)
            return revoked

        ok, revoked = submit(form, change)
        if ok:
            flash(
                "Password changed. You were signed out everywhere else"
                + (f" and your {revoked} API token(s) were revoked." if revoked else ".")
            )
            return redirect(url_for("dashboard.index"))
        return render("auth/password.html", form=form, errors=form_errors(form), live_tokens=_live_tokens(), status=422)
    return render("auth/password.html", form=form, errors={}, live_tokens=_live_tokens())


def _live_tokens() -> int:
    """How many API tokens of the signed-in user a password change would revoke."""
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ApiToken)
        .where(ApiToken.user_id == current_user.id, ApiToken.revoked_at.is_(None))
    )
