"""The inventory in a real browser on a phone: sign in, search, open a device, edit it, see the timeline."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_phone_search_open_edit_timeline(phone, district, staff_user):
    email, password = staff_user("tech", "LHS")
    sign_in(phone, email, password)
    phone.get_by_role("link", name="Devices", exact=True).click()
    expect(phone.locator("#asset-results")).to_contain_text("LHS-1000")
    # htmx wires the live search when the document has loaded; typed earlier, the text waits for Enter.
    phone.wait_for_load_state("load")

    # Live search: typing narrows the list without a page load, and the URL follows.
    phone.get_by_placeholder("Tag, serial, model or person").fill("spare0")
    expect(phone.locator("#asset-results .asset-row")).to_have_count(1)
    expect(phone.locator("#asset-results")).to_contain_text("LHS-1001")
    assert "q=spare0" in phone.url

    phone.get_by_role("link", name="LHS-1001").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("LHS-1001")
    phone.get_by_role("link", name="Edit").click()
    phone.get_by_label("Notes").fill("Hinge squeaks <b>loudly</b>")
    phone.get_by_label("Condition").select_option("fair")
    phone.get_by_role("button", name="Save changes").click()

    expect(phone.get_by_role("heading", level=1)).to_contain_text("LHS-1001")
    timeline = phone.locator("#timeline")
    expect(timeline).to_contain_text("Changed condition, notes of LHS-1001")
    expect(timeline).to_contain_text("fair")
    expect(phone.locator(".notes")).to_have_text("Hinge squeaks <b>loudly</b>")
    # Nothing spills sideways on a 390 px screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_phone_duplicate_serial_shows_field_error(phone, district, staff_user):
    email, password = staff_user("tech", "LHS")
    sign_in(phone, email, password, next_path="/assets/LHS-1001/edit")
    phone.get_by_label("Serial number").fill("mkqqa7msua")
    phone.get_by_role("button", name="Save changes").click()
    expect(phone.locator("#serial-error")).to_have_text("Another device already has this serial number.")
    expect(phone.get_by_label("Serial number")).to_have_attribute("aria-invalid", "true")


def test_quick_actions_assign_and_return(phone, district, staff_user):
    email, password = staff_user("tech", "LHS")
    sign_in(phone, email, password, next_path="/assets/LHS-1001")
    phone.get_by_label("Assign to (student or staff ID)").fill("LHS100001")
    phone.get_by_role("button", name="Assign").click()
    expect(phone.locator("#asset-facts")).to_contain_text("Zoe Martinez")
    expect(phone.locator("#timeline")).to_contain_text("Assigned LHS-1001 to Zoe Martinez")
    phone.get_by_label("Condition on return").select_option("damaged")
    phone.get_by_role("button", name="Take back").click()
    expect(phone.locator("#timeline")).to_contain_text("Zoe Martinez returned LHS-1001 (damaged)")
    expect(phone.locator("#asset-facts")).to_contain_text("no one")
