"""Deployment and collection days in the services and through sync: kits issued and checked, the agreement
acknowledged once per version, one return per device however many stations send it, and the summer hold."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from PIL import Image

from app.extensions import db
from app.models import (
    AccessoryOutcome,
    AccessoryTracking,
    Activity,
    Asset,
    AssetStatus,
    Assignment,
    Campus,
    Collection,
    Condition,
    Fee,
    IssuedAccessory,
    Person,
    Role,
    Ticket,
    User,
    Via,
    utcnow,
)
from app.services.deployment import agreements, collect, deploy, kits
from app.services.errors import Invalid
from app.services.users import issue_token
from tests import factories


def signature_url(blank: bool = False, size: tuple[int, int] = (300, 120)) -> str:
    """A PNG data URL as the station's canvas makes it: a transparent box with a stroke (unless blank)."""
    im = Image.new("RGBA", size, (0, 0, 0, 0))
    if not blank:
        for x in range(min(20, size[0] - 1), min(200, size[0])):
            im.putpixel((x, (size[1] // 2 + x % 7) % size[1]), (0, 0, 0, 255))
    out = io.BytesIO()
    im.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def make_kit_world() -> dict:
    """A charger (issued yes/no, fee "Lost charger") and a hotspot (by serial), this year's agreement, a librarian."""
    admin = factories.make_user(Role.admin)
    charger = kits.add_kind(
        "Charger", tracking=AccessoryTracking.issued, fee_reason="Lost charger", standard=True, by=admin, via=Via.web
    )
    hotspot = kits.add_kind(
        "Hotspot", tracking=AccessoryTracking.serial, fee_reason=None, standard=False, by=admin, via=Via.web
    )
    agreement = agreements.publish(
        agreements.school_year(), "Device agreement", "Be kind to it.", by=admin, via=Via.web
    )
    librarian = factories.make_user(Role.librarian, "LHS", email="station@example.org")
    return {"admin": admin, "charger": charger, "hotspot": hotspot, "agreement": agreement, "librarian": librarian}


@pytest.fixture
def world(app, district):
    with app.app_context():
        made = make_kit_world()
        db.session.commit()
        ids = {k: v.id for k, v in made.items()}
    return {**district, **ids}


def get(model, id_):
    return db.session.get(model, id_)


def asset_by_tag(tag: str) -> Asset:
    return db.session.scalar(sa.select(Asset).where(Asset.asset_tag == tag))


def deploy_spare(world, *, hotspot: str | None = "HS-77") -> int:
    """Deploy LHS-1001 to Zoe Martinez with a charger (and a hotspot) and a typed name; the deployment's id."""
    by = get(User, world["librarian"])
    lines = [kits.KitLine(get_kind(world, "charger"))]
    if hotspot:
        lines.append(kits.KitLine(get_kind(world, "hotspot"), hotspot))
    done = deploy.deploy(
        get(Asset, world["spare"]),
        get(Person, world["student"]),
        kit=lines,
        signed_name="Zoe Martinez",
        signature_png=None,
        by=by,
        via=Via.web,
        station="Gym 1",
    )
    db.session.commit()
    return done.id


def get_kind(world, name):
    from app.models import AccessoryKind

    return db.session.get(AccessoryKind, world[name])


def test_school_year_turns_in_july():
    assert agreements.school_year(date(2026, 6, 30)) == "2025-26"
    assert agreements.school_year(date(2026, 7, 1)) == "2026-27"
    assert agreements.school_year(date(2099, 12, 31)) == "2099-00"


def test_deployment_assigns_issues_the_kit_and_keeps_the_acknowledgement(app, world):
    with app.app_context():
        deployment_id = deploy_spare(world)
        from app.models import Deployment

        d = db.session.get(Deployment, deployment_id)
        assert d.asset.status is AssetStatus.deployed and d.asset.assigned_to_id == world["student"]
        assert d.assignment.returned_at is None and d.station == "Gym 1" and not d.redeployed
        assert len(d.receipt_token) >= 24
        issued = kits.issued_with(d)
        assert [(r.kind.name, r.serial) for r in issued] == [("Charger", None), ("Hotspot", "HS-77")]
        assert d.ack is not None and d.ack.signed_name == "Zoe Martinez" and d.ack.agreement_id == world["agreement"]
        actions = db.session.scalars(sa.select(Activity.action).order_by(Activity.id)).all()
        assert actions[-3:] == ["agreement.acknowledge", "asset.assign", "deployment.deploy"]
        # The same device again: already hers.
        with pytest.raises(Invalid, match="already deployed to Zoe Martinez"):
            deploy.deploy(d.asset, d.person, kit=[], signed_name=None, signature_png=None, by=d.by, via=Via.web)


def test_deployment_refusals(app, world):
    with app.app_context():
        by = get(User, world["librarian"])
        spare, zoe = get(Asset, world["spare"]), get(Person, world["student"])
        with pytest.raises(Invalid, match="Type the student's name or have them sign"):
            deploy.deploy(spare, zoe, kit=[], signed_name="  ", signature_png=None, by=by, via=Via.web)
        db.session.rollback()
        with pytest.raises(Invalid, match="Scan or type the hotspot's serial"):
            deploy.deploy(
                spare,
                zoe,
                kit=[kits.KitLine(get_kind(world, "hotspot"))],
                signed_name="Zoe",
                signature_png=None,
                by=by,
                via=Via.web,
            )
        db.session.rollback()
        jms = get(Asset, world["jms_asset"])
        with pytest.raises(Invalid, match="belongs to another campus"):
            deploy.deploy(jms, zoe, kit=[], signed_name="Zoe", signature_png=None, by=by, via=Via.web)
        db.session.rollback()
        loaner = factories.make_asset(get(Campus, world["lhs"]), asset_tag="LHS-L05", status=AssetStatus.loaner)
        with pytest.raises(Invalid, match="is a loaner"):
            deploy.deploy(loaner, zoe, kit=[], signed_name="Zoe", signature_png=None, by=by, via=Via.web)
        db.session.rollback()


def test_no_agreement_for_the_year_means_no_deployment(app, district):
    with app.app_context():
        by = factories.make_user(Role.librarian, "LHS")
        spare, zoe = get(Asset, district["spare"]), get(Person, district["student"])
        with pytest.raises(Invalid, match=f"no acceptable-use agreement for {agreements.school_year()}"):
            deploy.deploy(spare, zoe, kit=[], signed_name="Zoe", signature_png=None, by=by, via=Via.web)


def test_a_serial_tracked_accessory_goes_out_with_one_device_at_a_time(app, world):
    with app.app_context():
        deploy_spare(world, hotspot="HS-77")
        lhs = get(Campus, world["lhs"])
        other = factories.make_asset(lhs, asset_tag="LHS-1002", status=AssetStatus.in_stock)
        ana = factories.make_person(lhs, "Ana Ruiz", external_id="LHS100007")
        with pytest.raises(Invalid, match="Hotspot HS-77 is out with LHS-1001"):
            deploy.deploy(
                other,
                ana,
                kit=[kits.KitLine(get_kind(world, "hotspot"), "hs-77")],
                signed_name="Ana",
                signature_png=None,
                by=get(User, world["librarian"]),
                via=Via.web,
            )


def test_drawn_signature_is_kept_as_a_clean_png(app, world):
    with app.app_context():
        png = agreements.clean_signature(signature_url())
        assert png.startswith(b"\x89PNG")
        for bad in ("data:image/jpeg;base64,AAAA", "data:image/png;base64,not base64!", "hello"):
            with pytest.raises(Invalid, match="Draw the signature again"):
                agreements.clean_signature(bad)
        with pytest.raises(Invalid, match="signature box is empty"):
            agreements.clean_signature(signature_url(blank=True))
        with pytest.raises(agreements.SignatureTooLarge):
            agreements.clean_signature("data:image/png;base64," + "A" * (agreements.MAX_SIGNATURE_BYTES * 2))
        with pytest.raises(Invalid, match="too big"):
            agreements.clean_signature(signature_url(size=(2500, 10)))
        by = get(User, world["librarian"])
        done = deploy.deploy(
            get(Asset, world["spare"]),
            get(Person, world["student"]),
            kit=[],
            signed_name=None,
            signature_png=png,
            by=by,
            via=Via.web,
        )
        assert done.ack.signature_png == png and done.ack.signed_name is None


def test_collection_checks_the_kit_opens_a_ticket_and_suggests_fees(app, world):
    with app.app_context():
        deploy_spare(world)
        by = get(User, world["librarian"])
        back = collect.collect(
            get(Asset, world["spare"]),
            by=by,
            via=Via.web,
            returned={world["hotspot"]},
            condition=Condition.damaged,
            note="cracked corner",
        )
        db.session.commit()
        assert back.person_id == world["student"] and back.assignment.returned_at is not None
        asset = back.asset
        assert asset.status is AssetStatus.in_stock and asset.assigned_to_id is None
        assert asset.condition is Condition.damaged
        outcomes = {r.kind.name: r.outcome for r in kits.returned_with(back)}
        assert outcomes == {"Charger": AccessoryOutcome.missing, "Hotspot": AccessoryOutcome.returned}
        assert kits.open_accessories(asset) == []
        ticket = db.session.scalar(sa.select(Ticket).where(Ticket.asset_id == asset.id))
        assert back.ticket_id == ticket.id and "Came back damaged at collection from Zoe Martinez" in ticket.description
        suggested = collect.suggested_fees(back)
        assert [(s.reason, s.amount, s.charged) for s in suggested] == [
            ("Lost charger", Decimal("30.00"), False),
            (None, None, False),
        ]
        admin = get(User, world["admin"])
        fee = collect.charge(back, "Lost charger", by=admin, via=Via.web)
        db.session.commit()
        assert fee.amount == Decimal("30.00") and fee.person_id == world["student"] and fee.ticket_id is None
        assert collect.suggested_fees(back)[0].charged
        with pytest.raises(Invalid, match="already charged for Lost charger"):
            collect.charge(back, "Lost charger", by=admin, via=Via.web)
        damage = collect.charge(back, "Cracked screen", by=admin, via=Via.web)
        assert damage.ticket_id == ticket.id
        with pytest.raises(Invalid, match="from the fee schedule"):
            collect.charge(back, "Made up", by=admin, via=Via.web)


def test_a_device_handed_out_before_kits_brings_back_its_standard_kinds(app, world):
    with app.app_context():
        by = get(User, world["librarian"])
        asset, zoe = get(Asset, world["lhs_asset"]), get(Person, world["student"])
        from app.services.assets import assign

        assign(asset, zoe, by=by, via=Via.web)
        back = collect.collect(asset, by=by, via=Via.web, returned=set(), condition=Condition.good)
        rows = kits.returned_with(back)
        assert [(r.kind.name, r.outcome) for r in rows] == [("Charger", AccessoryOutcome.missing)]


def test_a_device_assigned_to_no_one_needs_the_students_id(app, world):
    with app.app_context():
        by = get(User, world["librarian"])
        asset = get(Asset, world["lhs_asset"])
        with pytest.raises(Invalid, match="assigned to no one; scan the student's ID"):
            collect.collect(asset, by=by, via=Via.web, returned=set(), condition=None)
        first = collect.collect(
            asset, by=by, via=Via.web, returned=set(), condition=None, person=get(Person, world["student"])
        )
        assert first.person_id == world["student"] and first.assignment_id is None
        with pytest.raises(collect.AlreadyReturned):
            collect.collect(asset, by=by, via=Via.web, returned=set(), condition=None, person=first.person)


def test_summer_hold_keeps_the_assignment_and_one_scan_hands_it_back(app, world):
    with app.app_context():
        deploy_spare(world)
        by = get(User, world["librarian"])
        spare = get(Asset, world["spare"])
        held = collect.collect(
            spare,
            by=by,
            via=Via.web,
            returned={world["charger"], world["hotspot"]},
            condition=Condition.good,
            hold=True,
        )
        db.session.commit()
        assert held.held and spare.status is AssetStatus.in_stock and spare.assigned_to_id == world["student"]
        assert collect.held_collection(spare) == held
        # Collected again by a second station: the one return stands.
        with pytest.raises(collect.AlreadyReturned, match="was already returned from Zoe Martinez"):
            collect.collect(spare, by=by, via=Via.web, returned=set(), condition=None)
        # Someone else cannot take it; and Zoe cannot get another device while it waits for her.
        ana = factories.make_person(get(Campus, world["lhs"]), "Ana Ruiz", external_id="LHS100007")
        with pytest.raises(Invalid, match="held for Zoe Martinez for next year"):
            deploy.deploy(spare, ana, kit=[], signed_name="Ana", signature_png=None, by=by, via=Via.web)
        db.session.rollback()
        other = factories.make_asset(get(Campus, world["lhs"]), asset_tag="LHS-1003", status=AssetStatus.in_stock)
        with pytest.raises(Invalid, match="LHS-1001 is held for Zoe Martinez; scan it to hand it back"):
            deploy.deploy(other, spare.assigned_to, kit=[], signed_name="Zoe", signature_png=None, by=by, via=Via.web)
        db.session.rollback()
        # August: the device alone names its student, and the kit that came back goes out again.
        scan = deploy.read_scan(spare.campus, "SPARE00001", None, by=by)
        assert scan.kind == "redeploy" and scan.person.id == world["student"] and scan.asset.id == spare.id
        kit = deploy.redeploy_kit(spare)
        assert [(line.kind.name, line.serial) for line in kit] == [("Charger", None), ("Hotspot", "HS-77")]
        again = deploy.deploy(spare, scan.person, kit=kit, signed_name=None, signature_png=None, by=by, via=Via.web)
        db.session.commit()
        assert again.redeployed and spare.status is AssetStatus.deployed and spare.assigned_to_id == world["student"]
        assignments = db.session.scalars(
            sa.select(Assignment).where(Assignment.asset_id == spare.id).order_by(Assignment.id)
        ).all()
        assert [a.returned_at is None for a in assignments] == [False, True]
        assert collect.held_collection(spare) is None
        # Next June it can be collected again: a new holding.
        collect.collect(spare, by=by, via=Via.web, returned=set(), condition=None)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Collection)) == 2


def test_read_scan_outcomes(app, world):
    with app.app_context():
        by = get(User, world["librarian"])
        lhs = get(Campus, world["lhs"])
        zoe = get(Person, world["student"])
        assert deploy.read_scan(lhs, "lhs100001", None, by=by).kind == "person"
        refused = deploy.read_scan(lhs, "SPARE00001", None, by=by)
        assert refused.kind == "refuse" and "before LHS-1001" in refused.message
        ready = deploy.read_scan(lhs, "SPARE00001", zoe, by=by)
        assert ready.kind == "device" and ready.person == zoe and ready.asset.asset_tag == "LHS-1001"
        assert deploy.read_scan(lhs, "zoe", None, by=by).person == zoe
        assert deploy.read_scan(lhs, "JMS200001", None, by=by).kind == "refuse"
        assert deploy.read_scan(lhs, "", None, by=by).kind == "refuse"


# Through the outbox -------------------------------------------------------------------------------------------


@pytest.fixture
def station_token(app, world):
    with app.app_context():
        raw = issue_token(get(User, world["librarian"]), by=None, via=Via.cli)
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def event(at: datetime, **data) -> dict:
    return {"id": str(uuid.uuid4()), "type": "collect.return", "at": at.isoformat(), "data": data}


def sync(client, headers, *events, client_id: str = "station-a"):
    resp = client.post("/api/v1/sync", json={"client_id": client_id, "events": list(events)}, headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["results"]


@pytest.mark.parametrize("first", ["a", "b"])
def test_two_stations_returning_one_device_record_one_return(app, client, world, station_token, first):
    with app.app_context():
        deploy_spare(world)
    now = utcnow()
    a = event(now - timedelta(minutes=3), asset="LHS-1001", accessories=["charger", "Hotspot"], station="Gym 1")
    b = event(now - timedelta(minutes=2), asset="spare00001", accessories=[], condition="fair", station="Gym 2")
    order = (a, b) if first == "a" else (b, a)
    results = sync(client, station_token, order[0], client_id="station-1")
    assert results[0]["status"] == "applied"
    assert results[0]["info"]["person"] == "Zoe Martinez" and results[0]["info"]["asset_tag"] == "LHS-1001"
    second = sync(client, station_token, order[1], client_id="station-2")[0]
    assert second["status"] == "rejected"
    assert second["reason"].startswith("LHS-1001 was already returned from Zoe Martinez")
    assert f"at {order[0]['data']['station']} by " in second["reason"]
    # Replays of either answer the same and change nothing.
    assert sync(client, station_token, order[0])[0]["status"] == "duplicate"
    assert sync(client, station_token, order[1])[0] == second
    with app.app_context():
        rows = db.session.scalars(sa.select(Collection)).all()
        assert len(rows) == 1 and rows[0].source_event_id == order[0]["id"]
        assert rows[0].station == order[0]["data"]["station"]
        missing = {r.kind.name for r in kits.returned_with(rows[0]) if r.outcome is AccessoryOutcome.missing}
        assert missing == (set() if first == "a" else {"Charger", "Hotspot"})
        assert db.session.scalar(sa.select(sa.func.count()).select_from(IssuedAccessory)) == 2
        assert db.session.scalars(sa.select(Activity.via).where(Activity.action == "deployment.collect")).all() == [
            Via.sync
        ]


def test_one_batch_with_the_same_device_twice_records_one_return(app, client, world, station_token):
    with app.app_context():
        deploy_spare(world)
    now = utcnow()
    a = event(now - timedelta(minutes=1), asset="LHS-1001", hold=True)
    b = event(now, asset="LHS-1001")
    results = sync(client, station_token, a, b)
    assert [r["status"] for r in results] == ["applied", "rejected"]
    assert results[0]["info"]["held"] is True
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Collection)) == 1
        assert asset_by_tag("LHS-1001").assigned_to_id == world["student"]


@pytest.mark.parametrize(
    "data,reason",
    [
        ({"asset": "nope"}, "No device on your campuses matches 'nope'."),
        ({"asset": "JMS-2000"}, "No device on your campuses matches 'JMS-2000'."),
        ({"asset": "LHS-1001", "accessories": "charger"}, "The accessories must be a list of accessory names."),
        ({"asset": "LHS-1001", "accessories": ["cape"]}, "No accessory is called 'cape'."),
        ({"asset": "LHS-1001", "accessories": [True]}, "The accessories must be a list of accessory names."),
        ({"asset": "LHS-1001", "hold": "yes"}, "The hold must be true or false."),
        (
            {"asset": "LHS-1001", "condition": "shiny"},
            "Unknown condition 'shiny'; use one of good, fair, damaged, broken.",
        ),
        ({"asset": "LHS-1000"}, "LHS-1000 is assigned to no one; scan the student's ID too."),
        ({"asset": "LHS-1000", "person": "JMS200001"}, "No one on your campuses has the ID 'JMS200001'."),
    ],
)
def test_collect_event_refusals(app, client, world, station_token, data, reason):
    with app.app_context():
        deploy_spare(world)
    result = sync(client, station_token, event(utcnow(), **data))[0]
    assert result == {"id": result["id"], "status": "rejected", "reason": reason}


def test_an_unassigned_device_returned_with_the_students_id(app, client, world, station_token):
    result = sync(client, station_token, event(utcnow(), asset="LHS-1000", person="lhs100001", condition="broken"))[0]
    assert result["status"] == "applied" and result["info"]["person"] == "Zoe Martinez"
    assert result["info"]["ticket"].startswith("T-")


def test_aides_cannot_send_returns(app, client, world):
    with app.app_context():
        deploy_spare(world)
        aide = factories.make_user(Role.aide, "LHS")
        headers = {"Authorization": f"Bearer {issue_token(aide, by=None, via=Via.cli)}"}
        db.session.commit()
    result = sync(client, headers, event(utcnow(), asset="LHS-1001"))[0]
    assert result["status"] == "rejected" and result["reason"] == "Your role (aide) does not allow collect.return."
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Collection)) == 0


def test_a_late_return_never_overwrites_a_newer_condition(app, world):
    with app.app_context():
        deploy_spare(world)
        spare = get(Asset, world["spare"])
        spare.condition, spare.condition_at = Condition.broken, datetime.now(UTC)
        db.session.commit()
        back = collect.collect(
            spare,
            by=get(User, world["librarian"]),
            via=Via.web,
            returned=set(),
            condition=Condition.good,
            at=datetime.now(UTC) - timedelta(hours=2),
        )
        assert back.condition is Condition.good and spare.condition is Condition.broken
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Fee)) == 0
