"""Signing in and out, and changing one's own password."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from app.auth import current_session, seed_csrf
from app.extensions import db, limiter
from app.models import ApiToken, User, Via, utcnow
from app.services import users as user_service
from app.services.errors import Invalid
from app.web import committing, form_errors, render, safe_next, submit

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email.")])
    password = PasswordField("Password", validators=[DataRequired(message="Enter your password.")])
    remember = BooleanField("Keep me signed in on this device")


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
            _sign_in(user, remember=bool(form.remember.data))
            user.last_login_at = utcnow()

        ok, _ = submit(form, sign_in)
        if ok:
            return redirect(safe_next(next_url))
        return render(
            "auth/login.html",
            form=form,
            next=next_url,
            errors=form_errors(form),
            remember_days=_remember_for().days,
            status=422,
        )
    return render("auth/login.html", form=form, next=next_url, errors={}, remember_days=_remember_for().days)


def _remember_for() -> timedelta:
    """How long "keep me signed in" lasts (REMEMBER_COOKIE_DURATION: a timedelta, or seconds)."""
    duration = current_app.config["REMEMBER_COOKIE_DURATION"]
    return duration if isinstance(duration, timedelta) else timedelta(seconds=int(duration))


def _sign_in(user: User, *, remember: bool) -> None:
    """A new session row for this browser, named in its cookie; remembered, in the remember cookie too, so a closed
    browser comes back signed in to the same row (and ends with it)."""
    remember_for = _remember_for() if remember else None
    session_id = user_service.start_session(
        user,
        user_agent=request.user_agent.string,
        idle_limit=current_app.permanent_session_lifetime,
        remember_for=remember_for,
    )
    login_user(user, remember=remember, duration=remember_for)
    seed_csrf(session_id)
    # This response labels the new session for the offline pages (app/web/offline.py) and reads its lifetime there.
    g.user_session = user_service.session_for(session_id, idle_limit=current_app.permanent_session_lifetime)
    g.authenticated_by = "session"
    if not remember and current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        # A remember cookie left from an earlier sign-in must not outlive this browser session.
        session["_remember"] = "clear"


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
            row = current_session()
            remembered = row is not None and row.remember_until is not None
            revoked = user_service.change_password(user, form.password.data, by=user, via=Via.web)
            # Every session ended, this one too: this browser goes on in a new one, under a new key (remembered if
            # it was, so its remember cookie names the new row and not the ended one).
            _sign_in(user, remember=remembered)
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
