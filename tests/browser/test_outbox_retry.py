"""An event the server failed on internally ("it will be tried again later") stays on the phone and is tried again
with backoff, and is set aside with the reason only after a few failures. The failure is a real one: the database
refuses the scan (a trigger), as a fault in the server's own code or database would."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import Observation
from tests.browser.conftest import sign_in, wait_until
from tests.test_outbox_answers import FAIL_NOTE, failing_scans

RETRIES = "import('/static/js/store.js').then((m) => m.getMeta('retries')).then((r) => r || {})"
REJECTED = """async () => (await (await import("/static/js/outbox.js")).rejectedList())
  .map((e) => ({ tag: e.data.tag, reason: e.reason }))"""
# The page's own flush, once no other holds the outbox.
FLUSH = """async () => {
  const outbox = await import("/static/js/outbox.js");
  for (;;) {
    const outcome = await outbox.flush();
    if (outcome.state !== "busy") return outcome.state;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}"""


def observed(app) -> list[str]:
    with app.app_context():
        tags = sorted(o.asset.asset_tag for o in db.session.scalars(sa.select(Observation)))
        db.session.remove()
        return tags


def scan(page: Page, code: str, note: str = "") -> None:
    page.locator("#scan-note").fill(note)
    field = page.get_by_label("Tag, asset tag or serial")
    field.fill(code)
    field.press("Enter")
    expect(page.locator("#scan-log li").first).to_contain_text(code)


def scans_one_failing(app, page: Page, staff_user) -> None:
    """An aide scans LHS-1000, then LHS-1001 with the note the database will not store: the first is applied."""
    email, password = staff_user("aide", "LHS")
    # The page's clock is Playwright's, so the test can let the backoff pass without waiting for it.
    page.clock.install()
    sign_in(page, email, password, next_path="/scan")
    page.locator("#scan-room").select_option("LHS-101")
    page.get_by_text("Condition and note for the next scans").click()
    scan(page, "LHS-1000")
    scan(page, "LHS-1001", note=FAIL_NOTE)
    line = page.locator("#scan-log li").first
    expect(line).to_contain_text("the server could not take it yet; trying again later")
    assert observed(app) == ["LHS-1000"]
    expect(page.locator("#pending-badge")).to_have_text("1")
    assert page.evaluate(REJECTED) == []
    kept = wait_until(page, f"{RETRIES}.then((r) => Object.keys(r).length && Object.values(r))")
    assert [r["tries"] for r in kept] == [1]


def test_a_passing_fault_is_tried_again_and_applied(app, phone, district, staff_user):
    with failing_scans(app) as cure:
        scans_one_failing(app, phone, staff_user)
        # Its time has not come: a flush now leaves it waiting, without asking the server.
        asked = []
        phone.on("request", lambda request: asked.append(request.url) if "/api/v1/sync" in request.url else None)
        assert phone.evaluate(FLUSH) == "later"
        assert asked == []
        cure()
    assert observed(app) == ["LHS-1000"]
    phone.clock.fast_forward("00:31")
    expect(phone.locator("#pending-badge")).to_have_text("0")
    assert observed(app) == ["LHS-1000", "LHS-1001"]
    expect(phone.locator("#scan-log li").first).to_contain_text("sent")
    assert phone.evaluate(REJECTED) == []
    assert phone.evaluate(RETRIES) == {}


def test_a_fault_that_lasts_is_set_aside_after_a_few_tries(app, phone, district, staff_user):
    with failing_scans(app):
        scans_one_failing(app, phone, staff_user)
        for wait, tries in (("00:31", 2), ("02:01", 3)):
            phone.clock.fast_forward(wait)
            wait_until(phone, f"{RETRIES}.then((r) => Object.values(r).some((x) => x.tries === {tries}))")
            expect(phone.locator("#pending-badge")).to_have_text("1")
            assert phone.evaluate(REJECTED) == []
        phone.clock.fast_forward("08:01")
        expect(phone.locator("#pending-badge")).to_have_text("0")
    reason = "The server could not apply this event (4 tries); set aside so the rest could be sent."
    assert wait_until(phone, REJECTED) == [{"tag": "LHS-1001", "reason": reason}]
    expect(phone.locator("#rejected-list li")).to_contain_text(reason)
    expect(phone.locator("#scan-log li").first).to_contain_text(f"not accepted: {reason}")
    expect(phone.locator("#set-aside-banner")).to_contain_text(
        "The server could not take 1 thing recorded on this phone"
    )
    assert observed(app) == ["LHS-1000"]
    assert phone.evaluate(RETRIES) == {}
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
