"""Which pages the service worker may keep for use without a signal, and which session a kept page belongs to.

A kept page outlives the request that fetched it: on a shared Chromebook the next person could open it offline.
So the worker keeps only pages the server marks (`offline_page`), and each response says whose session it was
served to (`X-Rollcall-Owner`), with a cookie that lives exactly as long as the session cookie (a remembered
session's: its remember cookie), so that offline the worker can still tell that the session ended (a closed browser
drops both) and forget the pages.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, g, make_response, request, session
from flask_login import current_user

OFFLINE_HEADER = "X-Rollcall-Offline"
OWNER_HEADER = "X-Rollcall-Owner"
OWNER_COOKIE = "rollcall_offline"
SIGNED_OUT = "-"


def offline_page(view: Callable) -> Callable:
    """Decorate a view whose page the phone may keep for offline use.

    Only for pages that show no one's name, ID or email (beyond the signed-in user's own account menu): rooms,
    devices, counts. Pages about people, tickets with their reporter, or desk lookups must never carry it.
    """

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any):
        resp = make_response(view(*args, **kwargs))
        if resp.status_code == 200:
            resp.headers[OFFLINE_HEADER] = "keep"
        return resp

    return wrapped


def session_owner() -> str:
    """An opaque label for the signed-in session: another user, or the same user's rotated sessions, differ."""
    if not current_user.is_authenticated:
        return SIGNED_OUT
    key = str(current_app.secret_key).encode()
    return hmac.new(key, f"offline-owner:{current_user.get_id()}".encode(), "sha256").hexdigest()[:24]


def label_owner(resp: Response) -> Response:
    """After each page request: say whose session it served, and keep the owner cookie in step with the session."""
    if request.path.startswith(("/static/", "/api/")):
        # Static files are the same for everyone; API callers may be scripts with a bearer token.
        return resp
    owner = session_owner()
    resp.headers[OWNER_HEADER] = owner
    secure = bool(current_app.config.get("SESSION_COOKIE_SECURE"))
    if owner == SIGNED_OUT:
        if OWNER_COOKIE in request.cookies:
            resp.delete_cookie(OWNER_COOKIE, path="/", secure=secure, samesite="Lax")
    elif request.cookies.get(OWNER_COOKIE) != owner or session.permanent:
        # Not HttpOnly: the service worker (cookieStore) and the page read it. It carries no secret, only a label.
        expires = current_app.session_interface.get_expiration_time(current_app, session)
        row = g.get("user_session")
        if row is not None and row.remember_until is not None:
            # A remembered session outlives the browser session: its label does too, so a phone restarted without
            # a signal still opens the pages it kept.
            expires = row.remember_until
        resp.set_cookie(OWNER_COOKIE, owner, expires=expires, path="/", secure=secure, httponly=False, samesite="Lax")
    return resp
