"""A shared Chromebook offline: pages about people are never kept for offline use, and what is kept belongs to the
session that fetched it (gone when it lapses, on sign-out, or when someone else signs in): the pages, and the records
in IndexedDB that name people, such as the loans desk's people list; the outbox's pending events stay."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from playwright.sync_api import BrowserContext, Page, expect

from app.extensions import db
from app.models import Asset, AssetStatus, Person, Role, User, Via
from app.services import loans
from app.views import pwa
from app.web.offline import OWNER_COOKIE
from tests import factories
from tests.browser.conftest import PHONE, sign_in, wait_until
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


# The loans desk keeps its campus's people in IndexedDB for checkout without a signal; what a session leaves there
# must go with it, except the outbox's pending events (work not yet sent, which waits for its author).
DATABASE = """async () => {
  const db = await new Promise((ok, no) => {
    const r = indexedDB.open("rollcall");
    r.onsuccess = () => ok(r.result);
    r.onerror = () => no(r.error);
  });
  const read = (req) => new Promise((ok, no) => {
    req.onsuccess = () => ok(req.result);
    req.onerror = () => no(req.error);
  });
  const out = {};
  for (const name of db.objectStoreNames) {
    const store = db.transaction(name).objectStore(name);
    const [keys, values] = await Promise.all([read(store.getAllKeys()), read(store.getAll())]);
    out[name] = keys.map((key, i) => [key, values[i]]);
  }
  db.close();
  return out;
}"""
ADA = ("Ada Byron", "LHS100009")


def names_kept(words: tuple[str, ...]) -> str:
    """A page expression: true while a store of the phone's database other than the outbox holds any of the words."""
    return f"""({DATABASE})().then((stores) => {{
  const text = JSON.stringify(Object.entries(stores).filter(([name]) => name !== "outbox"));
  return {json.dumps(list(words))}.some((word) => text.includes(word));
}})"""


def people_kept(page: Page) -> None:
    """Wait until the desk has its campus's people on the phone (for checkout without a signal)."""
    wait_until(page, names_kept(STUDENT))


def desk_world(app) -> None:
    """A district with two loaners at LHS and Ada, a student who will borrow one of them."""
    with app.app_context():
        world = factories.make_district()
        lhs = world["lhs"]
        factories.make_asset(lhs, asset_tag="LHS-L01", serial="LOANER0001", status=AssetStatus.loaner)
        factories.make_asset(lhs, asset_tag="LHS-L02", serial="LOANER0002", status=AssetStatus.loaner)
        factories.make_person(lhs, ADA[0], external_id=ADA[1])
        factories.make_user(Role.librarian, "LHS")
        db.session.commit()


def lent_to_ada_elsewhere(app) -> None:
    """Another desk lends LHS-L02 to Ada while this phone has no signal (its kept copy still says it is free)."""
    with app.app_context():
        taken = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-L02"))
        ada = db.session.scalar(sa.select(Person).where(Person.external_id == ADA[1]))
        by = db.session.scalar(sa.select(User).where(User.role == Role.librarian))
        loans.check_out(taken, ada, by=by, due=None, via=Via.web)
        db.session.commit()


def at_the_desk(page: Page, staff_user) -> tuple[str, str]:
    """A librarian at the desk, with the campus's people kept on the phone."""
    email, password = staff_user("librarian", "LHS")
    sign_in(page, email, password, next_path="/loans")
    people_kept(page)
    return email, password


def lend_offline(page: Page, person: str, device: str) -> None:
    field = page.locator("#desk-code")
    field.fill(person)
    field.press("Enter")
    expect(page.locator("#desk-panel")).to_contain_text("Now scan the loaner")
    field.fill(device)
    field.press("Enter")
    expect(page.locator("#desk-panel")).to_contain_text("Saved on this phone")


def refused_loan_kept(app, page: Page, context: BrowserContext) -> None:
    """Lend Ada's loaner offline: back online, the refusal (naming Ada) is kept on the phone for the desk to show."""
    context.set_offline(True)
    lent_to_ada_elsewhere(app)
    lend_offline(page, STUDENT[1], "LHS-L02")
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator(".offline-event.rejected")).to_contain_text(f"already on loan to {ADA[0]}")


def nothing_about_people_but_the_queue(page: Page, *words: str) -> list:
    """No store of the phone's database names anyone, except the outbox's pending events; those are returned."""
    stores = page.evaluate(DATABASE)
    for name, records in stores.items():
        if name == "outbox":
            continue
        text = json.dumps(records)
        for word in words:
            assert word not in text, f"{word!r} is kept in IndexedDB store {name!r}: {text[:300]}"
    return [value for _key, value in stores["outbox"]]


def test_sign_out_deletes_the_desks_people_and_keeps_the_queue(app, browser, live_server, staff_user):
    desk_world(app)
    # No worker here, and the sync endpoint away: the checkout recorded offline is still waiting at sign-out.
    context = browser.new_context(base_url=live_server, service_workers="block", **PHONE)
    try:
        context.route("**/api/v1/sync", lambda route: route.fulfill(status=503, body="away", content_type="text/plain"))
        page = context.new_page()
        page.set_default_timeout(10_000)
        email, _ = at_the_desk(page, staff_user)
        context.set_offline(True)
        lend_offline(page, STUDENT[1], "LOANER0001")
        context.set_offline(False)
        expect(page.locator("#pending-badge")).to_have_text("1")

        page.get_by_label("Account").click()
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/login**")
        waiting = nothing_about_people_but_the_queue(page, *STUDENT, *ADA)
        assert [(e["type"], e["data"]["person"], e["user"]) for e in waiting] == [("loan.checkout", STUDENT[1], email)]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


def test_a_session_found_ended_deletes_what_names_people(app, phone, phone_context, staff_user):
    desk_world(app)
    email, _ = at_the_desk(phone, staff_user)
    ready_offline(phone)
    refused_loan_kept(app, phone, phone_context)
    phone_context.set_offline(True)
    lend_offline(phone, STUDENT[1], "LOANER0001")
    with app.app_context():
        db.session.scalar(sa.select(User).where(User.email == email)).end_sessions()
        db.session.commit()

    # Back online, the outbox's flush finds the session ended.
    phone_context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    expect(phone.locator("#signin-banner")).to_contain_text("Your session has ended")
    wait_until(phone, f"({KEPT_PAGES})().then((kept) => kept.length === 0)")
    waiting = nothing_about_people_but_the_queue(phone, *STUDENT, *ADA)
    assert [(e["type"], e["data"]["asset"]) for e in waiting] == [("loan.checkout", "LHS-L01")]
    expect(phone.locator("#pending-badge")).to_have_text("1")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_someone_else_signing_in_deletes_the_last_persons_people(app, phone, phone_context, staff_user):
    desk_world(app)
    first, _ = at_the_desk(phone, staff_user)
    refused_loan_kept(app, phone, phone_context)
    phone_context.set_offline(True)
    lend_offline(phone, STUDENT[1], "LOANER0001")
    # The librarian walks away without signing out; the browser is closed, and an aide signs in on it.
    phone.close()
    close_the_browser(phone_context)
    phone_context.set_offline(False)
    other = staff_user("aide", "LHS")[0]
    login = phone_context.request.get("/login")
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', login.text()).group(1)
    signed = phone_context.request.post(
        "/login", form={"email": other, "password": factories.PASSWORD, "csrf_token": token}
    )
    assert signed.ok and "/login" not in signed.url

    page = phone_context.new_page()
    page.goto("/scan")
    assert page.evaluate("document.body.dataset.user") == other
    wait_until(page, f"{names_kept(STUDENT + ADA)}.then((kept) => !kept)")
    waiting = nothing_about_people_but_the_queue(page, *STUDENT, *ADA)
    # The librarian's checkout still waits for them; the aide's badge counts only the aide's own.
    assert [(e["type"], e["user"]) for e in waiting] == [("loan.checkout", first)]
    expect(page.locator("#pending-badge")).to_have_text("0")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
