"""An admin on a phone uploads a full roster, reads who would leave and what they hold, and imports it."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import AssetStatus, Person, Via
from app.services import assets as asset_service
from app.services import roster
from tests import factories
from tests.browser.conftest import sign_in

FIXTURES = Path("/work/shared/fixtures/oneroster")


def test_admin_checks_a_full_roster_and_imports_it(phone, staff_user, app, tmp_path):
    with app.app_context():
        for code in ("LHS", "JMS", "RES"):
            factories.make_campus(code)
        assert roster.import_roster(roster.files_from_path(FIXTURES), by=None, via=Via.cli).ok
        zoe = db.session.scalar(sa.select(Person).where(Person.external_id == "LHS100001"))
        asset = factories.make_asset(zoe.campus, asset_tag="LHS-9001", status=AssetStatus.in_stock)
        asset_service.assign(asset, zoe, by=factories.make_user(), via=Via.web)
        db.session.commit()
    lines = (FIXTURES / "users.csv").read_text(encoding="utf-8").splitlines()
    users = tmp_path / "users.csv"
    users.write_text("\n".join(line for line in lines if not line.startswith("u-00001,")), encoding="utf-8")

    email, password = staff_user("admin")
    sign_in(phone, email, password, next_path="/people/import")
    phone.get_by_label("users.csv or OneRoster zip").set_input_files(str(users))
    phone.get_by_label("orgs.csv (not needed with a zip)").set_input_files(str(FIXTURES / "orgs.csv"))
    phone.get_by_label("This is the full roster: deactivate people it no longer lists").check()
    phone.get_by_role("button", name="Check the files").click()

    expect(phone.locator("#h-roster")).to_have_text("Check what will change")
    expect(phone.locator("#roster-leaving")).to_contain_text("1 device assigned to someone leaving")
    expect(phone.locator("#roster-leaving")).to_contain_text("LHS-9001")
    expect(phone.locator(".roster-changes")).to_contain_text("not in the file")
    phone.get_by_role("button", name="Import 1 change").click()
    expect(phone.locator("#roster-import .done")).to_contain_text("Imported: 0 new, 0 updated, 1 deactivated")
    with app.app_context():
        assert db.session.scalar(sa.select(Person.active).where(Person.external_id == "LHS100001")) is False
