"""Vendors: typed vendor names become vendor rows when the database is upgraded, the admin-kept list, claims and
batches that go to a listed vendor, filling a batch by scan, and the sightings that receiving and swaps record."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Activity, Asset, ClaimStatus, Observation, ObservationSource, Role, Vendor, Via, WarrantyClaim
from app.services import tickets as ticket_service
from app.services import vendors as vendor_service
from app.services import warranty
from app.services.errors import Invalid
from app.services.repairs import swaps, workflow
from tests import factories
from tests.conftest import hx
from tests.repairs_world import make_shop
from tests.servers import fresh_database

pytestmark = pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")


def _row(table: sa.Table, counter: list[int], **given: Any) -> dict[str, Any]:
    """Values for every column the table requires (NOT NULL, no default), `given` ones as they are."""
    values = dict(given)
    for col in table.columns:
        if col.name in values or col.nullable or col.server_default is not None or col.primary_key:
            continue
        counter[0] += 1
        try:
            kind = col.type.python_type
        except NotImplementedError:
            kind = str
        if kind is bool:
            values[col.name] = False
        elif kind is int:
            values[col.name] = 0
        elif kind is datetime:
            values[col.name] = datetime(2025, 1, 2, 3, 4, 5)
        elif kind is date:
            values[col.name] = date(2025, 1, 2)
        elif kind is dict or kind is list:
            values[col.name] = {}
        else:
            values[col.name] = f"x{counter[0]}"
    return values


def test_typed_vendor_names_become_vendor_rows_and_stay_on_claims(tmp_path):
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = ""

    with fresh_database(tmp_path, "vendors") as target:
        Config.SQLALCHEMY_DATABASE_URI = target
        app = create_app(Config)
        with app.app_context():
            upgrade(revision="0017")
            meta = sa.MetaData()
            meta.reflect(
                db.engine,
                only=["campuses", "device_models", "assets", "tickets", "shipping_batches", "warranty_claims"],
            )
            t = meta.tables
            n = [0]
            with db.engine.begin() as conn:

                def add(table: str, **given: Any) -> int:
                    return conn.execute(t[table].insert().values(**_row(t[table], n, **given))).inserted_primary_key[0]

                campus = add("campuses", code="LHS", name="Lincoln")
                model = add("device_models", manufacturer="Acer", name="C740", category="chromebook")
                tickets = []
                for i in range(5):
                    asset = add(
                        "assets",
                        campus_id=campus,
                        model_id=model,
                        status="deployed",
                        condition="good",
                        asset_tag=f"LHS-{i}",
                        serial=f"SER{i}",
                        tag_code=f"CODE{i:06d}",
                    )
                    ticket = add(
                        "tickets",
                        asset_id=asset,
                        status="warranty_claim",
                        category="other",
                        source="staff",
                    )
                    tickets.append((asset, ticket))
                batch = add("shipping_batches", vendor="ACER CARE", campus_id=campus)
                typed = [" acer care", "Acer Care", "Dell", "", "Acer Care"]
                for (asset, ticket), vendor in zip(tickets, typed, strict=True):
                    add(
                        "warranty_claims",
                        ticket_id=ticket,
                        asset_id=asset,
                        vendor=vendor,
                        status="submitted",
                        batch_id=batch if vendor == "Dell" else None,
                    )
            upgrade()
            with db.engine.connect() as conn:
                vendors = conn.execute(sa.text("SELECT id, name, active FROM vendors ORDER BY lower(name)")).all()
                claims = conn.execute(sa.text("SELECT vendor, vendor_id FROM warranty_claims ORDER BY id")).all()
                batches = conn.execute(sa.text("SELECT vendor, vendor_id, carrier FROM shipping_batches")).all()
            db.engine.dispose()
    # One row per name, whatever its case and spaces, spelt the way most claims and batches spelt it.
    assert [(v.name, bool(v.active)) for v in vendors] == [("Acer Care", True), ("Dell", True)]
    acer, dell = vendors[0].id, vendors[1].id
    # The typed names stay, each claim linked to its vendor; a claim with no name is left unlinked.
    assert [tuple(c) for c in claims] == [
        (" acer care", acer),
        ("Acer Care", acer),
        ("Dell", dell),
        ("", None),
        ("Acer Care", acer),
    ]
    assert [tuple(b) for b in batches] == [("ACER CARE", acer, "")]


# --- the vendor list ---------------------------------------------------------------------------------------


@pytest.fixture
def shop(ctx):
    world = make_shop()
    db.session.commit()
    return world


def test_vendor_list_is_kept_with_activity_and_a_rename_reaches_its_claims(shop):
    admin = factories.make_user(Role.admin)
    with pytest.raises(Invalid, match="already on the list"):
        vendor_service.create({"name": " acer CARE "}, by=admin, via=Via.web)
    with pytest.raises(Invalid, match="https://"):
        vendor_service.create({"name": "Lenovo", "portal_url": "javascript:alert(1)"}, by=admin, via=Via.web)
    lenovo = vendor_service.create(
        {"name": "Lenovo", "contact": "Depot", "portal_url": "https://lenovo.example", "ship_to": "1 Depot Rd\n\n"},
        by=admin,
        via=Via.web,
    )
    assert lenovo.ship_to == "1 Depot Rd"
    claim = warranty.open_claim(shop["ticket"], vendor=str(shop["vendor"].id), by=shop["tech"], via=Via.web)
    vendor_service.update(shop["vendor"], {"name": "Acer Care Plus", "ship_to": "Acer"}, by=admin, via=Via.web)
    db.session.refresh(claim)
    assert claim.vendor == "Acer Care Plus" and claim.vendor_id == shop["vendor"].id
    vendor_service.set_active(lenovo, False, by=admin, via=Via.web)
    assert [v.name for v in vendor_service.vendors(active_only=True)] == ["Acer Care Plus", "Dell"]
    actions = db.session.scalars(sa.select(Activity.action).where(Activity.subject_type == "vendors")).all()
    assert sorted(actions) == ["vendor.create", "vendor.deactivate", "vendor.update"]


def test_a_claim_goes_to_a_listed_vendor_and_keeps_the_rma_given_at_once(shop):
    tech, ticket = shop["tech"], shop["ticket"]
    with pytest.raises(Invalid, match="not on the vendor list") as refused:
        warranty.open_claim(ticket, vendor="Bob's Repairs", by=tech, via=Via.web)
    assert refused.value.field == "vendor"
    vendor_service.set_active(shop["other_vendor"], False, by=tech, via=Via.web)
    with pytest.raises(Invalid, match="not on the vendor list"):
        warranty.open_claim(ticket, vendor="Dell", by=tech, via=Via.web)
    claim = warranty.open_claim(ticket, vendor=shop["vendor"].id, rma=" rma-77 ", by=tech, via=Via.web)
    assert (claim.vendor, claim.vendor_id, claim.rma) == ("Acer Care", shop["vendor"].id, "RMA-77")
    assert claim.status is ClaimStatus.submitted
    # Approving without typing the number again keeps the one given when it was opened.
    warranty.approve(claim, rma="", by=tech, via=Via.web)
    assert claim.status is ClaimStatus.approved and claim.rma == "RMA-77"


# --- filling a batch by scan -------------------------------------------------------------------------------


def _second_device(shop, tag: str, vendor: Vendor) -> WarrantyClaim:
    device = shop["device"]
    other = factories.make_asset(
        shop["lhs"],
        shop["room"],
        asset_tag=tag,
        serial=f"SER-{tag}",
        warranty_provider=vendor.name,
        warranty_start=device.warranty_start,
        warranty_end=device.warranty_end,
        warranty_accidental=True,
    )
    ticket = ticket_service.open_ticket(
        other, category=device_category(shop), description="Hinge", by=shop["tech"], via=Via.web
    )
    return warranty.open_claim(ticket, vendor=vendor, by=shop["tech"], via=Via.web)


def device_category(shop):
    return shop["ticket"].category


def test_scanning_a_device_into_a_batch_says_each_reason_it_cannot_join(shop):
    tech = shop["tech"]
    claim = warranty.open_claim(shop["ticket"], by=tech, via=Via.web)
    dell_claim = _second_device(shop, "LHS-2000", shop["other_vendor"])
    batch = warranty.new_batch(vendor=shop["vendor"].id, campus=shop["lhs"], by=tech, via=Via.web)
    other = warranty.new_batch(vendor="Acer Care", campus=shop["lhs"], by=tech, via=Via.web)
    nothing_open = factories.make_asset(shop["lhs"], shop["room"], asset_tag="LHS-3000", serial="SER-3000")

    def refusal(code: str) -> str:
        with pytest.raises(Invalid) as exc:
            warranty.add_by_scan(batch, code, by=tech, via=Via.web)
        assert exc.value.field == "code"
        return exc.value.message

    assert refusal("NOSUCHTAG") == "No device on your campuses matches NOSUCHTAG."
    assert refusal(nothing_open.asset_tag) == "LHS-3000 has no open warranty claim."
    assert refusal(dell_claim.asset.serial) == "The claim for LHS-2000 goes to Dell, not Acer Care."
    # A tag code read in any case finds the device; its open claim joins the box.
    assert warranty.add_by_scan(batch, shop["device"].tag_code.lower(), by=tech, via=Via.web) is claim
    assert claim.batch_id == batch.id
    assert refusal("LHS-1000") == "LHS-1000 is already in this batch."
    warranty.remove_from_batch(batch, claim, by=tech, via=Via.web)
    warranty.add_to_batch(other, claim, by=tech, via=Via.web)
    assert refusal("lhs-1000") == f"LHS-1000 is in another batch, {other.label}."
    # A device on a campus the tech does not serve is not theirs to scan.
    jms_tech = factories.make_user(Role.tech, "JMS")
    with pytest.raises(Invalid, match="No device on your campuses"):
        warranty.add_by_scan(other, "LHS-2000", by=jms_tech, via=Via.web)


def test_shipping_notes_each_device_with_carrier_and_tracking(shop):
    tech = shop["tech"]
    claim = warranty.open_claim(shop["ticket"], by=tech, via=Via.web)
    batch = warranty.new_batch(vendor="acer care", campus=shop["lhs"], by=tech, via=Via.web)
    warranty.add_by_scan(batch, "LHS-1000", by=tech, via=Via.web)
    warranty.ship_batch(batch, by=tech, via=Via.web, carrier=" UPS ", tracking="1Z999")
    entry = db.session.scalar(
        sa.select(Activity).where(Activity.action == "claim.ship", Activity.asset_id == claim.asset_id)
    )
    assert entry.summary == f"LHS-1000 shipped to Acer Care in {batch.label} by UPS, tracking 1Z999"
    assert entry.after == {"status": "shipped", "batch": batch.label, "carrier": "UPS", "tracking": "1Z999"}
    assert entry.before == {"status": "submitted"}


# --- sightings ---------------------------------------------------------------------------------------------


def _sightings(asset: Asset) -> list[Observation]:
    return list(db.session.scalars(sa.select(Observation).where(Observation.asset_id == asset.id)))


def test_receiving_a_claim_by_scan_is_a_sighting(shop):
    tech, device = shop["tech"], shop["device"]
    room_before = device.current_room_id
    claim = warranty.open_claim(shop["ticket"], by=tech, via=Via.web)
    batch = warranty.new_batch(vendor="Acer Care", campus=shop["lhs"], by=tech, via=Via.web)
    warranty.add_by_scan(batch, "LHS-1000", by=tech, via=Via.web)
    warranty.ship_batch(batch, by=tech, via=Via.web)
    assert _sightings(device) == []
    receiver = shop["tech2"]
    warranty.receive("MKQQA7MSUA", by=receiver, via=Via.web)
    db.session.flush()
    (seen,) = _sightings(device)
    assert (seen.by_id, seen.room_id, seen.source) == (receiver.id, None, ObservationSource.scan)
    assert seen.note == "Received back from Acer Care"
    db.session.expire(device)
    assert device.last_seen_at == seen.at and device.last_seen_by_id == receiver.id
    assert device.current_room_id == room_before  # no room named: it stays the last room it was seen in
    assert claim.status is ClaimStatus.returned


def test_a_loaner_swap_and_its_reversal_are_sightings_of_both_devices(shop):
    tech, device = shop["tech"], shop["device"]
    swap = swaps.swap_in_loaner(shop["ticket"], by=tech, via=Via.web)
    loaner = swap.loaner_loan.asset
    db.session.flush()
    for asset in (device, loaner):
        db.session.expire(asset)
        (seen,) = _sightings(asset)
        assert (seen.by_id, seen.source, seen.room_id) == (tech.id, ObservationSource.loan, None)
        assert asset.last_seen_at == seen.at and asset.last_seen_by_id == tech.id
    workflow.resolve(shop["ticket"], by=tech, via=Via.web)
    swaps.reverse_swap(swap, by=shop["tech2"], via=Via.web)
    db.session.flush()
    for asset in (device, loaner):
        db.session.expire(asset)
        assert len(_sightings(asset)) == 2 and asset.last_seen_by_id == shop["tech2"].id


def test_an_older_roomless_sighting_does_not_move_last_seen_back(shop):
    from app.services.observations import record_observation

    device, tech = shop["device"], shop["tech"]
    record_observation(device, shop["room"], at=datetime(2030, 1, 2, tzinfo=UTC), by=tech, via=Via.web)
    record_observation(device, None, at=datetime(2030, 1, 1, tzinfo=UTC), by=shop["tech2"], via=Via.web)
    db.session.expire(device)
    assert device.last_seen_by_id == tech.id and device.current_room_id == shop["room"].id
    assert len(_sightings(device)) == 2


# --- the pages ---------------------------------------------------------------------------------------------


def test_only_admins_change_the_vendor_list_and_techs_read_it(app, client, login_as):
    login_as(Role.tech)
    assert client.get("/repairs/vendors").status_code == 200
    assert client.post("/repairs/vendors", data={"name": "Lenovo"}).status_code == 403
    with app.app_context():
        vendor = Vendor(name="Dell")
        db.session.add(vendor)
        db.session.commit()
        vendor_id = vendor.id
    assert client.post(f"/repairs/vendors/{vendor_id}/deactivate").status_code == 403
    assert client.get(f"/repairs/vendors/{vendor_id}").status_code == 403
    login_as(Role.admin)
    resp = client.post("/repairs/vendors", data={"name": "", "portal_url": "ftp://x"})
    assert resp.status_code == 422 and "Enter the vendor&#39;s name." in resp.get_data(as_text=True)
    resp = client.post("/repairs/vendors", data={"name": "dell"})
    assert resp.status_code == 422 and "Dell is already on the list." in resp.get_data(as_text=True)
    assert client.post("/repairs/vendors", data={"name": "Lenovo", "ship_to": "1 Depot Rd"}).status_code == 303
    assert client.post(f"/repairs/vendors/{vendor_id}/deactivate").status_code == 303
    assert client.post(f"/repairs/vendors/{vendor_id}", data={"name": "Dell EMC"}).status_code == 303
    assert client.get("/repairs/vendors/999999").status_code == 404
    with app.app_context():
        rows = {v.name: v.active for v in db.session.scalars(sa.select(Vendor))}
    assert rows == {"Dell EMC": False, "Lenovo": True}


@pytest.mark.parametrize("headers", [{}, hx()])
def test_the_batch_page_takes_a_scan_and_says_why_not(app, client, login_as, headers):
    with app.app_context():
        world = make_shop()
        claim = warranty.open_claim(world["ticket"], by=world["tech"], via=Via.web)
        batch = warranty.new_batch(vendor="Acer Care", campus=world["lhs"], by=world["tech"], via=Via.web)
        db.session.commit()
        batch_id, claim_id = batch.id, claim.id
    login_as(Role.tech, "LHS")
    url = f"/repairs/batches/{batch_id}/scan"
    resp = client.post(url, data={"code": "NOPE-1"}, headers=headers)
    assert resp.status_code == 422 and "No device on your campuses matches NOPE-1." in resp.get_data(as_text=True)
    resp = client.post(url, data={"code": "LHS-1000"}, headers=headers)
    if headers:
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200 and "Added LHS-1000" in html and html.lstrip().startswith("<section")
    else:
        assert resp.status_code == 303
    resp = client.post(url, data={"code": "LHS-1000"}, headers=headers)
    assert resp.status_code == 422 and "LHS-1000 is already in this batch." in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(WarrantyClaim, claim_id).batch_id == batch_id
    login_as(Role.tech, "JMS")
    assert client.post(url, data={"code": "LHS-1000"}, headers=headers).status_code == 404
