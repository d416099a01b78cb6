"""Both ways into Rollcall without a Rollcall password, on a 390×844 phone: "Sign in with Google" through a real
OpenID provider and back, and a forgotten password reset by a mailed link (a real SMTP server)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Role
from tests import factories
from tests.mail_inbox import link_in, smtp_inbox
from tests.oidc_provider import configure, oidc_provider

DOMAIN = "mvusd.example"


@pytest.fixture
def google(app, live_server, monkeypatch, tmp_path):
    """The local provider standing in for Google, with the live server's callback registered."""
    clients = [
        {
            "client_id": "rollcall-google",
            "client_secret": "google-secret",
            "redirect_uris": [f"{live_server}/login/oidc/google/callback"],
        }
    ]
    accounts = {"teacher": {"email": f"teacher@{DOMAIN}", "email_verified": True, "name": "Tia", "hd": DOMAIN}}
    with oidc_provider(clients, accounts, tmp_path / "provider.log") as issuer:
        configure(monkeypatch, app.config, "google", issuer, clients[0], DOMAIN)
        yield issuer


def test_sign_in_with_google_on_a_phone(app, phone, google):
    with app.app_context():
        factories.make_user(Role.tech, "LHS", email=f"teacher@{DOMAIN}")
        db.session.commit()
    # The provider's stock sign-in page asks for a web font; this machine has no outside network to wait on.
    phone.route("**/fonts.googleapis.com/**", lambda route: route.abort())
    phone.goto("/login")
    expect(phone.get_by_role("link", name="Sign in with Microsoft")).to_have_count(0)
    phone.get_by_role("link", name="Sign in with Google").click()
    phone.wait_for_url(f"{google}/**")
    phone.locator("input[name=login]").fill("teacher")
    phone.locator("input[name=password]").fill("anything")
    phone.get_by_role("button", name="Sign-in").click()
    phone.wait_for_url(lambda url: url.startswith(app.config["BASE_URL"]) and "/login" not in url)
    phone.goto("/account")
    expect(phone.locator('[data-identity="google"]')).to_contain_text(f"teacher@{DOMAIN}")
    expect(phone.locator("#sessions")).to_contain_text("this device")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the account page scrolls sideways on a phone ({width}px)"


def test_a_forgotten_password_is_reset_by_mail_on_a_phone(app, phone, monkeypatch):
    with app.app_context():
        factories.make_user(Role.aide, "LHS", email=f"aide@{DOMAIN}")
        db.session.commit()
    with smtp_inbox() as inbox:
        monkeypatch.setitem(app.config, "SMTP_URL", f"smtp://127.0.0.1:{inbox.port}")
        phone.goto("/login")
        phone.get_by_role("link", name="Forgot your password?").click()
        phone.get_by_label("Email").fill(f"aide@{DOMAIN}")
        phone.get_by_role("button", name="Mail me a link").click()
        expect(phone.locator("#forgot-sent")).to_contain_text("is on its way")
        link = link_in(inbox.only())
    assert link.startswith(app.config["BASE_URL"] + "/password/reset/")
    phone.goto(link)
    phone.get_by_label("New password", exact=True).fill("a brand new password")
    phone.get_by_label("Repeat the new password").fill("a brand new password")
    phone.get_by_role("button", name="Set my password").click()
    expect(phone.get_by_role("status")).to_contain_text("Your password is set")
    phone.get_by_label("Email").fill(f"aide@{DOMAIN}")
    phone.get_by_label("Password").fill("a brand new password")
    phone.get_by_role("button", name="Sign in", exact=True).click()
    phone.wait_for_url(lambda url: "/login" not in url)
    phone.goto(link)
    expect(phone.locator("#link-gone")).to_contain_text("was used or has expired")
