"""Vendors to packing list: an admin adds a vendor at 1366×800 and opens a claim to it with the RMA; a tech on a
390×844 phone starts a batch for that vendor, scans two devices into it, and prints the packing list."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Role, TicketCategory, Vendor, Via, WarrantyClaim
from app.services import tickets as ticket_service
from app.services import warranty
from tests import factories
from tests.browser.conftest import PHONE, sign_in
from tests.repairs_world import make_shop

WIDE = {"viewport": {"width": 1366, "height": 800}}


def test_vendor_claim_with_rma_batch_by_scan_and_packing_list(app, browser, live_server):
    with app.app_context():
        world = make_shop()
        world["lhs"].ship_address = "Lincoln High IT\n100 School St\nMountain View CA"
        device = world["device"]
        second = factories.make_asset(
            world["lhs"],
            world["room"],
            asset_tag="LHS-2000",
            serial="SECONDSER1",
            warranty_provider="Acer Care",
            warranty_start=device.warranty_start,
            warranty_end=device.warranty_end,
            warranty_accidental=True,
        )
        second_ticket = ticket_service.open_ticket(
            second, category=TicketCategory.other, description="Hinge", by=world["tech"], via=Via.web
        )
        admin = factories.make_user(Role.admin, email="vendor.admin@staff.example.org")
        db.session.commit()
        number, second_id = world["ticket"].number, second_ticket.id
        tech_email, tech_name, admin_email = world["tech"].email, world["tech"].name, admin.email

    desk = browser.new_context(base_url=live_server, **WIDE)
    try:
        page = desk.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, admin_email, next_path="/repairs/vendors")
        page.get_by_label("Name").fill("Lenovo Care")
        page.get_by_label("Contact (person, phone, email)").fill("Depot desk 555-0142")
        page.get_by_label("Ship-to address").fill("Lenovo Depot\n9 Service Pkwy\nMemphis TN")
        page.get_by_role("button", name="Add vendor").click()
        expect(page.locator("#vendors")).to_contain_text("Lenovo Care")

        # The claim, opened from the ticket: the vendor chosen from the list, the portal's RMA typed at once.
        page.goto(f"/tickets/{number}")
        page.locator("#claim-vendor").select_option(label="Lenovo Care")
        page.get_by_label(re.compile("Claim number / RMA")).fill("rma-5501")
        page.get_by_role("button", name="Open warranty claim").click()
        expect(page.locator("#ticket-claims")).to_contain_text("Lenovo Care · RMA-5501")
    finally:
        desk.close()

    with app.app_context():
        lenovo = db.session.scalar(sa.select(Vendor).where(Vendor.name == "Lenovo Care"))
        from app.models import Ticket, User

        tech = db.session.scalar(sa.select(User).where(User.email == tech_email))
        warranty.open_claim(db.session.get(Ticket, second_id), vendor=lenovo, by=tech, via=Via.web)
        db.session.commit()
        lenovo_id = lenovo.id

    phone_context = browser.new_context(base_url=live_server, **PHONE)
    try:
        phone = phone_context.new_page()
        phone.set_default_timeout(10_000)
        sign_in(phone, tech_email, next_path="/repairs/batches")
        phone.get_by_label("Vendor").select_option(value=str(lenovo_id))
        phone.get_by_role("button", name="Start batch").click()
        scan = phone.get_by_label(re.compile("Scan a device into the box"))
        expect(scan).to_be_focused()
        scan.fill("lhs-1000")
        scan.press("Enter")
        result = phone.locator("#batch-scan-result")
        expect(result).to_contain_text("Added LHS-1000")
        scan = phone.get_by_label(re.compile("Scan a device into the box"))
        expect(scan).to_be_focused()
        scan.fill("SECONDSER1")
        scan.press("Enter")
        expect(result).to_contain_text("Added LHS-2000")
        phone.get_by_label(re.compile("Scan a device into the box")).fill("LHS-1000")
        phone.get_by_label(re.compile("Scan a device into the box")).press("Enter")
        expect(result).to_contain_text("LHS-1000 is already in this batch.")
        expect(phone.locator("#batch-claims li")).to_have_count(2)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390

        phone.get_by_role("link", name="Packing list").click()
        expect(phone.get_by_role("button", name="Print")).to_be_visible()
        expect(phone.locator("#ship-from")).to_contain_text("100 School St")
        expect(phone.locator("#ship-to")).to_contain_text("9 Service Pkwy")
        expect(phone.locator("#ship-to")).to_contain_text("Depot desk 555-0142")
        expect(phone.locator("#packing-contact")).to_contain_text(tech_name)
        expect(phone.locator("table.packing")).to_contain_text("RMA-5501")
        # On paper: no navigation, no buttons.
        phone.emulate_media(media="print")
        expect(phone.locator("header.top")).to_be_hidden()
        expect(phone.get_by_role("button", name="Print")).to_be_hidden()
        expect(phone.locator("#ship-to")).to_be_visible()
    finally:
        phone_context.close()

    with app.app_context():
        claims = db.session.scalars(sa.select(WarrantyClaim).order_by(WarrantyClaim.id)).all()
        assert [c.batch_id is not None for c in claims] == [True, True]
        assert {c.vendor for c in claims} == {"Lenovo Care"}
