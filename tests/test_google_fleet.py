"""Google's facts applied to the fleet: new devices created through the org-unit mapping and tag rules, one history
entry per changed device in words, the Google panel, live records in the Directory API's shape."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, AssetStatus, DeviceModel, Role, Via
from app.models.google import GoogleDevice, GoogleTagRule, OrgUnitMapping
from app.services import google_admin
from app.services.google import facts, fleet
from app.services.google.placement import prefix_key
from tests import factories

GAM = (Path("/work/shared/fixtures/google-admin") / "gam-print-cros.csv").read_bytes()


def _map(prefix: str, campus, room=None) -> None:
    db.session.add(OrgUnitMapping(prefix=prefix, prefix_key=prefix_key(prefix), campus=campus, room=room))
    db.session.flush()


@pytest.fixture
def district(ctx):
    """LHS and RES mapped by org unit (RES Room 101 a room), JMS not mapped; nothing in the inventory yet."""
    lhs, jms, res = (factories.make_campus(code) for code in ("LHS", "JMS", "RES"))
    room = factories.make_room(res, "RES-101")
    room.name = "Room 101"
    _map("/Students/LHS", lhs)
    _map("/students/res/", res)
    db.session.flush()
    return {"LHS": lhs, "JMS": jms, "RES": res, "room": room, "admin": factories.make_user()}


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _device(**fields) -> dict:
    """A ChromeOsDevice record as the Directory API returns it."""
    serial = fields.get("serialNumber", "SERIAL1")
    record = {
        "deviceId": f"dev-{serial}",
        "serialNumber": serial,
        "annotatedAssetId": f"T-{serial}",
        "status": "ACTIVE",
        "model": "Acer Chromebook 311 (C722)",
        "orgUnitPath": "/Students/LHS",
        "lastSync": "2026-11-18T21:00:00.000Z",
        "autoUpdateThrough": "2029-06-01",
        "osVersion": "143.0.0",
        "recentUsers": [{"email": "Liam@Students.example", "type": "USER_TYPE_MANAGED"}],
    }
    record.update(fields)
    return record


def test_a_google_file_creates_devices_on_mapped_campuses(district):
    dry = google_admin.run(GAM, by=district["admin"], dry_run=True)
    assert dry.ok, dry.errors
    jms_rows = [r for r in dry.not_in_rollcall if r["org_unit"] == "/Students/JMS"]
    assert dry.created == 40 - len(jms_rows) and jms_rows
    # The dry run lists each unmapped org unit with its devices, and writes nothing.
    assert dry.unmapped_org_units == [{"org_unit": "/Students/JMS", "devices": len(jms_rows)}]
    assert {r["reason"] for r in jms_rows} == {"its org unit is not mapped to a campus"}
    assert any("/Students/JMS" in note for note in dry.notes)
    assert _count(Asset) == 0 and _count(Activity) == 0 and _count(DeviceModel) == 0
    new = next(c for c in dry.changes if c["asset_tag"] == "RES-1001")
    assert new["new"] and new["fields"]["campus"] == [None, "RES"] and new["fields"]["home_room"] == [None, "RES-101"]

    report = google_admin.run(GAM, by=district["admin"], dry_run=False)
    assert report.created == dry.created and report.to_json()["counts"] == dry.to_json()["counts"]
    db.session.flush()
    res = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "RES-1001"))
    assert (res.campus.code, res.home_room.code, res.serial, str(res.model)) == (
        "RES",
        "RES-101",
        "WJ8D51111G",
        "HP Chromebook 11 G9 EE",
    )
    assert res.status is AssetStatus.in_stock and res.current_room_id is None
    assert res.last_seen_at == res.last_sync_at == datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
    assert res.google_aue_date == date(2028, 6, 1) and res.org_unit == "/Students/RES"
    assert len(res.tag_code) == 10 and res.serial.lower() in res.search_text
    assert db.session.get(GoogleDevice, res.id).os_version == "143.0.0"
    # Models Google names join the catalog.
    assert _count(DeviceModel) == len(report.new_models) > 0
    lhs_count = _count(Asset, Asset.campus_id == district["LHS"].id)
    assert lhs_count > 0 and _count(Asset, Asset.campus_id == district["JMS"].id) == 0
    # One entry per new device, naming where it went, under the import's own entry.
    entries = list(db.session.scalars(sa.select(Activity).where(Activity.asset_id == res.id)))
    assert [(e.action, e.via, e.summary) for e in entries] == [
        ("asset.create", Via.import_, "Google: new device on RES RES-101 from /Students/RES")
    ]
    assert _count(Activity, Activity.action == "asset.create") == report.created


def test_a_second_import_changes_nothing(district):
    google_admin.run(GAM, by=district["admin"], dry_run=False)
    db.session.flush()
    devices, entries = _count(Asset), _count(Activity)
    again = google_admin.run(GAM, by=district["admin"], dry_run=False)
    assert (again.created, again.updated, again.synced) == (0, 0, 0)
    assert again.unchanged == devices and again.changes == []
    db.session.flush()
    # Only the import's own entry is new.
    assert _count(Asset) == devices and _count(Activity) == entries + 1


def test_each_changed_device_gets_one_entry_in_words(district):
    fleet.apply([_device()], by=None, dry_run=False)
    later = _device(
        autoUpdateThrough="2030-06-01",
        orgUnitPath="/Students/LHS/Grade 9",
        lastSync="2026-11-20T08:00:00Z",
        osVersion="144.0.0",
    )
    report = fleet.apply([later], by=district["admin"], dry_run=False)
    assert report.updated == 1
    asset = db.session.scalar(sa.select(Asset).where(Asset.serial == "SERIAL1"))
    entries = list(
        db.session.scalars(sa.select(Activity).where(Activity.asset_id == asset.id, Activity.action == "asset.update"))
    )
    assert len(entries) == 1
    assert entries[0].summary == "Google: org unit /Students/LHS → /Students/LHS/Grade 9, AUE 2029-06 → 2030-06"
    assert entries[0].via is Via.sync and entries[0].user_id == district["admin"].id
    # The sync and the OS version moved, and are kept for the panel, but they are not history.
    assert asset.last_sync_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert db.session.get(GoogleDevice, asset.id).os_version == "144.0.0"
    assert "os_version" not in entries[0].after and "last_sync_at" not in entries[0].after


def test_a_newer_sync_alone_is_written_but_not_logged(district):
    fleet.apply([_device()], by=None, dry_run=False)
    entries = _count(Activity, Activity.asset_id.is_not(None))
    report = fleet.apply([_device(lastSync="2026-11-25T08:00:00Z", osVersion="150.0.0")], by=None, dry_run=False)
    assert (report.updated, report.unchanged, report.synced) == (0, 1, 1)
    assert _count(Activity, Activity.asset_id.is_not(None)) == entries
    asset = db.session.scalar(sa.select(Asset).where(Asset.serial == "SERIAL1"))
    db.session.refresh(asset)
    assert asset.last_seen_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    ["Jun 2027", "June 2027", "2027-06", "06/2027", "6/2027", "2027-06-01", "2027-06-01T00:00:00Z", "1811808000000"],
)
def test_google_writes_aue_months_many_ways(text):
    assert facts.aue_date(text) == date(2027, 6, 1)


def test_api_records_fall_back_to_auto_update_expiration(district):
    record = _device(autoUpdateThrough=None, autoUpdateExpiration="1811808000000", recentUsers=[])
    report = fleet.apply([record], by=None, dry_run=False)
    assert report.created == 1
    asset = db.session.scalar(sa.select(Asset).where(Asset.serial == "SERIAL1"))
    assert asset.google_aue_date == date(2027, 6, 1) and asset.google_recent_user is None


def test_tag_rules_and_annotated_asset_ids(district):
    db.session.add(GoogleTagRule(campus_id=district["RES"].id, prefix="R-"))
    factories.make_asset(district["LHS"], asset_tag="LHS-TAKEN", serial="OLD1")
    records = [
        _device(serialNumber="A1", orgUnitPath="/Students/RES", annotatedAssetId=None),  # RES's rule: R-A1
        _device(serialNumber="A2", annotatedAssetId=""),  # LHS has no rule: left unimported
        _device(serialNumber="A3", annotatedAssetId="LHS-TAKEN"),  # another device's tag
        _device(serialNumber="A4", annotatedAssetId="=1+2"),  # a formula, never a tag
        _device(serialNumber="A5", annotatedAssetId="LHS-5"),
        _device(serialNumber="A6", annotatedAssetId="lhs-5"),  # the tag of the row before
    ]
    report = fleet.apply(records, by=None, dry_run=False, full=True)
    assert report.created == 2
    reasons = {r["serial"]: r["reason"] for r in report.not_in_rollcall}
    assert reasons == {
        "A2": "no Annotated Asset ID, and its campus has no tag rule",
        "A3": "asset tag LHS-TAKEN is already another device's",
        "A4": "asset tag '=1+2' looks like a spreadsheet formula",
        "A6": "asset tag lhs-5 is also on line 5",
    }
    tags = set(db.session.scalars(sa.select(Asset.asset_tag)))
    assert tags == {"LHS-TAKEN", "R-A1", "LHS-5"}
    # A full run names the devices Google no longer has.
    assert [r["asset_tag"] for r in report.not_in_google] == ["LHS-TAKEN"]
    assert fleet.apply(records, by=None, dry_run=True).not_in_google == []


def test_annotated_location_places_a_device_without_a_mapping(district):
    report = fleet.apply(
        [_device(orgUnitPath="/Elsewhere", annotatedLocation="RES Room 101", annotatedAssetId="X-1")],
        by=None,
        dry_run=False,
    )
    assert report.created == 1
    asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "X-1"))
    assert (asset.campus_id, asset.home_room_id) == (district["RES"].id, district["room"].id)


def test_the_longest_mapped_prefix_wins(district):
    _map("/Students/LHS/Carts", district["JMS"])
    report = fleet.apply(
        [
            _device(serialNumber="C1", orgUnitPath="/Students/LHS/Carts/Cart 3", annotatedAssetId="C-1"),
            _device(serialNumber="C2", orgUnitPath="/Students/LHS/Cartsy", annotatedAssetId="C-2"),
        ],
        by=None,
        dry_run=False,
    )
    assert report.created == 2
    campus = dict(db.session.execute(sa.select(Asset.asset_tag, Asset.campus_id)).all())
    assert campus == {"C-1": district["JMS"].id, "C-2": district["LHS"].id}


def test_a_campus_scoped_run_creates_only_on_its_campuses(district):
    records = [
        _device(serialNumber="L1", annotatedAssetId="L-1"),
        _device(serialNumber="R1", orgUnitPath="/Students/RES", annotatedAssetId="R-1"),
    ]
    report = fleet.apply(records, by=None, dry_run=False, campus_ids={district["RES"].id})
    assert (report.created, report.other_campus) == (1, 1)
    assert list(db.session.scalars(sa.select(Asset.asset_tag))) == ["R-1"]


def test_bad_records_stop_the_run_unless_skipped(district):
    records = [_device(serialNumber="G1", annotatedAssetId="G-1"), _device(serialNumber="B1", lastSync="soon")]
    stopped = fleet.apply(records, by=None, dry_run=False)
    assert [(e.line, e.column) for e in stopped.errors] == [(2, "Last Sync")]
    assert _count(Asset) == 0
    skipped = fleet.apply(records, by=None, dry_run=False, skip_bad_rows=True)
    assert skipped.created == 1 and len(skipped.errors) == 1
    assert list(db.session.scalars(sa.select(Asset.asset_tag))) == ["G-1"]


def test_a_dry_run_approved_then_a_mapping_removed_writes_nothing(district):
    records = [_device(serialNumber="M1", annotatedAssetId="M-1")]
    dry = fleet.apply(records, by=None, dry_run=True)
    assert dry.created == 1
    db.session.execute(sa.delete(OrgUnitMapping).where(OrgUnitMapping.campus_id == district["LHS"].id))
    report = fleet.apply(records, by=None, dry_run=False, approved=dry.plan.to_bytes())
    assert report.different == 1 and report.differences[0]["was"] == "a new device"
    assert _count(Asset) == 0


def _page(client, tag: str) -> str:
    response = client.get(f"/assets/{tag}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_device_page_shows_the_google_panel(app, client, login_as):
    with app.app_context():
        lhs = factories.make_campus("LHS")
        _map("/Students/LHS", lhs)
        synced = datetime.now(UTC) - timedelta(days=2)
        record = _device(annotatedAssetId="LHS-G1", lastSync=synced.isoformat(), notes="cracked hinge")
        fleet.apply([record], by=None, dry_run=False)
        factories.make_asset(lhs, asset_tag="LHS-PLAIN")
        db.session.commit()
    login_as(Role.aide, "LHS")
    page = _page(client, "LHS-G1")
    assert 'id="google-panel"' in page
    for shown in ("/Students/LHS", "active", "liam@students.example", "143.0.0", "2029-06", "dev-SERIAL1"):
        assert shown in page
    assert "cracked hinge" in page
    # Seen by syncing with Google: never "in ?", never a room.
    assert "syncing with Google" in page and " in ?" not in page
    # A device Google never reported has no panel.
    assert 'id="google-panel"' not in _page(client, "LHS-PLAIN")


def test_the_panel_is_only_for_staff_who_may_see_the_device(app, client, login_as):
    with app.app_context():
        lhs, res = factories.make_campus("LHS"), factories.make_campus("RES")
        _map("/Students/LHS", lhs)
        fleet.apply([_device(annotatedAssetId="LHS-G2")], by=None, dry_run=False)
        db.session.commit()
        assert res.id
    login_as(Role.tech, "RES")
    assert client.get("/assets/LHS-G2").status_code == 404
