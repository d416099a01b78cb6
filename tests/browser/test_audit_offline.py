"""A whole room audit on a 390×844 phone with the network cut from start to finish, then synced."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Audit, AuditItem, AuditOutcome, AuditStatus, Observation
from tests import factories
from tests.browser.conftest import sign_in


def test_whole_audit_offline_then_synced(app, phone, phone_context, staff_user):
    with app.app_context():
        w = factories.make_district()
        room = w["lhs_room"]
        factories.make_asset(w["lhs"], room, asset_tag="LHS-1002", serial="SER1002")
        db.session.commit()
    email, password = staff_user("aide", "LHS")
    page = phone
    sign_in(page, email, password, "/audits/live")
    expect(page.locator("#audit-app")).to_have_attribute("data-ready", "1")

    phone_context.set_offline(True)
    page.get_by_label("Room", exact=True).select_option("LHS-101")
    page.get_by_role("button", name="Start audit").click()
    expect(page.get_by_role("heading", name="Audit of LHS-101")).to_be_visible()
    expect(page.locator("#n-expected")).to_have_text("2")

    field = page.get_by_label("Tag, asset tag or serial")
    for code in ("LHS-1000", "lhs-1000", "LHS-1001", "NOT-A-TAG"):
        field.fill(code)
        field.press("Enter")
    expect(page.locator("#scan-feedback")).to_contain_text("unknown code")
    expect(page.locator("#n-found")).to_have_text("1")
    expect(page.locator("#n-missing")).to_have_text("1")
    expect(page.locator("#n-unexpected")).to_have_text("1")
    expect(page.locator("#n-unknown")).to_have_text("1")
    expect(page.locator("#list-found li")).to_contain_text("scanned twice")
    expect(page.locator("#list-unexpected li")).to_contain_text("belongs in LHS-IT")
    page.get_by_role("button", name="LHS-1000 damaged").click()
    expect(page.get_by_role("button", name="LHS-1000 damaged")).to_have_attribute("aria-pressed", "true")

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Close audit").click()
    expect(page.locator("#audit-state")).to_have_text("closed · waiting to sync")
    expect(page.locator("#l-missing-title")).to_have_text("Missing (1)")
    expect(page.locator("#list-missing li")).to_contain_text("LHS-1002")
    expect(page.locator("#audit-net")).to_contain_text("waiting to sync")
    # Nothing reached the server while offline.
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Audit)) == 0

    phone_context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("#audit-state")).to_have_text("closed · server record", timeout=15_000)
    expect(page.locator("#audit-net")).to_have_text("All synced.")
    expect(page.locator("#rejected-box")).to_be_hidden()
    with app.app_context():
        audit = db.session.scalar(sa.select(Audit))
        assert audit.status is AuditStatus.closed
        outcomes = {
            i.asset.asset_tag: i.outcome
            for i in db.session.scalars(sa.select(AuditItem).where(AuditItem.audit_id == audit.id))
        }
        assert outcomes == {
            "LHS-1000": AuditOutcome.found,
            "LHS-1002": AuditOutcome.missing,
            "LHS-1001": AuditOutcome.unexpected,
        }
        # Two scans and one condition tap of LHS-1000, each stored once.
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(Observation).where(Observation.audit_id == audit.uuid)
            )
            == 4
        )


def test_a_rejected_start_shows_its_reason(app, phone, staff_user):
    with app.app_context():
        factories.make_district()
        db.session.commit()
    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, "/audits/live")
    expect(phone.locator("#audit-app")).to_have_attribute("data-ready", "1")
    # The room is retired between loading the page and starting.
    with app.app_context():
        from app.models import Room

        db.session.scalar(sa.select(Room).where(Room.code == "LHS-101")).active = False
        db.session.commit()
    phone.get_by_label("Room", exact=True).select_option("LHS-101")
    phone.get_by_role("button", name="Start audit").click()
    expect(phone.locator("#rejected-box")).to_be_visible(timeout=10_000)
    expect(phone.locator("#list-rejected")).to_contain_text("no longer in use")
