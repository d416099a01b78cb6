"""Phone navigation at 390×844 and 320×640: each role's tab bar and home, the "More" menu, 44 px touch targets."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, sign_in

SMALL = {**PHONE, "viewport": {"width": 320, "height": 640}}
SIZES = {"390": PHONE, "320": SMALL}

TABS = {
    "aide": ["Home", "Scan", "Audits", "Devices", "More"],
    "librarian": ["Desk", "Loans out", "Devices", "Tickets", "More"],
    "tech": ["Tickets", "Scan", "Devices", "Repairs", "More"],
    "admin": ["Dashboard", "Devices", "Tickets", "Audits", "More"],
    "viewer": ["Dashboard", "Devices", "Tickets", "Audits", "More"],
}
# Where "/" leads each role, and what shows there.
HOMES = {
    "aide": ("/", "Rooms to audit"),
    "librarian": ("/loans", "Loaner desk"),
    "tech": ("/tickets", "Tickets"),
    "admin": ("/", None),
    "viewer": ("/", None),
}

# The tab labels whose longest word is wider than the tab's content box.
WORDS_FIT = """(tabs) => tabs.filter((tab) => {
  const style = getComputedStyle(tab);
  const room = tab.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  const probe = document.createElement("span");
  probe.style.cssText = "position:absolute;visibility:hidden;white-space:nowrap;font:inherit";
  tab.append(probe);
  const widest = Math.max(...tab.firstChild.textContent.trim().split(/\\s+/).map((word) => {
    probe.textContent = word;
    return probe.getBoundingClientRect().width;
  }));
  probe.remove();
  return widest > room;
}).map((tab) => tab.textContent.trim())"""
NO_SIDEWAYS_SCROLL = "document.scrollingElement.scrollWidth <= window.innerWidth"

# Every visible control a finger taps inside the root: links, buttons, summaries and the labels of radios.
# Off-screen (the skip link until focused) and visually-hidden elements are no tap target.
TARGETS = """(root) => {
  const scope = document.querySelector(root);
  if (!scope) return [];
  const items = [...scope.querySelectorAll("a[href], button, summary, label")].filter((el) => {
    if (el.tagName === "LABEL") {
      const input = el.control || el.querySelector("input");
      if (!input || input.type !== "radio") return false;
    }
    if (!el.checkVisibility({ visibilityProperty: true, opacityProperty: true })) return false;
    const r = el.getBoundingClientRect();
    return r.width > 1 && r.height > 1 && r.right > 0 && r.left < window.innerWidth;
  });
  return items.map((el) => {
    const r = el.getBoundingClientRect();
    const text = (el.textContent || "").trim().slice(0, 40);
    return { what: `${el.tagName.toLowerCase()} "${text}"`, h: r.height, w: r.width };
  });
}"""


def small_targets(page: Page, root: str) -> list[dict]:
    """The tap targets in root smaller than 44 px tall (none, when the styles hold)."""
    found = page.evaluate(TARGETS, root)
    assert found, f"no tap targets found in {root}"
    return [t for t in found if t["h"] < 44]


def open_phone(browser: Browser, live_server: str, size: str) -> Page:
    context = browser.new_context(base_url=live_server, **SIZES[size])
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


@pytest.fixture
def phone_at(browser, live_server):
    """A page in a phone context of the given size ("390" or "320"), closed after the test."""
    pages: list[Page] = []

    def make(size: str) -> Page:
        page = open_phone(browser, live_server, size)
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.context.close()


def assert_tab_bar_clear_of_content(page: Page) -> None:
    """Scrolled to the very bottom, the end of the page's content sits above the tab bar, not under it."""
    page.evaluate("window.scrollTo(0, document.scrollingElement.scrollHeight)")
    main_bottom = page.evaluate("document.querySelector('main').getBoundingClientRect().bottom")
    bar_top = page.locator("#tabbar").bounding_box()["y"]
    assert main_bottom <= bar_top + 0.5, (main_bottom, bar_top)


@pytest.mark.parametrize("size", ["390", "320"])
@pytest.mark.parametrize("role", list(TABS))
def test_each_role_lands_home_with_its_tab_bar(phone_at, district, staff_user, role, size):
    page = phone_at(size)
    email, password = staff_user(role, "LHS")
    sign_in(page, email, password)
    path, heading = HOMES[role]
    expect(page).to_have_url(re.compile(rf"^[^?#]+//[^/]+{re.escape(path)}$"))
    if heading:
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    else:
        expect(page.locator("#chart-status")).to_be_visible()

    bar = page.locator("#tabbar")
    expect(bar).to_be_visible()
    tabs = bar.locator(".tabbar-places > li > a, .more > summary")
    expect(tabs).to_have_text(TABS[role])
    # The home tab is the page at hand (the aide's Home, the admin's Dashboard, the librarian's Desk...).
    expect(bar.locator('a[aria-current="page"]')).to_have_text(TABS[role][0])
    expect(page.locator("header .nav")).to_be_hidden()
    width = SIZES[size]["viewport"]["width"]
    for box in (tabs.nth(i).bounding_box() for i in range(5)):
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5 and box["height"] >= 44
    # Each label fits its tab whole: no word broken across lines, none spilling into the next tab.
    assert tabs.evaluate_all(WORDS_FIT) == [], "labels wider than their tab"
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert_tab_bar_clear_of_content(page)
    assert small_targets(page, "#tabbar") == []
    assert small_targets(page, "header") == []

    # Another place: its tab is marked, and the page still fits.
    bar.get_by_role("link", name="Devices").click()
    expect(page).to_have_url(re.compile(r"/assets$"))
    expect(page.locator('#tabbar a[aria-current="page"]')).to_have_text("Devices")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert_tab_bar_clear_of_content(page)


@pytest.mark.parametrize("size", ["390", "320"])
def test_more_holds_the_rest_and_sign_out(phone_at, district, staff_user, size):
    page = phone_at(size)
    email, password = staff_user("tech", "LHS")
    sign_in(page, email, password)
    more = page.locator("#more-menu")
    sheet = more.locator(".more-body")
    expect(sheet).to_be_hidden()
    more.locator("summary").click()
    expect(sheet).to_be_visible()
    for name in ("Dashboard", "Labels", "Audits", "People", "Desk", "Closet", "Activity", "Change password"):
        expect(sheet.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(sheet.get_by_role("link", name="Imports")).to_have_count(0)  # an admin's
    expect(sheet.get_by_role("button", name="Sign out")).to_be_visible()
    box = sheet.bounding_box()
    width, height = SIZES[size]["viewport"]["width"], SIZES[size]["viewport"]["height"]
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5 and box["y"] >= 0
    assert box["y"] + box["height"] <= page.locator("#tabbar").bounding_box()["y"] + 0.5 <= height
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert small_targets(page, "#tabbar") == []

    # A tap outside (just above the sheet) closes it; the page it leads to marks "More" as where you are.
    page.mouse.click(width / 2, box["y"] - 4)
    expect(sheet).to_be_hidden()
    more.locator("summary").click()
    sheet.get_by_role("link", name="Closet").click()
    expect(page).to_have_url(re.compile(r"/closet$"))
    expect(page.locator("#more-menu > summary")).to_have_class(re.compile(r"\bis-current\b"))
    expect(page.locator('#tabbar .tabbar-places > li > a[aria-current="page"]')).to_have_count(0)
    more.locator("summary").click()
    expect(sheet.locator('a[aria-current="page"]')).to_have_text("Closet")

    sheet.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/assets")
    expect(page).to_have_url(re.compile(r"/login"))


def test_more_works_from_the_keyboard(phone, district, staff_user):
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password)
    summary = phone.locator("#more-menu > summary")
    sheet = phone.locator("#more-menu .more-body")
    # Tab from the last tab-bar link reaches "More"; Enter opens it.
    phone.locator('#tabbar a[data-place="devices"]').focus()
    phone.keyboard.press("Tab")
    expect(summary).to_be_focused()
    phone.keyboard.press("Enter")
    expect(sheet).to_be_visible()
    # Tab walks into the sheet, in order.
    phone.keyboard.press("Tab")
    first = sheet.locator("a").first
    expect(first).to_be_focused()
    # Escape closes it and gives focus back to "More"; Space opens it again.
    phone.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    expect(summary).to_be_focused()
    phone.keyboard.press(" ")
    expect(sheet).to_be_visible()
    sign_out = sheet.get_by_role("button", name="Sign out")
    for _ in range(20):
        phone.keyboard.press("Tab")
        if sign_out.evaluate("el => el === document.activeElement"):
            break
    expect(sign_out).to_be_focused()
    phone.keyboard.press("Enter")
    expect(phone).to_have_url(re.compile(r"/login"))


def test_scan_page_targets_are_44_px(phone_at, district, staff_user):
    for role, size in (("aide", "390"), ("tech", "320")):
        page = phone_at(size)
        email, password = staff_user(role, "LHS")
        sign_in(page, email, password, next_path="/scan")
        expect(page.get_by_label("Tag, asset tag or serial")).to_be_visible()
        page.get_by_text("Condition and note for the next scans").click()  # opens the options
        expect(page.locator("#scan-condition")).to_be_visible()
        assert small_targets(page, "main") == [], role
        assert small_targets(page, "#tabbar") == [], role
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        assert_tab_bar_clear_of_content(page)


@pytest.mark.parametrize("size", ["390", "320"])
def test_desk_targets_are_44_px_condition_radios_included(phone_at, district, staff_user, size):
    page = phone_at(size)
    email, password = staff_user("librarian", "LHS")
    sign_in(page, email, password)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Loaner desk")
    radios = page.locator(".conditions label")
    expect(radios.first).to_be_visible()
    assert radios.count() >= 4
    assert small_targets(page, "main") == []
    # With a student picked, the panel's Cancel is a target too.
    page.get_by_label("Scan or type a student ID, a name, or a device").fill("LHS100001")
    page.keyboard.press("Enter")
    expect(page.locator("#desk-panel")).to_contain_text("Zoe Martinez")
    expect(page.locator("#desk-panel").get_by_role("button", name="Cancel")).to_be_visible()
    assert small_targets(page, "main") == []
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    assert_tab_bar_clear_of_content(page)


def test_desktop_keeps_the_header_links(desktop, district, staff_user):
    email, password = staff_user("tech", "LHS")
    sign_in(desktop, email, password)
    expect(desktop.locator("#tabbar")).to_be_hidden()
    header = desktop.locator("header .nav")
    expect(header).to_be_visible()
    expect(header.locator("a").first).to_have_text("Tickets")
    for name in ("Scan", "Devices", "Repairs", "Labels", "Audits", "People", "Desk", "Closet", "Activity"):
        expect(header.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(header.locator('a[aria-current="page"]')).to_have_text("Tickets")
    assert desktop.evaluate(NO_SIDEWAYS_SCROLL)


# Where the focused element sits against the sticky header and the tab bar (null when focus is outside main).
FOCUS_BOX = """() => {
  const el = document.activeElement;
  if (!el || !document.querySelector("main").contains(el)) return null;
  const r = el.getBoundingClientRect();
  return { what: el.id || el.tagName, top: r.top, bottom: r.bottom,
           header: document.querySelector("header").getBoundingClientRect().bottom,
           bar: document.querySelector("#tabbar").getBoundingClientRect().top };
}"""


def test_tabbing_down_the_desk_never_hides_focus_under_the_bars(phone_at, district, staff_user):
    page = phone_at("320")
    email, password = staff_user("librarian", "LHS")
    sign_in(page, email, password)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Loaner desk")
    page.locator("header .brand").focus()
    seen = []
    for _ in range(25):
        page.keyboard.press("Tab")
        box = page.evaluate(FOCUS_BOX)
        if box is None:
            if seen:
                break  # out of main: into the tab bar
            continue
        seen.append(box["what"])
        assert box["top"] >= box["header"] - 0.5 and box["bottom"] <= box["bar"] + 0.5, box
    assert "desk-code" in seen and "desk-note" in seen, seen


def test_scrolling_to_a_control_leaves_it_above_the_tab_bar(phone_at, district, staff_user):
    """Safari scrolls a focused control just into view ("nearest"); scroll-padding keeps it clear of the bars."""
    page = phone_at("320")
    email, password = staff_user("librarian", "LHS")
    sign_in(page, email, password)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Loaner desk")
    last = page.locator("#loan-results .count")
    page.evaluate("window.scrollTo(0, 0)")
    assert last.bounding_box()["y"] > 640, "the check needs the element below the screen first"
    last.evaluate("el => el.scrollIntoView({ block: 'nearest' })")
    bar_top = page.locator("#tabbar").bounding_box()["y"]
    box = last.bounding_box()
    assert box["y"] + box["height"] <= bar_top + 0.5, (box, bar_top)
    header_bottom = page.evaluate("document.querySelector('header').getBoundingClientRect().bottom")
    page.get_by_label("Scan or type a student ID, a name, or a device").evaluate(
        "el => el.scrollIntoView({ block: 'nearest' })"
    )
    assert page.get_by_label("Scan or type a student ID, a name, or a device").bounding_box()["y"] >= header_bottom
