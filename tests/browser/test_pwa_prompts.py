"""The app's own prompts on a phone: "Update available" when a new service worker waits, and "Install Rollcall"."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app.views import pwa
from tests.browser.conftest import sign_in, wait_until

WORKER_ACTIVE = """async () => {
  const reg = await navigator.serviceWorker.getRegistration("/");
  return Boolean(reg && reg.active && reg.active.state === "activated");
}"""
CONTROLLED = "navigator.serviceWorker.controller !== null"
# app.js boots asynchronously (it awaits IndexedDB first) and registers the worker last, after the install listeners;
# the update listeners follow as soon as register() resolves. An existing registration says nothing about the page
# at hand (the sign-in page made it), so each page notes when its own register() call resolved. The flag is set in
# a callback that runs before app.js resumes, within the same microtask checkpoint: by the time page.evaluate can
# see it, app.js has attached its listeners.
NOTE_REGISTERED = """(() => {
  if (!("serviceWorker" in navigator)) return;
  const container = Object.getPrototypeOf(navigator.serviceWorker);
  const register = container.register;
  container.register = function (...args) {
    return register.apply(this, args).then((reg) => {
      window.__swRegistered = true;
      return reg;
    });
  };
})();"""
BOOTED = "window.__swRegistered === true"
CHECK_FOR_UPDATE = """async () => {
  const reg = await navigator.serviceWorker.getRegistration("/");
  await reg.update();
  return { installing: Boolean(reg.installing), waiting: Boolean(reg.waiting) };
}"""
WORKERS = """async () => {
  const reg = await navigator.serviceWorker.getRegistration("/");
  return { installing: Boolean(reg.installing), waiting: Boolean(reg.waiting), active: Boolean(reg.active) };
}"""
CACHE_NAMES = "async () => await caches.keys()"
# Headless Chromium never offers installation by itself; this is the event it would fire, with a counting prompt().
OFFER_INSTALL = """() => {
  const event = new Event("beforeinstallprompt", { cancelable: true });
  event.prompt = () => {
    window.__prompted = (window.__prompted || 0) + 1;
    return Promise.resolve({ outcome: "accepted" });
  };
  return window.dispatchEvent(event);
}"""
INSTALL_TEXT = "Install Rollcall on this phone for quick, offline scanning."


def open_signed_in(page: Page, staff_user) -> None:
    """Sign in and land on the dashboard, with app.js booted there."""
    page.add_init_script(NOTE_REGISTERED)
    email, password = staff_user("aide", "LHS")
    sign_in(page, email, password, next_path="/")
    wait_until(page, BOOTED)


def controlled_from_the_start(page: Page) -> None:
    """An activated worker, and a page loaded under it (not one it claimed), as when a person reopens the app."""
    # Installing precaches the shell, which takes a while on a busy machine.
    wait_until(page, WORKER_ACTIVE, timeout=60)
    page.reload()
    wait_until(page, CONTROLLED)
    wait_until(page, BOOTED)


def test_a_new_worker_offers_a_reload_that_switches_to_it(app, phone, district, staff_user, monkeypatch):
    with app.app_context():
        old_version, precache = pwa.static_version()
    new_version = f"{old_version}-next"
    open_signed_in(phone, staff_user)
    controlled_from_the_start(phone)
    assert f"rollcall-static-{old_version}" in phone.evaluate(CACHE_NAMES)

    # The same worker byte for byte is no update: nothing installs and nothing is offered.
    assert phone.evaluate(CHECK_FOR_UPDATE) == {"installing": False, "waiting": False}
    expect(phone.locator("#update-banner")).to_have_count(0)

    # A deploy changes a static file: the server now fills a new version into /sw.js.
    phone.evaluate("window.__beforeUpdate = true")
    monkeypatch.setattr(pwa, "static_version", lambda: (new_version, precache))
    phone.evaluate(CHECK_FOR_UPDATE)
    banner = phone.locator("#update-banner")
    expect(banner).to_be_visible(timeout=60_000)  # once the new worker has precached the shell and waits
    expect(banner).to_contain_text("Update available.")
    # It waits for the person: the old worker still serves this page, which has not reloaded on its own.
    assert phone.evaluate("window.__beforeUpdate") is True
    assert phone.evaluate(WORKERS) == {"installing": False, "waiting": True, "active": True}
    assert f"rollcall-static-{new_version}" in phone.evaluate(CACHE_NAMES)
    assert f"rollcall-static-{old_version}" in phone.evaluate(CACHE_NAMES)

    with phone.expect_event("load", timeout=30_000):  # controllerchange → location.reload()
        banner.get_by_role("button", name="Reload").click()

    # A fresh page (the marker is gone) under the new worker, which dropped the old version's caches.
    assert phone.evaluate("window.__beforeUpdate") is None
    wait_until(phone, CONTROLLED)
    wait_until(phone, BOOTED)
    assert phone.evaluate(WORKERS) == {"installing": False, "waiting": False, "active": True}
    names = phone.evaluate(CACHE_NAMES)
    assert f"rollcall-static-{new_version}" in names
    assert f"rollcall-static-{old_version}" not in names
    expect(phone.locator("#update-banner")).to_have_count(0)
    assert phone.evaluate("document.body.dataset.user")  # the signed-in page itself, not the offline one


def test_reload_also_works_on_a_page_the_first_worker_claimed(app, phone, district, monkeypatch):
    """A phone that opened the app before any worker ran, and kept that page open through a deploy."""
    with app.app_context():
        old_version, precache = pwa.static_version()
    phone.add_init_script(NOTE_REGISTERED)
    phone.goto("/login")  # the first visit: nothing controls the page when it loads
    wait_until(phone, BOOTED)
    assert phone.evaluate(CONTROLLED) is False
    wait_until(phone, WORKER_ACTIVE, timeout=60)
    wait_until(phone, CONTROLLED)  # clients.claim() took the open page over

    phone.evaluate("window.__beforeUpdate = true")
    monkeypatch.setattr(pwa, "static_version", lambda: (f"{old_version}-next", precache))
    phone.evaluate(CHECK_FOR_UPDATE)
    banner = phone.locator("#update-banner")
    expect(banner).to_be_visible(timeout=60_000)
    with phone.expect_event("load", timeout=30_000):
        banner.get_by_role("button", name="Reload").click()
    assert phone.evaluate("window.__beforeUpdate") is None
    expect(phone.locator("#update-banner")).to_have_count(0)


def test_no_install_banner_unless_the_browser_offers_it(phone, district, staff_user):
    open_signed_in(phone, staff_user)
    expect(phone.locator("#install-banner")).to_have_count(0)
    expect(phone.locator("#update-banner")).to_have_count(0)


def test_install_button_prompts_once_and_hides_the_banner(phone, district, staff_user):
    open_signed_in(phone, staff_user)
    # dispatchEvent answers false when a listener called preventDefault: the browser's own bar stays away.
    assert phone.evaluate(OFFER_INSTALL) is False
    banner = phone.locator("#install-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(INSTALL_TEXT)
    assert phone.evaluate("window.__prompted || 0") == 0

    banner.get_by_role("button", name="Install").click()
    expect(banner).to_be_hidden()
    assert phone.evaluate("window.__prompted") == 1


def test_installing_elsewhere_hides_the_banner(phone, district, staff_user):
    open_signed_in(phone, staff_user)
    assert phone.evaluate(OFFER_INSTALL) is False
    banner = phone.locator("#install-banner")
    expect(banner).to_be_visible()

    phone.evaluate('() => window.dispatchEvent(new Event("appinstalled"))')
    expect(banner).to_be_hidden()
    assert phone.evaluate("window.__prompted || 0") == 0
