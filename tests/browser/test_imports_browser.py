"""An admin on a phone uploads a Google Admin export, reads the dry run, applies it, opens the mismatch list."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Asset
from tests import factories
from tests.browser.conftest import sign_in

GAM = Path("/work/shared/fixtures/google-admin/gam-print-cros.csv")


@pytest.fixture
def google_devices(app):
    """The first twelve devices of the GAM sample; LHS-1003 assigned to the student Google saw last."""
    with app.app_context():
        campuses = {code: factories.make_campus(code) for code in ("LHS", "JMS", "RES")}
        for line in GAM.read_text().splitlines()[1:13]:
            cells = line.split(",")
            factories.make_asset(campuses[cells[6][:3]], asset_tag=cells[6], serial=cells[1])
        liam = factories.make_person(campuses["LHS"], "Liam Johnson", email="liam.johnson@students.mvusd.example")
        db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1003")).assigned_to = liam
        db.session.commit()


def test_admin_uploads_checks_applies_and_opens_mismatches(phone, google_devices, staff_user, app):
    email, password = staff_user("admin")
    sign_in(phone, email, password)
    phone.get_by_role("link", name="Imports").click()
    section = phone.locator("#upload-google-admin")
    section.get_by_label("CSV file").set_input_files(str(GAM))
    section.get_by_role("button", name="Check the file").click()

    # The dry run: counts, the reconciliation, the changes; nothing saved yet.
    expect(phone.get_by_role("heading", level=2, name="Dry run: nothing saved yet")).to_be_visible()
    expect(phone.locator('[data-count="updated"]')).to_have_text("12")
    expect(phone.locator("#h-recon + .report-counts")).to_contain_text("28 in Google, not in Rollcall")
    expect(phone.locator("#changes")).to_contain_text("LHS-1000")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Asset.org_unit.is_not(None))) == 0

    phone.get_by_role("button", name="Apply 12 change(s)").click()
    expect(phone.locator("#h-summary")).to_contain_text("Applied")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Asset.org_unit.is_not(None))) == 12

    phone.get_by_role("link", name="Open the mismatch list").click()
    results = phone.locator("#mismatches")
    expect(results).to_contain_text("RES-1001")  # Google saw chloe.kim; nobody is assigned
    expect(results).not_to_contain_text("LHS-1003")  # assigned to the very student Google saw
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def test_unreadable_file_shows_the_error_on_the_field(phone, google_devices, staff_user, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Device,Model\nX,Y\n")
    email, password = staff_user("admin")
    sign_in(phone, email, password, next_path="/imports")
    section = phone.locator("#upload-google-admin")
    section.get_by_label("CSV file").set_input_files(str(bad))
    section.get_by_role("button", name="Check the file").click()
    expect(phone.locator("#google-admin-file-error")).to_contain_text("Missing column: serial")
    # The form still works after the error came back in place.
    phone.locator("#upload-google-admin").get_by_label("CSV file").set_input_files(str(GAM))
    phone.locator("#upload-google-admin").get_by_role("button", name="Check the file").click()
    expect(phone.locator('[data-count="updated"]')).to_have_text("12")
