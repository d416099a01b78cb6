"""The outbox owns its triggers: whichever page records an event, recording it asks for Background Sync (so the
worker sends it even if the page is closed) and sends it as soon as the signal allows; and each page has one
listener on the outbox's channel, whatever parts of it follow the outbox."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import AssetStatus, Observation
from tests import factories
from tests.browser.conftest import sign_in, wait_until
from tests.browser.test_offline import WORKER_ACTIVE
from tests.browser.test_offline_privacy import people_kept

# Spies that pass every call through: which Background Sync tags the page registered, how many channels named like
# the outbox's it listens on, and when app.js has booted (it registers the worker last, after it subscribes).
SPIES = """(() => {
  if ("serviceWorker" in navigator) {
    const container = Object.getPrototypeOf(navigator.serviceWorker);
    const registerWorker = container.register;
    container.register = function (...args) {
      return registerWorker.apply(this, args).then((reg) => {
        window.__booted = true;
        return reg;
      });
    };
  }
  window.__syncTags = [];
  if (window.SyncManager) {
    const register = SyncManager.prototype.register;
    SyncManager.prototype.register = function (tag) {
      window.__syncTags.push(tag);
      return register.call(this, tag);
    };
  }
  window.__outboxListeners = 0;
  const proto = BroadcastChannel.prototype;
  const add = proto.addEventListener;
  proto.addEventListener = function (type, ...rest) {
    if (this.name === "rollcall-outbox" && type === "message") window.__outboxListeners += 1;
    return add.call(this, type, ...rest);
  };
  const onmessage = Object.getOwnPropertyDescriptor(proto, "onmessage");
  Object.defineProperty(proto, "onmessage", {
    get() { return onmessage.get.call(this); },
    set(value) {
      if (this.name === "rollcall-outbox" && value) window.__outboxListeners += 1;
      onmessage.set.call(this, value);
    },
  });
})();"""
SYNC_ASKED = "window.__syncTags.includes('rollcall-outbox')"


@pytest.fixture
def spied(phone_context) -> None:
    phone_context.add_init_script(SPIES)


def ready(page: Page) -> None:
    """The worker is active, so a Background Sync can be registered."""
    wait_until(page, WORKER_ACTIVE, timeout=60)


def test_the_desk_asks_for_background_sync_for_what_it_records_offline(app, phone, phone_context, spied, staff_user):
    with app.app_context():
        world = factories.make_district()
        factories.make_asset(world["lhs"], asset_tag="LHS-L01", serial="LOANER0001", status=AssetStatus.loaner)
        db.session.commit()
    email, password = staff_user("librarian", "LHS")
    sign_in(phone, email, password, next_path="/loans")
    ready(phone)
    people_kept(phone)
    assert not phone.evaluate(SYNC_ASKED)

    phone_context.set_offline(True)
    field = phone.locator("#desk-code")
    field.fill("LHS100001")
    field.press("Enter")
    field.fill("LOANER0001")
    field.press("Enter")
    expect(phone.locator("#desk-panel")).to_contain_text("LHS-L01 to Zoe Martinez. Saved on this phone")
    wait_until(phone, SYNC_ASKED)
    expect(phone.locator("#pending-badge")).to_have_text("1")
    assert phone.evaluate("window.__outboxListeners") == 1


def test_the_repairs_receive_page_asks_for_background_sync(app, phone, phone_context, spied, staff_user):
    with app.app_context():
        world = factories.make_district()
        db.session.commit()
        code = world["lhs_asset"].tag_code
    email, password = staff_user("tech", "LHS")
    sign_in(phone, email, password, next_path="/repairs/receive")
    ready(phone)
    wait_until(phone, "window.__booted === true")
    assert phone.evaluate("window.__outboxListeners") == 1

    phone_context.set_offline(True)
    field = phone.locator('[data-receive-form] input[name="code"]')
    field.fill(code)
    field.press("Enter")
    expect(phone.locator("#receive-result")).to_contain_text("recorded without a signal")
    wait_until(phone, SYNC_ASKED)


@pytest.mark.parametrize("path", ["/scan", "/audits/live"])
def test_one_listener_on_the_outbox_channel_per_page(app, phone, spied, district, staff_user, path):
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, next_path=path)
    wait_until(phone, "window.__booted === true")
    if path == "/audits/live":
        expect(phone.locator("#audit-app")).to_have_attribute("data-ready", "1")
    # Both app.js (badge, banners) and the page's own script follow the outbox, through one subscription.
    assert phone.evaluate("window.__outboxListeners") == 1


def test_a_scan_is_sent_at_once_without_the_page_asking(app, phone, spied, district, staff_user):
    """Recording is enough: the outbox sends the event itself (here no other trigger fires before it lands)."""
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, next_path="/scan")
    ready(phone)
    phone.evaluate(
        """async () => {
          const outbox = await import("/static/js/outbox.js");
          await outbox.enqueue("scan", { tag: "LHS-1000", room: "LHS-101" });
        }"""
    )
    wait_until(phone, SYNC_ASKED)
    expect(phone.locator("#pending-badge")).to_have_text("0")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Observation)) == 1
