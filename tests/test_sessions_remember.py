"""'Keep me signed in on this device': a remember cookie only when asked, for the configured time, naming the same
user_sessions row as the session cookie, so it ends with it (sign-out, a password change, disabling, a role change)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.config import remember_duration
from app.extensions import db
from app.models import Role, User, Via, utcnow
from app.models.users import UserSession
from app.services import users as user_service
from tests import factories

EMAIL = "field.aide@example.org"
REMEMBER = "remember_token"


@pytest.fixture
def staff(app):
    with app.app_context():
        user = factories.make_user(Role.aide, "LHS", email=EMAIL)
        db.session.commit()
        return user.id


def sign_in(client, *, remember: bool):
    data = {"email": EMAIL, "password": factories.PASSWORD}
    if remember:
        data["remember"] = "y"
    resp = client.post("/login", data=data)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp


def set_cookies(resp) -> dict[str, str]:
    """Each Set-Cookie header of a response by cookie name."""
    return {header.split("=", 1)[0]: header for header in resp.headers.getlist("Set-Cookie")}


def restarted(app, client):
    """The same browser after a restart: its persistent cookies only (browser-session cookies are gone)."""
    again = app.test_client()
    for name in (REMEMBER, "rollcall_offline"):
        cookie = client.get_cookie(name)
        if cookie is not None and cookie.expires is not None:
            again.set_cookie(name, cookie.value)
    return again


def the_row(app, user_id: int) -> UserSession:
    with app.app_context():
        row = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == user_id))
        db.session.expunge(row)
        return row


def test_the_sign_in_page_offers_it_with_its_lifetime(client):
    html = client.get("/login").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="remember"[^>]*type="checkbox"|<input[^>]*type="checkbox"[^>]*id="remember"', html)
    assert "Keep me signed in on this device" in html
    assert "Stays signed in for 7 days" in html


def test_without_the_box_the_session_is_a_browser_session(app, client, staff):
    resp = sign_in(client, remember=False)
    cookies = set_cookies(resp)
    assert REMEMBER not in cookies
    assert "Expires" not in cookies["session"] and "Max-Age" not in cookies["session"], "ends with the browser"
    assert the_row(app, staff).remember_until is None
    assert restarted(app, client).get("/assets").status_code == 302, "a restarted browser must sign in again"


def test_ticked_the_remember_cookie_lasts_a_school_week_and_survives_a_restart(app, client, staff):
    before = datetime.now(UTC)
    resp = sign_in(client, remember=True)
    header = set_cookies(resp)[REMEMBER]
    assert "HttpOnly" in header and "SameSite=Lax" in header
    assert "Secure" not in header, "tests run over http"
    assert "Expires" not in set_cookies(resp)["session"], "the session cookie itself stays a browser session's"
    cookie = client.get_cookie(REMEMBER)
    assert timedelta(days=7) - timedelta(minutes=1) < cookie.expires - before < timedelta(days=7, minutes=1)
    row = the_row(app, staff)
    assert row.remember_until is not None
    assert abs(row.remember_until - cookie.expires) < timedelta(seconds=5), "the row ends when the cookie does"
    assert row.key_hash not in cookie.value, "only the key's digest is stored"

    browser = restarted(app, client)
    assert browser.get("/assets").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 1, "the same session"


def test_the_lifetime_comes_from_the_configuration(app, client, staff, monkeypatch):
    monkeypatch.setitem(app.config, "REMEMBER_COOKIE_DURATION", timedelta(days=2))
    assert "Stays signed in for 2 days" in client.get("/login").get_data(as_text=True)
    before = datetime.now(UTC)
    sign_in(client, remember=True)
    lifetime = client.get_cookie(REMEMBER).expires - before
    assert timedelta(days=2) - timedelta(minutes=1) < lifetime < timedelta(days=2, minutes=1)
    assert timedelta(days=2) - timedelta(minutes=1) < the_row(app, staff).remember_until - before


def test_rollcall_remember_days_sets_it_and_nonsense_is_refused():
    from app.config import from_env

    assert from_env({})["REMEMBER_COOKIE_DURATION"] == timedelta(days=7)
    assert from_env({"ROLLCALL_REMEMBER_DAYS": "5"})["REMEMBER_COOKIE_DURATION"] == timedelta(days=5)
    for bad in ("0", "-3", "1.5", "week", "٣", "400"):
        with pytest.raises(ValueError, match="ROLLCALL_REMEMBER_DAYS must be a whole number of days"):
            remember_duration(bad)


def test_secure_where_session_cookies_are(app, client, staff, monkeypatch):
    from app.config import from_env

    assert from_env({"ROLLCALL_BASE_URL": "https://rollcall.example.org"})["REMEMBER_COOKIE_SECURE"] is True
    monkeypatch.setitem(app.config, "REMEMBER_COOKIE_SECURE", True)
    assert "Secure" in set_cookies(sign_in(client, remember=True))[REMEMBER]


def test_sign_out_kills_the_remember_cookie_and_any_copy(app, client, staff):
    sign_in(client, remember=True)
    copied = client.get_cookie(REMEMBER).value
    out = client.post("/logout")
    assert REMEMBER in set_cookies(out) and "Expires=Thu, 01 Jan 1970" in set_cookies(out)[REMEMBER]
    thief = app.test_client()
    thief.set_cookie(REMEMBER, copied)
    assert thief.get("/assets").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0


def test_a_password_change_kills_other_remember_cookies_and_keeps_this_phone_remembered(app, staff):
    phone, laptop = app.test_client(), app.test_client()
    sign_in(phone, remember=True)
    sign_in(laptop, remember=True)
    resp = phone.post(
        "/account/password",
        data={"current": factories.PASSWORD, "password": "a-new-password-1", "confirm": "a-new-password-1"},
    )
    assert resp.status_code == 302
    assert restarted(app, laptop).get("/assets").status_code == 302, "the other phone's remember cookie is dead"
    assert restarted(app, phone).get("/assets").status_code == 200, "this phone goes on, remembered, in a new row"
    with app.app_context():
        rows = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == staff)).all()
        assert len(rows) == 1 and rows[0].remember_until is not None


def test_disabling_or_a_role_change_kills_the_remember_cookie(app, staff):
    first, second = app.test_client(), app.test_client()
    sign_in(first, remember=True)
    sign_in(second, remember=True)
    with app.app_context():
        admin = factories.make_user(Role.admin)
        user = db.session.get(User, staff)
        user_service.update_user(user, role=Role.librarian, campus_codes=["LHS"], name=user.name, by=admin, via=Via.web)
        db.session.commit()
    assert restarted(app, first).get("/assets").status_code == 302
    sign_in(second, remember=True)
    with app.app_context():
        user_service.set_active(db.session.get(User, staff), False, by=None, via=Via.cli)
        db.session.commit()
    assert restarted(app, second).get("/assets").status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0


def test_a_dead_remember_cookie_is_dropped_from_the_browser(app, client, staff):
    sign_in(client, remember=True)
    with app.app_context():
        db.session.get(User, staff).end_sessions()
        db.session.commit()
    browser = restarted(app, client)
    resp = browser.get("/assets")
    assert resp.status_code == 302
    assert "Expires=Thu, 01 Jan 1970" in set_cookies(resp)[REMEMBER]


def test_remembered_sessions_outlast_the_idle_limit_but_not_their_time(app, client, staff):
    sign_in(client, remember=True)
    with app.app_context():
        row = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == staff))
        row.last_seen_at = utcnow() - app.permanent_session_lifetime - timedelta(days=2)  # a weekend
        db.session.commit()
    assert client.get("/assets").status_code == 200
    with app.app_context():
        row = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == staff))
        row.remember_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get("/assets").status_code == 302
    assert restarted(app, client).get("/assets").status_code == 302


def test_signing_in_clears_sessions_whose_remembered_time_ran_out(app, staff):
    old, new = app.test_client(), app.test_client()
    sign_in(old, remember=True)
    with app.app_context():
        row = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == staff))
        row.remember_until = utcnow() - timedelta(minutes=1)
        db.session.commit()
    sign_in(new, remember=False)
    with app.app_context():
        rows = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == staff)).all()
        assert [r.remember_until for r in rows] == [None]


def test_signing_in_without_the_box_drops_an_earlier_remember_cookie(app, client, staff):
    sign_in(client, remember=True)
    resp = sign_in(client, remember=False)
    assert "Expires=Thu, 01 Jan 1970" in set_cookies(resp)[REMEMBER]
    assert the_row(app, staff).remember_until is None


def test_the_csrf_token_of_a_remembered_session_survives_a_restart(app, client, district, staff):
    """The phone's outbox keeps the token it had; after a restart its first request is a sync, with that token."""
    sign_in(client, remember=True)
    token = client.csrf_token()
    browser = restarted(app, client)
    body = {"client_id": "phone", "events": []}
    resp = browser.post("/api/v1/sync", json=body, headers={"X-CSRFToken": token}, csrf=False)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert browser.post("/api/v1/sync", json=body, headers={"X-CSRFToken": "forged"}, csrf=False).status_code == 400
    client.post("/logout")
    gone = restarted(app, client)
    assert gone.post("/api/v1/sync", json=body, headers={"X-CSRFToken": token}, csrf=False).status_code in (400, 401)


def test_a_bearer_token_counts_even_beside_a_remember_cookie(app, client, district, staff, aide_token):
    sign_in(client, remember=True)
    browser = restarted(app, client)
    resp = browser.get("/api/v1/assets", headers={"Authorization": f"Bearer {aide_token}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
