"""Lists on a phone: no list page scrolls sideways at 390 px (a wide table scrolls inside its card instead), and
the repair planning tables line numbers up on the right under right-aligned headers."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from app.extensions import db
from app.models import Asset
from app.services.dashboard import school_year_of
from tests import factories
from tests.browser.conftest import sign_in

LIST_PAGES = [
    "/",
    "/assets",
    "/assets?aue_year={year}&active=1",
    "/assets?warranty_month=2027-06&active=1",
    "/tickets",
    "/people",
    "/loans/out",
    "/loans/overdue",
    "/audits",
    "/closet",
    "/closet/unseen",
    "/activity",
    "/activity?from=2026-05-02&to=2026-05-01",
    "/labels",
    "/repairs",
    "/repairs/claims",
    "/repairs/fees",
    "/repairs/planning",
    "/models",
    "/campuses",
]

# How wide the page is, and any table wider than the screen that no box of at most the screen's width scrolls.
OVERFLOW = """() => [document.scrollingElement.scrollWidth,
  [...document.querySelectorAll('table')].filter(t => {
    if (t.getBoundingClientRect().width <= innerWidth) return false;
    for (let e = t.parentElement; e && e !== document.body; e = e.parentElement) {
      const scrolls = ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
      if (scrolls) return e.getBoundingClientRect().right > innerWidth;
    }
    return true;
  }).map(t => t.id || t.className)]"""


def test_no_list_page_scrolls_sideways_on_a_phone(app, district, staff_user, phone):
    year = school_year_of(date.today())
    with app.app_context():
        lhs = factories.make_campus("LHS")
        # A name with no place to break: the kind of cell that used to push a table, and the page, past the screen.
        model = factories.make_model("Acer", "Chromebook-Spin-714-Enterprise-Convertible-2-in-1-Touch-Edition")
        for _ in range(2):
            factories.make_asset(lhs, model=model, google_aue_date=date(year + 1, 5, 1), warranty_end=date(2027, 6, 1))
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) >= 5
    email, password = staff_user("admin")
    page = phone
    sign_in(page, email, password)
    widths: dict[str, tuple] = {}
    for path in LIST_PAGES:
        url = path.format(year=year)
        resp = page.goto(url)
        assert resp.status in (200, 422), f"{url}: {resp.status}"
        width, unscrolled = page.evaluate(OVERFLOW)
        if width > 390 or unscrolled:
            widths[url] = (width, unscrolled)
    assert widths == {}, "pages wider than the phone, or tables cut off without a scroll box"

    page.goto(f"/assets?aue_year={year}&active=1")
    assert page.locator(".planning-filter .chip").first.is_visible()

    page.goto("/repairs/planning")
    aligns = page.evaluate(
        """() => [...document.querySelectorAll(
                   '#claims-usage th, #claims-usage td:not([colspan]), #cost-by-month th, #cost-by-month td')]
                 .map(c => [c.className, getComputedStyle(c).textAlign])"""
    )
    assert aligns, "the planning tables have cells"
    assert {cls: align for cls, align in aligns} == {"text": "left", "num": "right"}
