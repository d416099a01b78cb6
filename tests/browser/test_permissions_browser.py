"""What a role may do shows on a phone as it is enforced: the read-only catalog, and API tokens for viewers."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, sign_in


def test_phone_campus_tech_reads_the_catalog_without_edit_links(phone, district, staff_user):
    email, password = staff_user("tech", "LHS")  # JMS is another tech's
    sign_in(phone, email, password)
    phone.get_by_label("Account").click()
    phone.get_by_role("link", name="Device models").click()
    expect(phone.locator("#device-models-read-only")).to_be_visible()
    expect(phone.locator("#models")).to_contain_text("Acer Chromebook 311")
    expect(phone.get_by_role("link", name="Add a model")).to_have_count(0)
    expect(phone.locator("#models a[href]")).to_have_count(0)
    phone.goto("/assets/new")
    expect(phone.get_by_label("Asset tag")).to_be_visible()
    expect(phone.get_by_role("link", name="Model not in the list? Add it")).to_have_count(0)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_phone_admin_lets_a_viewer_have_api_tokens(phone, browser, live_server, district, staff_user):
    viewer_email, password = staff_user("viewer", "LHS")
    principal = browser.new_context(base_url=live_server, **PHONE).new_page()
    try:
        sign_in(principal, viewer_email, password)
        principal.get_by_label("Account").click()
        principal.get_by_role("link", name="API tokens").click()
        expect(principal.locator("#tokens-not-allowed")).to_be_visible()
        expect(principal.get_by_role("button", name="Create token")).to_have_count(0)

        admin_email, admin_password = staff_user("admin", "LHS")
        sign_in(phone, admin_email, admin_password, next_path="/users")
        phone.get_by_role("link", name=re.compile(re.escape(viewer_email))).click()
        box = phone.get_by_label("May create API tokens")
        expect(box).not_to_be_checked()
        box.check()
        phone.get_by_role("button", name="Save").click()
        expect(phone).to_have_url(re.compile(r"/users$"))
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390

        principal.reload()
        principal.get_by_label("What is it for?").fill("Board report")
        principal.get_by_role("button", name="Create token").click()
        expect(principal.locator("#new-token")).to_have_text(re.compile(r"^rc_"))
        expect(principal.locator(".asset-list")).to_contain_text("Board report")
    finally:
        principal.context.close()
