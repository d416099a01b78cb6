"""Offline first on a phone: the app opens without a signal, scans wait in the outbox and sync exactly once."""

from __future__ import annotations

import time

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import Campus, Observation, User
from tests import factories
from tests.browser.conftest import sign_in, wait_until

SCAN_PAGE_CACHED = """async () => {
  for (const name of await caches.keys()) {
    if (name.startsWith("rollcall-pages-") && await (await caches.open(name)).match(location.origin + "/scan")) {
      return true;
    }
  }
  return false;
}"""
WORKER_ACTIVE = """async () => {
  const reg = await navigator.serviceWorker.getRegistration("/");
  return Boolean(reg && reg.active && reg.active.state === "activated");
}"""
CACHED_PAGES = """async () => {
  let n = 0;
  for (const name of await caches.keys()) {
    if (name.startsWith("rollcall-pages-")) n += (await (await caches.open(name)).keys()).length;
  }
  return n;
}"""


def ready_offline(page: Page) -> None:
    """The worker controls the page and keeps /scan."""
    # An active worker first (installing precaches the shell, which takes a while on a busy machine)...
    wait_until(page, WORKER_ACTIVE, timeout=60)
    # ...then control of this page: clients.claim() normally gives it; a navigation always does.
    if not page.evaluate("navigator.serviceWorker.controller !== null"):
        page.reload()
    wait_until(page, "navigator.serviceWorker.controller !== null")
    wait_until(page, SCAN_PAGE_CACHED, timeout=30)


def scan(page: Page, code: str) -> None:
    field = page.get_by_label("Tag, asset tag or serial")
    field.fill(code)
    field.press("Enter")
    expect(page.locator("#scan-log li").first).to_contain_text(code)


def observations(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Observation))


def more_devices(app) -> list[str]:
    with app.app_context():
        lhs = db.session.scalar(sa.select(Campus).where(Campus.code == "LHS"))
        tags = [factories.make_asset(lhs, asset_tag=f"LHS-20{n}").asset_tag for n in range(3)]
        db.session.commit()
    return ["LHS-1000", "LHS-1001", *tags]


def test_offline_scans_wait_survive_a_restart_and_sync_once(app, phone, phone_context, district, staff_user):
    tags = more_devices(app)
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, next_path="/scan")
    ready_offline(phone)
    # One campus: its offline copy arrives without asking.
    expect(phone.locator('[data-pack-state="LHS"]')).to_contain_text("On this phone: 5 devices")
    phone.locator("#scan-room").select_option("LHS-101")

    phone_context.set_offline(True)
    phone.reload()
    expect(phone.get_by_role("heading", name="Scan", exact=True)).to_be_visible()
    for tag in tags:
        scan(phone, tag)
    # The offline pack names the device at once.
    expect(phone.locator("#scan-log li").first).to_contain_text("Acer Chromebook 311")
    badge = phone.locator("#pending-badge")
    expect(badge).to_have_text("5")
    expect(badge).to_be_visible()
    assert observations(app) == 0

    phone.close()
    again = phone_context.new_page()
    again.goto("/scan")
    expect(again.locator("#pending-badge")).to_have_text("5")
    assert again.evaluate("document.documentElement.scrollWidth") <= 390

    phone_context.set_offline(False)
    expect(again.locator("#pending-badge")).to_have_text("0", timeout=20_000)
    expect(again.locator("#pending-badge")).to_be_hidden()
    assert observations(app) == 5
    with app.app_context():
        seen = db.session.scalars(sa.select(Observation)).all()
        assert {o.room.code for o in seen} == {"LHS-101"}
        assert {o.by.email for o in seen} == {email}


def test_a_rejected_scan_shows_its_reason(app, phone, district, staff_user):
    email, password = staff_user("aide", "LHS", "JMS")
    sign_in(phone, email, password, next_path="/scan")
    phone.locator("#scan-room").select_option("JMS-201")
    with app.app_context():
        # Moved to Lincoln High only while the page was open: JMS rooms are no longer theirs.
        user = db.session.scalar(sa.select(User).where(User.email == email))
        user.campuses = [db.session.scalar(sa.select(Campus).where(Campus.code == "LHS"))]
        db.session.commit()
    scan(phone, "JMS-2000")
    rejected = phone.locator("#rejected-list li")
    expect(rejected).to_have_count(1)
    expect(rejected.first).to_contain_text("Room JMS-201 is not on your campuses")
    expect(phone.locator("#scan-log li").first).to_contain_text("not accepted")
    expect(phone.locator("#pending-badge")).to_have_text("0")
    assert observations(app) == 0
    # Dismissed, it goes away; a reload does not bring it back.
    phone.get_by_role("button", name="Dismiss").click()
    expect(rejected).to_have_count(0)
    phone.reload()
    expect(phone.locator("#rejected")).to_be_hidden()


def test_expired_session_keeps_the_queue_until_sign_in(app, phone, phone_context, district, staff_user):
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, next_path="/scan")
    ready_offline(phone)
    phone.locator("#scan-room").select_option("LHS-101")
    phone_context.set_offline(True)
    scan(phone, "LHS-1000")
    expect(phone.locator("#pending-badge")).to_have_text("1")
    with app.app_context():
        db.session.scalar(sa.select(User).where(User.email == email)).end_sessions()
        db.session.commit()
    phone_context.set_offline(False)
    expect(phone.locator("#signin-banner")).to_contain_text("Your session has ended")
    expect(phone.locator("#pending-badge")).to_have_text("1")
    assert observations(app) == 0
    phone.locator("#signin-banner").get_by_role("link", name="Sign in").click()
    phone.get_by_label("Email").fill(email)
    phone.get_by_label("Password").fill(password)
    phone.get_by_role("button", name="Sign in").click()
    # Signing in sends what waited: poll the server (the badge reads 0 before its first count, too).
    deadline = time.monotonic() + 20
    while observations(app) == 0:
        assert time.monotonic() < deadline, "the queue was not sent after signing in"
        phone.wait_for_timeout(100)
    assert observations(app) == 1
    expect(phone.locator("#pending-badge")).to_have_text("0")
    expect(phone.locator("#signin-banner")).to_have_count(0)


def test_sign_out_forgets_cached_pages(app, phone, district, staff_user):
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, next_path="/scan")
    ready_offline(phone)
    phone.evaluate("localStorage.setItem('htmx-history-cache', '[]')")
    assert phone.evaluate(CACHED_PAGES) >= 1
    phone.get_by_label("Account").click()
    phone.get_by_role("button", name="Sign out").click()
    phone.wait_for_url("**/login**")
    assert phone.evaluate(CACHED_PAGES) == 0
    assert phone.evaluate("localStorage.getItem('htmx-history-cache')") is None
