"""Adding a device whose model is not yet known, on a phone: add the model, come back, add the device."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_phone_tech_adds_a_model_then_a_device_of_it(phone, district, staff_user):
    email, password = staff_user("tech", "LHS", "JMS")  # the district's tech: the catalog is the whole district's
    sign_in(phone, email, password, next_path="/assets/new")
    phone.get_by_role("link", name="Model not in the list? Add it").click()
    phone.get_by_label("Maker").fill("Lenovo")
    phone.get_by_label("Model").fill("100e Chromebook Gen 4")
    phone.get_by_label("Auto Update Expiration (AUE)").fill("2033-06-01")
    phone.get_by_role("button", name="Add model").click()

    expect(phone).to_have_url(re.compile(r"/assets/new$"))
    expect(phone.locator(".flash")).to_have_text("Added Lenovo 100e Chromebook Gen 4.")
    phone.get_by_label("Asset tag").fill("LHS-5000")
    phone.get_by_label("Serial number").fill("PF3ABC12")
    phone.get_by_label("Model").select_option(label="Lenovo 100e Chromebook Gen 4")
    phone.get_by_role("button", name="Add device").click()
    expect(phone.get_by_role("heading", level=1)).to_contain_text("LHS-5000")
    expect(phone.locator("#asset-facts")).to_contain_text("2033")

    phone.get_by_label("Account").click()
    phone.get_by_role("link", name="Device models").click()
    expect(phone.locator("#models")).to_contain_text("Lenovo 100e Chromebook Gen 4")
    expect(phone.locator("#models")).to_contain_text("AUE 2033-06-01")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
