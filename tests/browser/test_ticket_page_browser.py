"""The ticket page on a phone (390×844) and a laptop (1366×800): a student's report opens with its next step in the
first screen, is triaged then resolved, the fee amount follows the reason, and the one timeline reads as words."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import TicketCategory
from app.services import tickets as ticket_service
from tests.browser.a11y import assert_no_serious_violations
from tests.browser.conftest import DESKTOP, PHONE, sign_in
from tests.repairs_world import make_shop

SCREENS = {
    "phone": PHONE,
    "laptop": {**DESKTOP, "viewport": {"width": 1366, "height": 800}},
}


def _in_first_screen(page, locator) -> None:
    """The control is on the first screen as the page opened: nothing scrolled, its top above the fold."""
    assert page.evaluate("window.scrollY") == 0
    box = locator.bounding_box()
    assert box is not None and box["y"] < page.viewport_size["height"], box


@pytest.mark.parametrize("screen", SCREENS)
def test_student_report_triaged_then_resolved_from_the_top_of_the_page(app, browser, live_server, screen):
    with app.app_context():
        world = make_shop()
        ticket, _token = ticket_service.file_student_report(
            world["device"], category=TicketCategory.cracked_screen, description="Dropped it, screen cracked"
        )
        db.session.commit()
        number, tech_email = ticket.number, world["tech"].email

    context = browser.new_context(base_url=live_server, **SCREENS[screen])
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, tech_email, next_path=f"/tickets/{number}")
        expect(page.get_by_role("heading", level=1)).to_contain_text(number)
        width = page.viewport_size["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width

        # What it is about, then the next step: triage, before anything else and in the first screen.
        summary = page.locator("#ticket-summary")
        expect(summary).to_contain_text("LHS-1000")
        expect(summary).to_contain_text("Zoe Martinez")
        expect(page.locator("#ticket-status")).to_have_text("new")
        save = page.locator("#next-actions").get_by_role("button", name="Save triage")
        _in_first_screen(page, save)
        resolve = page.get_by_role("button", name="Resolve: repaired")
        assert resolve.bounding_box()["y"] > save.bounding_box()["y"], "triage comes before resolve"
        # One way to change the status: the steps themselves, no second menu repeating them.
        expect(page.get_by_label("Move to")).to_have_count(0)
        assert_no_serious_violations(page, f"the ticket page ({screen})")

        page.get_by_label("Priority").select_option("high")
        save.click()
        expect(page.locator("#ticket-status")).to_have_text("triaged")
        # Triaged: taking the device in is the next step now.
        expect(page.locator("#next-actions").get_by_role("button", name="Take in for repair")).to_be_visible()

        # The fee: its amount is the schedule's usual one for the reason, and follows the reason chosen.
        page.locator("#step-fee summary").click()
        expect(page.get_by_label("Reason under the district's policy")).to_have_value("Cracked screen")
        expect(page.get_by_label("Amount")).to_have_value("25.00")
        page.get_by_label("Reason under the district's policy").select_option("Liquid damage")
        expect(page.get_by_label("Amount")).to_have_value("50.00")
        page.get_by_label("Amount").fill("12.00")
        page.get_by_label("Reason under the district's policy").select_option("Lost charger")
        expect(page.get_by_label("Amount")).to_have_value("12.00")  # what the tech typed stays

        page.get_by_role("button", name="Resolve: repaired").click()
        expect(page.locator("#ticket-status")).to_have_text("resolved")
        expect(page.locator("#next-actions").get_by_role("button", name="Close ticket")).to_be_visible()

        timeline = page.locator("#ticket-timeline")
        expect(timeline).to_contain_text("Opened from a student report")
        expect(timeline).to_contain_text("Triaged: Cracked screen, high priority")
        expect(timeline).to_contain_text("Resolved as repaired; the device is deployed again")
        expect(timeline.locator("li", has_text="Resolved as repaired")).to_contain_text("now resolved")
        text = timeline.inner_text()
        assert not re.search(r"\d:\d\d:\d\d|\.\d{6}|True|False|_", text), text
        # Times as a school office writes them, in the campus's zone: "Tue 1 Dec, 2:05 pm".
        assert re.search(r"\w{3} \d{1,2} \w{3}( \d{4})?, \d{1,2}:\d\d [ap]m", text), text
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()
