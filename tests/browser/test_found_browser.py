"""On a 390×844 phone: a missing device scanned (scan page and audit, online and offline), marked found; door tags
offer to switch room and never reach the unknown-tag queue; the scan page's signal, count and offline copy."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import Activity, Asset, AssetStatus, Role, Room, UnknownScan, User, Via, utcnow
from app.services import assets as asset_service
from app.services import found
from tests import factories
from tests.browser.conftest import sign_in

MISSING_ALERT = "LHS-1000 was reported missing — found here in LHS-101"


def mark_missing(app, *tags: str) -> None:
    """A tech marks the devices missing (an hour ago), so later scans find them."""
    with app.app_context():
        tech = factories.make_user(Role.tech, "LHS")
        for tag in tags:
            device = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == tag))
            asset_service.update_asset(device, {"status": AssetStatus.missing}, by=tech, via=Via.web)
        db.session.execute(sa.update(Activity).values(at=utcnow() - timedelta(hours=1)))
        db.session.commit()


def room_tag(app, code: str) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Room.tag_code).where(Room.code == code))


def unknown_scans(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(UnknownScan))


def status_of(app, tag: str) -> AssetStatus:
    with app.app_context():
        return db.session.scalar(sa.select(Asset.status).where(Asset.asset_tag == tag))


def history(app, tag: str) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(Activity.action, User.email)
            .join(User, User.id == Activity.user_id)
            .join(Asset, Asset.id == Activity.asset_id)
            .where(Asset.asset_tag == tag, Activity.action.in_([found.FOUND, found.MARKED_FOUND]))
            .order_by(Activity.id)
        ).all()
        return [(a, e) for a, e in rows]


def scan(page: Page, code: str, field: str = "Tag, asset tag or serial") -> None:
    box = page.get_by_label(field)
    box.fill(code)
    box.press("Enter")


def synced(page: Page) -> None:
    expect(page.locator("#pending-badge")).to_be_hidden(timeout=15_000)


def open_scan_page(page: Page, email: str, password: str) -> None:
    sign_in(page, email, password, next_path="/scan")
    # One campus: its offline copy arrives without asking, and the button stops offering to make it.
    expect(page.locator('[data-pack-state="LHS"]')).to_contain_text("Available offline (updated just now)")
    expect(page.locator('[data-pack-fetch="LHS"]')).to_have_text("Update Lincoln High now")


def test_scan_page_alerts_on_a_missing_device_online_and_offline_and_a_tech_marks_it_found(
    app, phone, phone_context, district, staff_user
):
    mark_missing(app, "LHS-1000")
    email, password = staff_user("tech", "LHS")
    open_scan_page(phone, email, password)
    phone.locator("#scan-room").select_option("LHS-101")

    scan(phone, "LHS-1000")
    alert = phone.locator("#scan-alerts .alert-missing")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text(MISSING_ALERT)
    expect(alert).to_have_attribute("role", "alert")
    synced(phone)
    assert history(app, "LHS-1000") == [(found.FOUND, email)]

    # Offline: the kept copy says it is missing, so the alert comes without the server.
    phone.get_by_role("button", name="Dismiss").click()
    expect(alert).to_have_count(0)
    phone_context.set_offline(True)
    scan(phone, "MKQQA7MSUA")
    expect(alert).to_contain_text(MISSING_ALERT)
    phone.get_by_role("button", name="Mark LHS-1000 found").click()
    expect(alert).to_contain_text("Marked found on this phone; it is sent when there is a signal.")
    assert status_of(app, "LHS-1000") is AssetStatus.missing

    phone_context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    expect(alert).to_contain_text("LHS-1000 marked found; status back to deployed.", timeout=15_000)
    assert status_of(app, "LHS-1000") is AssetStatus.deployed
    assert history(app, "LHS-1000") == [(found.FOUND, email), (found.MARKED_FOUND, email)]
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_an_aide_gets_the_alert_from_the_servers_answer_and_no_mark_found(app, phone, district, staff_user):
    email, password = staff_user("aide", "LHS")
    open_scan_page(phone, email, password)
    # Marked missing after the phone kept its copy: only the server knows.
    mark_missing(app, "LHS-1000")
    phone.locator("#scan-room").select_option("LHS-101")
    scan(phone, "LHS-1000")
    alert = phone.locator("#scan-alerts .alert-missing")
    expect(alert).to_contain_text(MISSING_ALERT, timeout=15_000)
    expect(alert).to_contain_text("tell a tech or an admin")
    expect(phone.get_by_role("button", name="Mark LHS-1000 found")).to_have_count(0)
    expect(phone.locator("#scan-log li").first).to_have_class(re.compile(r"\bmissing\b"))
    assert history(app, "LHS-1000") == [(found.FOUND, email)]


def test_audit_alerts_on_missing_devices_online_and_offline(app, phone, phone_context, district, staff_user):
    mark_missing(app, "LHS-1000", "LHS-1001")
    email, password = staff_user("tech", "LHS")
    sign_in(phone, email, password, "/audits/live")
    expect(phone.locator("#audit-app")).to_have_attribute("data-ready", "1")
    phone.get_by_label("Room", exact=True).select_option("LHS-101")
    phone.get_by_role("button", name="Start audit").click()
    expect(phone.get_by_role("heading", name="Audit of LHS-101")).to_be_visible()

    scan(phone, "LHS-1000")
    alerts = phone.locator("#audit-alerts .alert-missing")
    expect(alerts.first).to_contain_text(MISSING_ALERT)
    expect(phone.locator("#audit-net")).to_have_text("All synced.", timeout=15_000)

    phone_context.set_offline(True)
    scan(phone, "LHS-1001")
    expect(alerts.first).to_contain_text("LHS-1001 was reported missing — found here in LHS-101")
    expect(alerts).to_have_count(2)
    phone.get_by_role("button", name="Mark LHS-1001 found").click()
    phone_context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    expect(alerts.first).to_contain_text("LHS-1001 marked found; status back to in stock.", timeout=15_000)
    assert status_of(app, "LHS-1001") is AssetStatus.in_stock
    assert status_of(app, "LHS-1000") is AssetStatus.missing
    assert history(app, "LHS-1001") == [(found.FOUND, email), (found.MARKED_FOUND, email)]


def test_a_door_tag_in_an_audit_offers_to_switch_and_is_not_unknown(app, phone, district, staff_user):
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, "/audits/live")
    expect(phone.locator("#audit-app")).to_have_attribute("data-ready", "1")
    phone.get_by_label("Room", exact=True).select_option("LHS-101")
    phone.get_by_role("button", name="Start audit").click()
    expect(phone.get_by_role("heading", name="Audit of LHS-101")).to_be_visible()

    scan(phone, room_tag(app, "LHS-IT"))
    door = phone.locator("#audit-alerts .alert-door")
    expect(door).to_contain_text("This is LHS-IT's door tag — switch room?")
    expect(door).to_contain_text("The audit of LHS-101 stays open")
    expect(phone.locator("#n-unknown")).to_have_text("0")
    phone.get_by_role("button", name="Switch to LHS-IT").click()
    expect(phone.get_by_role("heading", name="Audit of LHS-IT")).to_be_visible()
    expect(door).to_have_count(0)
    scan(phone, "LHS-1001")
    expect(phone.locator("#n-found")).to_have_text("1")
    expect(phone.locator("#audit-net")).to_have_text("All synced.", timeout=15_000)
    expect(phone.locator("#n-unknown")).to_have_text("0")
    assert unknown_scans(app) == 0


def test_a_door_tag_on_the_scan_page_offers_to_switch_and_is_never_queued(app, phone, district, staff_user):
    email, password = staff_user("aide", "LHS")
    open_scan_page(phone, email, password)
    room = phone.locator("#scan-room")
    # No room yet: the door tag picks it.
    scan(phone, room_tag(app, "LHS-101"))
    expect(room).to_have_value("LHS-101")
    scan(phone, "LHS-1000")
    # In a room, another room's door tag asks first.
    scan(phone, room_tag(app, "LHS-IT"))
    door = phone.locator("#scan-alerts .alert-door")
    expect(door).to_contain_text("This is LHS-IT's door tag — switch room?")
    expect(room).to_have_value("LHS-101")
    expect(phone.locator("#scan-count")).to_have_text("1 scan this session")
    phone.get_by_role("button", name="Switch to LHS-IT").click()
    expect(room).to_have_value("LHS-IT")
    expect(phone.locator("#scan-log li").first).to_contain_text("Room chosen")
    # A door tag the phone does not know (another campus): the server names it, and the line says so.
    scan(phone, room_tag(app, "JMS-201"))
    line = phone.locator("#scan-log li").first
    expect(line).to_contain_text("This is JMS-201's door tag", timeout=15_000)
    expect(line).to_contain_text("door tag")
    expect(phone.get_by_role("button", name="Switch to JMS-201")).to_have_count(0)
    synced(phone)
    assert unknown_scans(app) == 0


def test_scan_page_says_offline_counts_scans_and_keeps_the_count_on_reload(
    app, phone, phone_context, district, staff_user
):
    email, password = staff_user("aide", "LHS")
    open_scan_page(phone, email, password)
    net, count = phone.locator("#scan-net"), phone.locator("#scan-count")
    expect(net).to_have_text("Online")
    expect(count).to_have_text("0 scans this session")
    phone.locator("#scan-room").select_option("LHS-101")
    scan(phone, "LHS-1000")
    expect(count).to_have_text("1 scan this session")
    phone_context.set_offline(True)
    expect(net).to_contain_text("Offline — scans are kept on this phone")
    expect(net).to_have_attribute("data-state", "offline")
    scan(phone, "LHS-1001")
    scan(phone, "NOT-A-TAG")
    expect(count).to_have_text("3 scans this session")
    expect(phone.locator('[data-pack-state="LHS"]')).to_contain_text("Available offline (updated")
    phone_context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    expect(net).to_have_text("Online")
    synced(phone)
    phone.reload()
    expect(count).to_have_text("3 scans this session")


def test_closet_finder_and_dashboard_list_found_devices(app, phone, district, staff_user):
    mark_missing(app, "LHS-1000")
    aide_email, password = staff_user("aide", "LHS")
    with app.app_context():
        aide = db.session.scalar(sa.select(User).where(User.email == aide_email))
        aide_name = aide.name
        device = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        room = db.session.scalar(sa.select(Room).where(Room.code == "LHS-101"))
        found.notice_found(device, room=room, by=aide, via=Via.sync)
        db.session.commit()
    viewer_email, _ = staff_user("viewer", "LHS")
    sign_in(phone, viewer_email, password, next_path="/")
    card = phone.locator("#dash-found")
    expect(card).to_contain_text("Found since they went missing: 1")
    expect(card).to_contain_text("Found in LHS-101")
    expect(card).not_to_contain_text(aide_name)

    phone.context.clear_cookies()
    tech_email, _ = staff_user("tech", "LHS")
    sign_in(phone, tech_email, password, next_path="/closet")
    row = phone.locator('[data-found="LHS-1000"]')
    expect(row).to_contain_text("Still marked missing")
    expect(row).to_contain_text("by")
    phone.get_by_role("button", name="Mark LHS-1000 found").click()
    expect(row).to_contain_text("Marked found")
    expect(phone.get_by_role("button", name="Mark LHS-1000 found")).to_have_count(0)
    assert status_of(app, "LHS-1000") is AssetStatus.deployed
    assert history(app, "LHS-1000") == [(found.FOUND, aide_email), (found.MARKED_FOUND, tech_email)]
