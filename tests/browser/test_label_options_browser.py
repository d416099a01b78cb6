"""Label options in the browser: start at a later position of a part-used sheet, "Select none", the Code 128 of
the asset tag beside the QR, and the Dymo stocks; ZXing reads both codes back from what Chromium renders."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import Asset
from tests import factories
from tests.browser.conftest import sign_in


@pytest.fixture
def wide_page(browser, live_server):
    """An office screen, 1366 × 800, at 2 device pixels per CSS pixel (a sticker seen up close)."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 800}, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def _devices(app, live_server, n: int) -> dict[str, str]:
    """n devices on LHS besides the district's own; every LHS device's tag and the URL its QR must carry."""
    with app.app_context():
        lhs = factories.make_campus("LHS")
        for _ in range(n):
            factories.make_asset(lhs)
        db.session.commit()
        return {
            a.asset_tag: f"{live_server}/t/{a.tag_code}"
            for a in db.session.scalars(sa.select(Asset).where(Asset.campus_id == lhs.id))
        }


def _read_both(page: Page, label) -> tuple[str, str, str]:
    """The label's title, and what ZXing reads from its QR and its Code 128."""
    shot = Image.open(io.BytesIO(label.screenshot()))
    found = {r.format: r.text for r in zxingcpp.read_barcodes(shot)}
    title = label.locator(".title").inner_text()
    assert set(found) == {zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128}, f"{title}: {found}"
    return title, found[zxingcpp.BarcodeFormat.QRCode], found[zxingcpp.BarcodeFormat.Code128]


def _overflows(page: Page) -> list[str]:
    """Parts of any label (QR, text lines, Code 128) that stick out of the label's box."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.sheet .label:not(.blank)')].flatMap((l, i) => {
             const b = l.getBoundingClientRect();
             return [...l.querySelectorAll('.qr, .code128, .title, .code, .district')].filter(e => {
               const r = e.getBoundingClientRect();
               return r.width > 0 && (r.left < b.left - 0.5 || r.right > b.right + 0.5
                                      || r.top < b.top - 0.5 || r.bottom > b.bottom + 0.5);
             }).map(e => `${i}:${e.getAttribute('class')}`);
           })"""
    )


def test_start_at_label_5_with_code128_after_select_none(app, district, staff_user, wide_page, live_server):
    expected = _devices(app, live_server, 3)
    email, password = staff_user("tech", "LHS")
    page = wide_page
    sign_in(page, email, password, next_path="/labels")
    boxes = page.locator("#label-choices input[name=ids]")
    expect(boxes).to_have_count(len(expected))

    page.get_by_role("link", name="Select none").click()
    expect(page.get_by_role("link", name="Select all")).to_be_visible()
    for i in range(len(expected)):
        expect(boxes.nth(i)).not_to_be_checked()
    chosen = [page.locator(".label-choice").nth(i).locator("strong").inner_text() for i in (0, 2)]
    boxes.nth(0).check()
    boxes.nth(2).check()

    page.get_by_label("Label stock").select_option("avery5160")
    page.get_by_label("Start at label").fill("5")
    page.get_by_label("Add a Code 128 of the asset tag").check()
    page.get_by_role("button", name="Print the ticked ones").click()

    slots = page.locator(".sheet .label")
    expect(slots).to_have_count(4 + len(chosen))
    expect(page.get_by_text("Starts at label 5 of the first sheet")).to_be_visible()
    for i in range(4):
        expect(slots.nth(i)).to_have_class("label blank")
        assert slots.nth(i).inner_html() == ""
    # Position 5 of a 3-across sheet is row 2, column 2: 0.1875" + 2.75" in and 0.5" + 1" down, at 96 px an inch.
    fifth = page.evaluate(
        """() => { const s = document.querySelector('.sheet').getBoundingClientRect();
                   const l = document.querySelectorAll('.sheet .label')[4].getBoundingClientRect();
                   return [l.x - s.x, l.y - s.y, l.width, l.height]; }"""
    )
    assert fifth == [18 + 264, 48 + 96, 252, 96]
    assert _overflows(page) == []

    read = [_read_both(page, slots.nth(4 + i)) for i in range(len(chosen))]
    assert [title for title, _, _ in read] == chosen
    assert all(qr == expected[title] and bars == title for title, qr, bars in read)


@pytest.mark.parametrize("fmt", ["avery22806", "thermal", "dymo30252"])
def test_code128_fits_and_scans_on_every_stock(app, district, staff_user, wide_page, live_server, fmt):
    expected = _devices(app, live_server, 1)
    email, password = staff_user("tech", "LHS")
    page = wide_page
    sign_in(page, email, password, next_path="/labels")
    page.get_by_label("Label stock").select_option(fmt)
    page.get_by_label("Add a Code 128 of the asset tag").check()
    page.get_by_role("button", name=f"Print all {len(expected)}").click()
    labels = page.locator(".sheet .label.has-code128")
    expect(labels).to_have_count(len(expected))
    assert _overflows(page) == []
    read = [_read_both(page, labels.nth(i)) for i in range(len(expected))]
    assert {title: qr for title, qr, _ in read} == expected
    assert all(bars == title for title, _, bars in read)
