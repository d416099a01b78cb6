"""A part's page in a real browser: a tech at 1366×800 edits a part and counts the shelf; on a 390×844 phone a
refused write-off shows on its field, then a delivery is received, each change listed in the stock history."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Part, StockAdjustment
from app.services.repairs import parts
from tests import factories
from tests.browser.conftest import PHONE, sign_in, wait_for
from tests.repairs_world import make_shop

WIDE = {"viewport": {"width": 1366, "height": 800}}


def _history(app, part_id: int) -> list[tuple[str, int, int]]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(StockAdjustment).where(StockAdjustment.part_id == part_id).order_by(StockAdjustment.id)
        )
        return [(r.reason.value, r.delta, r.stock_after) for r in rows]


def test_edit_a_part_and_change_its_stock_for_a_reason(app, browser, live_server):
    with app.app_context():
        world = make_shop()
        db.session.commit()
        part_id, tech_email, lhs_id = world["screen"].id, world["tech"].email, world["lhs"].id

    desk = browser.new_context(base_url=live_server, **WIDE)
    try:
        page = desk.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, tech_email, factories.PASSWORD, next_path="/repairs/parts")
        page.get_by_role("link", name="Screen 11.6in").click()
        page.get_by_label("Name").fill("Screen 11.6in matte")
        page.get_by_label("Unit cost").fill("39.90")
        page.get_by_role("button", name="Save part").click()
        expect(page.locator("#part-done")).to_have_text("Saved.")
        expect(page.get_by_label("Name")).to_have_value("Screen 11.6in matte")

        page.get_by_label("Counted: the shelf holds this many").check()
        page.get_by_label("Quantity").fill("5")
        page.get_by_label("Note (optional)").fill("Shelf count")
        page.get_by_role("button", name="Save stock change").click()
        expect(page.locator("#part-done")).to_contain_text("5 on the shelf at LHS")
        expect(page.locator("#stock-history")).to_contain_text("Shelf count")
    finally:
        desk.close()
    assert wait_for(lambda: _history(app, part_id)) == [("counted", 2, 5)]
    with app.app_context():
        assert db.session.get(Part, part_id).name == "Screen 11.6in matte"

    phone_context = browser.new_context(base_url=live_server, **PHONE)
    try:
        page = phone_context.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, tech_email, factories.PASSWORD, next_path=f"/repairs/parts/{part_id}")
        page.get_by_label("Damaged: take away this many").check()
        page.get_by_label("Quantity").fill("9")
        page.get_by_role("button", name="Save stock change").click()
        error = page.locator("#stock-quantity-error")
        expect(error).to_have_text("Only 5 × Screen 11.6in matte on the shelf at LHS; you cannot take away 9.")
        expect(page.get_by_label("Quantity")).to_have_attribute("aria-invalid", "true")
        box = error.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390

        page.get_by_label("Received: add this many").check()
        page.get_by_label("Quantity").fill("4")
        page.get_by_role("button", name="Save stock change").click()
        expect(page.locator("#part-done")).to_contain_text("9 on the shelf at LHS")
        expect(page.locator("#stock-history tbody tr")).to_have_count(2)
    finally:
        phone_context.close()
    with app.app_context():
        assert parts.stock_of(db.session.get(Part, part_id), lhs_id) == 9
    assert _history(app, part_id) == [("counted", 2, 5), ("received", 4, 9)]
