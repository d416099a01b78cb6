"""Google Admin import: both export formats, broken files, idempotence, reconciliation, campus scope, CLI."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, AssetStatus, DeviceModel, Via
from app.services import google_admin
from app.services.assets import timeline
from app.services.csvio import HeaderError
from tests import factories

FIXTURES = Path("/work/shared/fixtures/google-admin")
CONSOLE = (FIXTURES / "admin-console-export.csv").read_bytes()
GAM = (FIXTURES / "gam-print-cros.csv").read_bytes()


def _serials(data: bytes) -> list[tuple[str, str]]:
    """(serial, annotated asset id) of every row of a fixture."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    key = "serialNumber" if "serialNumber" in rows[0] else "Serial Number"
    tag = "annotatedAssetId" if "annotatedAssetId" in rows[0] else "Annotated Asset ID"
    return [(r[key], r[tag]) for r in rows]


@pytest.fixture
def world(ctx):
    """Campuses LHS, JMS, RES; a device for each of the first 20 GAM serials; one device Google lacks."""
    campuses = {code: factories.make_campus(code) for code in ("LHS", "JMS", "RES")}
    model = factories.make_model("Acer", "Chromebook 311 (C722)", aue=None)
    assets = {}
    for serial, tag in _serials(GAM)[:20]:
        campus = campuses[tag.split("-")[0]]
        # Lower case on purpose: serials match trimmed and in any case.
        assets[serial] = factories.make_asset(campus, asset_tag=tag, serial=serial.lower(), model=model)
    extra = factories.make_asset(campuses["LHS"], asset_tag="LHS-9999", serial="NOTINGOOGLE", model=model)
    db.session.flush()
    return {"campuses": campuses, "assets": assets, "extra": extra, "admin": factories.make_user()}


def _state() -> list[tuple]:
    cols = [Asset.serial, Asset.model_id, Asset.org_unit, Asset.last_sync_at, Asset.last_seen_at]
    cols += [Asset.google_aue_date, Asset.google_recent_user, Asset.annotated_user, Asset.google_status]
    return [tuple(r) for r in db.session.execute(sa.select(*cols).order_by(Asset.id))]


def test_console_dry_run_reports_and_writes_nothing(world):
    before = _state()
    report = google_admin.run(CONSOLE, by=world["admin"], dry_run=True)
    assert report.ok, report.errors
    assert report.rows == 25
    assert report.updated == 20 and report.unchanged == 0
    assert report.not_in_rollcall_count == 5
    assert report.not_in_google_count == 1 and report.not_in_google[0]["asset_tag"] == "LHS-9999"
    assert _state() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0
    first = next(c for c in report.changes if c["asset_tag"] == "LHS-1000")
    # "June 2029" in the console export is an AUE month.
    assert first["fields"]["google_aue_date"] == [None, "2029-06-01"]
    assert first["fields"]["org_unit"] == [None, "/Students/LHS"]


def test_gam_apply_updates_assets_and_logs_the_import_and_each_device(world):
    report = google_admin.run(GAM, by=world["admin"], dry_run=False)
    assert report.ok and report.updated == 20 and report.not_in_rollcall_count == 20
    db.session.flush()
    asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "RES-1001"))
    assert asset.google_device_id == "c2fbd8a3cfdcc257-dev1"
    assert asset.google_status == "active"
    assert asset.org_unit == "/Students/RES"
    assert asset.last_sync_at == datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
    assert asset.enrolled_at == datetime(2025, 8, 20, 15, 2, 11, tzinfo=UTC)
    assert asset.aue_date == date(2028, 6, 1)
    assert asset.google_recent_user == "chloe.kim@students.mvusd.example"
    assert asset.annotated_location == "RES Room 101"
    assert str(asset.model) == "HP Chromebook 11 G9 EE"
    # A sync counts as seen: the projection moves forward to it.
    assert asset.last_seen_at == asset.last_sync_at
    summary = db.session.scalar(sa.select(Activity).where(Activity.asset_id.is_(None)))
    assert (summary.action, summary.via) == ("import.google_admin", Via.import_)
    assert summary.after["updated"] == 20 and summary.after["not_in_rollcall"] == 20
    # Every device changed has its own entry, in its own history, with what changed before and after.
    entries = list(db.session.scalars(sa.select(Activity).where(Activity.asset_id.is_not(None))))
    assert len(entries) == 20 and {e.asset_id for e in entries} == {a.id for a in world["assets"].values()}
    assert {(e.action, e.via, e.user_id, e.subject_id) for e in entries} == {
        ("asset.update", Via.import_, world["admin"].id, summary.id)
    }
    mine = next(e for e in entries if e.asset_id == asset.id)
    assert mine.campus_id == asset.campus_id and mine.at == summary.at
    assert mine.before["org_unit"] is None and mine.after["org_unit"] == "/Students/RES"
    assert mine.before["model"] == "Acer Chromebook 311 (C722)" and mine.after["model"] == "HP Chromebook 11 G9 EE"
    # A newer sync is written, never logged: it would fill every history at every sync.
    assert "last_sync_at" not in mine.after and "last_seen_at" not in mine.after
    assert mine.summary.startswith("Google: ") and "org unit — → /Students/RES" in mine.summary
    assert "AUE — → 2028-06" in mine.summary
    shown = timeline(asset)[0]
    assert shown.summary == mine.summary and shown.via == "import" and shown.after["org_unit"] == "/Students/RES"
    # Unknown models are created; a model without an AUE learns it from Google.
    assert db.session.scalar(sa.select(DeviceModel).where(DeviceModel.name == "Chromebook 311 (C722)")).aue_date == (
        date(2029, 6, 1)
    )


def test_sqlite_page_cache_is_put_back_after_an_import(app, world):
    """The import widens SQLite's page cache for its updates; the connection keeps the app's size afterwards."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("a SQLite setting")
    cache = sa.text("PRAGMA cache_size")
    assert db.session.scalar(cache) == -app.config["SQLITE_CACHE_KB"]
    google_admin.run(GAM, by=world["admin"], dry_run=False)
    assert db.session.scalar(cache) == -app.config["SQLITE_CACHE_KB"]


def test_same_file_twice_changes_nothing(world):
    google_admin.run(GAM, by=world["admin"], dry_run=False)
    db.session.flush()
    after_first = _state()
    updated_at = list(db.session.scalars(sa.select(Asset.updated_at).order_by(Asset.id)))
    models = db.session.scalar(sa.select(sa.func.count()).select_from(DeviceModel))
    again = google_admin.run(GAM, by=world["admin"], dry_run=False)
    db.session.flush()
    db.session.expire_all()
    assert again.ok and again.updated == 0 and again.unchanged == 20 and again.changes == []
    # Only the import itself is logged the second time: no device changed.
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Activity).where(Activity.asset_id.is_not(None))) == 20
    )
    assert _state() == after_first
    assert list(db.session.scalars(sa.select(Asset.updated_at).order_by(Asset.id))) == updated_at
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DeviceModel)) == models


def test_last_seen_never_moves_back(world):
    asset = world["assets"]["MKQQA7MSUA"]
    later = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    asset.last_seen_at = later
    db.session.flush()
    google_admin.run(GAM, by=world["admin"], dry_run=False)
    db.session.expire_all()
    asset = db.session.get(Asset, asset.id)
    assert asset.last_seen_at == later
    assert asset.last_sync_at == datetime(2026, 11, 18, 21, 0, tzinfo=UTC)


def test_mismatch_list_compares_recent_user_with_assignee(world):
    lhs = world["campuses"]["LHS"]
    right = factories.make_person(lhs, "Liam Johnson", email="liam.johnson@students.mvusd.example")
    wrong = factories.make_person(lhs, "Hana Smith", email="hana.smith@students.mvusd.example")
    world["assets"]["BEP0KSYZ6H"].assigned_to = right  # LHS-1003: Google's recent user is liam.johnson
    world["assets"]["P6A6YFH0N6"].assigned_to = wrong  # LHS-1008: no recent user in GAM
    world["assets"]["6VFKGXS6L9"].status = AssetStatus.loaner  # loaners change hands: never a mismatch
    db.session.flush()
    report = google_admin.run(GAM, by=world["admin"], dry_run=False)
    tags = {m["asset_tag"] for m in report.mismatches}
    assert "LHS-1003" not in tags and "LHS-1008" not in tags and "LHS-1004" not in tags
    assert "RES-1001" in tags  # recent user but assigned to no one
    db.session.flush()
    live = {a.asset_tag for a in db.session.scalars(google_admin.mismatches(world["admin"]))}
    assert live == tags
    assert report.mismatch_count == len(tags)


def test_campus_scope_touches_only_those_devices(world):
    lhs = world["campuses"]["LHS"]
    report = google_admin.run(GAM, by=world["admin"], campus_ids={lhs.id}, dry_run=False)
    db.session.expire_all()
    on_lhs = [a for a in world["assets"].values() if a.campus_id == lhs.id]
    assert report.updated == len(on_lhs)
    assert report.other_campus == 20 - len(on_lhs)
    assert {r["asset_tag"] for r in report.not_in_google} == {"LHS-9999"}
    res = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "RES-1001"))
    assert res.org_unit is None


BROKEN_HEADER = "\ufeffSerial Number , MODEL,auto-update expiration,Last Sync,Most Recent User,Shoe Size\r\n"


def test_broken_file_reports_every_bad_row_and_imports_nothing(world):
    text = (
        BROKEN_HEADER
        + "\r\n"
        + " mkqqa7msua ,Acer Chromebook 311 (C722),2029-06,2026-11-18 21:00:00,A@x.example,9\r\n"  # line 3
        + "WJ8D51111G,HP Chromebook 11 G9 EE,06/01/2028,11/18/2026 2:00 AM,,9\r\n"  # line 4
        + "\r\n"
        + "MKQQA7MSUA,Acer Chromebook 311 (C722),June 2029,,,9\r\n"  # line 6: duplicate
        + "EP4LHXDGAK,Lenovo 300e Chromebook Gen 3,someday,,,9\r\n"  # line 7: bad AUE
        + ",Dell,2026-06-01,,,9\r\n"  # line 8: no serial
        + "BEP0KSYZ6H,HP Chromebook 11 G9 EE,2028-06-01,yesterday,,9\r\n"  # line 9: bad sync
    )
    before = _state()
    report = google_admin.run(text.encode(), by=world["admin"], dry_run=False)
    assert [(e.line, e.column) for e in report.errors] == [
        (6, "Serial Number"),
        (7, "Auto Update Expiration"),
        (8, "Serial Number"),
        (9, "Last Sync"),
    ]
    assert "also on line 3" in report.errors[0].message
    assert report.notes == ["Ignored unknown column(s): Shoe Size."]
    assert _state() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_clean_variant_reads_dates_in_several_forms(world):
    text = (
        BROKEN_HEADER
        + " mkqqa7msua ,Acer Chromebook 311 (C722),2029-06,2026-11-18 21:00:00,A@X.example,9\r\n"
        + "WJ8D51111G,HP Chromebook 11 G9 EE,06/01/2028,11/18/2026 2:00 AM,,9\r\n"
        + "EP4LHXDGAK,Lenovo 300e Chromebook Gen 3,2029-06-01T00:00:00Z,2026-11-05T07:00:00+02:00,,9\r\n"
    )
    report = google_admin.run(text.encode(), by=world["admin"], dry_run=False)
    assert report.ok and report.updated == 3
    db.session.expire_all()
    a, b, c = (world["assets"][s] for s in ("MKQQA7MSUA", "WJ8D51111G", "EP4LHXDGAK"))
    assert (a.google_aue_date, b.google_aue_date, c.google_aue_date) == (
        date(2029, 6, 1),
        date(2028, 6, 1),
        date(2029, 6, 1),
    )
    assert b.last_sync_at == datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
    assert c.last_sync_at == datetime(2026, 11, 5, 5, 0, tzinfo=UTC)
    assert a.google_recent_user == "a@x.example"


def test_missing_serial_column_is_a_header_error(world):
    with pytest.raises(HeaderError, match="(?i)serial"):
        google_admin.run(b"Device,Model\nX,Y\n", by=world["admin"], dry_run=True)


def test_cli_dry_run_and_apply(app, world):
    db.session.commit()
    runner = app.test_cli_runner()
    path = FIXTURES / "gam-print-cros.csv"
    dry = runner.invoke(args=["import", "google-admin", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "20 updated" in dry.output and "would be" in dry.output
    assert "In Google, not in Rollcall: 20" in dry.output
    real = runner.invoke(args=["import", "google-admin", str(path), "--campus", "res"])
    assert real.exit_code == 0, real.output
    assert "were imported" in real.output
    db.session.expire_all()
    assert db.session.scalar(sa.select(Asset.org_unit).where(Asset.asset_tag == "RES-1001")) == "/Students/RES"
    assert db.session.scalar(sa.select(Asset.org_unit).where(Asset.asset_tag == "LHS-1000")) is None


def test_cli_broken_file_fails_with_lines(app, world, tmp_path):
    db.session.commit()
    bad = tmp_path / "bad.csv"
    bad.write_text("serialNumber,autoUpdateThrough\nMKQQA7MSUA,2029-06-01\nMKQQA7MSUA,2029-06-01\n")
    result = app.test_cli_runner().invoke(args=["import", "google-admin", str(bad)])
    assert result.exit_code == 1
    assert "line 3, Serial Number: Serial MKQQA7MSUA is also on line 2." in result.output
    assert "nothing was imported" in result.output


def _inventory() -> list[tuple]:
    return [*_state(), db.session.scalar(sa.select(sa.func.count()).select_from(Activity))]


def test_apply_stops_when_a_device_was_added_since_the_dry_run(world):
    """A serial the dry run found nowhere now belongs to a device: the apply changes nothing and says which row."""
    dry = google_admin.run(GAM, by=world["admin"], dry_run=True)
    absent = dry.not_in_rollcall[0]
    factories.make_asset(world["campuses"]["LHS"], asset_tag="LHS-7777", serial=absent["serial"])
    db.session.flush()
    before = _inventory()
    report = google_admin.run(GAM, by=world["admin"], dry_run=False, approved=dry.plan.to_bytes())
    assert report.different == 1
    assert report.differences == [
        {
            "line": absent["line"],
            "what": absent["serial"],
            "was": "a device not in Rollcall",
            "now": report.differences[0]["now"],
        }
    ]
    assert report.differences[0]["now"].startswith("it would change ") and "LHS-7777" in report.differences[0]["now"]
    db.session.expire_all()
    assert _inventory() == before
    # Planned again from now, the apply goes through.
    again = google_admin.run(GAM, by=world["admin"], dry_run=False, approved=report.plan.to_bytes())
    assert again.different == 0 and again.updated == 21


def test_apply_stops_when_a_device_changed_since_the_dry_run(world):
    dry = google_admin.run(GAM, by=world["admin"], dry_run=True)
    world["assets"]["MKQQA7MSUA"].org_unit = "/Staff"  # another import since, say
    db.session.flush()
    before = _inventory()
    report = google_admin.run(GAM, by=world["admin"], dry_run=False, approved=dry.plan.to_bytes())
    assert [(d["what"], d["was"]) for d in report.differences] == [("MKQQA7MSUA", "an update")]
    db.session.expire_all()
    assert _inventory() == before


def test_a_scan_since_the_dry_run_does_not_stop_the_apply(world):
    """Last seen only moves forward: a newer sighting leaves the sync nothing to move, and overwrites nothing."""
    dry = google_admin.run(GAM, by=world["admin"], dry_run=True)
    world["assets"]["MKQQA7MSUA"].last_seen_at = datetime(2026, 12, 1, tzinfo=UTC)
    db.session.flush()
    report = google_admin.run(GAM, by=world["admin"], dry_run=False, approved=dry.plan.to_bytes())
    assert report.different == 0 and report.updated == 20 and report.seen_moved == 19


def test_a_stream_is_imported_like_the_bytes(world, tmp_path):
    path = tmp_path / "gam.csv"
    path.write_bytes(GAM)
    with path.open("rb") as stream:
        report = google_admin.run(stream, by=world["admin"], dry_run=True)
        assert not stream.closed
    assert report.to_json() == google_admin.run(GAM, by=world["admin"], dry_run=True).to_json()
