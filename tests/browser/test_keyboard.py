"""The main flows at 390×844 with the keyboard alone: Tab, Shift+Tab, arrows, Space, Enter and typing, no clicks."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import Asset, AssetStatus, Campus, Loan, Observation, Ticket
from tests import factories
from tests.browser.conftest import wait_for, wait_until

# What has the focus, in words a failure message can show.
FOCUSED = """(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return "<body>";
  const name = e.getAttribute("aria-label") || (e.labels && e.labels[0] && e.labels[0].textContent) || e.textContent;
  return `<${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}> ${(name || "").trim().slice(0, 40)}`;
})()"""
# Keyboard focus must be seen: the browser's ring or ours, on the focused element itself.
FOCUS_SHOWN = """(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return false;
  const style = getComputedStyle(e);
  const box = e.getBoundingClientRect();
  return (style.outlineStyle !== "none" || style.boxShadow !== "none") && box.width > 0 && box.height > 0;
})()"""
# Nothing fixed or sticky (the header, the phone's tab bar, a banner) covers what has the focus.
FOCUS_COVERED_BY = """(() => {
  const e = document.activeElement;
  const box = e.getBoundingClientRect();
  const x = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1);
  const y = Math.min(Math.max(box.top + Math.min(box.height / 2, 20), 0), innerHeight - 1);
  const hit = document.elementFromPoint(x, y);
  if (!hit || hit === e || e.contains(hit) || hit.contains(e)) return "";
  for (let el = hit; el && el !== document.body; el = el.parentElement) {
    if (el.contains(e)) return "";
    const position = getComputedStyle(el).position;
    if (position === "fixed" || position === "sticky") return `${el.tagName.toLowerCase()}#${el.id} (${position})`;
  }
  return "";
})()"""


@pytest.fixture
def world(app, district):
    with app.app_context():
        lhs = db.session.get(Campus, district["lhs"])
        factories.make_asset(lhs, asset_tag="LHS-L01", serial="LOANER0001", status=AssetStatus.loaner)
        db.session.commit()
        code = db.session.scalar(sa.select(Asset.tag_code).where(Asset.asset_tag == "LHS-1000"))
    return {**district, "code": code}


def focused(page: Page) -> str:
    return page.evaluate(FOCUSED)


def is_focused(page: Page, selector: str) -> bool:
    return page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector)


def tab_to(page: Page, selector: str, *, back: bool = False, most: int = 40) -> None:
    """Press Tab (Shift+Tab when back) until the element matching selector has the focus, showing it."""
    seen = []
    for _ in range(most):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        seen.append(focused(page))
        if is_focused(page, selector):
            assert page.evaluate(FOCUS_SHOWN), f"{seen[-1]} has the focus but shows no focus ring"
            covered = page.evaluate(FOCUS_COVERED_BY)
            assert not covered, f"{seen[-1]} has the focus but {covered} covers it"
            return
    raise AssertionError(f"Tab never reached {selector}; it went through: {seen}")


def tab_through(page: Page, most: int = 120) -> list[str]:
    """Tab from the top of the page through every stop until the focus leaves the page; each shows and is seen."""
    # From the very top: the body takes the focus for a moment, so the next Tab is the page's first stop.
    page.evaluate(
        "window.scrollTo(0, 0); document.body.tabIndex = -1; document.body.focus();"
        " document.body.removeAttribute('tabindex')"
    )
    stops: list[str] = []
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body || !document.hasFocus()"):
            return stops
        stops.append(focused(page))
        if stops.count(stops[-1]) > 1 and stops[0] == stops[-1]:
            return stops[:-1]
        assert page.evaluate(FOCUS_SHOWN), f"{stops[-1]} has the focus but shows no focus ring"
        covered = page.evaluate(FOCUS_COVERED_BY)
        assert not covered, f"{stops[-1]} has the focus but {covered} covers it (after {stops[:-1]})"
    raise AssertionError(f"Tab went round more than {most} stops: {stops[-10:]}")


def type_and_enter(page: Page, text: str) -> None:
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def keyboard_sign_in(page: Page, email: str, password: str, next_path: str) -> None:
    """Sign in with the keyboard alone: the email field has the focus when the page opens."""
    page.goto(f"/login?next={next_path}")
    expect(page.get_by_label("Email")).to_be_focused()
    page.keyboard.type(email)
    tab_to(page, "input[type=password]")
    type_and_enter(page, password)
    page.wait_for_url(lambda url: "/login" not in url)


def count(app, model, *where) -> int:
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
        db.session.remove()
        return n


def test_sign_in_skip_link_and_sign_out(phone: Page, phone_context, world, staff_user):
    email, password = staff_user("tech", "LHS")
    # "Keep me signed in" is ticked with Space, and the form sent from its button.
    phone.goto("/login?next=/assets")
    expect(phone.get_by_label("Email")).to_be_focused()
    phone.keyboard.type(email)
    tab_to(phone, "input[type=password]")
    phone.keyboard.type(password)
    tab_to(phone, "input[type=checkbox][name=remember]")
    phone.keyboard.press("Space")
    expect(phone.get_by_label("Keep me signed in on this device")).to_be_checked()
    tab_to(phone, "form[data-signin] button[type=submit]")
    phone.keyboard.press("Enter")
    phone.wait_for_url(lambda url: "/login" not in url)
    assert "remember_token" in {c["name"] for c in phone_context.cookies()}
    # The first Tab on a page is the skip link, seen when focused; it takes the focus past the header.
    phone.keyboard.press("Tab")
    skip = phone.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    phone.keyboard.press("Enter")
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.getElementById('main').contains(document.activeElement)"), focused(phone)
    # The account menu opens from the keyboard and signs out.
    tab_to(phone, ".menu summary", back=True)
    phone.keyboard.press("Enter")
    tab_to(phone, "form[data-logout] button")
    phone.keyboard.press("Enter")
    phone.wait_for_url(re.compile("/login"))
    expect(phone.get_by_label("Email")).to_be_focused()


def test_scan_page_pick_a_room_and_scan(phone: Page, app, world, staff_user):
    email, password = staff_user("aide", "LHS")
    keyboard_sign_in(phone, email, password, "/scan")
    expect(phone.locator("#scan-code")).to_be_focused()
    # The room list is before the field: back to it, and type-ahead picks the room.
    tab_to(phone, "#scan-room", back=True)
    phone.keyboard.type("LHS-101")
    expect(phone.locator("#scan-room")).to_have_value("LHS-101")
    tab_to(phone, "#scan-code")
    type_and_enter(phone, "LHS-1000")
    expect(phone.locator("#scan-log li").first).to_contain_text("LHS-1000")
    # The field keeps the focus for the next scan.
    expect(phone.locator("#scan-code")).to_be_focused()
    type_and_enter(phone, "LHS-1001")
    expect(phone.locator("#scan-log li")).to_have_count(2)
    wait_for(lambda: count(app, Observation) == 2)


def test_desk_lend_and_take_back(phone: Page, app, world, staff_user):
    email, password = staff_user("librarian", "LHS")
    keyboard_sign_in(phone, email, password, "/loans")
    field = phone.locator("#desk-code")
    expect(field).to_be_focused()
    panel = phone.locator("#desk-panel")
    type_and_enter(phone, "LHS100001")
    expect(panel).to_contain_text("Now scan the loaner for Zoe")
    expect(field).to_be_focused()
    type_and_enter(phone, "LOANER0001")
    expect(panel).to_contain_text("Lent LHS-L01 to Zoe Martinez")
    expect(field).to_be_focused()
    assert count(app, Loan, Loan.returned_at.is_(None)) == 1

    # The return condition is a radio group: Tab into it, arrows pick "damaged", the cursor comes back.
    tab_to(phone, "input[name=condition]:checked")
    phone.keyboard.press("ArrowDown")
    phone.keyboard.press("ArrowDown")
    expect(phone.locator("input[name=condition][value=damaged]")).to_be_checked()
    tab_to(phone, "#desk-code", back=True)
    type_and_enter(phone, "LOANER0001")
    expect(panel).to_contain_text("Zoe Martinez returned LHS-L01 (damaged)")
    expect(field).to_be_focused()
    assert count(app, Loan, Loan.returned_at.is_(None)) == 0


def test_student_report_by_keyboard(phone: Page, app, world):
    phone.goto(f"/t/{world['code']}")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Report a problem with this device")
    # Sent empty first: the errors come back and the focus is not lost.
    tab_to(phone, "form button[type=submit]")
    phone.keyboard.press("Enter")
    expect(phone.locator(".error").first).to_be_visible()
    # A category by Space, the description typed, sent with Enter on the button.
    tab_to(phone, "input[name=category]")
    phone.keyboard.press("Space")
    expect(phone.locator("input[name=category]:checked")).to_have_count(1)
    tab_to(phone, "#description")
    phone.keyboard.type("The hinge snapped when it fell off the desk.")
    tab_to(phone, "form button[type=submit]")
    phone.keyboard.press("Enter")
    expect(phone.locator("#ticket-number")).to_have_text(re.compile(r"^T-\d{6}$"))
    assert count(app, Ticket) == 1
    tab_to(phone, "#status-link")
    phone.keyboard.press("Enter")
    expect(phone.locator("#ticket-status")).to_be_visible()


def test_audit_by_keyboard(phone: Page, app, world, staff_user):
    email, password = staff_user("aide", "LHS")
    keyboard_sign_in(phone, email, password, "/audits/live")
    expect(phone.locator("#audit-app")).to_have_attribute("data-ready", "1")
    tab_to(phone, "#start-room")
    phone.keyboard.type("LHS-101")
    expect(phone.locator("#start-room")).to_have_value("LHS-101")
    tab_to(phone, "#start-form button[type=submit]")
    phone.keyboard.press("Enter")
    expect(phone.get_by_role("heading", name="Audit of LHS-101")).to_be_visible()
    # The focus goes to the scan field of the audit, not back to the top of the page.
    expect(phone.locator("#audit-code")).to_be_focused()
    type_and_enter(phone, "LHS-1000")
    expect(phone.locator("#n-found")).to_have_text("1")
    expect(phone.locator("#audit-code")).to_be_focused()
    tab_to(phone, "button[aria-label='LHS-1000 damaged']")
    phone.keyboard.press("Space")
    expect(phone.get_by_role("button", name="LHS-1000 damaged")).to_have_attribute("aria-pressed", "true")
    tab_to(phone, "#close-audit")
    phone.once("dialog", lambda d: d.accept())
    phone.keyboard.press("Enter")
    expect(phone.locator("#audit-state")).to_contain_text("closed")
    # Close audit is hidden once closed: the focus moves on to the next action.
    expect(phone.locator("#new-audit")).to_be_focused()


# Focus after htmx swaps (static/js/app.js focusAfterSwaps) ---------------------------------------------------


@pytest.fixture
def ticket_number(app, world) -> str:
    from app.models import TicketCategory, Via
    from app.services import tickets as ticket_service

    with app.app_context():
        asset = db.session.get(Asset, world["lhs_asset"])
        by = factories.make_user(factories.Role.tech, "LHS")
        ticket = ticket_service.open_ticket(
            asset, category=TicketCategory.other, description="Fan is loud.", by=by, via=Via.web
        )
        db.session.commit()
        return ticket.number


def test_refused_comment_puts_the_focus_on_the_field_marked_wrong(phone: Page, ticket_number, staff_user):
    email, password = staff_user("tech", "LHS")
    keyboard_sign_in(phone, email, password, f"/tickets/{ticket_number}")
    # The button is replaced by the swap: without somewhere to go, the focus would fall to <body>.
    tab_to(phone, "#ticket-work form:has(#ticket-comment) button", most=80)
    phone.keyboard.press("Enter")
    expect(phone.locator("#ticket-comment-error")).to_be_visible()
    expect(phone.locator("#ticket-comment")).to_be_focused()
    # Typing goes straight into it, and the comment is added.
    phone.keyboard.type("Fan replaced.")
    tab_to(phone, "#ticket-work form:has(#ticket-comment) button")
    phone.keyboard.press("Enter")
    expect(phone.locator("#ticket-timeline")).to_contain_text("Fan replaced.")
    # Nothing to fix this time: the focus is on the new Add comment button (htmx settles a moment after the swap).
    expect(phone.locator("#ticket-work form:has(#ticket-comment) button")).to_be_focused()


def test_a_swap_that_replaces_the_focused_button_keeps_the_place(phone: Page, ticket_number, staff_user):
    email, password = staff_user("tech", "LHS")
    keyboard_sign_in(phone, email, password, f"/tickets/{ticket_number}")
    # The assignee is among the other actions, folded away: Enter on its heading opens it.
    tab_to(phone, "#step-assign summary", most=80)
    phone.keyboard.press("Enter")
    tab_to(phone, "#ticket-assignee-select")
    phone.keyboard.press("ArrowDown")
    tab_to(phone, "#ticket-work form:has(#ticket-assignee-select) button")
    phone.keyboard.press("Enter")
    expect(phone.locator("#ticket-assignee")).not_to_have_text("no one")
    # The same button in the new content (its section kept open), so the next Tab goes on from here.
    expect(phone.locator("#ticket-work form:has(#ticket-assignee-select) button")).to_be_focused()


def test_a_refusal_alert_takes_the_focus(phone: Page, app, world, staff_user):
    from app.models import Person, Via
    from app.services import assets as asset_service

    with app.app_context():
        asset = db.session.get(Asset, world["lhs_asset"])
        admin = factories.make_user(factories.Role.admin)
        asset_service.assign(asset, db.session.get(Person, world["student"]), by=admin, via=Via.web)
        db.session.commit()
    email, password = staff_user("tech", "LHS")
    keyboard_sign_in(phone, email, password, "/assets/LHS-1000")
    expect(phone.get_by_role("button", name="Take back")).to_be_visible()
    # Someone else takes it back while this page is open.
    with app.app_context():
        asset = db.session.get(Asset, world["lhs_asset"])
        asset_service.unassign(asset, by=factories.make_user(factories.Role.admin), via=Via.web, condition=None)
        db.session.commit()
    tab_to(phone, "#asset-actions form:has(#return-condition) button", most=80)
    phone.keyboard.press("Enter")
    alert = phone.locator("#asset-actions [role=alert]")
    expect(alert).to_be_visible()
    expect(alert).to_be_focused()


def test_desk_scan_field_keeps_the_focus_through_a_refusal(phone: Page, world, staff_user):
    email, password = staff_user("librarian", "LHS")
    keyboard_sign_in(phone, email, password, "/loans")
    field = phone.locator("#desk-code")
    expect(field).to_be_focused()
    type_and_enter(phone, "NO-SUCH-THING-42")
    expect(phone.locator("#desk-error")).to_be_visible()
    # The desk puts the cursor back once htmx has settled: wait for that, so it can't pull the focus off the button.
    wait_until(phone, "!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")
    expect(field).to_be_focused()
    # Pressing the Enter button from the keyboard: the alert is shown, and the scanner's field has the cursor again.
    phone.keyboard.type("NO-SUCH-THING-43")
    tab_to(phone, "#desk-form .inline button")
    phone.keyboard.press("Space")
    expect(phone.locator("#desk-error")).to_contain_text("NO-SUCH-THING-43")
    expect(field).to_be_focused()


PAGES = [("aide", "/scan"), ("librarian", "/loans"), ("admin", "/"), (None, "report"), ("tech", "/assets")]


@pytest.mark.parametrize(("role", "path"), PAGES)
def test_every_stop_on_the_page_shows_its_focus_and_is_not_covered(phone: Page, world, staff_user, role, path):
    if role:
        email, password = staff_user(role, *([] if role == "admin" else ["LHS"]))
        keyboard_sign_in(phone, email, password, path)
    else:
        phone.goto(f"/t/{world['code']}")
    stops = tab_through(phone)
    assert len(stops) > 3, stops


def test_a_missing_device_alert_is_reached_and_acted_on_by_keyboard(phone: Page, app, world, staff_user):
    from tests.browser.test_found_browser import mark_missing

    mark_missing(app, "LHS-1000")
    email, password = staff_user("tech", "LHS")
    keyboard_sign_in(phone, email, password, "/scan")
    tab_to(phone, "#scan-room", back=True)
    phone.keyboard.type("LHS-101")
    tab_to(phone, "#scan-code")
    type_and_enter(phone, "LHS-1000")
    alert = phone.locator("#scan-alerts .alert-missing")
    expect(alert).to_contain_text("reported missing")
    # The scanner's field keeps the cursor; the alert's button is a few Tabs away.
    expect(phone.locator("#scan-code")).to_be_focused()
    tab_to(phone, "#scan-alerts .alert-missing button.primary", back=True)
    assert "Mark LHS-1000 found" in focused(phone), focused(phone)
    phone.keyboard.press("Enter")
    expect(alert).to_contain_text("marked found", timeout=15_000)
    # The pressed button is gone; the focus waits on the alert's Dismiss, which hands it back to the field.
    dismiss = phone.get_by_role("button", name="Dismiss")
    expect(dismiss).to_be_focused()
    phone.keyboard.press("Enter")
    expect(alert).to_have_count(0)
    expect(phone.locator("#scan-code")).to_be_focused()


def test_the_phone_tab_bar_and_its_more_menu_by_keyboard(phone: Page, world, staff_user):
    email, password = staff_user("tech", "LHS")
    keyboard_sign_in(phone, email, password, "/assets")
    more = phone.locator("#more-menu")
    tab_to(phone, "#more-menu > summary", most=80)
    phone.keyboard.press("Enter")
    expect(more).to_have_attribute("open", "")
    # Into the sheet: each place is reached, ringed and clear of the bar; Escape closes it onto its button.
    tab_to(phone, "#more-menu .more-body a")
    phone.keyboard.press("Escape")
    expect(more).not_to_have_attribute("open", "")
    expect(phone.locator("#more-menu > summary")).to_be_focused()
    phone.keyboard.press("Space")
    expect(more).to_have_attribute("open", "")
    tab_to(phone, "#more-menu .more-signout")
    phone.keyboard.press("Enter")
    phone.wait_for_url(re.compile("/login"))


def test_after_adding_a_room_the_focus_is_ready_for_the_next(phone: Page, app, world, staff_user):
    email, password = staff_user("admin")
    keyboard_sign_in(phone, email, password, "/campuses/LHS")
    code = phone.locator("#rooms").get_by_label("Code")
    tab_to(phone, "#rooms input[name=code]", most=80)
    phone.keyboard.type("118")
    tab_to(phone, "#rooms form:has(input[name=code]) button[type=submit]")
    phone.keyboard.press("Enter")
    expect(phone.locator("#rooms").get_by_role("status")).to_have_text("Added LHS-118.")
    # The section asks for it ([data-focus]): the next room's code is typed straight away.
    expect(code).to_be_focused()
    expect(code).to_have_value("")
    type_and_enter(phone, "119")
    expect(phone.locator("#rooms").get_by_role("status")).to_have_text("Added LHS-119.")
    expect(code).to_be_focused()
