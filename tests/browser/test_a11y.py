"""axe-core at 390×844 over the pages people work on: no serious or critical violation on any of them."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import Asset, AssetStatus, Audit, AuditStatus, Campus
from tests import factories
from tests.browser.a11y import assert_no_serious_violations
from tests.browser.conftest import sign_in, wait_for
from tests.browser.test_found_browser import mark_missing, open_scan_page, room_tag, scan


@pytest.fixture
def world(app, district):
    """The district plus two loaners and a second student at LHS, for the desk."""
    with app.app_context():
        lhs = db.session.get(Campus, district["lhs"])
        factories.make_asset(lhs, asset_tag="LHS-L01", serial="LOANER0001", status=AssetStatus.loaner)
        factories.make_asset(lhs, asset_tag="LHS-L02", serial="LOANER0002", status=AssetStatus.loaner)
        db.session.commit()
        code = db.session.scalar(sa.select(Asset.tag_code).where(Asset.asset_tag == "LHS-1000"))
    return {**district, "code": code}


def audit_uuid(app) -> str | None:
    with app.app_context():
        uuid = db.session.scalar(sa.select(Audit.uuid).where(Audit.status == AuditStatus.open))
        db.session.remove()
        return uuid


def test_sign_in_page(phone: Page, live_server):
    phone.goto("/login")
    expect(phone.get_by_role("button", name="Sign in")).to_be_visible()
    assert_no_serious_violations(phone, "/login")
    # A refused sign-in shows its message, which must pass too.
    phone.get_by_label("Email").fill("nobody@example.org")
    phone.get_by_label("Password").fill("wrong password")
    phone.get_by_role("button", name="Sign in").click()
    expect(phone.locator("main p.error").first).to_be_visible()
    assert_no_serious_violations(phone, "/login after a refused sign-in")


@pytest.mark.parametrize(("role", "path"), [("admin", "/dashboard"), ("aide", "/"), ("tech", "/"), ("librarian", "/")])
def test_dashboard_and_each_roles_home(phone: Page, world, staff_user, role, path):
    email, password = staff_user(role, *([] if role == "admin" else ["LHS"]))
    sign_in(phone, email, password, next_path=path)
    phone.goto(path)
    expect(phone.get_by_role("heading", level=1).first).to_be_visible()
    assert_no_serious_violations(phone, f"{path} for a {role}")


def test_scan_page_before_and_after_a_scan(phone: Page, world, staff_user):
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, next_path="/scan")
    expect(phone.get_by_label("Tag, asset tag or serial")).to_be_visible()
    assert_no_serious_violations(phone, "/scan")
    phone.get_by_label("Room", exact=True).select_option("LHS-101")
    field = phone.get_by_label("Tag, asset tag or serial")
    for code in ("LHS-1000", "NOT-A-TAG"):
        field.fill(code)
        field.press("Enter")
    expect(phone.locator("#scan-log li")).to_have_count(2)
    assert_no_serious_violations(phone, "/scan after two scans")


def test_audit_in_progress(phone: Page, app, world, staff_user):
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, next_path="/audits/live")
    expect(phone.locator("#audit-app")).to_have_attribute("data-ready", "1")
    assert_no_serious_violations(phone, "/audits/live before an audit")
    phone.get_by_label("Room", exact=True).select_option("LHS-101")
    phone.get_by_role("button", name="Start audit").click()
    expect(phone.get_by_role("heading", name="Audit of LHS-101")).to_be_visible()
    field = phone.get_by_label("Tag, asset tag or serial")
    for code in ("LHS-1000", "LHS-1001", "NOT-A-TAG"):
        field.fill(code)
        field.press("Enter")
    expect(phone.locator("#n-unknown")).to_have_text("1")
    assert_no_serious_violations(phone, "/audits/live during an audit")
    # The server's view of the same audit, open, once the phone has sent it.
    uuid = wait_for(lambda: audit_uuid(app))
    phone.goto(f"/audits/{uuid}")
    expect(phone.get_by_role("heading", level=1)).to_be_visible()
    assert_no_serious_violations(phone, "an open audit's page")


def test_loaner_desk(phone: Page, world, staff_user):
    email, password = staff_user("librarian", "LHS")
    sign_in(phone, email, password, next_path="/loans")
    field = phone.locator("#desk-code")
    expect(field).to_be_focused()
    assert_no_serious_violations(phone, "/loans")
    field.fill("LHS100001")
    field.press("Enter")
    panel = phone.locator("#desk-panel")
    expect(panel).to_contain_text("Now scan the loaner for Zoe")
    assert_no_serious_violations(phone, "/loans with a student picked")
    field.fill("LOANER0001")
    field.press("Enter")
    expect(panel).to_contain_text("Lent LHS-L01 to Zoe Martinez")
    expect(phone.locator("#loan-results")).to_contain_text("LHS-L01")
    assert_no_serious_violations(phone, "/loans after a loan")


def test_student_report_form_done_and_status(phone: Page, world):
    phone.goto(f"/t/{world['code']}")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Report a problem with this device")
    assert_no_serious_violations(phone, "the report form")
    # Sent empty: the form comes back with its errors.
    phone.get_by_role("button", name="Send the report").click()
    expect(phone.locator(".error").first).to_be_visible()
    assert_no_serious_violations(phone, "the report form with errors")
    phone.get_by_label("Cracked screen").check()
    phone.get_by_label("Describe the problem").fill("The screen is cracked across the corner.")
    phone.get_by_role("button", name="Send the report").click()
    expect(phone.locator("#ticket-number")).to_have_text(re.compile(r"^T-\d{6}$"))
    assert_no_serious_violations(phone, "the report's done page")
    phone.get_by_role("link", name="Check the status").click()
    expect(phone.locator("#ticket-status")).to_be_visible()
    assert_no_serious_violations(phone, "the report's status page")


def test_scan_page_alerts_prompts_and_offline(phone: Page, phone_context, app, world, staff_user):
    mark_missing(app, "LHS-1000")
    email, password = staff_user("tech", "LHS")
    open_scan_page(phone, email, password)
    phone.locator("#scan-room").select_option("LHS-101")
    scan(phone, "LHS-1000")
    expect(phone.locator("#scan-alerts .alert-missing")).to_have_count(1)
    assert_no_serious_violations(phone, "/scan with a missing device's alert")
    phone_context.set_offline(True)
    phone.evaluate("window.dispatchEvent(new Event('offline'))")
    scan(phone, room_tag(app, "LHS-IT"))
    expect(phone.locator("#scan-alerts .alert-door")).to_contain_text("switch room?")
    assert_no_serious_violations(phone, "/scan offline with a door tag's prompt")
    phone_context.set_offline(False)


def test_audit_alerts_and_prompts(phone: Page, app, world, staff_user):
    mark_missing(app, "LHS-1001")
    email, password = staff_user("tech", "LHS")
    sign_in(phone, email, password, "/audits/live")
    expect(phone.locator("#audit-app")).to_have_attribute("data-ready", "1")
    phone.get_by_label("Room", exact=True).select_option("LHS-101")
    phone.get_by_role("button", name="Start audit").click()
    scan(phone, "LHS-1001")
    expect(phone.locator("#audit-alerts .alert-missing")).to_have_count(1)
    scan(phone, room_tag(app, "LHS-IT"))
    expect(phone.locator("#audit-alerts .alert-door")).to_have_count(1)
    assert_no_serious_violations(phone, "an audit with a missing device's alert and a door tag's prompt")


def test_desk_alert_for_a_missing_device(phone: Page, app, world, staff_user):
    mark_missing(app, "LHS-L01")
    email, password = staff_user("librarian", "LHS")
    sign_in(phone, email, password, next_path="/loans")
    field = phone.locator("#desk-code")
    field.fill("LOANER0001")
    field.press("Enter")
    expect(phone.locator("#desk-panel")).to_contain_text("reported missing")
    assert_no_serious_violations(phone, "/loans with a missing device's alert")


def test_student_report_in_spanish_with_its_error_summary(phone: Page, world):
    phone.goto(f"/t/{world['code']}?lang=es")
    expect(phone.locator("html")).to_have_attribute("lang", "es")
    phone.locator("form button[type=submit]").click()
    expect(phone.locator(".error").first).to_be_visible()
    assert_no_serious_violations(phone, "the Spanish report form with errors")
