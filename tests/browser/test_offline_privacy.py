"""A shared Chromebook offline: pages about people are never kept for offline use, and the pages that are kept
belong to the session that fetched them (gone when it lapses, on sign-out, or when someone else signs in)."""

from __future__ import annotations

import re

from playwright.sync_api import BrowserContext, Page, expect

from app.views import pwa
from app.web.offline import OWNER_COOKIE
from tests import factories
from tests.browser.conftest import sign_in, wait_until
from tests.browser.test_offline import ready_offline

STUDENT = ("Zoe Martinez", "LHS100001")
PERSON_PAGE = f"/people/{STUDENT[1]}"
KEPT_PAGES = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    if (!name.startsWith("rollcall-pages-")) continue;
    const cache = await caches.open(name);
    for (const request of await cache.keys()) out.push(new URL(request.url).pathname);
  }
  return out.sort();
}"""
# Every page-like thing in CacheStorage (kept pages and the precached shell), as text.
CACHED_HTML = """async () => {
  const out = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      if ((response.headers.get("Content-Type") || "").includes("text/html")) {
        out.push({ cache: name, url: request.url, text: await response.text() });
      }
    }
  }
  return out;
}"""


def student_is_shown(page: Page) -> None:
    expect(page.get_by_role("heading", name=STUDENT[0])).to_be_visible()


def shows_no_connection(page: Page) -> None:
    """The precached offline page, not a kept copy of what was asked for."""
    expect(page.get_by_role("heading", name="No connection")).to_be_visible()
    assert page.evaluate("document.body.hasAttribute('data-offline-page')")


def close_the_browser(context: BrowserContext) -> None:
    """What closing the browser does to cookies: the session ones (no expiry) go, lasting ones stay."""
    lasting = [c for c in context.cookies() if c.get("expires", -1) != -1]
    context.clear_cookies()
    if lasting:
        context.add_cookies(lasting)


def nothing_personal_cached(page: Page, *words: str) -> None:
    for entry in page.evaluate(CACHED_HTML):
        for word in words:
            assert word not in entry["text"], f"{word!r} is kept offline in {entry['cache']} {entry['url']}"


def signed_in_with_pages(page: Page, staff_user) -> tuple[str, str]:
    """A tech (who may open people's records) signed in, with the scan page kept and a student's page opened."""
    email, password = staff_user("tech", "LHS")
    sign_in(page, email, password, next_path="/scan")
    ready_offline(page)
    page.goto(PERSON_PAGE)
    student_is_shown(page)
    page.goto("/scan")
    expect(page.get_by_role("heading", name="Scan", exact=True)).to_be_visible()
    return email, password


def test_person_pages_are_never_kept_and_a_lapsed_session_takes_the_kept_pages_along(
    app, phone, phone_context, district, staff_user
):
    email, _ = signed_in_with_pages(phone, staff_user)
    kept = phone.evaluate(KEPT_PAGES)
    assert "/scan" in kept and PERSON_PAGE not in kept
    nothing_personal_cached(phone, *STUDENT)

    # Offline, still signed in: the scan page opens from the phone, the student's page does not.
    phone_context.set_offline(True)
    phone.goto(PERSON_PAGE)
    shows_no_connection(phone)
    phone.goto("/scan")
    expect(phone.get_by_role("heading", name="Scan", exact=True)).to_be_visible()
    assert phone.evaluate("document.body.dataset.user") == email

    # The browser is closed and opened again by the next person, still without a signal.
    close_the_browser(phone_context)
    assert not [c for c in phone_context.cookies() if c["name"] == OWNER_COOKIE]
    phone.goto("/scan")
    shows_no_connection(phone)
    assert phone.evaluate(KEPT_PAGES) == []
    phone.goto(PERSON_PAGE)
    shows_no_connection(phone)
    nothing_personal_cached(phone, *STUDENT, email)


def test_sign_out_leaves_nothing_personal_in_cache_storage(app, phone, phone_context, district, staff_user):
    email, _ = signed_in_with_pages(phone, staff_user)
    phone.goto("/assets/LHS-1000")
    phone.get_by_label("Account").click()
    phone.get_by_role("button", name="Sign out").click()
    phone.wait_for_url("**/login**")
    assert phone.evaluate(KEPT_PAGES) == []
    nothing_personal_cached(phone, *STUDENT, email)
    # What stays is the shell, and the offline page, which opens without a signal for whoever comes next.
    with app.app_context():
        version, _ = pwa.static_version()
    assert phone.evaluate("caches.keys()") == [f"rollcall-static-{version}"]
    phone_context.set_offline(True)
    phone.goto("/scan")
    shows_no_connection(phone)
    expect(phone.get_by_role("link", name="open Scan")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_someone_else_signing_in_drops_the_last_persons_pages(app, phone, phone_context, district, staff_user):
    email, _ = signed_in_with_pages(phone, staff_user)
    assert "/scan" in phone.evaluate(KEPT_PAGES)
    # The first person walks away without signing out; the next signs in on this browser. The sign-in itself goes
    # past the worker (as a form post does), so the first page the worker serves is the test.
    close_the_browser(phone_context)
    other = staff_user("aide", "LHS")[0]
    login = phone.request.get("/login")
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', login.text()).group(1)
    signed = phone.request.post("/login", form={"email": other, "password": factories.PASSWORD, "csrf_token": token})
    assert signed.ok and "/login" not in signed.url
    assert [c for c in phone_context.cookies() if c["name"] == OWNER_COOKIE]

    phone_context.set_offline(True)
    phone.goto("/scan")
    shows_no_connection(phone)
    assert phone.evaluate(KEPT_PAGES) == []

    # Back online the new person's own pages are kept, and only theirs.
    phone_context.set_offline(False)
    phone.goto("/scan")
    assert phone.evaluate("document.body.dataset.user") == other
    wait_until(phone, f"({KEPT_PAGES})().then((kept) => kept.includes('/scan'))")
    nothing_personal_cached(phone, email)
