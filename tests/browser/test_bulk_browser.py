"""Bulk actions on the device list in a real browser: an office screen changes every matching device, a phone
reaches the bar and moves a few."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import Activity, Asset, AssetStatus, Campus, Room
from tests import factories
from tests.browser.conftest import sign_in, wait_for


@pytest.fixture
def laptop(browser, live_server) -> Iterator[Page]:
    """An office screen, 1366 × 800."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 800})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def fleet(app, district):
    """Seventy LHS devices tagged CART-… (more than one page of the list) in LHS-101."""
    with app.app_context():
        lhs = db.session.get(Campus, district["lhs"])
        room = db.session.get(Room, district["lhs_room"])
        model = factories.make_model()
        for i in range(70):
            factories.make_asset(lhs, room, asset_tag=f"CART-{i:03d}", serial=f"CARTSN{i:04d}", model=model)
        db.session.commit()
    return district


def count_where(app, *clauses) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Asset).where(*clauses)) or 0


def test_laptop_selects_all_matching_confirms_the_count_and_applies(laptop, app, fleet, staff_user):
    email, password = staff_user("tech", "LHS")
    sign_in(laptop, email, password, next_path="/assets?q=cart")
    expect(laptop.locator("#asset-results .asset-row")).to_have_count(50)

    # Ticking rows recounts the bar through htmx; "select all on this page" ticks every row.
    laptop.get_by_label("Select CART-000").check()
    laptop.get_by_label("Select CART-001").check()
    expect(laptop.locator("#bulk-count")).to_have_text("2 selected")
    laptop.get_by_label("Select all on this page").check()
    expect(laptop.locator("#bulk-count")).to_have_text("50 selected")
    laptop.get_by_label("Select all 70 matching this filter").check()
    expect(laptop.locator("#bulk-count")).to_have_text("All 70 matching devices selected")
    # The bar stays on screen while the list scrolls.
    laptop.mouse.wheel(0, 4000)
    expect(laptop.locator("#bulk-bar")).to_be_in_viewport()

    laptop.get_by_text("Actions", exact=True).click()
    laptop.get_by_label("Change status to").select_option("in_repair")
    laptop.get_by_role("button", name="Change status").click()
    expect(laptop.locator("#bulk-question")).to_have_text("Change 70 devices to in repair?")
    assert count_where(app, Asset.status == AssetStatus.in_repair) == 0, "nothing changes before the confirmation"

    laptop.get_by_role("button", name="Yes, change them").click()
    expect(laptop.locator(".flash")).to_have_text("Changed 70 devices to in repair.")
    assert "q=cart" in laptop.url
    wait_for(lambda: count_where(app, Asset.asset_tag.startswith("CART-"), Asset.status == AssetStatus.in_repair) == 70)
    with app.app_context():
        logged = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(Activity.asset_id))).where(Activity.action == "asset.update")
        )
    assert logged == 70
    # The single change stays where it was: devices outside the filter were not touched.
    assert count_where(app, Asset.asset_tag == "LHS-1000", Asset.status == AssetStatus.deployed) == 1


def test_phone_reaches_the_bar_and_moves_a_few(phone, app, fleet, staff_user):
    email, password = staff_user("tech", "LHS")
    sign_in(phone, email, password, next_path="/assets?q=cart")
    # The list's own filters still refresh it on change (the bar's selects do not).
    phone.get_by_text("Filters", exact=True).click()
    phone.locator("#asset-filters select[name=status]").select_option("deployed")
    phone.wait_for_url("**status=deployed**")
    phone.get_by_label("Select CART-002").check()
    phone.get_by_label("Select CART-003").check()
    expect(phone.locator("#bulk-count")).to_have_text("2 selected")

    # The bar sits above the tab bar, on screen, and the page does not spill sideways.
    bar = phone.locator("#bulk-bar")
    expect(bar).to_be_in_viewport()
    bar_box, tabbar_box = bar.bounding_box(), phone.locator("#tabbar").bounding_box()
    assert bar_box and tabbar_box and bar_box["y"] + bar_box["height"] <= tabbar_box["y"] + 1
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    phone.get_by_text("Actions", exact=True).click()
    phone.get_by_label("Move to home room").select_option(value=str(fleet["lhs_store"]))
    move = phone.get_by_role("button", name="Move", exact=True)
    move.scroll_into_view_if_needed()
    expect(move).to_be_in_viewport()
    move.click()
    expect(phone.locator("#bulk-question")).to_have_text("Move 2 devices to LHS-IT?")
    phone.get_by_role("button", name="Yes, change them").click()
    expect(phone.locator(".flash")).to_have_text("Moved 2 devices to LHS-IT.")
    store = fleet["lhs_store"]
    wait_for(lambda: count_where(app, Asset.home_room_id == store) == 3)  # LHS-1001 lives there already
