"""A repair end to end on a 390×844 phone: a student's report becomes a ticket, a tech triages it, swaps in a loaner,
opens a warranty claim, ships it in a batch, receives it back by scanning, resolves, and reverses the swap."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Asset, AssetStatus, ClaimStatus, Loan, LoanerSwap, Via, WarrantyClaim
from tests.browser.conftest import PHONE, sign_in
from tests.repairs_world import make_shop


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_report_to_repaired_and_swap_reversed_on_a_phone(app, browser, live_server, phone):
    with app.app_context():
        world = make_shop()
        db.session.commit()
        code = world["device"].tag_code
        tech_email = world["tech"].email

    # The student scans the sticker and reports the damage, without signing in.
    student = browser.new_context(base_url=live_server, **PHONE)
    try:
        page = student.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"/t/{code}")
        page.get_by_label("Cracked screen").check()
        page.get_by_label("Describe the problem").fill("Dropped it on the stairs, screen is cracked")
        page.get_by_role("button", name="Send the report").click()
        number = page.locator("#ticket-number").inner_text().strip()
        assert re.fullmatch(r"T-\d{6}", number)
    finally:
        student.close()

    sign_in(phone, tech_email, next_path=f"/tickets/{number}")
    expect(phone.get_by_role("heading", level=1)).to_contain_text(number)
    panel = phone.locator("#repair-panel")
    _no_sideways_scroll(phone)

    # Triage (open by default on a new ticket): the responsible student is prefilled from the assignment.
    expect(phone.get_by_label("Responsible (student or staff ID)")).to_have_value("LHS100001")
    phone.get_by_label("Priority").select_option("high")
    phone.get_by_role("button", name="Save triage").click()
    expect(phone.locator("#ticket-status")).to_have_text("triaged")
    expect(panel).to_contain_text("Zoe Martinez")

    # The loaner swap, one tap.
    phone.get_by_role("button", name="Swap in a loaner").click()
    expect(phone.locator("#swap-notice")).to_contain_text("LHS-L001")
    expect(phone.locator("#repair-device-status")).to_have_text("in repair")
    expect(phone.locator("#ticket-status")).to_have_text("in repair")

    # A warranty claim from the ticket.
    phone.get_by_role("button", name="Open warranty claim").click()
    expect(phone.locator("#ticket-claims")).to_contain_text("submitted")
    expect(phone.locator("#ticket-status")).to_have_text("warranty claim")
    phone.locator("#ticket-claims a").first.click()
    phone.get_by_label("Claim number / RMA from the vendor").fill("rma-4410")
    phone.get_by_role("button", name="Approved").click()
    expect(phone.locator("#claim-status")).to_have_text("approved")

    # Into a batch for the vendor, packing list, shipped.
    phone.goto("/repairs/batches")
    expect(phone.locator("#batch-vendor option:checked")).to_contain_text("Acer Care")
    phone.get_by_role("button", name="Start batch").click()
    phone.get_by_role("button", name="Add to box").click()
    expect(phone.locator("#batch-claims")).to_contain_text("LHS-1000")
    phone.get_by_role("link", name="Packing list").click()
    expect(phone.locator("table.packing")).to_contain_text("RMA-4410")
    _no_sideways_scroll(phone)
    phone.go_back()
    phone.get_by_role("button", name="Mark shipped").click()
    expect(phone.locator("#batch")).to_contain_text("shipped")

    # Back from the vendor: an unknown RMA first (nothing changes), then the device's tag scanned with no signal,
    # recorded in the outbox and applied when the connection returns.
    phone.goto("/repairs/receive")
    scan = phone.get_by_label(re.compile("Scan the device"))
    scan.fill("RMA-0000")
    scan.press("Enter")
    expect(phone.locator("#receive-result")).to_contain_text("Nothing matches RMA-0000")
    expect(phone.locator("#receive-result")).to_contain_text("Nothing was changed.")
    phone.context.set_offline(True)
    scan.fill(code.lower())
    scan.press("Enter")
    expect(phone.locator("#receive-result")).to_contain_text("recorded without a signal")
    expect(scan).to_have_value("")
    expect(scan).to_be_focused()
    phone.context.set_offline(False)
    expect(phone.locator("#receive-result")).to_contain_text("LHS-1000: returned (sent from the outbox).")
    with app.app_context():
        assert db.session.scalar(sa.select(WarrantyClaim.status)) is ClaimStatus.returned

    # Resolve, then reverse the swap in one step.
    phone.goto(f"/tickets/{number}")
    phone.get_by_role("button", name="Resolve: repaired").click()
    expect(phone.locator("#ticket-status")).to_have_text("resolved")
    reverse = phone.get_by_role("button", name="Reverse swap: LHS-1000 back to Zoe Martinez")
    expect(reverse).to_be_visible()
    reverse.click()
    expect(phone.locator("#repair-device-status")).to_have_text("deployed")
    expect(phone.get_by_role("button", name="Close ticket")).to_be_visible()
    expect(phone.locator("#swap-notice")).to_have_count(0)
    _no_sideways_scroll(phone)

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Loan.id)).where(Loan.returned_at.is_(None))) == 0
        assert db.session.scalar(sa.select(sa.func.count(LoanerSwap.id)).where(LoanerSwap.reversed_at.is_(None))) == 0
        device = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        assert device.status is AssetStatus.deployed and device.assigned_to.external_id == "LHS100001"


def test_a_form_left_open_on_a_ticket_closed_since_says_why_on_a_phone(app, phone):
    """A tech keeps the ticket page open while another closes the ticket; the triage they then save is refused, and
    the panel they get back (its forms gone) says why, above the actions, where the tech is looking."""
    with app.app_context():
        world = make_shop()
        db.session.commit()
        number, tech_email = world["ticket"].number, world["tech"].email
        ticket_id, other_id = world["ticket"].id, world["tech2"].id

    sign_in(phone, tech_email, next_path=f"/tickets/{number}")
    phone.get_by_label("Responsible (student or staff ID)").fill("NOBODY-1")

    with app.app_context():
        from app.models import Ticket, User
        from app.services.repairs import workflow

        ticket, other = db.session.get(Ticket, ticket_id), db.session.get(User, other_id)
        workflow.resolve(ticket, by=other, via=Via.web)
        workflow.close(ticket, by=other, via=Via.web)
        db.session.commit()

    phone.get_by_role("button", name="Save triage").click()
    refusal = phone.locator("#next-actions [role=alert]")
    expect(refusal).to_have_text("No one on your campuses has the ID 'NOBODY-1'.")
    expect(refusal).to_be_in_viewport()
    expect(phone.get_by_label("Responsible (student or staff ID)")).to_have_count(0)
    expect(phone.locator("#ticket-status")).to_have_text("closed")
    _no_sideways_scroll(phone)

    # The same tech, page reloaded: reopening brings the forms back.
    phone.reload()
    phone.get_by_role("button", name="Reopen").click()
    expect(phone.locator("#ticket-status")).to_have_text("triaged")
    expect(phone.locator("#repair-panel summary", has_text="Triage")).to_be_visible()
