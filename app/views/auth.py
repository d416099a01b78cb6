"""Signing in and out, one's own account (sign-in methods, sessions), changing a password, and the mailed links:
forgotten passwords, resets and invites."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from app.auth import current_session, seed_csrf
from app.extensions import db, limiter
from app.integrations import mail, oidc
from app.models import ApiToken, LinkPurpose, User, Via, utcnow
from app.models.users import UserSession
from app.services import invites
from app.services import sign_in as sign_in_rules
from app.services import users as user_service
from app.services.errors import Invalid
from app.web import committing, form_errors, render, safe_next, see_other, submit

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
            refused = sign_in_rules.password_refused(user, sso_required_for_admins=oidc.required_for_admins())
            if refused:
                raise Invalid(refused, field="password")
            previous = current_session()
            if previous is not None:
                # Signing in over a session replaces it: the old cookie must not live on in a copy.
                user_service.end_session(previous)
            sign_in_browser(user, remember=bool(form.remember.data))
            user.last_login_at = utcnow()

        ok, _ = submit(form, sign_in)
        if ok:
            return redirect(safe_next(next_url))
        return render(
            "auth/login.html", form=form, next=next_url, errors=form_errors(form), status=422, **_login_page()
        )
    return render("auth/login.html", form=form, next=next_url, errors={}, **_login_page())


def _login_page() -> dict:
    """What the sign-in page shows besides the form: single sign-on buttons and the forgotten-password link."""
    return {
        "remember_days": _remember_for().days,
        "providers": oidc.configured_providers(),
        "can_reset": mail.configured(),
        # Why single sign-on just failed (app.views.sso), said once.
        "sso_error": session.pop("sso_error", None),
    }


def _remember_for() -> timedelta:
    """How long "keep me signed in" lasts (REMEMBER_COOKIE_DURATION: a timedelta, or seconds)."""
    duration = current_app.config["REMEMBER_COOKIE_DURATION"]
    return duration if isinstance(duration, timedelta) else timedelta(seconds=int(duration))


def sign_in_browser(user: User, *, remember: bool) -> None:
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
            sign_in_browser(user, remember=remembered)
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


# --- forgotten passwords, resets and invites: links mailed by the job queue (app.jobs.mail) ---------------------


class ForgotForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(message="Enter your email."), Length(max=254)])


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=user_service.MIN_PASSWORD)])
    confirm = PasswordField("Repeat the new password", validators=[EqualTo("password", "The passwords differ.")])


def _reset_limit() -> str:
    return current_app.config.get("PASSWORD_RESET_RATE_LIMIT", "5 per minute; 20 per hour")


def _reset_address() -> str:
    """Rate-limit key: the address asked for, so one mailbox is not flooded from many places."""
    return "reset:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
@limiter.limit(
    lambda: current_app.config.get("PASSWORD_RESET_ADDRESS_LIMIT", "3 per hour"),
    methods=["POST"],
    key_func=_reset_address,
)
def forgot():
    form = ForgotForm()
    if request.method == "POST":
        # Known or not, the same job is queued and the same page answers: nothing here tells who has a login.
        ok, _ = submit(form, lambda: invites.request_reset(form.email.data))
        if ok:
            return render("auth/forgot_sent.html", email=form.email.data.strip())
        return render("auth/forgot.html", form=form, errors=form_errors(form), status=422)
    return render("auth/forgot.html", form=form, errors={})


def _link_page(token: str, purpose: LinkPurpose):
    """A mailed link's page: a form to set the password (and, for an invite, the single sign-on buttons), or the
    page saying the link no longer works (410)."""
    link = invites.open_link(token, purpose)
    if link is None:
        db.session.rollback()
        return render("auth/link_gone.html", purpose=purpose.value, status=410)
    user = link.user
    form = NewPasswordForm()
    sso_only = sign_in_rules.password_refused(user, sso_required_for_admins=oidc.required_for_admins()) is not None
    page: dict[str, Any] = {
        "purpose": purpose.value,
        "user": user,
        "providers": oidc.configured_providers(),
        "sso_only": sso_only,
    }
    if request.method == "POST":
        if sso_only:
            abort(403)
        ok, _ = submit(form, lambda: invites.set_password(link, form.password.data))
        if ok:
            flash("Your password is set. Sign in with it now.")
            return see_other(url_for("auth.login"))
        return render("auth/set_password.html", form=form, errors=form_errors(form), status=422, **page)
    return render("auth/set_password.html", form=form, errors={}, **page)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset(token: str):
    return _link_page(token, LinkPurpose.reset)


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def invite(token: str):
    return _link_page(token, LinkPurpose.invite)


# --- one's own account: how one signs in, and where one is signed in -------------------------------------------


@bp.get("/account")
@login_required
def account():
    me = current_user._get_current_object()
    this = current_session()
    rows = db.session.scalars(
        sa.select(UserSession)
        .where(UserSession.user_id == me.id)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ).all()
    live = [r for r in rows if user_service.session_live(r, idle_limit=current_app.permanent_session_lifetime)]
    return render(
        "auth/account.html",
        me=me,
        sessions=live,
        labels={r.id: browser_label(r.user_agent) for r in live},
        this_id=this.id if this is not None else None,
        providers={p.name: p for p in oidc.configured_providers()},
    )


# (what the User-Agent contains, the name people know) — the first match wins, so Edge and Samsung before Chrome.
BROWSERS = (
    ("Edg/", "Edge"),
    ("SamsungBrowser", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "Mac"),
    ("Linux", "Linux"),
)


def browser_label(user_agent: str) -> str:
    """ "Chrome on Android" from a User-Agent header, or the start of the header when it names neither."""
    browser = next((name for key, name in BROWSERS if key in user_agent), None)
    system = next((name for key, name in SYSTEMS if key in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (user_agent[:40] or "Unknown browser")


@bp.post("/account/sessions/end-others")
@login_required
def end_other_sessions():
    me = current_user._get_current_object()
    with committing():
        count = user_service.end_other_sessions(me, keep=current_session(), by=me, via=Via.web)
    flash(f"Signed out everywhere else ({count} session(s)).")
    return see_other(url_for("auth.account"))


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_one_session(session_id: int):
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    this = current_session()
    with committing():
        user_service.end_session(row)
    if this is not None and row.id == this.id:
        logout_user()
        return see_other(url_for("auth.login", signed_out=1))
    flash("That session is signed out.")
    return see_other(url_for("auth.account"))
