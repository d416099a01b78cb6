"""Single sign-on: /login/oidc/<provider> sends the browser to Google, Microsoft or the district's OpenID provider,
and its callback signs the person in to the login an admin made for them (app.services.sign_in)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, session, url_for
from flask_login import current_user

from app.auth import current_session
from app.extensions import db, limiter
from app.integrations import oidc
from app.models import utcnow
from app.services import sign_in
from app.services import users as user_service
from app.views.auth import sign_in_browser
from app.web import safe_next

bp = Blueprint("sso", __name__)

NEXT_KEY = "sso_next"
SSO_ERROR = "sso_error"


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def callback_url(name: str) -> str:
    """Where the provider sends the browser back: built from ROLLCALL_BASE_URL, never from the Host header (it is
    also the redirect URI registered with the provider)."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for("sso.callback", name=name)


def _back_to_login(message: str):
    """The sign-in page, saying why single sign-on did not sign the person in (shown once, as an alert)."""
    session[SSO_ERROR] = message
    return redirect(url_for("auth.login"))


def _provider_or_404(name: str) -> oidc.Provider | None:
    """The provider the URL names if it is set up, None if it is not; 404 for a name Rollcall does not know."""
    if name not in oidc.NAMES:
        abort(404)
    return oidc.provider(name)


def _not_set_up(name: str):
    return _back_to_login(f"Signing in with {name} is not set up on this server. Sign in with your password.")


@bp.get("/login/oidc/<name>")
@limiter.limit(_login_limit)
def start(name: str):
    provider = _provider_or_404(name)
    if provider is None:
        return _not_set_up(name)
    session[NEXT_KEY] = safe_next(request.args.get("next"))
    try:
        return oidc.start(provider, callback_url(name))
    except oidc.SignInFailed as exc:
        return _back_to_login(exc.message)


@bp.get("/login/oidc/<name>/callback")
@limiter.limit(_login_limit)
def callback(name: str):
    provider = _provider_or_404(name)
    if provider is None:
        return _not_set_up(name)
    try:
        claims = oidc.finish(provider)
        user = sign_in.user_for(claims, allowed_domains=oidc.domains(), signup=oidc.signup_allowed())
    except oidc.SignInFailed as exc:
        db.session.rollback()
        current_app.logger.info("single sign-on with %s refused: %s", name, exc.code)
        return _back_to_login(exc.message)
    except sign_in.Refused as exc:
        if exc.code == "waiting":
            db.session.commit()  # the new login (or its link) is kept, for an admin to grant a role
        else:
            db.session.rollback()
        current_app.logger.info("single sign-on with %s refused: %s", name, exc.code)
        return _back_to_login(exc.message)
    previous = current_session() if current_user.is_authenticated else None
    if previous is not None:
        user_service.end_session(previous)
    sign_in_browser(user, remember=False)
    user.last_login_at = utcnow()
    db.session.commit()
    return redirect(safe_next(session.pop(NEXT_KEY, None)))
