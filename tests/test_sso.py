"""Single sign-on against a real OpenID provider (oidc-provider under Node.js, tests/oidc_provider): who gets in,
what the others are told, and what the sign-in page offers."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import EmailLink, LinkPurpose, Role, SignInIdentity, User, utcnow
from app.models.users import UserSession
from tests import factories
from tests.oidc_provider import configure, oidc_provider, sign_in

BASE = "http://rollcall.test"
DOMAIN = "mvusd.example"
ACCOUNTS = {
    "teacher": {"email": f"teacher@{DOMAIN}", "email_verified": True, "name": "Tia Teacher", "hd": DOMAIN},
    "stranger": {"email": f"stranger@{DOMAIN}", "email_verified": True, "name": "Sam Stranger", "hd": DOMAIN},
    "personal": {"email": "teacher.at.home@gmail.example", "email_verified": True, "name": "Tia at home"},
    "unverified": {"email": f"unverified@{DOMAIN}", "email_verified": False, "name": "Una", "hd": DOMAIN},
    "boss": {"email": f"boss@{DOMAIN}", "email_verified": True, "name": "Bo Boss", "hd": DOMAIN},
    # Google's hd names the Workspace; this account's email claims the district but its Workspace is another.
    "elsewhere": {"email": f"elsewhere@{DOMAIN}", "email_verified": True, "name": "El", "hd": "other.example"},
}
CLIENTS = [
    {
        "client_id": "rollcall-oidc",
        "client_secret": "oidc-secret",
        "redirect_uris": [f"{BASE}/login/oidc/oidc/callback"],
    },
    {
        "client_id": "rollcall-google",
        "client_secret": "google-secret",
        "redirect_uris": [f"{BASE}/login/oidc/google/callback"],
    },
]


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    with oidc_provider(CLIENTS, ACCOUNTS, tmp_path_factory.mktemp("oidc") / "provider.log") as url:
        yield url


@pytest.fixture
def sso(app, issuer, monkeypatch):
    """The district's own provider and "Google" (the same local provider under Google's settings), domain-limited."""
    configure(monkeypatch, app.config, "oidc", issuer, CLIENTS[0], DOMAIN)
    configure(monkeypatch, app.config, "google", issuer, CLIENTS[1], DOMAIN)
    return issuer


@pytest.fixture
def invited(app):
    """teacher@, invited as a tech at LHS: a login with no password and an open invite link."""
    from app.models import Via
    from app.services import invites

    with app.app_context():
        factories.make_campus("LHS")
        user = invites.invite(f"teacher@{DOMAIN}", role=Role.tech, campus_codes=["LHS"], by=None, via=Via.cli)
        db.session.commit()
        return user.id


def _alert(client) -> str:
    """The single sign-on refusal the sign-in page shows (once)."""
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'id="sso-error"><p>(.*?)</p>', page, re.S)
    return unescape(match.group(1)) if match else ""


def test_an_invited_person_signs_in_and_the_account_is_linked(app, client, sso, invited):
    resp, _ = sign_in(client, "oidc", "teacher", callback_base=BASE)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/")
    assert client.get("/account").status_code == 200
    with app.app_context():
        user = db.session.get(User, invited)
        identity = db.session.scalar(sa.select(SignInIdentity).where(SignInIdentity.user_id == invited))
        assert (identity.provider, identity.issuer, identity.subject) == ("oidc", sso, "teacher")
        assert user.last_login_at is not None
        # Signing in took the invite up: its link no longer sets a password.
        links = db.session.scalars(sa.select(EmailLink).where(EmailLink.user_id == invited)).all()
        assert links == [] or all(link.used_at is not None for link in links)
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(UserSession).where(UserSession.user_id == invited))
            == 1
        )


def test_the_request_carries_state_nonce_and_a_pkce_challenge(client, sso, invited):
    start = client.get("/login/oidc/oidc")
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["redirect_uri"] == [f"{BASE}/login/oidc/oidc/callback"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 20 and len(query["nonce"][0]) >= 20
    assert set(query["scope"][0].split()) == {"openid", "email", "profile"}


def test_a_forged_host_does_not_change_the_redirect_uri(client, sso):
    start = client.get("/login/oidc/oidc", headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert parse_qs(urlsplit(start.headers["Location"]).query)["redirect_uri"] == [f"{BASE}/login/oidc/oidc/callback"]


def test_an_unknown_person_is_told_to_ask_for_an_invite(app, client, sso, invited):
    resp, _ = sign_in(client, "oidc", "stranger", callback_base=BASE)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert f"There is no Rollcall login for stranger@{DOMAIN}" in _alert(client)
    assert client.get("/account").status_code == 302  # not signed in
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == f"stranger@{DOMAIN}")) is None


def test_a_wrong_domain_is_refused(app, client, sso):
    with app.app_context():
        factories.make_user(Role.tech, "LHS", email="teacher.at.home@gmail.example")
        db.session.commit()
    sign_in(client, "oidc", "personal", callback_base=BASE)
    assert "is not an account of this district (mvusd.example)" in _alert(client)
    assert client.get("/account").status_code == 302


def test_google_checks_the_workspace_in_hd(app, client, sso):
    with app.app_context():
        factories.make_user(Role.tech, "LHS", email=f"elsewhere@{DOMAIN}")
        factories.make_user(Role.tech, "LHS", email=f"boss@{DOMAIN}")
        db.session.commit()
    # hd preselects the district's Workspace in Google's account chooser.
    assert parse_qs(urlsplit(client.get("/login/oidc/google").headers["Location"]).query)["hd"] == [DOMAIN]
    sign_in(client, "google", "elsewhere", callback_base=BASE)
    assert f"elsewhere@{DOMAIN} is not an account of this district" in _alert(client)
    resp, _ = sign_in(client, "google", "boss", callback_base=BASE)
    assert resp.headers["Location"].endswith("/") and client.get("/account").status_code == 200


def test_an_unverified_email_is_refused(app, client, sso):
    with app.app_context():
        factories.make_user(Role.tech, "LHS", email=f"unverified@{DOMAIN}")
        db.session.commit()
    sign_in(client, "oidc", "unverified", callback_base=BASE)
    assert f"Your account's email (unverified@{DOMAIN}) is not verified" in _alert(client)
    assert client.get("/account").status_code == 302


def test_a_replayed_callback_is_refused(app, client, sso, invited):
    first, callback = sign_in(client, "oidc", "teacher", callback_base=BASE)
    assert first.headers["Location"].endswith("/")
    other = app.test_client()  # another browser handed the same answer (a leaked URL)
    parts = urlsplit(callback)
    again = other.get(f"{parts.path}?{parts.query}")
    assert again.status_code == 302 and again.headers["Location"].endswith("/login")
    assert "already used or has expired" in _alert(other)
    # And the browser it belonged to cannot use it twice either: no second session comes of it.
    assert client.get(f"{parts.path}?{parts.query}").headers["Location"].endswith("/login")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 1


def test_a_wrong_nonce_is_refused(client, sso, invited):
    def other_nonce(url: str) -> str:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["nonce"] = "a-nonce-from-another-sign-in"
        return urlunsplit(parts._replace(query=urlencode(query)))

    resp, _ = sign_in(client, "oidc", "teacher", callback_base=BASE, tamper=other_nonce)
    assert resp.headers["Location"].endswith("/login")
    assert "its nonce differs" in _alert(client)
    assert client.get("/account").status_code == 302


def test_signup_creates_a_login_that_waits_for_a_role(app, client, sso, monkeypatch, login_as):
    monkeypatch.setitem(app.config, "OIDC_SIGNUP", "1")
    sign_in(client, "oidc", "stranger", callback_base=BASE)
    assert "An admin must give your login a role" in _alert(client)
    assert client.get("/account").status_code == 302
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == f"stranger@{DOMAIN}"))
        assert user.role is None and user.identities[0].subject == "stranger"
        user_id = user.id
    login_as("admin")
    page = client.get("/users").get_data(as_text=True)
    assert "waits for a role" in page and "waiting for a role" in page
    form = client.get(f"/users/{user_id}").get_data(as_text=True)
    # Nothing is preselected: saving the form as it opens grants no role.
    assert (
        '<option value="">Choose a role</option>' in form
        and "selected" not in form.split('name="role"')[1].split("</select>")[0]
    )
    assert client.post(f"/users/{user_id}", data={"role": "", "name": "Sam"}).status_code == 422
    client.post("/logout")
    # Once granted a role, the same sign-in gets in.
    with app.app_context():
        user = db.session.get(User, user_id)
        user.role = Role.viewer
        user.campuses = [factories.make_campus("LHS")]
        db.session.commit()
    resp, _ = sign_in(client, "oidc", "stranger", callback_base=BASE)
    assert resp.headers["Location"].endswith("/")


def test_admins_may_be_required_to_use_single_sign_on(app, client, sso, monkeypatch):
    monkeypatch.setitem(app.config, "OIDC_REQUIRED_FOR_ADMINS", "1")
    with app.app_context():
        factories.make_user(Role.admin, email=f"boss@{DOMAIN}")
        factories.make_user(Role.tech, "LHS", email=f"tech@{DOMAIN}")
        db.session.commit()
    refused = client.post("/login", data={"email": f"boss@{DOMAIN}", "password": factories.PASSWORD})
    assert refused.status_code == 422
    assert "Admins sign in with single sign-on here" in refused.get_data(as_text=True)
    # A wrong password says nothing about who is an admin.
    wrong = client.post("/login", data={"email": f"boss@{DOMAIN}", "password": "not the password"})
    assert "do not match an active account" in wrong.get_data(as_text=True)
    tech = app.test_client()
    assert tech.post("/login", data={"email": f"tech@{DOMAIN}", "password": factories.PASSWORD}).status_code == 302
    resp, _ = sign_in(client, "oidc", "boss", callback_base=BASE)
    assert resp.headers["Location"].endswith("/") and client.get("/account").status_code == 200


def test_the_sign_in_page_offers_only_configured_providers(app, client, monkeypatch):
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Google" not in page and "Sign in with Microsoft" not in page
    monkeypatch.setitem(app.config, "OIDC_GOOGLE_CLIENT_ID", "g")
    monkeypatch.setitem(app.config, "OIDC_GOOGLE_CLIENT_SECRET", "s")
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Google" in page and 'href="/login/oidc/google"' in page
    assert "Sign in with Microsoft" not in page
    monkeypatch.setitem(app.config, "OIDC_MICROSOFT_CLIENT_ID", "m")
    monkeypatch.setitem(app.config, "OIDC_MICROSOFT_CLIENT_SECRET", "s")
    assert "Sign in with Microsoft" in client.get("/login").get_data(as_text=True)


def test_a_provider_that_is_not_set_up_sends_back_to_the_sign_in_page(client):
    resp = client.get("/login/oidc/oidc")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert "Signing in with oidc is not set up on this server" in _alert(client)
    assert client.get("/login/oidc/oidc/callback?code=x&state=y").status_code == 302
    assert client.get("/login/oidc/facebook").status_code == 404


def test_an_unreachable_provider_is_said_plainly(app, client, monkeypatch):
    from tests.servers import free_port

    monkeypatch.setitem(app.config, "OIDC_ISSUER", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setitem(app.config, "OIDC_CLIENT_ID", "x")
    resp = client.get("/login/oidc/oidc")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    assert "could not be reached" in _alert(client)


def test_the_account_page_lists_methods_and_sessions_and_signs_out_elsewhere(app, client, sso, invited):
    phone = app.test_client()
    sign_in(phone, "oidc", "teacher", callback_base=BASE)
    sign_in(client, "oidc", "teacher", callback_base=BASE)
    page = client.get("/account").get_data(as_text=True)
    assert 'data-identity="oidc"' in page and f"teacher@{DOMAIN}" in page
    assert page.count('id="session-') == 2 and "this device" in page
    assert client.post("/account/sessions/end-others").status_code == 303
    assert phone.get("/account").status_code == 302  # that phone is signed out
    assert client.get("/account").status_code == 200
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(UserSession).where(UserSession.user_id == invited))
            == 1
        )


def test_ending_one_session_of_someone_else_is_not_found(app, client, login_as):
    with app.app_context():
        other = factories.make_user(Role.tech, "LHS")
        from app.services.users import start_session

        start_session(other, user_agent="elsewhere")
        db.session.commit()
        row_id = db.session.scalar(sa.select(UserSession.id).where(UserSession.user_id == other.id))
    login_as("admin")
    assert client.post(f"/account/sessions/{row_id}/end").status_code == 404
    assert client.post("/account/sessions/99999999/end").status_code == 404


def test_account_pages_ask_to_sign_in(client):
    for method, path in (
        ("GET", "/account"),
        ("POST", "/account/sessions/end-others"),
        ("POST", "/account/sessions/1/end"),
    ):
        resp = client.open(path, method=method)
        assert resp.status_code in (302, 400), path
        if resp.status_code == 302:
            assert "/login" in resp.headers["Location"]


def test_an_expired_invite_still_lets_single_sign_on_in(app, client, sso, invited):
    with app.app_context():
        for link in db.session.scalars(sa.select(EmailLink).where(EmailLink.purpose == LinkPurpose.invite)):
            link.expires_at = utcnow().replace(year=utcnow().year - 1)
        db.session.commit()
    resp, _ = sign_in(client, "oidc", "teacher", callback_base=BASE)
    assert resp.headers["Location"].endswith("/")
