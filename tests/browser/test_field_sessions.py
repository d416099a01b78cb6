"""Sessions on a field phone (390×844), with a real browser restart: a persistent Chromium profile closed and opened
again. "Keep me signed in" survives the restart, offline too; without it, the sign-in page (kept by the service
worker) names what waits on the phone, and signing in sends it exactly once. The session-ended banner stays in view
on a long page, and the install banner's "Not now" is remembered."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, Page, expect

from app.extensions import db
from app.models import Campus, Observation, User
from app.models.sync import SyncEvent
from tests import factories
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, sign_in, wait_until
from tests.browser.test_offline import ready_offline, scan
from tests.browser.test_pwa_prompts import BOOTED, INSTALL_TEXT, NOTE_REGISTERED, OFFER_INSTALL

WAITING = "#outbox-waiting"


class Phone:
    """One phone's browser profile on disk: open() starts Chromium on it, close() quits it (a restart is both)."""

    def __init__(self, playwright_instance, live_server: str, profile: Path) -> None:
        self.playwright, self.base, self.profile = playwright_instance, live_server, profile
        self.context: BrowserContext | None = None

    def open(self, *, offline: bool = False) -> Page:
        self.context = self.playwright.chromium.launch_persistent_context(
            str(self.profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            base_url=self.base,
            offline=offline,
            **PHONE,
        )
        page = self.context.pages[0] if self.context.pages else self.context.new_page()
        page.set_default_timeout(15_000)
        return page

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None


@pytest.fixture
def field_phone(playwright_instance, live_server, tmp_path) -> Iterator[Phone]:
    phone = Phone(playwright_instance, live_server, tmp_path / "profile")
    yield phone
    phone.close()


def sign_in_form(page: Page, email: str, password: str, *, remember: bool) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    if remember:
        page.get_by_label("Keep me signed in on this device").check()
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def observations(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Observation))


def synced_events(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(SyncEvent))


def wait_for_observations(app, page: Page, count: int) -> None:
    deadline = time.monotonic() + 30
    while observations(app) < count:
        assert time.monotonic() < deadline, f"only {observations(app)} of {count} scans reached the server"
        page.wait_for_timeout(100)


def test_kept_signed_in_a_restart_keeps_the_aide_signed_in_offline_and_on(app, field_phone, district, staff_user):
    email, password = staff_user("aide", "LHS")
    page = field_phone.open()
    page.goto("/login?next=/scan")
    sign_in_form(page, email, password, remember=True)
    ready_offline(page)
    remember = next(c for c in field_phone.context.cookies() if c["name"] == "remember_token")
    assert remember["httpOnly"] and remember["sameSite"] == "Lax"
    assert remember["expires"] > time.time() + 6.9 * 86400
    field_phone.close()

    # Restarted with no signal: the kept scan page still opens, as this aide's, and takes scans.
    page = field_phone.open(offline=True)
    page.goto("/scan")
    expect(page.get_by_role("heading", name="Scan", exact=True)).to_be_visible()
    assert page.evaluate("document.body.dataset.user") == email
    page.locator("#scan-room").select_option("LHS-101")
    scan(page, "LHS-1000")
    expect(page.locator("#pending-badge")).to_have_text("1")

    # The signal returns: the scan goes with the session the remember cookie brought back (no sign-in asked).
    field_phone.context.set_offline(False)
    wait_for_observations(app, page, 1)
    expect(page.locator("#pending-badge")).to_have_text("0")
    expect(page.locator("#signin-banner")).to_have_count(0)
    page.goto("/assets")
    expect(page).to_have_url(f"{field_phone.base}/assets")
    assert observations(app) == 1


def test_restarted_offline_the_sign_in_page_names_what_waits_and_sends_it_once(app, field_phone, district, staff_user):
    with app.app_context():
        lhs = db.session.scalar(sa.select(Campus).where(Campus.code == "LHS"))
        factories.make_asset(lhs, asset_tag="LHS-1002")
        db.session.commit()
    email, password = staff_user("aide", "LHS")
    page = field_phone.open()
    page.goto("/login?next=/scan")
    expect(page.locator(WAITING)).to_be_hidden()
    sign_in_form(page, email, password, remember=False)
    ready_offline(page)
    page.locator("#scan-room").select_option("LHS-101")
    field_phone.context.set_offline(True)
    for tag in ("LHS-1000", "LHS-1001", "LHS-1002"):
        scan(page, tag)
    expect(page.locator("#pending-badge")).to_have_text("3")
    field_phone.close()

    page = field_phone.open(offline=True)
    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator(WAITING)).to_have_text("3 actions wait on this phone; sign in to send them.")
    # Without a signal the form says so rather than failing on a page the browser cannot reach.
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("No connection.")
    expect(page).to_have_url(f"{field_phone.base}/login")
    assert observations(app) == 0

    field_phone.context.set_offline(False)
    page.goto("/assets")
    expect(page).to_have_url(f"{field_phone.base}/login?next=/assets")  # not remembered: signed out by the restart
    expect(page.locator(WAITING)).to_have_text("3 actions wait on this phone; sign in to send them.")
    sign_in_form(page, email, password, remember=False)
    wait_for_observations(app, page, 3)
    expect(page.locator("#pending-badge")).to_have_text("0")
    page.reload()
    expect(page.locator("#pending-badge")).to_be_hidden()
    assert observations(app) == 3
    assert synced_events(app) == 3
    with app.app_context():
        seen = db.session.scalars(sa.select(Observation)).all()
        assert sorted(o.asset.asset_tag for o in seen) == ["LHS-1000", "LHS-1001", "LHS-1002"]
        assert {o.by.email for o in seen} == {email}


def test_a_kept_sign_in_page_opened_offline_signs_in_once_the_signal_is_back(app, field_phone, district, staff_user):
    """The kept copy's CSRF token belongs to no session: the form fetches a fresh one as it is sent."""
    email, password = staff_user("aide", "LHS")
    page = field_phone.open()
    page.goto("/login?next=/scan")
    sign_in_form(page, email, password, remember=False)
    ready_offline(page)
    page.locator("#scan-room").select_option("LHS-101")
    field_phone.context.set_offline(True)
    scan(page, "LHS-1000")
    field_phone.close()

    page = field_phone.open(offline=True)
    page.goto("/login?next=/scan")
    expect(page.locator(WAITING)).to_have_text("1 action waits on this phone; sign in to send it.")
    field_phone.context.set_offline(False)
    sign_in_form(page, email, password, remember=False)
    expect(page).to_have_url(f"{field_phone.base}/scan")
    wait_for_observations(app, page, 1)
    expect(page.locator("#pending-badge")).to_have_text("0")
    assert synced_events(app) == 1


def long_inventory(app) -> None:
    with app.app_context():
        lhs = db.session.scalar(sa.select(Campus).where(Campus.code == "LHS"))
        for n in range(60):
            factories.make_asset(lhs, asset_tag=f"LHS-3{n:03d}")
        db.session.commit()


def test_the_session_ended_banner_stays_in_view_after_scrolling(app, phone, district, staff_user):
    long_inventory(app)
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, next_path="/assets")
    wait_until(phone, "document.documentElement.scrollHeight > 3 * innerHeight")
    with app.app_context():
        db.session.scalar(sa.select(User).where(User.email == email)).end_sessions()
        db.session.commit()
    # Something recorded on this page meets the ended session, as a scan would.
    phone.evaluate(
        """async () => {
          const { enqueue } = await import("/static/js/outbox.js");
          await enqueue("scan", { tag: "LHS-1000", room: "LHS-101" });
        }"""
    )
    banner = phone.locator("#signin-banner")
    # The first visit's service worker is still fetching the whole shell: the server may take a while to answer.
    expect(banner).to_contain_text("Your session has ended. 1 recorded on this phone waits to be sent.", timeout=20_000)
    phone.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    wait_until(phone, "scrollY > 2 * innerHeight")
    expect(banner).to_be_in_viewport()
    box = banner.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844
    # Nothing covers it: the point at its middle is the banner (or inside it).
    assert phone.evaluate(
        """() => {
          const bar = document.getElementById("signin-banner");
          const r = bar.getBoundingClientRect();
          return bar.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
        }"""
    )
    expect(banner.get_by_role("link", name="Sign in")).to_be_in_viewport()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_not_now_hides_the_install_banner_and_it_stays_away(phone, district, staff_user):
    phone.add_init_script(NOTE_REGISTERED)
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, next_path="/assets")
    wait_until(phone, BOOTED)
    assert phone.evaluate(OFFER_INSTALL) is False
    banner = phone.locator("#install-banner")
    expect(banner).to_contain_text(INSTALL_TEXT)
    banner.get_by_role("button", name="Not now").click()
    expect(banner).to_be_hidden()
    assert phone.evaluate("window.__prompted || 0") == 0, "Not now never opens the browser's prompt"
    days = phone.evaluate("(Number(localStorage.getItem('rollcall-install-not-now')) - Date.now()) / 86400000")
    assert 29.9 < days <= 30

    for path in ("/assets", "/scan"):  # this page again, and the next one
        phone.goto(path)
        wait_until(phone, BOOTED)
        # The browser's own bar stays away too (preventDefault), and no banner of ours comes back.
        assert phone.evaluate(OFFER_INSTALL) is False
        expect(phone.locator("#install-banner")).to_have_count(0)

    # Thirty days later it is offered again.
    phone.evaluate("localStorage.setItem('rollcall-install-not-now', String(Date.now() - 1000))")
    phone.reload()
    wait_until(phone, BOOTED)
    phone.evaluate(OFFER_INSTALL)
    expect(phone.locator("#install-banner")).to_contain_text(INSTALL_TEXT)
