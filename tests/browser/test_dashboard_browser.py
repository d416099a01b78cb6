"""The dashboard on a 390 px phone: charts fit the screen and no label or value ever sits on a bar."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import AssetStatus
from tests import factories
from tests.browser.conftest import sign_in

# Every text and every bar of every chart, as page rectangles.
BOXES = """
() => [...document.querySelectorAll('svg.chart')].map(svg => ({
  id: svg.id,
  texts: [...svg.querySelectorAll('text')].map(t => { const r = t.getBoundingClientRect();
    return {x: r.left, y: r.top, w: r.width, h: r.height, s: t.textContent}; }),
  bars: [...svg.querySelectorAll('rect')].map(t => { const r = t.getBoundingClientRect();
    return {x: r.left, y: r.top, w: r.width, h: r.height}; }),
  right: svg.getBoundingClientRect().right,
}))
"""


def _overlap(a: dict, b: dict) -> bool:
    across = a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
    return across and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]


@pytest.fixture
def busy_district(app):
    """Three campuses, uneven numbers (one huge bar, several tiny ones), AUEs across the years."""
    with app.app_context():
        campuses = [factories.make_campus(code) for code in ("LHS", "JMS", "RES")]
        models = [
            factories.make_model("Dell", "Chromebook 3100", aue=date(2026, 6, 1)),
            factories.make_model("HP", "Chromebook 11 G9 EE", aue=date(2028, 6, 1)),
            factories.make_model("Acer", "Chromebook Spin 512 with a very long marketing name", aue=date(2031, 6, 1)),
        ]
        today = date.today()
        statuses = list(AssetStatus)
        for i in range(90):
            factories.make_asset(
                campuses[0 if i < 70 else i % 3],
                model=models[i % 3 if i < 60 else 1],
                status=statuses[i % len(statuses)] if i % 4 == 0 else AssetStatus.deployed,
                warranty_end=today + timedelta(days=30 * (i % 14)),
            )
        db.session.commit()


def test_phone_charts_fit_and_labels_clear_bars(phone, busy_district, staff_user, tmp_path):
    email, password = staff_user("admin")
    sign_in(phone, email, password)
    expect(phone.locator("#chart-aue")).to_be_visible()
    expect(phone.locator("#chart-status")).to_be_visible()
    charts = phone.evaluate(BOXES)
    assert {c["id"] for c in charts} >= {"chart-status", "chart-aue", "chart-warranty"}
    for chart in charts:
        assert chart["right"] <= 390, chart["id"]
        for text in chart["texts"]:
            assert text["x"] >= 0 and text["x"] + text["w"] <= 390 + 0.5, (chart["id"], text["s"])
            for bar in chart["bars"]:
                if bar["w"] > 0:
                    assert not _overlap(text, bar), (chart["id"], text["s"], bar)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot = tmp_path / "dashboard-390.png"
    phone.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    # Every bar is a link to its list: the 2027–28 AUE bar (the HP model) opens the filtered inventory.
    phone.locator("#chart-aue a").nth(2).locator("text").first.click()
    phone.wait_for_url(lambda url: "aue_year=2027" in url)
    expect(phone.locator("#asset-results")).to_contain_text("HP Chromebook 11 G9 EE")


def test_print_layout_keeps_the_charts(desktop, busy_district, staff_user):
    email, password = staff_user("viewer", "LHS")
    sign_in(desktop, email, password)
    desktop.emulate_media(media="print")
    expect(desktop.locator("#chart-aue")).to_be_visible()
    expect(desktop.locator("header.top")).to_be_hidden()
    assert desktop.pdf()[:4] == b"%PDF"
