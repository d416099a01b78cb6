"""Snipe-IT asset import: the sample file, status and warranty mapping, people, broken variants, idempotence."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, AssetStatus, Assignment, DeviceModel, Via
from app.services import snipeit
from app.services.csvio import HeaderError
from tests import factories

SAMPLE = Path("/work/shared/fixtures/snipeit/assets-export.csv").read_bytes()
CHECKED_OUT = [
    ("Camila Kim", "camila.kim@students.mvusd.example", "JMS"),
    ("Omar Lee", "omar.lee@students.mvusd.example", "JMS"),
    ("Ezra Martinez", "ezra.martinez@students.mvusd.example", "LHS"),
    ("Leo Nguyen", "leo.nguyen@students.mvusd.example", "RES"),
    ("Liam Hernandez", "liam.hernandez@students.mvusd.example", "LHS"),
    ("Isla Chen", "isla.chen@students.mvusd.example", "JMS"),
    ("Mateo Chen", "mateo.chen@students.mvusd.example", "RES"),
    ("Diego Patel", "diego.patel@students.mvusd.example", "RES"),
    ("Leo Lopez", "leo.lopez@students.mvusd.example", "JMS"),
    ("Hana Smith", "hana.smith@students.mvusd.example", "LHS"),
]


@pytest.fixture
def world(ctx):
    campuses = {code: factories.make_campus(code) for code in ("LHS", "JMS", "RES")}
    people = {}
    for name, email, code in CHECKED_OUT:
        # Matched by email, except Omar, whom only the username finds.
        people[name] = factories.make_person(
            campuses[code],
            name,
            email=None if name == "Omar Lee" else email,
            username=email.split("@")[0],
        )
    return {"campuses": campuses, "people": people, "admin": factories.make_user()}


def _state() -> list[tuple]:
    cols = [Asset.asset_tag, Asset.serial, Asset.model_id, Asset.campus_id, Asset.status, Asset.purchase_cost]
    cols += [Asset.warranty_end, Asset.notes, Asset.assigned_to_id, Asset.updated_at]
    return [tuple(r) for r in db.session.execute(sa.select(*cols).order_by(Asset.asset_tag))]


def test_sample_file_imports_with_mapping(world):
    dry = snipeit.run(SAMPLE, by=world["admin"], dry_run=True)
    assert dry.ok, dry.errors
    assert (dry.rows, dry.created, dry.updated) == (30, 30, 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 0
    report = snipeit.run(SAMPLE, by=world["admin"], dry_run=False)
    assert report.ok and report.created == 30 and report.assigned == 11
    assert sorted(report.new_models) == [
        "Acer Chromebook 311 (C722)",
        "Acer Chromebook Spin 512",
        "Dell Chromebook 3100",
        "HP Chromebook 11 G9 EE",
        "Lenovo 300e Chromebook Gen 3",
    ]
    db.session.flush()
    first = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
    assert first.status is AssetStatus.in_repair  # "Out for Repair"
    assert first.warranty_start == date(2023, 7, 23) and first.warranty_end == date(2026, 7, 23)
    assert first.purchase_cost == Decimal("289.00")
    assert first.notes == 'Screen replaced 2025, "loaner" issued'
    statuses = dict(db.session.execute(sa.select(Asset.asset_tag, Asset.status)).all())
    assert statuses["RES-1001"] is AssetStatus.in_stock  # Ready to Deploy
    assert statuses["LHS-1004"] is AssetStatus.in_stock  # Pending
    assert statuses["RES-1015"] is AssetStatus.retired  # Broken - Not Fixable
    omar = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "JMS-1007"))
    assert omar.assigned_to.name == "Omar Lee" and omar.status is AssetStatus.deployed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 11
    summary = db.session.scalar(sa.select(Activity).where(Activity.action == "import.snipeit"))
    assert (summary.via, summary.after["created"]) == (Via.import_, 30)
    # Each new device's history starts with its own entry: what it was created with.
    entries = {e.asset_id: e for e in db.session.scalars(sa.select(Activity).where(Activity.asset_id.is_not(None)))}
    assert len(entries) == 30
    assert {(e.action, e.via, e.user_id, e.subject_type, e.subject_id) for e in entries.values()} == {
        ("asset.create", Via.import_, world["admin"].id, "activity", summary.id)
    }
    mine = entries[first.id]
    assert mine.summary == "Added LHS-1000 (Acer Chromebook 311 (C722)) from Snipe-IT" and mine.before is None
    assert mine.after["status"] == "in_repair" and mine.after["warranty_end"] == "2026-07-23"
    assert mine.after["purchase_cost"] == "289.00" and mine.campus_id == first.campus_id


def test_same_file_twice_changes_nothing(world):
    snipeit.run(SAMPLE, by=world["admin"], dry_run=False)
    db.session.flush()
    before = _state()
    again = snipeit.run(SAMPLE, by=world["admin"], dry_run=False)
    db.session.flush()
    assert (again.created, again.updated, again.unchanged) == (0, 0, 30)
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Activity).where(Activity.asset_id.is_not(None))) == 30
    )
    assert _state() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 11
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DeviceModel)) == 5


HEADER = "\ufeffAsset Tag,Serial Number,Model Name,Manufacturer,Status,Location,Purchase Date,Purchase Cost,"
HEADER += "Warranty,Notes,Email,Favourite Colour\r\n"


def test_broken_variants_report_every_row_and_import_nothing(world):
    text = (
        HEADER
        + "\r\n"
        + 'LHS-1,SN1,Chromebook 3100,Dell,Deployed,LHS,07/14/2023,"$1,289.00",36,=HYPERLINK(""x""),,blue\r\n'  # 3 ok
        + "LHS-1,SN2,Chromebook 3100,Dell,Deployed,LHS,2023-07-14,1,36,,,\r\n"  # 4 duplicate tag
        + "LHS-3,sn1,Chromebook 3100,Dell,Deployed,LHS,2023-07-14,1,36,,,\r\n"  # 5 duplicate serial (any case)
        + "LHS-4,SN4,Chromebook 3100,Dell,Sparkly,LHS,2023-07-14,1,36,,,\r\n"  # 6 unknown status
        + "LHS-5,SN5,Chromebook 3100,Dell,Deployed,Mars,2023-07-14,1,36,,,\r\n"  # 7 unknown location
        + "LHS-6,SN6,Chromebook 3100,Dell,Deployed,LHS,last year,1,36,,,\r\n"  # 8 bad date
        + "LHS-7,SN7,Chromebook 3100,Dell,Deployed,LHS,2023-07-14,cheap,36,,,\r\n"  # 9 bad cost
        + "LHS-8,SN8,Chromebook 3100,Dell,Deployed,LHS,2023-07-14,1,36,,nobody@example.org,\r\n"  # 10 unknown person
        + "LHS-9,SN9,Chromebook 3100,Dell,Deployed,LHS,,1,36,,,\r\n"  # 11 warranty without purchase date
    )
    report = snipeit.run(text.encode(), by=world["admin"], dry_run=False)
    assert [(e.line, e.column) for e in report.errors] == [
        (4, "Asset Tag"),
        (5, "Serial Number"),
        (6, "Status"),
        (7, "Location"),
        (8, "Purchase Date"),
        (9, "Purchase Cost"),
        (10, "Email"),
        (11, "Warranty"),
    ]
    assert report.notes == ["Ignored unknown column(s): Favourite Colour."]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DeviceModel)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 0


def test_formula_in_notes_is_kept_as_text_and_exported_safely(world):
    text = HEADER + 'LHS-1,sn1 ,Chromebook 3100,Dell,Deployed,LHS,07/14/2023,"$1,289.00",36,"=HYPERLINK(""x"")",,\r\n'
    report = snipeit.run(text.encode(), by=world["admin"], dry_run=False)
    assert report.ok, report.errors
    db.session.flush()
    asset = db.session.scalar(sa.select(Asset))
    assert asset.serial == "SN1" and asset.purchase_cost == Decimal("1289.00")
    assert asset.notes == '=HYPERLINK("x")'
    out = "".join(snipeit.export_csv())
    assert '\'=HYPERLINK(""x"")' in out
    assert ",=HYPERLINK" not in out


def test_missing_required_column(world):
    with pytest.raises(HeaderError, match="no Serial Number column. Its columns are: Asset Tag, Model Name") as exc:
        snipeit.run(b"Asset Tag,Model Name\nX,Y\n", by=world["admin"], dry_run=True)
    assert exc.value.missing == {"serial": "Serial Number"} and exc.value.headers == ["Asset Tag", "Model Name"]


def test_campus_scope_refuses_other_campuses(world):
    lhs = world["campuses"]["LHS"]
    report = snipeit.run(SAMPLE, by=world["admin"], campus_ids={lhs.id}, dry_run=True)
    lines = SAMPLE.decode("utf-8-sig").splitlines()
    elsewhere = {n for n, line in enumerate(lines, start=1) if n > 1 and line.split(",")[8] != "LHS"}
    assert {e.line for e in report.errors} == elsewhere
    assert {e.message for e in report.errors if e.column == "Location"} == {
        "'JMS' is not one of your campuses.",
        "'RES' is not one of your campuses.",
    }


@pytest.mark.parametrize(
    "label,status",
    [
        ("Ready to Deploy", AssetStatus.in_stock),
        ("Pending", AssetStatus.in_stock),
        ("Deployed", AssetStatus.deployed),
        ("Out for Repair", AssetStatus.in_repair),
        ("Broken - Not Fixable", AssetStatus.retired),
        ("Undeployable", AssetStatus.retired),
        ("Archived", AssetStatus.retired),
        ("Lost/Stolen", AssetStatus.missing),
        ("Loaner", AssetStatus.loaner),
        ("in_repair", AssetStatus.in_repair),
        ("Sparkly", None),
    ],
)
def test_status_labels(label, status):
    assert snipeit.map_status(label) is status


def test_months():
    assert snipeit.add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert snipeit.add_months(date(2023, 7, 23), 36) == date(2026, 7, 23)
    assert snipeit.months_between(date(2023, 7, 23), date(2026, 7, 23)) == 36
    assert snipeit.months_between(date(2023, 7, 1), date(2027, 6, 30)) == 48


def test_an_update_is_logged_on_the_device_with_before_and_after(world):
    snipeit.run(SAMPLE, by=world["admin"], dry_run=False)
    db.session.flush()
    edited = SAMPLE.replace(
        b'Out for Repair,LHS,2023-07-23,289.00,PO-4400,36,"Screen replaced 2025',
        b'Out for Repair,LHS,2023-07-23,289.00,PO-4400,36,"Keyboard replaced 2026',
    )
    report = snipeit.run(edited, by=world["admin"], dry_run=False)
    assert (report.updated, report.unchanged) == (1, 29)
    entry = db.session.scalar(sa.select(Activity).where(Activity.action == "asset.update"))
    assert db.session.get(Asset, entry.asset_id).asset_tag == "LHS-1000" and entry.via is Via.import_
    assert entry.before == {"notes": 'Screen replaced 2025, "loaner" issued'}
    assert entry.after == {"notes": 'Keyboard replaced 2026, "loaner" issued'}
    assert entry.summary == "Snipe-IT import changed notes of LHS-1000"


def _counts() -> tuple[int, int, int]:
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in (Asset, Activity, DeviceModel))


def test_apply_stops_when_a_device_with_the_same_serial_was_added_since_the_dry_run(world):
    """The dry run would add LHS-1000; someone adds a device with its serial before the apply: nothing is
    overwritten, and the row is named."""
    dry = snipeit.run(SAMPLE, by=world["admin"], dry_run=True)
    assert dry.ok and dry.created == 30
    serial = SAMPLE.decode("utf-8-sig").splitlines()[1].split(",")[2]
    made = factories.make_asset(world["campuses"]["LHS"], asset_tag="LHS-7777", serial=serial, notes="by hand")
    db.session.flush()
    before = _counts()
    report = snipeit.run(SAMPLE, by=world["admin"], dry_run=False, approved=dry.plan.to_bytes())
    assert report.different == 1
    assert [(d["line"], d["what"], d["was"]) for d in report.differences] == [(2, "LHS-1000", "a new device")]
    assert (
        report.differences[0]["now"].startswith("it would change asset tag")
        and "LHS-7777" in (report.differences[0]["now"])
    )
    db.session.expire_all()
    assert _counts() == before
    assert (made.asset_tag, made.notes) == ("LHS-7777", "by hand")
