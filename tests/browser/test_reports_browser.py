"""A student reports damage from a phone; a tech sees it in the queue and starts the repair."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Asset, Person, Via
from app.services import assets as asset_service
from tests import factories
from tests.browser.conftest import sign_in, wait_until
from tests.photo_samples import flat_png
from tests.test_reports import jpeg_with_gps


def test_phone_report_with_photo_then_tech_moves_it_to_in_repair(app, district, staff_user, phone, tmp_path, browser):
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        admin = factories.make_user(factories.Role.admin)
        asset_service.assign(asset, db.session.get(Person, district["student"]), by=admin, via=Via.web)
        db.session.commit()
        code = asset.tag_code
    photo = tmp_path / "damage.jpg"
    photo.write_bytes(jpeg_with_gps(size=(1200, 900)))

    # The student: no account, a phone, the QR on the sticker.
    phone.goto(f"/t/{code}")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Report a problem with this device")
    expect(phone.locator("#report-asset-tag")).to_have_text("LHS-1000")
    assert "Zoe" not in phone.content() and "LHS100001" not in phone.content()
    phone.get_by_label("Cracked screen").check()
    phone.get_by_label("Describe the problem").fill("Dropped it on the stairs; the corner is shattered.")
    phone.get_by_label("Photo (optional)").set_input_files(str(photo))
    phone.get_by_role("button", name="Send the report").click()

    number = phone.locator("#ticket-number")
    expect(number).to_have_text(re.compile(r"^T-\d{6}$"))
    ticket_number = number.inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.get_by_role("link", name="Check the status").click()
    expect(phone.locator("#ticket-status")).to_have_attribute("data-status", "new")
    status_url = phone.url
    # The ticket's number and the device's tag, as on the sticker; nothing about the student or the model.
    expect(phone.locator("#ticket-number")).to_have_text(ticket_number)
    expect(phone.locator("#ticket-asset-tag")).to_have_text("LHS-1000")
    assert "Zoe" not in phone.content() and "Chromebook" not in phone.content()

    # The tech, on another phone.
    email, password = staff_user("tech", "LHS")
    context = browser.new_context(base_url=phone.url.split("/reports/")[0], viewport={"width": 390, "height": 844})
    tech = context.new_page()
    tech.set_default_timeout(10_000)
    sign_in(tech, email, password, next_path="/tickets")
    expect(tech.locator("#new-report-count")).to_contain_text("1")
    tech.get_by_role("link", name=re.compile(ticket_number)).click()
    expect(tech.get_by_role("heading", level=1)).to_contain_text(ticket_number)
    expect(tech.locator(".ticket-photos img")).to_have_count(1)
    # The photo is served and decodes (it loads after the page, so wait for it rather than read it at once).
    wait_until(
        tech,
        "(() => { const img = document.querySelector('.ticket-photos img'); "
        "return img.complete && img.naturalWidth > 0; })()",
    )
    tech.get_by_role("button", name="Take in for repair").click()
    expect(tech.locator("#ticket-status")).to_have_text("in repair")
    expect(tech.locator("#ticket-timeline")).to_contain_text("Taken in for repair")
    assert tech.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()

    # The student's link now says so, and still nothing else.
    phone.goto(status_url)
    expect(phone.locator("#ticket-status")).to_have_attribute("data-status", "in_repair")
    expect(phone.locator("#ticket-status")).to_have_text("Being repaired")


def test_phone_spanish_switch_and_typed_code(app, district, phone):
    with app.app_context():
        code = db.session.scalar(sa.select(Asset.tag_code).where(Asset.asset_tag == "LHS-1001"))
    phone.goto("/r")
    phone.get_by_label("Code").fill(f"{code[:5].lower()}-{code[5:].lower()}")
    phone.get_by_role("button", name="Find the device").click()
    expect(phone.locator("#report-asset-tag")).to_have_text("LHS-1001")
    phone.get_by_role("link", name="Español").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Reportar un problema con este dispositivo")
    phone.get_by_role("button", name="Enviar el reporte").click()
    expect(phone.locator("#description-error")).to_have_text("Describe qué pasa.")
    expect(phone.locator("#category-error")).to_have_text("Elige qué pasa.")


def test_phone_photo_too_big_says_so_and_the_report_goes_without_it(
    app, district, phone, staff_user, browser, tmp_path
):
    with app.app_context():
        code = db.session.scalar(sa.select(Asset.tag_code).where(Asset.asset_tag == "LHS-1001"))
    flood = tmp_path / "screenshot.png"
    flood.write_bytes(flat_png(7060, 7060))

    phone.goto(f"/t/{code}")
    phone.get_by_label("Won't turn on").check()
    phone.get_by_label("Describe the problem").fill("It stays black.")
    phone.get_by_label("Photo (optional)").set_input_files(str(flood))
    phone.get_by_label("Student ID").fill("LHS100001")
    phone.get_by_role("button", name="Send the report").click()
    expect(phone.locator("#photo-error")).to_have_text(
        "That picture is too big for us to open. Take a new photo with the camera, or send the report without one."
    )
    expect(phone.get_by_label("Describe the problem")).to_have_value("It stays black.")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.get_by_role("button", name="Send the report").click()
    number = phone.locator("#ticket-number")
    expect(number).to_have_text(re.compile(r"^T-\d{6}$"))
    ticket_number = number.inner_text()

    # An aide opening the ticket learns that the student left details, not what they are.
    email, password = staff_user("aide", "LHS")
    context = browser.new_context(base_url=phone.url.split("/reports/")[0], viewport={"width": 390, "height": 844})
    aide = context.new_page()
    aide.set_default_timeout(10_000)
    sign_in(aide, email, password, next_path=f"/tickets/{ticket_number}")
    expect(aide.locator("#ticket-reporter")).to_have_text("given (only repair staff see it)")
    assert "LHS100001" not in aide.content()
    context.close()
