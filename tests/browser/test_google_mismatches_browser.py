"""An admin on a phone works the Google mismatch list in place: reassigns a device, marks a cart as expected, and
finds it among the marked ones to undo."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Asset, Role, Via
from app.services import assets as asset_service
from tests import factories
from tests.browser.conftest import sign_in


def test_admin_reassigns_and_marks_a_cart_as_expected(phone, staff_user, app):
    with app.app_context():
        lhs = factories.make_campus("LHS")
        clerk = factories.make_user(Role.admin, "LHS")
        owner = factories.make_person(lhs, "Yara Owens", email="yara.owens@students.example.org")
        factories.make_person(lhs, "Xavier Ruiz", email="xavier.ruiz@students.example.org")
        used = factories.make_asset(lhs, asset_tag="LHS-8001", google_recent_user="xavier.ruiz@students.example.org")
        asset_service.assign(used, owner, by=clerk, via=Via.web)
        factories.make_asset(lhs, asset_tag="LHS-8002", google_recent_user="cart3@lhs.example.org")
        db.session.commit()
    email, password = staff_user("admin", "LHS")
    sign_in(phone, email, password, next_path="/imports/google-admin/mismatches")

    row = phone.locator("li.mismatch-row", has_text="LHS-8001")
    row.get_by_role("button", name="Reassign to Xavier Ruiz").click()
    expect(row).to_contain_text("LHS-8001 is now assigned to Xavier Ruiz.")
    with app.app_context():
        who = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-8001")).assigned_to
        assert who is not None and who.name == "Xavier Ruiz"

    cart = phone.locator("li.mismatch-row", has_text="LHS-8002")
    expect(cart).to_contain_text("No person in Rollcall has the email cart3@lhs.example.org.")
    cart.get_by_text("Mark as expected", exact=True).first.click()
    cart.get_by_label("Why (a shared cart, say)").fill("Cart 3 in the library")
    cart.get_by_role("button", name="Mark as expected").click()
    expect(cart).to_contain_text("leaves the list until Google reports another user")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    phone.goto("/imports/google-admin/mismatches")
    expect(phone.locator("#mismatches")).not_to_contain_text("LHS-8002")
    phone.get_by_role("link", name="Devices marked as expected").click()
    marked = phone.locator("li.mismatch-row", has_text="LHS-8002")
    expect(marked).to_contain_text("Cart 3 in the library")
    marked.get_by_role("button", name="Undo: back on the list").click()
    expect(marked).to_contain_text("LHS-8002 is back on the mismatch list.")
