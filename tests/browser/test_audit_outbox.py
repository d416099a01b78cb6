"""The live audit uses the shared outbox: its events show in the header badge, wait through a signed-out session
and are sent once the person signs in again; the page keeps no database of its own."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Audit, Observation
from tests import factories
from tests.browser.conftest import sign_in

OUTBOX_TYPES = """() => new Promise((resolve, reject) => {
  const req = indexedDB.open("rollcall");
  req.onerror = () => reject(req.error);
  req.onsuccess = () => {
    const all = req.result.transaction("outbox").objectStore("outbox").getAll();
    all.onsuccess = () => { resolve(all.result.map((e) => e.type)); req.result.close(); };
  };
})"""


def test_audit_events_wait_in_the_shared_outbox_through_a_sign_in(app, phone, phone_context, staff_user):
    with app.app_context():
        factories.make_district()
        db.session.commit()
    email, password = staff_user("aide", "LHS")
    page = phone
    sign_in(page, email, password, "/audits/live")
    expect(page.locator("#audit-app")).to_have_attribute("data-ready", "1")

    phone_context.set_offline(True)
    page.get_by_label("Room", exact=True).select_option("LHS-101")
    page.get_by_role("button", name="Start audit").click()
    field = page.get_by_label("Tag, asset tag or serial")
    for code in ("LHS-1000", "NOT-A-TAG"):
        field.fill(code)
        field.press("Enter")
    expect(page.locator("#n-unknown")).to_have_text("1")
    badge = page.locator("#pending-badge")
    expect(badge).to_have_text("3")
    expect(page.locator("#audit-net")).to_contain_text("3 waiting to sync")
    assert sorted(page.evaluate(OUTBOX_TYPES)) == ["audit.start", "scan", "scan"]
    names = page.evaluate("indexedDB.databases().then((dbs) => dbs.map((d) => d.name))")
    assert "rollcall-audits" not in names

    # The session ends while offline: the events stay and the page asks for a new sign-in.
    phone_context.clear_cookies()
    phone_context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#audit-net")).to_have_text("Signed out: sign in again to send your scans.")
    expect(page.locator("#signin-banner")).to_be_visible()
    expect(badge).to_have_text("3")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Audit)) == 0

    sign_in(page, email, password, "/audits/live")
    expect(page.locator("#audit-net")).to_have_text("All synced.", timeout=15_000)
    expect(page.locator("#audit-app")).to_have_attribute("data-source", "server")
    expect(page.locator("#n-unknown")).to_have_text("1")
    expect(badge).to_be_hidden()
    with app.app_context():
        audit = db.session.scalar(sa.select(Audit))
        assert audit is not None
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(Observation).where(Observation.audit_id == audit.uuid)
            )
            == 1
        )
