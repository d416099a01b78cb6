"""A student's report on a 390×844 phone: the error summary takes focus and leads to each field, the done page
copies the status link, the status page says what next in Spanish, and no service worker is installed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import BrowserContext, Page, expect

from app.extensions import db
from app.models import Asset
from tests.browser.conftest import PHONE, sign_in, wait_until

REGISTRATIONS = "navigator.serviceWorker.getRegistrations().then((regs) => regs.length)"


@pytest.fixture
def code(app, district) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Asset.tag_code).where(Asset.asset_tag == "LHS-1000"))


@pytest.fixture
def clipboard_phone(browser, live_server) -> Iterator[Page]:
    """A phone whose pages may read and write the clipboard, as a person allows when they tap Copy."""
    context: BrowserContext = browser.new_context(
        base_url=live_server, permissions=["clipboard-read", "clipboard-write"], **PHONE
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def file_report(page: Page, code: str, lang: str = "en") -> str:
    """Report a cracked screen on the device; the status link the done page shows."""
    page.goto(f"/t/{code}?lang={lang}")
    page.locator("input[name=category][value=cracked_screen]").check()
    page.locator("#description").fill("The corner is shattered.")
    page.locator("form button[type=submit]").click()
    expect(page.locator("#ticket-number")).to_have_text(re.compile(r"^T-\d{6}$"))
    return page.locator("#status-link").get_attribute("href") or ""


def test_a_failed_submit_focuses_the_summary_whose_links_lead_to_the_fields(phone, code):
    phone.goto(f"/t/{code}")
    phone.get_by_label("Describe the problem").fill("   ")
    phone.get_by_role("button", name="Send the report").click()

    summary = phone.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary.get_by_role("heading")).to_have_text("Fix these, then send the report again")
    links = summary.get_by_role("link")
    expect(links).to_have_text(["Choose what is wrong.", "Describe what is wrong."])

    summary.get_by_role("link", name="Describe what is wrong.").click()
    description = phone.get_by_label("Describe the problem")
    expect(description).to_be_focused()
    expect(description).to_be_in_viewport()
    expect(description).to_have_attribute("aria-invalid", "true")
    # The field's message is read with the field.
    expect(description).to_have_accessible_description(re.compile("Describe what is wrong."))

    phone.locator("#error-summary").get_by_role("link", name="Choose what is wrong.").click()
    first = phone.get_by_label("Cracked screen")
    expect(first).to_be_focused()
    expect(phone.get_by_role("group", name="What is wrong?")).to_be_in_viewport()
    # From the keyboard: the choice is made where the link left the focus.
    phone.keyboard.press("Space")
    expect(first).to_be_checked()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_summary_speaks_spanish_too(phone, code):
    phone.goto(f"/t/{code}?lang=es")
    phone.get_by_role("button", name="Enviar el reporte").click()
    summary = phone.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text("Corrige esto y vuelve a enviar el reporte")
    summary.get_by_role("link", name="Describe qué pasa.").click()
    expect(phone.get_by_label("Describe el problema")).to_be_focused()


def test_copy_puts_the_status_link_on_the_clipboard(clipboard_phone, code):
    page = clipboard_phone
    link = file_report(page, code)
    assert re.match(r"^http://127\.0\.0\.1:\d+/reports/status/[\w-]+$", link)
    expect(page.locator("#status-url")).to_have_text(link)

    page.get_by_role("button", name="Copy the link").click()
    expect(page.locator("#share-note")).to_have_text("Link copied.")
    assert page.evaluate("navigator.clipboard.readText()") == link
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_share_falls_back_to_copying_where_the_phone_cannot_share(browser, live_server, code):
    context = browser.new_context(base_url=live_server, permissions=["clipboard-read", "clipboard-write"], **PHONE)
    # A browser without the Web Share API (desktop Firefox, many Android webviews).
    context.add_init_script("Object.defineProperty(Navigator.prototype, 'share', { value: undefined });")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        link = file_report(page, code, lang="es")
        page.evaluate("navigator.clipboard.writeText('')")
        page.get_by_role("button", name="Compartir el enlace").click()
        expect(page.locator("#share-note")).to_have_text("Enlace copiado.")
        assert page.evaluate("navigator.clipboard.readText()") == link
    finally:
        context.close()


def test_the_status_page_in_spanish_says_what_next(phone, code):
    link = file_report(phone, code)
    number = phone.locator("#ticket-number").inner_text()
    phone.goto(link + "?lang=es")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Estado de la reparación")
    expect(phone.locator("#ticket-number")).to_have_text(number)
    expect(phone.locator("#ticket-asset-tag")).to_have_text("LHS-1000")
    expect(phone.locator("#ticket-reported")).to_have_text(re.compile(r"^\d{1,2} de [a-z]+ de \d{4}$"))
    expect(phone.locator("#ticket-status")).to_have_text("Recibido: esperando a un técnico")
    expect(phone.locator("#ticket-next-step")).to_contain_text("llévalo a la biblioteca")
    assert phone.evaluate("document.documentElement.lang") == "es"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_public_pages_install_no_service_worker(phone, code, browser, live_server, staff_user):
    file_report(phone, code)
    phone.get_by_role("link", name="Check the status").click()
    expect(phone.locator("#ticket-status")).to_have_attribute("data-status", "new")
    phone.goto("/r")
    expect(phone.get_by_label("Code")).to_be_visible()
    phone.goto("/t/ZZZZZZZZZZ")
    expect(phone.locator("#unknown-code")).to_be_visible()
    phone.wait_for_load_state("networkidle")
    assert phone.evaluate(REGISTRATIONS) == 0
    assert phone.evaluate("navigator.serviceWorker.controller") is None

    # The same check sees the worker a staff page installs, so the zero above means something.
    email, password = staff_user("aide", "LHS")
    context = browser.new_context(base_url=live_server, **PHONE)
    staff = context.new_page()
    staff.set_default_timeout(10_000)
    try:
        sign_in(staff, email, password, next_path="/scan")
        wait_until(staff, REGISTRATIONS)
    finally:
        context.close()
