"""Signing in and out, sessions ending on password change or disabling, rate limits, safe redirects."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, ApiToken, Role, User, Via, utcnow
from app.models.users import UserSession
from app.services import users as user_service
from tests import factories


@pytest.fixture
def staff(app):
    with app.app_context():
        user = factories.make_user(Role.tech, "LHS", email="tech@example.org")
        db.session.commit()
        return user.id


def sign_in(client, email="tech@example.org", password=factories.PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def test_sign_in_and_out(client, staff):
    assert client.get("/assets").status_code == 302
    resp = sign_in(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert client.get("/assets").status_code == 200
    out = client.post("/logout")
    assert out.status_code == 302
    assert "cache" in out.headers["Clear-Site-Data"]
    assert client.get("/assets").status_code == 302


def test_wrong_password_is_422_with_message(client, staff):
    resp = sign_in(client, password="nope")
    assert resp.status_code == 422
    assert "do not match an active account" in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "target", ["//elsewhere.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"]
)
def test_next_pointing_off_site_is_ignored(client, staff, target):
    resp = sign_in(client, next=target)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/"


def test_next_on_site_is_followed(client, staff):
    resp = sign_in(client, next="/assets?status=loaner")
    assert resp.headers["Location"] == "/assets?status=loaner"


def test_forged_csrf_token_is_400(client, staff):
    resp = client.post(
        "/login", data={"email": "tech@example.org", "password": factories.PASSWORD, "csrf_token": "forged"}, csrf=False
    )
    assert resp.status_code == 400
    assert "expired or came from elsewhere" in resp.get_data(as_text=True)


def test_password_change_ends_other_sessions(app, staff):
    first, second = app.test_client(), app.test_client()
    sign_in(first)
    sign_in(second)
    assert second.get("/assets").status_code == 200
    resp = first.post(
        "/account/password",
        data={"current": factories.PASSWORD, "password": "a-new-password-1", "confirm": "a-new-password-1"},
    )
    assert resp.status_code == 302
    assert first.get("/assets").status_code == 200, "the session that changed it stays signed in"
    assert second.get("/assets").status_code == 302, "every other session ends"


def test_disabling_a_user_ends_their_sessions(app, client, staff):
    sign_in(client)
    assert client.get("/assets").status_code == 200
    with app.app_context():
        user_service.set_active(db.session.get(User, staff), False, by=None, via=Via.cli)
        db.session.commit()
    assert client.get("/assets").status_code == 302
    assert sign_in(client).status_code == 422


def test_login_is_rate_limited(client, staff):
    statuses = [sign_in(client, password="wrong").status_code for _ in range(6)]
    assert statuses[:5] == [422] * 5
    assert statuses[5] == 429


def test_expired_session_in_htmx_request_redirects_with_header(client):
    resp = client.get("/assets", headers={"HX-Request": "true"})
    assert resp.status_code == 401
    assert resp.headers["HX-Redirect"].startswith("/login?next=")


def test_security_headers(client):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def _production(**settings):
    from app import create_app

    return create_app(
        {"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": "sqlite://", "BASE_URL": "https://rc.example", **settings}
    )


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "is missing or is an example value"),
        ("change-me", "is missing or is an example value"),
        ("short", "is too short (5 characters; at least 32)"),
        ("0000000000000000", "is too short"),
        ("aaaaaaaaaaaaaaaaaaaa", "is too short"),
        ("1234567890123456", "is too short"),
        ("abcabcabcabcabcabc", "is too short"),
        ("x" * 40, "uses only 1 different characters"),
        ("abcabc" * 10, "uses only 3 different characters"),
        ("1234567890" * 7, "is too easy to guess"),
        ("0123456789abcdefghijklmnopqrstuvwxyzABCDEF", "is too easy to guess"),
        ("qwertyuiopasdfghjklzxcvbnm1234567890", "is too easy to guess"),
        ("test-secret-key-not-for-production", "is too easy to guess"),
        # Past zxcvbn's 72 characters the key is scored in parts, each of which must add something.
        ("0123456789" * 20, "is too easy to guess"),
    ],
)
def test_production_refuses_weak_secret_keys(key, reason):
    from app import InsecureConfiguration

    with pytest.raises(InsecureConfiguration) as refused:
        _production(SECRET_KEY=key)
    message = str(refused.value)
    assert message.startswith("SECRET_KEY ") and reason in message and "\n" not in message
    assert "secrets.token_hex(32)" in message


@pytest.mark.parametrize(
    "make_key",
    [
        lambda: secrets.token_hex(32),
        lambda: secrets.token_hex(64),
        lambda: secrets.token_urlsafe(32),
        lambda: "plover-nimbus-quartz-gadfly-tundra-ember-vortex",
    ],
    ids=["hex32", "hex64", "urlsafe32", "passphrase"],
)
def test_production_accepts_random_secret_keys(make_key):
    key = make_key()
    assert _production(SECRET_KEY=key).config["SECRET_KEY"] == key


def test_production_refuses_debug_mode():
    from app import InsecureConfiguration, create_app

    with pytest.raises(InsecureConfiguration, match=r"^Debug mode is on .*which production refuses"):
        _production(SECRET_KEY=secrets.token_hex(32), DEBUG=True)
    app = create_app({"ENV_NAME": "development", "DEBUG": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.debug, "development may debug"


def test_production_answers_nothing_through_the_werkzeug_debugger():
    from werkzeug.debug import DebuggedApplication
    from werkzeug.test import Client

    app = _production(SECRET_KEY=secrets.token_hex(32))
    # What app.run(debug=True) or run_simple(use_debugger=True) would serve, had the app been made first.
    resp = Client(DebuggedApplication(app, evalex=True)).get("/login")
    assert resp.status_code == 500
    assert Client(app).get("/login").status_code == 200


def test_secure_cookies_behind_https():
    from app.config import from_env

    assert from_env({"ROLLCALL_BASE_URL": "https://rollcall.example.org"})["SESSION_COOKIE_SECURE"] is True
    assert from_env({"ROLLCALL_BASE_URL": "http://127.0.0.1:8000"})["SESSION_COOKIE_SECURE"] is False


def test_short_password_is_refused(ctx):
    with pytest.raises(user_service.Invalid):
        user_service.create_user("x@example.org", role=Role.admin, password="short", by=None, via=Via.cli)


def test_report_limits_come_from_the_environment():
    from app.config import from_env

    settings = from_env({"ROLLCALL_REPORT_LIMIT_IP": "3 per minute", "ROLLCALL_REPORT_LIMIT_DEVICE": "1 per hour"})
    assert settings["REPORT_RATE_LIMIT_IP"] == "3 per minute"
    assert settings["REPORT_RATE_LIMIT_DEVICE"] == "1 per hour"
    assert "REPORT_RATE_LIMIT_IP" not in from_env({}), "unset means the built-in defaults"


def _session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie"
    return cookie.value


def test_signing_out_ends_that_session_even_for_a_copied_cookie(app, staff):
    first, second = app.test_client(), app.test_client()
    sign_in(first)
    sign_in(second)
    copied = _session_cookie(first)
    assert first.post("/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert replay.get("/assets").status_code == 302, "a copy of a signed-out cookie signs nobody in"
    assert second.get("/assets").status_code == 200, "signing out of one browser leaves the others signed in"
    with app.app_context():
        sessions = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == staff)).all()
        assert len(sessions) == 1


def test_each_sign_in_is_a_session_row_with_its_browser(app, client, staff):
    client.post(
        "/login",
        data={"email": "tech@example.org", "password": factories.PASSWORD},
        headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/126"},
    )
    with app.app_context():
        row = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == staff))
        assert row.user_agent == "Mozilla/5.0 (Linux; Android 14) Chrome/126"
        assert row.key_hash not in _session_cookie(client), "only the key's digest is stored"


def test_a_session_idle_past_the_lifetime_ends_and_use_is_noted(app, client, staff):
    sign_in(client)
    with app.app_context():
        row = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == staff))
        row.last_seen_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
    assert client.get("/assets").status_code == 200
    with app.app_context():
        row = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == staff))
        assert utcnow() - row.last_seen_at < timedelta(minutes=1), "a page view notes that the session is in use"
        row.last_seen_at = utcnow() - app.permanent_session_lifetime - timedelta(minutes=1)
        db.session.commit()
    assert client.get("/assets").status_code == 302
    sign_in(client)
    with app.app_context():
        rows = db.session.scalars(sa.select(UserSession).where(UserSession.user_id == staff)).all()
        assert len(rows) == 1, "signing in again clears the user's sessions that idled out"


def test_password_change_revokes_api_tokens_and_says_so(app, client, staff):
    with app.app_context():
        raw = user_service.issue_token(db.session.get(User, staff), name="inventory", by=None, via=Via.cli)
        db.session.commit()
    script = app.test_client()
    bearer = {"Authorization": f"Bearer {raw}"}
    assert script.get("/api/v1/assets", headers=bearer).status_code == 200
    sign_in(client)
    page = client.get("/account/password").get_data(as_text=True)
    assert "revokes your 1 API token" in page
    copied = _session_cookie(client)
    resp = client.post(
        "/account/password",
        data={"current": factories.PASSWORD, "password": "a-new-password-1", "confirm": "a-new-password-1"},
    )
    assert resp.status_code == 302
    assert "your 1 API token(s) were revoked" in client.get("/", follow_redirects=True).get_data(as_text=True)
    assert script.get("/api/v1/assets", headers=bearer).status_code == 401
    assert client.get("/assets").status_code == 200, "the browser that changed it stays signed in"
    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert replay.get("/assets").status_code == 302, "under a new session: the old cookie is dead"
    with app.app_context():
        entry = db.session.scalar(sa.select(Activity).where(Activity.action == "user.password"))
        assert entry.after == {"api_tokens_revoked": [raw[:10]]}


def _hashes_checked(action) -> list[str]:
    """The password hashes that werkzeug's check_password_hash was given while action ran (a profiler watches the
    real function; nothing is replaced)."""
    import sys

    from werkzeug.security import check_password_hash

    code, seen = check_password_hash.__code__, []

    def watch(frame, event, _arg):
        if event == "call" and frame.f_code is code:
            seen.append(frame.f_locals["pwhash"])

    sys.setprofile(watch)
    try:
        action()
    finally:
        sys.setprofile(None)
    return seen


def test_every_sign_in_checks_one_hash_of_the_same_cost_known_email_or_not(app, client, staff):
    from app.models.users import password_method

    with app.app_context():
        gone = factories.make_user(Role.tech, "LHS", email="gone@example.org")
        gone.active = False
        factories.make_user(Role.tech, "LHS", email="nopass@example.org").password_hash = ""
        db.session.commit()
        method = password_method(db.session.get(User, staff).password_hash)
    attempts = [
        ("unknown email", "nobody@example.org", factories.PASSWORD, 422),
        ("disabled login", "gone@example.org", factories.PASSWORD, 422),
        ("login without a password", "nopass@example.org", factories.PASSWORD, 422),
        ("wrong password", "tech@example.org", "not-the-password", 422),
        ("right password", "tech@example.org", factories.PASSWORD, 302),
    ]
    for label, email, password, status in attempts:
        answers: list[int] = []
        hashes = _hashes_checked(lambda e=email, p=password, a=answers: a.append(sign_in(client, e, p).status_code))
        assert answers == [status], label
        assert [password_method(h) for h in hashes] == [method], f"{label}: one hash, made like a real one"


def test_sign_in_remakes_a_hash_of_an_older_method(app, client, staff):
    from werkzeug.security import generate_password_hash

    from app.models.users import dummy_password_hash, password_method

    with app.app_context():
        user = db.session.get(User, staff)
        user.password_hash = generate_password_hash(factories.PASSWORD, method="pbkdf2:sha256:1000")
        db.session.commit()
    assert sign_in(client).status_code == 302
    with app.app_context():
        user = db.session.get(User, staff)
        assert password_method(user.password_hash) == password_method(dummy_password_hash())
        assert user.check_password(factories.PASSWORD)


def test_a_bogus_bearer_header_does_not_skip_csrf_on_web_forms(app, client, staff):
    sign_in(client)
    # /account/tokens reads its form itself (no FlaskForm, whose own CSRF field would have caught this).
    resp = client.post("/account/tokens", data={"name": "planted"}, headers={"Authorization": "Bearer x"}, csrf=False)
    assert resp.status_code == 400
    assert "expired or came from elsewhere" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0, "no token was made"
    assert client.post("/account/tokens", data={"name": "mine"}).status_code == 200, "with the CSRF token it works"


def test_only_a_valid_api_token_skips_csrf(app, client, district, aide_token, login_as):
    body = {"client_id": "phone", "events": []}
    script = app.test_client()
    ok = script.post("/api/v1/sync", json=body, headers={"Authorization": f"Bearer {aide_token}"}, csrf=False)
    assert ok.status_code == 200, ok.get_data(as_text=True)
    login_as(Role.aide, "LHS")
    bogus = client.post("/api/v1/sync", json=body, headers={"Authorization": "Bearer x"}, csrf=False)
    assert bogus.status_code == 401 and bogus.get_json()["error"]["message"].startswith("That API token is not valid")
    assert client.post("/api/v1/sync", json=body, csrf=False).status_code == 400, "the session still needs CSRF"
    assert client.post("/api/v1/sync", json=body).status_code == 200


def test_signing_in_again_replaces_this_browsers_session(app, client, staff):
    sign_in(client)
    copied = _session_cookie(client)
    assert sign_in(client).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", copied)
    assert replay.get("/assets").status_code == 302
    assert client.get("/assets").status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(UserSession.user_id == staff)) == 1
