"""`rollcall export assets`: Snipe-IT's import columns, a byte-order mark, formula-safe cells, and exact round
trips: the export imported into the same district changes nothing, and into an empty one gives the same file."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models import Asset, AssetStatus, Assignment, DeviceModel, Role
from app.services import snipeit
from tests import factories

# Every asset column an export carries (and so a round trip must keep).
KEPT = [
    Asset.asset_tag,
    Asset.serial,
    Asset.campus_id,
    Asset.home_room_id,
    Asset.status,
    Asset.purchase_date,
    Asset.purchase_cost,
    Asset.order_number,
    Asset.warranty_start,
    Asset.warranty_end,
    Asset.notes,
    Asset.assigned_to_id,
    Asset.updated_at,
    DeviceModel.manufacturer,
    DeviceModel.name,
    DeviceModel.category,
]


def _world():
    lhs, jms = factories.make_campus("LHS"), factories.make_campus("JMS")
    room = factories.make_room(lhs, "LHS-101")
    person = factories.make_person(lhs, "Zoe Martinez", email="zoe@students.example.org", username="zoe.m")
    model = factories.make_model("HP", "Chromebook 11 G9 EE")
    a = factories.make_asset(
        lhs,
        room,
        asset_tag="LHS-1",
        serial="AAA1",
        model=model,
        purchase_date=date(2023, 7, 1),
        purchase_cost=Decimal("249.99"),
        warranty_start=date(2023, 7, 1),
        warranty_end=date(2027, 7, 1),
        notes="-2 keys missing",
    )
    a.assigned_to = person
    factories.make_asset(jms, asset_tag="JMS-1", serial="BBB2", model=model, status=AssetStatus.missing)
    factories.make_asset(lhs, asset_tag="LHS-2", serial="CCC3", model=model, status=AssetStatus.retired, notes="@sum")
    db.session.flush()
    return lhs


def _awkward_district():
    """Devices whose values a careless round trip would change."""
    lhs, jms = factories.make_campus("LHS"), factories.make_campus("JMS")
    room = factories.make_room(lhs, "LHS-117")
    jose = factories.make_person(lhs, "José Núñez-Renée", email=None, username=None, external_id="S-9001")
    ana = factories.make_person(jms, "Ana O'Neil", email="ana@students.example.org", username="ana")
    acer = factories.make_model("Acer", 'Chromebook 311 "C722"')
    lenovo = factories.make_model("Lenovo", "300e, Gen 3")
    factories.make_asset(
        lhs,
        room,
        asset_tag="LHS-0001",
        serial="NXHKJAA0012",
        model=acer,
        purchase_date=date(2023, 7, 14),
        purchase_cost=Decimal("1289.05"),
        order_number="PO-4401",
        # A warranty that starts after the purchase and ends on no whole month of it.
        warranty_start=date(2023, 8, 1),
        warranty_end=date(2026, 7, 30),
        notes='=1+2 "quoted", naïve;\r\nsecond line',
        status=AssetStatus.deployed,
    ).assigned_to = jose
    factories.make_asset(
        jms,
        asset_tag="JMS-0002",
        serial="PF3ABC",
        model=lenovo,
        warranty_end=date(2025, 12, 31),
        notes="'=already quoted",
        status=AssetStatus.in_repair,
    ).assigned_to = ana
    factories.make_asset(jms, asset_tag="JMS-0003", serial="PF3ABD", model=lenovo, notes="  spaced  ")
    factories.make_asset(lhs, asset_tag="LHS-0004", serial="X4", model=acer, status=AssetStatus.loaner, notes="@home")
    for status in (AssetStatus.in_stock, AssetStatus.missing, AssetStatus.retired):
        factories.make_asset(jms, model=lenovo, status=status, purchase_cost=Decimal("0.10"))
    for asset in db.session.scalars(sa.select(Asset)):
        if asset.assigned_to is not None:
            db.session.add(Assignment(asset=asset, person=asset.assigned_to))
    db.session.flush()


def _export() -> str:
    return "".join(snipeit.export_csv())


def _state() -> list[tuple]:
    stmt = sa.select(*KEPT).join(DeviceModel, Asset.model_id == DeviceModel.id).order_by(Asset.asset_tag)
    return [tuple(r) for r in db.session.execute(stmt)]


def _empty_the_district() -> None:
    """Devices and models go; campuses, rooms and people stay (a district that has not loaded its devices yet)."""
    db.session.execute(sa.delete(Assignment))
    db.session.execute(sa.delete(Asset))
    db.session.execute(sa.delete(DeviceModel))
    db.session.flush()


def _round_trip(admin) -> tuple[str, str]:
    """Export, import that file into the same district (nothing may change), empty the district, import again,
    export: the two files."""
    before_state, first = _state(), _export()
    report = snipeit.run(first.encode(), by=admin, dry_run=False)
    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (0, 0, len(before_state)), report.changes
    db.session.flush()
    assert _state() == before_state
    _empty_the_district()
    again = snipeit.run(first.encode(), by=admin, dry_run=False)
    assert again.ok, again.errors
    assert again.created == len(before_state)
    db.session.flush()
    return first, _export()


def test_export_rows_use_snipeit_columns(ctx):
    _world()
    text = _export()
    assert text.startswith("\ufeffAsset Tag,")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert list(rows[0]) == snipeit.HEADER
    by_tag = {r["Asset Tag"]: r for r in rows}
    assert list(by_tag) == ["JMS-1", "LHS-1", "LHS-2"]
    first = by_tag["LHS-1"]
    assert (first["Status"], first["Location"], first["Warranty"], first["Purchase Cost"]) == (
        "Deployed",
        "LHS-101",
        "48",
        "249.99",
    )
    assert (first["Warranty Start"], first["Warranty Expires"]) == ("2023-07-01", "2027-07-01")
    assert (first["Full Name"], first["Email"], first["Username"]) == (
        "Zoe Martinez",
        "zoe@students.example.org",
        "zoe.m",
    )
    assert first["Notes"] == "'-2 keys missing" and by_tag["LHS-2"]["Notes"] == "'@sum"
    assert by_tag["JMS-1"]["Status"] == "Lost/Stolen" and by_tag["JMS-1"]["Location"] == "JMS"


def test_export_then_import_changes_nothing(ctx):
    lhs = _world()
    data = "".join(snipeit.export_csv({lhs.id}))
    assert "JMS-1" not in data
    # The formula guard's apostrophes come off again: the notes are read back as they were.
    report = snipeit.run(data.encode(), by=factories.make_user(), dry_run=True)
    assert report.ok, report.errors
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)


def test_awkward_values_round_trip_exactly(ctx):
    _awkward_district()
    first, second = _round_trip(factories.make_user())
    assert first == second
    jose = next(r for r in csv.DictReader(io.StringIO(first.removeprefix("\ufeff"))) if r["Asset Tag"] == "LHS-0001")
    assert jose["Full Name"] == "José Núñez-Renée" and jose["Employee Number"] == "S-9001"
    assert jose["Order Number"] == "PO-4401" and jose["Purchase Cost"] == "1289.05"
    assert jose["Notes"].startswith("'=1+2")
    in_repair = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "JMS-0002"))
    # Checked out to Ana while in repair: the status stays what it was, the warranty has no start.
    assert in_repair.status is AssetStatus.in_repair and in_repair.warranty_start is None
    assert in_repair.notes == "'=already quoted"


def test_web_export_is_the_cli_export_with_a_bom(app, client, login_as, tmp_path):
    with app.app_context():
        _awkward_district()
        db.session.commit()
    login_as(Role.admin)
    resp = client.get("/imports/export/assets.csv")
    assert resp.status_code == 200 and resp.data.startswith("\ufeffAsset Tag".encode())
    out = tmp_path / "assets.csv"
    result = app.test_cli_runner().invoke(args=["export", "assets", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == resp.data
    # The CLI import of that file, into the same district, changes nothing.
    result = app.test_cli_runner().invoke(args=["import", "snipeit", str(out)])
    assert result.exit_code == 0, result.output
    assert "0 new, 0 updated, 7 unchanged" in result.output


def test_cli_export_to_file_and_stdout(app, tmp_path):
    with app.app_context():
        _world()
        db.session.commit()
    runner = app.test_cli_runner()
    out = tmp_path / "assets.csv"
    result = runner.invoke(args=["export", "assets", "-o", str(out)])
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert raw.startswith("\ufeffAsset Tag,Item Name,Serial Number".encode()) and raw.count(b"\r\n") == 4
    result = runner.invoke(args=["export", "assets", "--campus", "JMS"])
    assert result.exit_code == 0 and "JMS-1" in result.output and "LHS-1" not in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 3


# Free text with what spreadsheets and CSV make awkward: formula starts, quotes, separators, accents, new lines.
_TEXT = st.lists(
    st.sampled_from([*"=+-@'\" ,;\t\r\nabcXYZ0189éñÑü€", "José", "Núñez-Renée", "=1+2", "\r\n"]), max_size=12
).map("".join)
_DAY = st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31)))
_COST = st.one_of(st.none(), st.decimals(min_value=0, max_value=99999, places=2, allow_nan=False))
_DEVICE = st.fixed_dictionaries(
    {
        "status": st.sampled_from(list(AssetStatus)),
        "purchase_date": _DAY,
        "purchase_cost": _COST,
        "order_number": st.one_of(st.none(), st.from_regex(r"[A-Z0-9][A-Z0-9 /-]{0,10}[A-Z0-9]", fullmatch=True)),
        "warranty": st.one_of(st.none(), st.tuples(_DAY, st.dates(date(2000, 1, 1), date(2060, 12, 31)))),
        "notes": _TEXT,
        "assigned": st.booleans(),
    }
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(devices=st.lists(_DEVICE, min_size=1, max_size=6))
def test_property_export_import_export(app, devices):
    with app.app_context():
        try:
            campus = factories.make_campus("PRP")
            room = factories.make_room(campus)
            model = factories.make_model("Acer", "Chromebook Spin 512")
            person = factories.make_person(campus, "José Núñez-Renée", email=None, username=None)
            for n, d in enumerate(devices):
                start, end = d["warranty"] or (None, None)
                if start and end and end < start:
                    start, end = end, start
                asset = factories.make_asset(
                    campus,
                    room if n % 2 else None,
                    asset_tag=f"PRP-{n:04d}",
                    serial=f"SNPRP{n:04d}",
                    model=model,
                    status=d["status"],
                    purchase_date=d["purchase_date"],
                    purchase_cost=d["purchase_cost"],
                    order_number=d["order_number"],
                    warranty_start=start,
                    warranty_end=end,
                    notes=d["notes"],
                )
                # Rollcall never has someone's device on the shelf.
                if d["assigned"] and d["status"] is not AssetStatus.in_stock:
                    asset.assigned_to = person
            db.session.flush()
            first, second = _round_trip(factories.make_user())
            assert first == second
        finally:
            db.session.rollback()
