"""An admin on a phone uploads a Google Admin export, reads the dry run, applies it, opens the mismatch list."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Asset, Campus, ImportRun
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
    phone.get_by_text("More", exact=True).click()  # a phone's tab bar keeps Imports under "More"
    phone.get_by_role("link", name="Imports").click()
    section = phone.locator("#upload-google-admin")
    section.get_by_label("CSV file").set_input_files(str(GAM))
    section.get_by_role("button", name="Check the file", exact=True).click()

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
    section.get_by_role("button", name="Check the file", exact=True).click()
    expect(phone.locator("#google-admin-file-error")).to_contain_text("no Serial Number column")
    # The form still works after the error came back in place.
    phone.locator("#upload-google-admin").get_by_label("CSV file").set_input_files(str(GAM))
    phone.locator("#upload-google-admin").get_by_role("button", name="Check the file", exact=True).click()
    expect(phone.locator('[data-count="updated"]')).to_have_text("12")


def test_a_file_over_the_limit_is_refused_on_its_field_before_it_is_sent(
    phone, google_devices, staff_user, app, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "IMPORT_MAX_CONTENT_LENGTH", 1024 * 1024)
    big = tmp_path / "big.csv"
    big.write_bytes(GAM.read_bytes() + b"x" * (1024 * 1024))
    email, password = staff_user("admin")
    sign_in(phone, email, password, next_path="/imports")
    section = phone.locator("#upload-snipeit")
    expect(section).to_contain_text("Up to 1 MB.")
    section.get_by_label("CSV file").set_input_files(str(big))
    section.get_by_role("button", name="Check the file", exact=True).click()
    expect(phone.locator("#snipeit-file-error")).to_have_text(
        "That file is larger than 1 MB, the most an import takes. Nothing was imported."
    )
    expect(section.get_by_label("CSV file")).to_have_attribute("aria-invalid", "true")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportRun)) == 0
    # A file within the limit still goes through.
    phone.locator("#upload-google-admin").get_by_label("CSV file").set_input_files(str(GAM))
    phone.locator("#upload-google-admin").get_by_role("button", name="Check the file", exact=True).click()
    expect(phone.locator('[data-count="updated"]')).to_have_text("12")


def test_apply_after_a_device_was_added_shows_why_and_the_new_dry_run(phone, google_devices, staff_user, app):
    email, password = staff_user("admin")
    sign_in(phone, email, password, next_path="/imports")
    section = phone.locator("#upload-google-admin")
    section.get_by_label("CSV file").set_input_files(str(GAM))
    section.get_by_role("button", name="Check the file", exact=True).click()
    expect(phone.get_by_role("heading", level=2, name="Dry run: nothing saved yet")).to_be_visible()
    with app.app_context():
        serial = db.session.scalar(sa.select(ImportRun)).report["not_in_rollcall"][0]["serial"]
        lhs = db.session.scalar(sa.select(Campus).where(Campus.code == "LHS"))
        factories.make_asset(lhs, asset_tag="LHS-7777", serial=serial)
        db.session.commit()

    phone.get_by_role("button", name="Apply 12 change(s)").click()
    expect(phone.locator("#h-summary")).to_have_text("Not applied: the inventory changed since the dry run")
    expect(phone.locator("#recheck")).to_contain_text("Nothing was changed.")
    expect(phone.locator("#differences")).to_contain_text(f"({serial}): the dry run found a device not in Rollcall")
    expect(phone.locator("#differences")).to_contain_text("LHS-7777")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Asset.org_unit.is_not(None))) == 0

    phone.get_by_role("button", name="Apply 13 change(s)").click()
    expect(phone.locator("#h-summary")).to_contain_text("Applied")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Asset.org_unit.is_not(None))) == 13


def test_roster_upload_over_the_limit_is_refused_on_its_field(phone, staff_user, app, tmp_path, monkeypatch):
    """Refused in the page when the files are over the limit; when only the form around them tips the request
    over, the server's 413 answer is the form again, swapped in with the same words."""
    limit = 256 * 1024
    monkeypatch.setitem(app.config, "IMPORT_MAX_CONTENT_LENGTH", limit)
    words = "That file is larger than 256 KB, the most an import takes. Nothing was imported."
    over, edge = tmp_path / "over.csv", tmp_path / "edge.csv"
    over.write_bytes(b"x" * (limit + 1))
    edge.write_bytes(b"x" * (limit - 50))
    email, password = staff_user("admin")
    sign_in(phone, email, password, next_path="/people/import")
    requests = []
    phone.on("request", lambda r: requests.append(r.url) if r.method == "POST" else None)
    phone.get_by_label("users.csv or OneRoster zip").set_input_files(str(over))
    phone.get_by_role("button", name="Check the files").click()
    expect(phone.locator("#roster-users-error")).to_have_text(words)
    assert requests == []

    phone.reload()
    phone.get_by_label("users.csv or OneRoster zip").set_input_files(str(edge))
    phone.get_by_role("button", name="Check the files").click()
    expect(phone.locator("#roster-users-error")).to_have_text(words)
    expect(phone.get_by_label("users.csv or OneRoster zip")).to_have_attribute("aria-invalid", "true")
    assert len(requests) == 1 and phone.locator("#toast:not([hidden])").count() == 0
