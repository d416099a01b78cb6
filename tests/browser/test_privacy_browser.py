"""An admin answers a family's request on a phone: export the student's data, then erase it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_phone_admin_exports_then_erases_a_student(phone, district, staff_user):
    email, password = staff_user("admin", "LHS")
    sign_in(phone, email, password, next_path="/people/LHS100001")
    phone.reload()
    privacy = phone.locator("#person-privacy")
    expect(privacy.locator("#record-views")).to_contain_text(email)  # the visit before

    with phone.expect_download() as download:
        privacy.get_by_role("link", name="Export their data (JSON)").click()
    assert download.value.suggested_filename.startswith("rollcall-person-")

    privacy.get_by_text("Erase their personal data").click()
    privacy.get_by_label("Type LHS100001 to confirm").fill("LHS10000")
    privacy.get_by_role("button", name="Erase").click()
    expect(phone.locator("#erase-confirm-error")).to_have_text("Type LHS100001 to confirm.")
    phone.locator("#person-privacy").get_by_label("Type LHS100001 to confirm").fill("LHS100001")
    phone.locator("#person-privacy").get_by_role("button", name="Erase").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("Erased person")
    expect(phone.locator(".flash")).to_contain_text("Erased. The record is now Erased person")
    expect(phone.locator("main")).not_to_contain_text("Zoe Martinez")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
