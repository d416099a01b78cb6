"""Signing out and changing a password as a person does it, in Chromium: a copied cookie is dead afterwards, the
other phone stays signed in, and the password page says which API tokens the change revokes."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import ApiToken, Role, User, Via
from app.services.users import issue_token
from tests import factories
from tests.browser.conftest import PHONE, sign_in


def test_sign_out_kills_the_cookie_and_a_password_change_revokes_tokens(app, browser, live_server):
    with app.app_context():
        user = factories.make_user(Role.tech, "LHS", email="sessions@example.org")
        issue_token(user, name="label printer", by=None, via=Via.cli)
        db.session.commit()
        user_id = user.id
    contexts = [browser.new_context(base_url=live_server, **PHONE) for _ in range(3)]
    try:
        first, second, thief = (context.new_page() for context in contexts)
        sign_in(first, "sessions@example.org")
        sign_in(second, "sessions@example.org")
        copied = contexts[0].cookies()

        first.get_by_label("Account").click()
        first.get_by_role("button", name="Sign out").click()
        expect(first.get_by_role("status")).to_contain_text("You are signed out.")

        contexts[2].add_cookies(copied)
        thief.goto("/assets")
        expect(thief).to_have_url(f"{live_server}/login?next=/assets")
        second.goto("/assets")
        expect(second).to_have_url(f"{live_server}/assets")

        second.goto("/account/password")
        expect(second.locator("#password-effects")).to_contain_text("revokes your 1 API token")
        second.get_by_label("Current password").fill(factories.PASSWORD)
        second.get_by_label("New password", exact=True).fill("a-brand-new-password")
        second.get_by_label("Repeat the new password").fill("a-brand-new-password")
        second.get_by_role("button", name="Change password").click()
        expect(second.get_by_role("status").first).to_contain_text("your 1 API token(s) were revoked")
        second.goto("/assets")
        expect(second).to_have_url(f"{live_server}/assets")
    finally:
        for context in contexts:
            context.close()
    with app.app_context():
        assert db.session.scalar(sa.select(ApiToken.revoked_at).where(ApiToken.user_id == user_id)) is not None
        assert db.session.get(User, user_id).check_password("a-brand-new-password")
