"""Room audit logic through the sync door: expected / found / missing / unexpected / unknown, merging, late and
reordered events, the "missing in audit" mark, moves, and the audit pages."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, AssetStatus, Audit, AuditItem, AuditOutcome, AuditStatus, Room, User
from app.services import audits as audit_service
from app.services.sync import apply_batch
from tests import factories
from tests.conftest import hx

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def ev(kind: str, minutes: float, **data) -> dict:
    return {"id": uuid.uuid4().hex, "type": kind, "at": at(minutes), "data": data}


def send(user: User, *events: dict) -> list[dict]:
    results = [r.as_json() for r in apply_batch(list(events), user=user, client_id="phone")]
    db.session.commit()
    return results


@pytest.fixture
def room_world(app):
    """Room LHS-101 with three devices that live there, one that lives in LHS-IT, one of JMS; two aides."""
    with app.app_context():
        w = factories.make_district()
        room, store = w["lhs_room"], w["lhs_store"]
        a2 = factories.make_asset(w["lhs"], room, asset_tag="LHS-1002", serial="SER1002")
        a3 = factories.make_asset(w["lhs"], room, asset_tag="LHS-1003", serial="SER1003")
        factories.make_asset(w["lhs"], room, asset_tag="LHS-1009", serial="RETIRED9", status=AssetStatus.retired)
        aide1 = factories.make_user(factories.Role.aide, "LHS", email="aide1@staff.example.org")
        aide2 = factories.make_user(factories.Role.aide, "LHS", email="aide2@staff.example.org")
        db.session.commit()
        ids = {
            "room": room.id,
            "room_code": room.code,
            "room_tag": room.tag_code,
            "store": store.id,
            "a1": w["lhs_asset"].id,
            "a2": a2.id,
            "a3": a3.id,
            "spare": w["spare"].id,
            "jms": w["jms_asset"].id,
            "aide1": aide1.id,
            "aide2": aide2.id,
        }
    return ids


@pytest.fixture
def w(ctx, room_world):
    """The room world, inside an app context, with users and assets loaded by name."""

    class W:
        pass

    out = W()
    for key, value in room_world.items():
        setattr(out, key, value)
    out.aide1 = db.session.get(User, room_world["aide1"])
    out.aide2 = db.session.get(User, room_world["aide2"])
    for key in ("a1", "a2", "a3", "spare", "jms"):
        setattr(out, key + "_tag", db.session.get(Asset, room_world[key]).asset_tag)
    out.a1_code = db.session.get(Asset, room_world["a1"]).tag_code
    return out


def tags(lines) -> list[str]:
    return sorted(line.asset.asset_tag for line in lines)


def test_live_sets_expected_found_missing_unexpected_unknown(w):
    audit = uuid.uuid4().hex
    res = send(
        w.aide1,
        ev("audit.start", 0, audit=audit, room=w.room_code),
        # by QR URL, by serial, an out-of-place device, another campus's device, a code nobody knows
        ev("scan", 1, tag=f"http://rollcall.test/t/{w.a1_code}", room=w.room_code, audit=audit),
        ev("scan", 2, tag="SER1002", room=w.room_code, audit=audit),
        ev("scan", 3, tag=w.spare_tag, room=w.room_code, audit=audit),
        ev("scan", 4, tag=w.jms_tag, room=w.room_code, audit=audit),
        ev("scan", 5, tag="NOSUCHTHING", room=w.room_code, audit=audit),
    )
    assert [r["status"] for r in res] == ["applied"] * 6
    r = audit_service.audit_result(audit_service.find_audit(audit))
    assert r.audit.status is AuditStatus.open
    # The retired device in the room is not expected there.
    assert r.expected_count == 3
    assert tags(r.found) == [w.a1_tag, "LHS-1002"]
    assert tags(r.missing) == ["LHS-1003"]
    assert tags(r.unexpected) == sorted([w.spare_tag, w.jms_tag])
    spare = next(line for line in r.unexpected if line.asset.asset_tag == w.spare_tag)
    assert spare.home_room.code == "LHS-IT"
    assert [u.code for u in r.unknown] == ["NOSUCHTHING"]


def test_duplicate_scans_are_flagged_not_double_counted(w):
    audit = uuid.uuid4().hex
    send(
        w.aide1,
        ev("audit.start", 0, audit=audit, room=w.room_code),
        ev("scan", 1, tag=w.a1_tag, room=w.room_code, audit=audit),
        ev("scan", 2, tag=w.a1_tag, room=w.room_code, audit=audit),
        ev("scan", 3, tag=w.a1_code, room=w.room_code, audit=audit),
    )
    r = audit_service.audit_result(audit_service.find_audit(audit))
    assert len(r.found) == 1 and r.found[0].scans == 3 and r.found[0].duplicate
    assert r.duplicates == 1


def test_two_aides_overlapping_scans_merge(w):
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    send(w.aide1, ev("audit.start", 0, audit=first, room=w.room_code))
    joined = send(w.aide2, ev("audit.start", 0.5, audit=second, room=w.room_code))
    assert joined[0]["info"]["joined"] == first
    send(w.aide1, ev("scan", 1, tag=w.a1_tag, room=w.room_code, audit=first))
    send(w.aide2, ev("scan", 1.2, tag=w.a1_tag, room=w.room_code, audit=second))
    send(w.aide2, ev("scan", 2, tag="SER1002", room=w.room_code, audit=second))
    r = audit_service.audit_result(audit_service.find_audit(second))
    assert r.audit.uuid == first  # the group's result lives on the first audit
    assert tags(r.found) == [w.a1_tag, "LHS-1002"]
    assert r.found[0].scans == 2 and r.found[0].duplicate
    assert {u.email for u in r.auditors} == {"aide1@staff.example.org", "aide2@staff.example.org"}
    # Either aide's close closes the group; the other's close answers who did it.
    closed = send(w.aide2, ev("audit.close", 5, audit=second))
    assert closed[0]["status"] == "applied" and closed[0]["info"]["already_closed"] is False
    again = send(w.aide1, ev("audit.close", 6, audit=first))
    assert again[0]["status"] == "applied" and again[0]["info"]["already_closed"] is True
    assert again[0]["info"]["closed_by"] == str(w.aide2)
    statuses = db.session.scalars(sa.select(Audit.status).where(Audit.uuid.in_([first, second])))
    assert set(statuses) == {AuditStatus.closed}


def test_close_records_missing_and_a_late_scan_from_the_other_phone_is_kept_and_reported(w):
    audit = uuid.uuid4().hex
    send(
        w.aide1,
        ev("audit.start", 0, audit=audit, room=w.room_code),
        ev("scan", 1, tag=w.a1_tag, room=w.room_code, audit=audit),
        ev("audit.close", 10, audit=audit),
    )
    items = {
        i.asset_id: i.outcome for i in db.session.scalars(sa.select(AuditItem).where(AuditItem.audit.has(uuid=audit)))
    }
    assert items == {w.a1: AuditOutcome.found, w.a2: AuditOutcome.missing, w.a3: AuditOutcome.missing}
    assert {a.asset_tag for a in audit_service.missing_in_audit(w.aide1)} == {"LHS-1002", "LHS-1003"}
    # Not retired: the device keeps its status.
    assert db.session.get(Asset, w.a2).status is AssetStatus.deployed
    # The other phone scans after the close (event time later than the close).
    late = send(w.aide2, ev("scan", 12, tag="SER1002", room=w.room_code, audit=audit))
    assert late[0]["status"] == "applied"
    r = audit_service.audit_result(audit_service.find_audit(audit))
    assert [s.asset.asset_tag for s in r.late] == ["LHS-1002"]
    assert tags(r.missing) == ["LHS-1002", "LHS-1003"]  # the recorded result does not change
    assert next(line for line in r.missing if line.asset.id == w.a2).seen_since is not None
    # ... but a later sighting anywhere clears the device's "missing in audit" mark.
    assert {a.asset_tag for a in audit_service.missing_in_audit(w.aide1)} == {"LHS-1003"}
    assert audit_service.is_missing_in_audit(db.session.get(Asset, w.a3))
    assert not audit_service.is_missing_in_audit(db.session.get(Asset, w.a2))


def test_a_scan_anywhere_later_clears_missing(w):
    audit = uuid.uuid4().hex
    send(w.aide1, ev("audit.start", 0, audit=audit, room=w.room_code), ev("audit.close", 1, audit=audit))
    assert len(audit_service.missing_in_audit(w.aide1)) == 3
    send(w.aide1, ev("scan", 30, tag="SER1003", room="LHS-IT"))
    assert "LHS-1003" not in {a.asset_tag for a in audit_service.missing_in_audit(w.aide1)}


def test_reordered_events_give_the_same_result(w):
    """Phone B was offline: its scans (made before the close) reach the server after phone A's close."""
    audit = uuid.uuid4().hex
    start = ev("audit.start", 0, audit=audit, room=w.room_code)
    a_scan = ev("scan", 1, tag=w.a1_tag, room=w.room_code, audit=audit)
    b_scans = [
        ev("scan", 2, tag="SER1002", room=w.room_code, audit=audit),
        ev("scan", 3, tag=w.spare_tag, room=w.room_code, audit=audit),
    ]
    close = ev("audit.close", 10, audit=audit)
    send(w.aide1, start, a_scan, close)
    send(w.aide2, *b_scans)
    # And a replay of everything changes nothing.
    replay = send(w.aide1, start, a_scan, close)
    assert [r["status"] for r in replay] == ["duplicate"] * 3
    r = audit_service.audit_result(audit_service.find_audit(audit))
    assert tags(r.found) == [w.a1_tag, "LHS-1002"]
    assert [line.synced_late for line in r.found if line.asset.id == w.a2] == [True]
    assert tags(r.missing) == ["LHS-1003"]
    assert tags(r.unexpected) == [w.spare_tag]
    assert r.late == []
    assert {a.asset_tag for a in audit_service.missing_in_audit(w.aide1)} == {"LHS-1003"}


@pytest.mark.parametrize(
    "events,reason",
    [
        ([("audit.start", {"room": "NOWHERE-1"})], "There is no room NOWHERE-1"),
        ([("audit.start", {"room": "JMS-201"})], "There is no room JMS-201 on your campuses"),
        ([("audit.close", {})], "no record of this audit"),
        ([("audit.start", {}), ("audit.close", {}), ("audit.start", {})], "already closed"),
    ],
)
def test_rejections_carry_reasons(w, events, reason):
    audit = uuid.uuid4().hex
    batch = [ev(kind, n, audit=audit, **({"room": w.room_code} | data)) for n, (kind, data) in enumerate(events)]
    results = send(w.aide1, *batch)
    assert results[-1]["status"] == "rejected"
    assert reason in results[-1]["reason"]


def test_start_by_scanning_the_rooms_tag(w):
    audit = uuid.uuid4().hex
    res = send(w.aide1, ev("audit.start", 0, audit=audit, room=f"http://rollcall.test/t/{w.room_tag.lower()}"))
    assert res[0]["status"] == "applied" and res[0]["info"]["room"] == w.room_code


def test_viewer_cannot_audit(w):
    viewer = factories.make_user(factories.Role.viewer, "LHS")
    res = send(viewer, ev("audit.start", 0, audit=uuid.uuid4().hex, room=w.room_code))
    assert res[0]["status"] == "rejected" and "does not allow" in res[0]["reason"]


def test_condition_tap_and_move_here(w):
    audit = uuid.uuid4().hex
    res = send(
        w.aide1,
        ev("audit.start", 0, audit=audit, room=w.room_code),
        ev("scan", 1, tag=w.a1_tag, room=w.room_code, audit=audit),
        ev("audit.condition", 1.5, audit=audit, tag=w.a1_tag, condition="damaged"),
        ev("scan", 2, tag=w.spare_tag, room=w.room_code, audit=audit),
        ev("audit.move", 3, audit=audit, tag=w.spare_tag),
        ev("audit.move", 4, audit=audit, tag=w.jms_tag),
    )
    assert [r["status"] for r in res[:5]] == ["applied"] * 5
    assert res[5]["status"] == "rejected"
    r = audit_service.audit_result(audit_service.find_audit(audit))
    line = next(line for line in r.found if line.asset.id == w.a1)
    assert line.condition.value == "damaged" and line.scans == 1 and not line.duplicate
    assert db.session.get(Asset, w.a1).condition.value == "damaged"
    assert db.session.get(Asset, w.spare).home_room_id == w.room
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Activity).where(Activity.action == "audit.move")) == 1
    )


def test_rooms_due_uses_each_campus_interval(w):
    lhs_room = db.session.get(Room, w.room)
    lhs_room.campus.audit_interval_days = 30
    db.session.commit()
    due = {d.room.code for d in audit_service.rooms_due(w.aide1, now=T0)}
    assert {"LHS-101", "LHS-IT"} <= due
    audit = uuid.uuid4().hex
    send(w.aide1, ev("audit.start", 0, audit=audit, room=w.room_code), ev("audit.close", 5, audit=audit))
    assert "LHS-101" not in {d.room.code for d in audit_service.rooms_due(w.aide1, now=T0 + timedelta(days=29))}
    assert "LHS-101" in {d.room.code for d in audit_service.rooms_due(w.aide1, now=T0 + timedelta(days=31))}


# Pages and API -----------------------------------------------------------------------------------------------


def _closed_audit(app, room_world) -> str:
    with app.app_context():
        aide = db.session.get(User, room_world["aide1"])
        audit = uuid.uuid4().hex
        send(
            aide,
            ev("audit.start", 0, audit=audit, room="LHS-101"),
            ev("scan", 1, tag="LHS-1000", room="LHS-101", audit=audit),
            ev("scan", 2, tag="LHS-1001", room="LHS-101", audit=audit),
            ev("audit.close", 3, audit=audit),
        )
    return audit


def test_pages_render_for_staff(client, room_world, login_as, app):
    audit = _closed_audit(app, room_world)
    login_as("viewer", "LHS")
    for path in ("/audits", "/audits/due", "/audits/missing", "/audits/rooms/LHS-101", f"/audits/{audit}"):
        resp = client.get(path)
        assert resp.status_code == 200, path
    page = client.get(f"/audits/{audit}").get_data(as_text=True)
    assert "1 of 3" in page and "LHS-1002" in page and "belongs in LHS-IT" in page
    report = client.get(f"/audits/{audit}/report").get_data(as_text=True)
    assert "Audit report" in report and "LHS-1003" in report
    # Viewers cannot start audits (the phone page is for staff who scan).
    assert client.get("/audits/live").status_code == 403


def test_other_campus_sees_404(client, room_world, login_as, app):
    audit = _closed_audit(app, room_world)
    login_as("aide", "JMS")
    assert client.get(f"/audits/{audit}").status_code == 404
    assert client.get(f"/audits/{audit}/report").status_code == 404
    assert client.get(f"/api/v1/audits/{audit}").status_code == 404
    assert client.get("/audits/rooms/LHS-101").status_code == 404
    assert client.post(f"/audits/{audit}/move", data={"asset": "LHS-1001"}).status_code == 404


def test_live_page_allows_wasm_and_other_pages_do_not(client, room_world, login_as):
    login_as("aide", "LHS")
    live = client.get("/audits/live")
    assert live.status_code == 200
    assert "'wasm-unsafe-eval'" in live.headers["Content-Security-Policy"]
    assert "audit.js" in live.get_data(as_text=True)
    index = client.get("/audits")
    assert "wasm-unsafe-eval" not in index.headers["Content-Security-Policy"]
    for path in ("/", "/assets", "/audits"):
        html = client.get(path).get_data(as_text=True)
        assert "camera.js" not in html and "zxing" not in html, path


def test_history_filter_with_and_without_htmx(client, room_world, login_as, app):
    _closed_audit(app, room_world)
    login_as("aide", "LHS")
    with app.app_context():
        lhs = db.session.scalar(sa.select(Room).where(Room.code == "LHS-101")).campus_id
    full = client.get(f"/audits?campus={lhs}")
    assert full.status_code == 200 and "<html" in full.get_data(as_text=True)
    frag = client.get(f"/audits?campus={lhs}", headers=hx())
    body = frag.get_data(as_text=True)
    assert frag.status_code == 200 and "<html" not in body and 'id="audit-history"' in body and "LHS-101" in body


def test_due_fragment_with_and_without_htmx(client, room_world, login_as):
    login_as("viewer", "LHS")
    frag = client.get("/audits/due?limit=1", headers=hx()).get_data(as_text=True)
    assert 'id="rooms-due"' in frag and "<html" not in frag and "more rooms are due" in frag
    page = client.get("/audits/due").get_data(as_text=True)
    assert "<html" in page and "LHS-101" in page and "never audited" in page


def test_move_with_and_without_htmx(client, room_world, login_as, app):
    audit = _closed_audit(app, room_world)
    login_as("aide", "LHS")
    resp = client.post(f"/audits/{audit}/move", data={"asset": "LHS-1001"})
    assert resp.status_code == 303
    with app.app_context():
        assert db.session.get(Asset, room_world["spare"]).home_room_id == room_world["room"]
    frag = client.post(f"/audits/{audit}/move", data={"asset": "NOPE"}, headers=hx())
    assert frag.status_code == 422 and "No device NOPE" in frag.get_data(as_text=True)
    ok = client.post(f"/audits/{audit}/move", data={"asset": "LHS-1001"}, headers=hx())
    assert ok.status_code == 200 and 'id="audit-unexpected"' in ok.get_data(as_text=True)
    assert "<html" not in ok.get_data(as_text=True)


def test_viewer_cannot_move(client, room_world, login_as, app):
    audit = _closed_audit(app, room_world)
    login_as("viewer", "LHS")
    assert client.post(f"/audits/{audit}/move", data={"asset": "LHS-1001"}).status_code == 403


def test_api_audit_result_and_list(client, room_world, login_as, app):
    audit = _closed_audit(app, room_world)
    login_as("aide", "LHS")
    body = client.get(f"/api/v1/audits/{audit}").get_json()
    assert body["status"] == "closed" and body["expected"] == 3
    assert [d["asset_tag"] for d in body["found"]] == ["LHS-1000"]
    assert sorted(d["asset_tag"] for d in body["missing"]) == ["LHS-1002", "LHS-1003"]
    assert body["unexpected"][0]["home_room"] == "LHS-IT"
    listing = client.get("/api/v1/audits?room=LHS-101&status=closed").get_json()
    assert [a["audit"] for a in listing["items"]] == [audit]
    assert client.get("/api/v1/audits?status=bogus").status_code == 422


def test_anonymous_is_sent_to_sign_in(client, room_world):
    assert client.get("/audits").status_code == 302
    assert client.get("/audits/live").status_code == 302
    assert client.get("/api/v1/audits").status_code == 401


def test_sync_endpoint_applies_audit_events_once(client, room_world, login_as, app):
    login_as("aide", "LHS")
    audit = uuid.uuid4().hex
    batch = {
        "client_id": "phone-1",
        "events": [
            ev("audit.start", 0, audit=audit, room="LHS-101"),
            ev("scan", 1, tag="MKQQA7MSUA", room="LHS-101", audit=audit),
            ev("audit.close", 2, audit=audit),
        ],
    }
    first = client.post("/api/v1/sync", json=batch).get_json()["results"]
    assert [r["status"] for r in first] == ["applied"] * 3
    again = client.post("/api/v1/sync", json=batch).get_json()["results"]
    assert [r["status"] for r in again] == ["duplicate"] * 3
    with app.app_context():
        from app.models import Observation

        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(Observation).where(Observation.audit_id == audit))
            == 1
        )


def test_dashboard_loads_rooms_due(client, room_world, login_as):
    login_as("viewer", "LHS")
    html = client.get("/").get_data(as_text=True)
    assert 'hx-get="/audits/due?limit=5"' in html and "Rooms due for audit" in html


def test_scan_page_allows_wasm(client, room_world, login_as):
    login_as("aide", "LHS")
    resp = client.get("/scan")
    assert resp.status_code == 200 and "'wasm-unsafe-eval'" in resp.headers["Content-Security-Policy"]
