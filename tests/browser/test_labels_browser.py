"""Printed labels scan: Chromium renders the label sheet, an independent decoder (ZXing) reads every QR back."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from app.extensions import db
from app.models import Asset
from tests import factories
from tests.browser.conftest import sign_in


@pytest.fixture
def sharp_page(browser, live_server):
    """A desktop page at 2 device pixels per CSS pixel, like a phone camera seeing a sticker up close."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1000, "height": 1200}, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.mark.parametrize("fmt", ["avery5160", "avery22806", "thermal"])
def test_every_label_on_the_sheet_decodes_to_its_url(app, district, staff_user, sharp_page, live_server, fmt):
    with app.app_context():
        lhs = factories.make_campus("LHS")
        for _ in range(3):
            factories.make_asset(lhs)
        db.session.commit()
        expected = {
            a.asset_tag: f"{live_server}/t/{a.tag_code}"
            for a in db.session.scalars(sa.select(Asset).where(Asset.campus_id == lhs.id))
        }
    email, password = staff_user("tech", "LHS")
    page = sharp_page
    sign_in(page, email, password, next_path="/labels")
    page.get_by_label("Label stock").select_option(fmt)
    page.get_by_role("button", name=f"Print all {len(expected)}").click()
    labels = page.locator(".sheet .label")
    expect(labels).to_have_count(len(expected))
    expect(page.get_by_role("button", name="Print")).to_be_visible()

    decoded = {}
    for i in range(len(expected)):
        label = labels.nth(i)
        tag = label.locator(".title").inner_text()
        shot = Image.open(io.BytesIO(label.screenshot()))
        results = zxingcpp.read_barcodes(shot)
        assert len(results) == 1, f"{tag}: expected one QR on the label, found {len(results)}"
        assert results[0].format == zxingcpp.BarcodeFormat.QRCode
        decoded[tag] = results[0].text
    assert decoded == expected


def test_label_geometry_matches_the_stock(app, district, staff_user, sharp_page):
    email, password = staff_user("tech", "LHS")
    page = sharp_page
    sign_in(page, email, password, next_path="/labels")
    page.get_by_role("button", name="Print all").click()
    expect(page.locator(".sheet .label").first).to_be_visible()
    box = page.evaluate(
        """() => { const s = document.querySelector('.sheet').getBoundingClientRect();
                   const ls = [...document.querySelectorAll('.sheet .label')].map(l => l.getBoundingClientRect());
                   return {sheet: [s.width, s.height], first: [ls[0].x - s.x, ls[0].y - s.y, ls[0].width, ls[0].height],
                           second: [ls[1].x - s.x, ls[1].y - s.y]}; }"""
    )
    # 96 CSS px per inch: Letter is 816 × 1056; the first 5160 label sits 0.1875" in and 0.5" down, 2.625" × 1";
    # the next one 2.75" further right.
    assert box["sheet"] == [816, 1056]
    assert box["first"] == [18, 48, 252, 96]
    assert box["second"] == [18 + 264, 48]
