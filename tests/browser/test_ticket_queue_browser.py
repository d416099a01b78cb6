"""The ticket queue in a real browser: every column on a 1366×800 desk screen, the table scrolling inside its card
on a 390×844 phone, and live search narrowing the rows with the address kept (and the same search without JS)."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Role, TicketCategory, Via
from app.services import assets as asset_service
from app.services import tickets as ticket_service
from tests import factories
from tests.browser.conftest import PHONE, sign_in, wait_until

# The queue is an online page: no service worker, so no precache of other pages is left in flight at the end.
WIDE = {"viewport": {"width": 1366, "height": 800}, "service_workers": "block"}
PHONE_NO_SW = {**PHONE, "service_workers": "block"}
ROWS = "document.querySelectorAll('#ticket-results tr.ticket-row').length"


@pytest.fixture
def queue_world(app, staff_user):
    """Six open tickets on LHS; LHS-4002 is Zoe Martinez's. Returns the tech's login."""
    with app.app_context():
        lhs = factories.make_campus("LHS", "Lincoln High")
        room = factories.make_room(lhs, "LHS-101")
        admin = factories.make_user(Role.admin)
        zoe = factories.make_person(lhs, "Zoe Martinez")
        for i in range(6):
            asset = factories.make_asset(lhs, room, asset_tag=f"LHS-400{i}", serial=f"QSERIAL{i:03d}")
            if i == 2:
                asset_service.assign(asset, zoe, by=admin, via=Via.web)
            ticket_service.open_ticket(
                asset, category=TicketCategory.cracked_screen, description="Cracked", by=admin, via=Via.web
            )
        db.session.commit()
    return staff_user("tech", "LHS")


def test_queue_at_a_desk_searches_live_and_without_javascript(browser, live_server, queue_world):
    email, password = queue_world
    context = browser.new_context(base_url=live_server, **WIDE)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, email, password, "/tickets")
    page.goto("/tickets")
    headers = page.locator("table.queue thead th").all_inner_texts()
    assert headers == ["Priority", "Ticket", "Device", "Student", "Assignee", "Status", "Age"]
    assert page.evaluate(ROWS) == 6
    # At a desk the whole table fits its card: nothing to scroll sideways.
    assert page.evaluate("(() => { const w = document.querySelector('#ticket-results .table-wrap');"
                         " return w.scrollWidth <= w.clientWidth; })()")  # fmt: skip
    page.get_by_label("Search tickets").fill("zoe")
    wait_until(page, f"{ROWS} === 1")
    row = page.locator("#ticket-results tr.ticket-row")
    assert "LHS-4002" in row.inner_text() and "Zoe Martinez" in row.inner_text()
    assert "q=zoe" in page.url, "the search is in the address, so reload and back keep it"
    page.reload()
    assert page.evaluate(ROWS) == 1 and page.get_by_label("Search tickets").input_value() == "zoe"
    page.get_by_label("Assigned to").select_option("me")
    wait_until(page, "document.querySelector('#ticket-results .empty') !== null")
    assert "assignee=me" in page.url
    context.close()

    plain = browser.new_context(base_url=live_server, java_script_enabled=False, **WIDE)
    page = plain.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, email, password, "/tickets")
    page.goto("/tickets")
    page.get_by_label("Search tickets").fill("qserial004")
    page.get_by_label("Search tickets").press("Enter")
    page.wait_for_url(lambda url: "q=qserial004" in url)
    assert page.evaluate(ROWS) == 1 and "LHS-4004" in page.locator("tr.ticket-row").inner_text()
    plain.close()


def test_queue_on_a_phone_scrolls_inside_its_card(browser, live_server, queue_world):
    email, password = queue_world
    context = browser.new_context(base_url=live_server, **PHONE_NO_SW)
    phone = context.new_page()
    phone.set_default_timeout(10_000)
    sign_in(phone, email, password, "/tickets")
    phone.goto("/tickets")
    assert phone.evaluate(ROWS) == 6
    sizes = phone.evaluate(
        """(() => {
          const wrap = document.querySelector('#ticket-results .table-wrap');
          const card = wrap.closest('.queue-card').getBoundingClientRect();
          return {scroll: wrap.scrollWidth, client: wrap.clientWidth, right: card.right,
                  page: document.documentElement.scrollWidth, view: window.innerWidth};
        })()"""
    )
    assert sizes["scroll"] > sizes["client"], "the table keeps its columns and scrolls sideways"
    assert sizes["right"] <= sizes["view"] and sizes["page"] <= sizes["view"], f"nothing is clipped: {sizes}"
    phone.evaluate("document.querySelector('#ticket-results .table-wrap').scrollLeft = 10000")
    age = phone.locator("#ticket-results tr.ticket-row").first.locator("td.age")
    box = age.bounding_box()
    assert box is not None and box["x"] + box["width"] <= sizes["view"] + 1, "the last column scrolls into view"
    phone.get_by_label("Search tickets").fill("lhs-4005")
    wait_until(phone, f"{ROWS} === 1")
    assert "LHS-4005" in phone.locator("tr.ticket-row").inner_text() and "q=lhs-4005" in phone.url
    context.close()
