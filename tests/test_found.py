"""Missing devices found again (app.services.found) and room door tags scanned as if they were devices."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Activity,
    Asset,
    AssetStatus,
    Observation,
    ObservationSource,
    Role,
    Room,
    UnknownScan,
    User,
    Via,
    utcnow,
)
from app.services import assets as asset_service
from app.services import audits as audit_service
from app.services import found
from app.services.sync import apply_batch, offline_pack
from tests import factories
from tests.conftest import hx


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def ev(kind: str, at: datetime | None = None, **data) -> dict:
    return {"id": str(uuid.uuid4()), "type": kind, "at": iso(at or utcnow()), "data": data}


def send(user: User, *events: dict) -> list[dict]:
    results = [r.as_json() for r in apply_batch(list(events), user=user, client_id="phone")]
    db.session.commit()
    return results


def asset(tag: str) -> Asset:
    return db.session.scalar(sa.select(Asset).where(Asset.asset_tag == tag))


def entries(action: str, tag: str) -> list[Activity]:
    return list(
        db.session.scalars(
            sa.select(Activity)
            .where(Activity.action == action, Activity.asset_id == asset(tag).id)
            .order_by(Activity.id)
        )
    )


@pytest.fixture
def w(ctx, district):
    """The district, with LHS-1000 (deployed, assigned) marked missing by a tech an hour ago; an aide, a tech."""
    tech = factories.make_user(Role.tech, "LHS", email="tech@example.org")
    aide = factories.make_user(Role.aide, "LHS", email="aide@example.org")
    device = asset("LHS-1000")
    device.status = AssetStatus.deployed
    device.assigned_to_id = district["student"]
    db.session.flush()
    asset_service.update_asset(device, {"status": AssetStatus.missing}, by=tech, via=Via.web)
    db.session.flush()
    # The mark happened an hour ago, so scans made since then are "found since it went missing".
    db.session.execute(
        sa.update(Activity)
        .where(Activity.asset_id == device.id, Activity.action == "asset.update")
        .values(at=utcnow() - timedelta(hours=1))
    )
    db.session.commit()
    return type("W", (), {"tech": tech, "aide": aide, "district": district})


def test_a_scan_of_a_missing_device_is_noticed_with_who_and_where(w):
    [result] = send(w.aide, ev("scan", tag="LHS-1000", room="LHS-101"))
    assert result["status"] == "applied"
    info = result["info"]
    assert info["missing"] is True
    assert info["found_message"] == "LHS-1000 was reported missing — found here in LHS-101"
    [entry] = entries(found.FOUND, "LHS-1000")
    assert entry.user.email == "aide@example.org"
    assert entry.via is Via.sync
    assert entry.after["room"] == "LHS-101"
    assert entry.summary == "Found LHS-1000 in LHS-101 (reported missing)"
    # The sighting is kept as every scan is; the status waits for someone who may change it.
    obs = db.session.scalars(sa.select(Observation).where(Observation.asset_id == asset("LHS-1000").id)).all()
    assert [(o.room.code, o.by.email) for o in obs] == [("LHS-101", "aide@example.org")]
    assert asset("LHS-1000").status is AssetStatus.missing
    assert asset("LHS-1000").current_room.code == "LHS-101"


def test_scanning_it_again_in_the_same_room_adds_no_second_entry_but_another_room_does(w):
    send(w.aide, ev("scan", tag="LHS-1000", room="LHS-101"))
    [again] = send(w.aide, ev("scan", tag="MKQQA7MSUA", room="LHS-101"))
    assert again["info"]["missing"] is True
    assert len(entries(found.FOUND, "LHS-1000")) == 1
    send(w.aide, ev("scan", tag="LHS-1000", room="LHS-IT"))
    assert [e.after["room"] for e in entries(found.FOUND, "LHS-1000")] == ["LHS-101", "LHS-IT"]


def test_a_scan_made_before_it_went_missing_finds_nothing(w):
    # A phone that was offline sends a scan from before the device was marked missing.
    [result] = send(w.aide, ev("scan", at=utcnow() - timedelta(hours=3), tag="LHS-1000", room="LHS-101"))
    assert result["status"] == "applied"
    assert "missing" not in result["info"]
    assert entries(found.FOUND, "LHS-1000") == []
    assert found.found_devices(w.tech) == []


def test_ordinary_scans_carry_no_missing_flag(w):
    [result] = send(w.aide, ev("scan", tag="LHS-1001", room="LHS-IT"))
    assert "missing" not in result["info"]
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Activity).where(Activity.action == found.FOUND)) == 0
    )


def test_many_scans_in_one_batch_notice_the_missing_one(w):
    results = send(
        w.aide,
        ev("scan", tag="LHS-1001", room="LHS-IT"),
        ev("scan", tag="LHS-1000", room="LHS-IT"),
        ev("scan", tag="JMS-2000", room="LHS-IT"),
    )
    assert [r["status"] for r in results] == ["applied"] * 3
    assert [bool(r["info"].get("missing")) for r in results] == [False, True, False]
    assert len(entries(found.FOUND, "LHS-1000")) == 1


def test_a_missing_device_of_another_campus_is_noticed_without_its_details(w):
    jms = asset("JMS-2000")
    admin = factories.make_user(Role.admin)
    asset_service.update_asset(jms, {"status": AssetStatus.missing}, by=admin, via=Via.web)
    db.session.execute(sa.update(Activity).values(at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    [result] = send(w.aide, ev("scan", tag="JMS-2000", room="LHS-101"))
    info = result["info"]
    assert info["seen_here"] is True and info["missing"] is True
    assert "status" not in info["asset"]
    [entry] = entries(found.FOUND, "JMS-2000")
    assert entry.user.email == "aide@example.org" and entry.campus_id == jms.campus_id


def test_mark_found_puts_back_the_status_it_had_and_names_who(w):
    send(w.aide, ev("scan", tag="LHS-1000", room="LHS-101"))
    [result] = send(w.tech, ev("asset.mark_found", tag="LHS-1000"))
    assert result["status"] == "applied"
    assert result["info"] == {
        "asset": "LHS-1000",
        "status": "deployed",
        "message": "LHS-1000 marked found; status back to deployed.",
    }
    assert asset("LHS-1000").status is AssetStatus.deployed
    [entry] = entries(found.MARKED_FOUND, "LHS-1000")
    assert entry.user.email == "tech@example.org"
    assert (entry.before, entry.after) == ({"status": "missing"}, {"status": "deployed"})
    # Twice is refused with the reason: it is no longer missing.
    [again] = send(w.tech, ev("asset.mark_found", tag="LHS-1000"))
    assert again["status"] == "rejected" and "not marked missing" in again["reason"]


def test_an_aide_may_not_mark_found(w):
    [result] = send(w.aide, ev("asset.mark_found", tag="LHS-1000"))
    assert result["status"] == "rejected"
    assert "role" in result["reason"].lower()
    assert asset("LHS-1000").status is AssetStatus.missing


def test_mark_found_refuses_devices_of_other_campuses(w):
    jms = asset("JMS-2000")
    jms.status = AssetStatus.missing
    db.session.commit()
    [result] = send(w.tech, ev("asset.mark_found", tag="JMS-2000"))
    assert result["status"] == "rejected" and result["reason"] == "No device JMS-2000 on your campuses."
    assert asset("JMS-2000").status is AssetStatus.missing


@pytest.mark.parametrize(
    ("before", "assigned", "expected"),
    [
        (AssetStatus.loaner, False, AssetStatus.loaner),
        (AssetStatus.in_repair, False, AssetStatus.in_repair),
        (None, True, AssetStatus.deployed),
        (None, False, AssetStatus.in_stock),
    ],
)
def test_the_status_before_missing_comes_from_history_or_a_sensible_default(w, before, assigned, expected):
    lhs = db.session.get(Room, w.district["lhs_room"]).campus
    person = factories.make_person(lhs) if assigned else None
    device = factories.make_asset(lhs, status=before or AssetStatus.missing, assigned_to=person)
    if before is not None:
        asset_service.update_asset(device, {"status": AssetStatus.missing}, by=w.tech, via=Via.web)
    assert found.status_before_missing(device) is expected
    assert found.mark_found(device, by=w.tech, via=Via.web) is expected
    assert device.status is expected


def test_notice_found_records_the_sighting_for_pages_that_do_not(w):
    device = asset("LHS-1000")
    room = db.session.get(Room, w.district["lhs_store"])
    notice = found.notice_found(device, room=room, by=w.tech, via=Via.web, source=ObservationSource.loan)
    assert notice is not None
    assert notice.message == "LHS-1000 was reported missing — found here in LHS-IT"
    assert notice.as_info() == {"missing": True, "found_message": notice.message}
    [obs] = db.session.scalars(sa.select(Observation).where(Observation.asset_id == device.id)).all()
    assert (obs.source, obs.room.code, obs.by.email) == (ObservationSource.loan, "LHS-IT", "tech@example.org")
    # No room (a device back from repair): the alert says only "found here".
    assert found.notice_found(device, room=None, by=w.aide, via=Via.web).message == (
        "LHS-1000 was reported missing — found here"
    )
    # A device that is not missing is nothing to notice.
    assert found.notice_found(asset("LHS-1001"), room=room, by=w.tech, via=Via.web) is None


def test_found_list_has_found_devices_then_recently_marked_ones(w):
    assert found.found_devices(w.tech) == []
    send(w.aide, ev("scan", tag="LHS-1000", room="LHS-101"))
    [row] = found.found_devices(w.tech)
    assert (row.asset.asset_tag, row.still_missing, row.found_in, row.found_by.email) == (
        "LHS-1000",
        True,
        "LHS-101",
        "aide@example.org",
    )
    assert row.marked_at is None
    send(w.tech, ev("asset.mark_found", tag="LHS-1000"))
    [row] = found.found_devices(w.tech)
    assert not row.still_missing and row.marked_by.email == "tech@example.org" and row.found_in == "LHS-101"
    # Listed for RECENT_DAYS after it was marked found, then not.
    later = utcnow() + timedelta(days=found.RECENT_DAYS + 1)
    assert found.found_devices(w.tech, now=later) == []
    # Other campuses' staff never see it.
    assert found.found_devices(factories.make_user(Role.tech, "JMS")) == []


def test_missing_again_after_being_found_leaves_the_list_until_found_again(w):
    send(w.aide, ev("scan", tag="LHS-1000", room="LHS-101"))
    send(w.tech, ev("asset.mark_found", tag="LHS-1000"))
    device = asset("LHS-1000")
    asset_service.update_asset(device, {"status": AssetStatus.missing}, by=w.tech, via=Via.web)
    db.session.commit()
    assert found.found_devices(w.tech) == []
    send(w.aide, ev("scan", tag="LHS-1000", room="LHS-IT"))
    [row] = found.found_devices(w.tech)
    assert row.still_missing and row.found_in == "LHS-IT"


def test_the_offline_pack_carries_the_missing_status(w):
    lhs = asset("LHS-1000").campus
    pack = offline_pack(lhs)
    assert {a["asset_tag"]: a["status"] for a in pack["assets"]}["LHS-1000"] == "missing"


def test_an_audit_scan_of_a_missing_device_is_noticed(w):
    audit = str(uuid.uuid4())
    results = send(
        w.aide,
        ev("audit.start", audit=audit, room="LHS-101"),
        ev("scan", tag="LHS-1000", room="LHS-101", audit=audit),
    )
    assert results[1]["info"]["missing"] is True
    assert entries(found.FOUND, "LHS-1000")[0].after["room"] == "LHS-101"


# Door tags ---------------------------------------------------------------------------------------------------


def unknown_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(UnknownScan))


def test_a_door_tag_scanned_as_a_device_is_recognised_and_never_an_unknown_tag(w):
    store = db.session.get(Room, w.district["lhs_store"])
    [by_tag, by_code, own] = send(
        w.aide,
        ev("scan", tag=store.tag_code.lower(), room="LHS-101"),
        ev("scan", tag="lhs-it", room="LHS-101"),
        ev("scan", tag=db.session.get(Room, w.district["lhs_room"]).tag_code, room="LHS-101"),
    )
    assert by_tag["status"] == by_code["status"] == "applied"
    assert by_tag["info"] == {
        "door": "LHS-IT",
        "room": "LHS-101",
        "switch": True,
        "message": "This is LHS-IT's door tag — switch room?",
    }
    assert by_code["info"]["door"] == "LHS-IT"
    assert own["info"]["switch"] is False
    assert own["info"]["message"] == "This is LHS-101's door tag — you are already in LHS-101."
    assert unknown_count() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Observation)) == 0


def test_another_campus_door_tag_is_recognised_but_offers_no_switch(w):
    jms_room = db.session.get(Room, w.district["jms_room"])
    [result] = send(w.aide, ev("scan", tag=jms_room.tag_code, room="LHS-101"))
    assert result["info"]["door"] == "JMS-201" and result["info"]["switch"] is False
    assert unknown_count() == 0


def test_unknown_codes_still_go_to_the_review_queue(w):
    [result] = send(w.aide, ev("scan", tag="NOT-A-THING", room="LHS-101"))
    assert result["info"]["unknown"] is True
    assert unknown_count() == 1


def test_a_door_tag_in_an_audit_is_not_an_unknown_code(w):
    audit = str(uuid.uuid4())
    store = db.session.get(Room, w.district["lhs_store"])
    send(
        w.aide,
        ev("audit.start", audit=audit, room="LHS-101"),
        ev("scan", tag=store.tag_code, room="LHS-101", audit=audit),
        ev("scan", tag="ZZZZ-UNKNOWN", room="LHS-101", audit=audit),
    )
    result = audit_service.audit_result(audit_service.find_audit(audit))
    assert [u.code for u in result.unknown] == ["ZZZZ-UNKNOWN"]


# Pages -------------------------------------------------------------------------------------------------------


@pytest.fixture
def found_world(app, district):
    """LHS-1000 marked missing an hour ago and then scanned by an aide in LHS-101."""
    with app.app_context():
        tech = factories.make_user(Role.tech, "LHS")
        aide = factories.make_user(Role.aide, "LHS", email="finder@example.org")
        aide.name = "Fran Finder"
        asset_service.update_asset(asset("LHS-1000"), {"status": AssetStatus.missing}, by=tech, via=Via.web)
        db.session.execute(sa.update(Activity).values(at=utcnow() - timedelta(hours=1)))
        db.session.commit()
        send(aide, ev("scan", tag="LHS-1000", room="LHS-101"))
    return district


def test_closet_finder_lists_found_devices_with_mark_found_for_techs(client, found_world, login_as):
    login_as(Role.tech, "LHS")
    html = client.get("/closet").get_data(as_text=True)
    assert "Found since they went missing: 1" in html
    assert 'data-found="LHS-1000"' in html and "Found in LHS-101" in html and "by Fran Finder" in html
    assert "Mark LHS-1000 found" in html


def test_closet_finder_shows_no_mark_found_to_viewers(client, found_world, login_as):
    login_as(Role.viewer, "LHS")
    html = client.get("/closet").get_data(as_text=True)
    assert 'data-found="LHS-1000"' in html
    assert "Mark LHS-1000 found" not in html
    assert client.post("/closet/found", data={"asset": "LHS-1000"}).status_code == 403


def test_mark_found_from_the_closet_finder_with_and_without_htmx(app, client, found_world, login_as):
    login_as(Role.tech, "LHS")
    resp = client.post("/closet/found", data={"asset": "LHS-1000", "next": "/closet"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/closet")
    with app.app_context():
        assert asset("LHS-1000").status is AssetStatus.deployed  # what it was before it went missing
    again = client.post("/closet/found", data={"asset": "LHS-1000"}, headers=hx())
    assert again.status_code == 422
    body = again.get_data(as_text=True)
    assert body.strip().startswith('<div id="found-devices">') and "is not marked missing" in body
    assert "Marked found" in body


def test_mark_found_of_an_unknown_device_is_a_422(client, found_world, login_as):
    login_as(Role.tech, "LHS")
    resp = client.post("/closet/found", data={"asset": "NOPE-1"}, headers=hx())
    assert resp.status_code == 422 and "No device NOPE-1 on your campuses." in resp.get_data(as_text=True)
    assert client.post("/closet/found", data={"asset": ""}).status_code == 422


def test_dashboard_card_lists_found_devices_and_names_no_one(client, found_world, login_as):
    login_as(Role.viewer, "LHS")
    page = client.get("/closet/found?brief=1").get_data(as_text=True)
    assert "LHS-1000" in page and "Fran Finder" not in page
    card = client.get("/closet/found?brief=1", headers=hx()).get_data(as_text=True)
    assert card.strip().startswith('<section id="dash-found"') and "Found since they went missing: 1" in card
    assert "Fran Finder" not in card and "Found in LHS-101" in card
    assert 'hx-get="/closet/found?brief=1"' in client.get("/").get_data(as_text=True)


def test_dashboard_card_is_empty_when_nothing_was_found(client, district, login_as):
    login_as(Role.viewer, "LHS")
    card = client.get("/closet/found?brief=1", headers=hx()).get_data(as_text=True)
    assert card.strip() == '<div id="dash-found"></div>'


def test_scan_and_audit_pages_offer_mark_found_only_to_those_who_may(client, district, login_as):
    login_as(Role.tech, "LHS")
    assert 'data-can-mark-found="1"' in client.get("/scan").get_data(as_text=True)
    assert 'data-can-mark-found="1"' in client.get("/audits/live").get_data(as_text=True)


def test_aides_scan_page_has_no_mark_found(client, district, login_as):
    login_as(Role.aide, "LHS")
    html = client.get("/scan").get_data(as_text=True)
    assert "data-can-mark-found" not in html
    assert 'id="scan-net"' in html and 'id="scan-count"' in html


# Repairs receive ---------------------------------------------------------------------------------------------


def test_a_missing_device_back_from_the_vendor_raises_the_alert(client, app):
    from app.models import WarrantyClaim
    from app.services import warranty
    from app.services.users import start_session
    from tests.repairs_world import make_shop

    with app.app_context():
        world = make_shop()
        tech = world["tech"]
        claim = warranty.open_claim(world["ticket"], vendor="Acer Care", by=tech, via=Via.web)
        warranty.approve(claim, rma="RMA-7", by=tech, via=Via.web)
        batch = warranty.new_batch(vendor="Acer Care", campus=world["device"].campus, by=tech, via=Via.web)
        warranty.add_to_batch(batch, claim, by=tech, via=Via.web)
        warranty.ship_batch(batch, by=tech, via=Via.web, tracking="1Z")
        asset_service.update_asset(world["device"], {"status": AssetStatus.missing}, by=tech, via=Via.web)
        db.session.execute(sa.update(Activity).values(at=utcnow() - timedelta(hours=1)))
        tag_code, tech_id, session_id = world["device"].tag_code, tech.id, start_session(tech)
        db.session.commit()
        assert db.session.scalar(sa.select(WarrantyClaim.rma)) == "RMA-7"
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = session_id, True
    html = client.post("/repairs/receive", data={"code": tag_code}, headers=hx()).get_data(as_text=True)
    assert "Received <strong>LHS-1000</strong>" in html
    assert 'class="scan-alert alert-missing" role="alert"' in html
    assert "LHS-1000 was reported missing — found here" in html
    with app.app_context():
        [entry] = entries(found.FOUND, "LHS-1000")
        assert entry.user_id == tech_id and entry.via is Via.web
