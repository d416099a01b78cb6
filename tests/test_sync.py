"""POST /api/v1/sync: exactly-once events, per-event answers, event-time projections, limits, auth, campus rules."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, Observation, Role, SyncEvent, SyncStatus, UnknownScan, User, Via
from app.services import sync as sync_service
from app.services.users import issue_token
from tests import factories


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


def scan(tag: str, room: str = "LHS-101", at: datetime | None = None, **data) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": "scan",
        "at": iso(at or datetime.now(UTC)),
        "data": {"tag": tag, "room": room, **data},
    }


def post(client, token, events, client_id="test-phone"):
    return client.post("/api/v1/sync", json={"client_id": client_id, "events": events}, headers=bearer(token))


def count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_same_batch_twice_applies_once(app, client, aide_token):
    batch = [scan("LHS-1000"), scan("MKQQA7MSUA", room="LHS-IT"), scan("lhs-1001")]
    first = post(client, aide_token, batch)
    assert first.status_code == 200
    assert [r["status"] for r in first.get_json()["results"]] == ["applied"] * 3
    assert [r["id"] for r in first.get_json()["results"]] == [e["id"] for e in batch]
    second = post(client, aide_token, batch)
    assert [r["status"] for r in second.get_json()["results"]] == ["duplicate"] * 3
    with app.app_context():
        assert count(Observation) == 3
        assert count(SyncEvent) == 3
        lhs1000 = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        # Two scans of LHS-1000 (by tag and by serial): it ends in the later room.
        assert lhs1000.current_room.code == "LHS-IT"
        assert lhs1000.last_seen_by.email == "aide@example.org"


def test_replay_inside_one_batch_is_duplicate(client, aide_token):
    ev = scan("LHS-1000")
    results = post(client, aide_token, [ev, ev]).get_json()["results"]
    assert [r["status"] for r in results] == ["applied", "duplicate"]


def test_one_bad_event_among_500(app, client, aide_token):
    events = [scan("LHS-1000" if i % 2 else "LHS-1001") for i in range(500)]
    events[250]["data"]["condition"] = "sparkly"
    resp = post(client, aide_token, events)
    assert resp.status_code == 200
    results = resp.get_json()["results"]
    assert len(results) == 500
    assert sum(r["status"] == "applied" for r in results) == 499
    bad = results[250]
    assert bad["status"] == "rejected" and "sparkly" in bad["reason"]
    with app.app_context():
        assert count(Observation) == 499
        row = db.session.get(SyncEvent, events[250]["id"])
        assert row.status is SyncStatus.rejected and row.data["condition"] == "sparkly"
    # A replay of the rejected event answers the same, and applies nothing.
    again = post(client, aide_token, [events[250], events[0]]).get_json()["results"]
    assert again[0] == {"id": events[250]["id"], "status": "rejected", "reason": bad["reason"]}
    assert again[1]["status"] == "duplicate"


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"type": "scan", "at": "2026-01-01T00:00:00Z", "data": {}}, "no valid id"),
        ({"id": "short", "type": "scan", "at": "2026-01-01T00:00:00Z"}, "no valid id"),
        ({"id": "e" * 20, "type": "scan", "at": "yesterday", "data": {}}, "no valid time"),
        ({"id": "e" * 21, "type": "scan", "at": "2026-01-01T00:00:00Z", "data": []}, "data must be"),
        ({"id": "e" * 22, "type": "teleport", "at": "2026-01-01T00:00:00Z", "data": {}}, "Unknown event type"),
        ({"id": "e" * 23, "type": "scan", "at": "2026-01-01T00:00:00Z", "data": {"room": "LHS-101"}}, "no tag"),
        ({"id": "e" * 24, "type": "scan", "at": "2026-01-01T00:00:00Z", "data": {"tag": "X"}}, "no room"),
        (
            {"id": "e" * 25, "type": "scan", "at": "2026-01-01T00:00:00Z", "data": {"tag": "X", "room": "ZZ-9"}},
            "no room ZZ-9",
        ),
        ({"id": "e" * 26, "type": "scan", "at": "2026-01-01T00:00:00Z", "data": {"tag": 5, "room": "x"}}, "text"),
        ("not an object", "JSON object"),
    ],
)
def test_invalid_events_are_rejected_with_a_reason(app, client, aide_token, event, reason):
    results = post(client, aide_token, [event, scan("LHS-1000")]).get_json()["results"]
    assert results[0]["status"] == "rejected" and reason in results[0]["reason"]
    assert results[1]["status"] == "applied"
    with app.app_context():
        assert count(Observation) == 1


def test_older_event_after_newer_keeps_history_and_newer_projection(app, client, aide_token):
    now = datetime.now(UTC).replace(microsecond=0)
    newer = scan("LHS-1000", room="LHS-IT", at=now - timedelta(minutes=1), condition="fair")
    older = scan("LHS-1000", room="LHS-101", at=now - timedelta(hours=3), condition="broken")
    assert post(client, aide_token, [newer]).get_json()["results"][0]["status"] == "applied"
    assert post(client, aide_token, [older]).get_json()["results"][0]["status"] == "applied"
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        assert asset.current_room.code == "LHS-IT"
        assert asset.last_seen_at == now - timedelta(minutes=1)
        assert asset.condition.value == "fair" and asset.condition_at == now - timedelta(minutes=1)
    history = client.get("/api/v1/assets/LHS-1000/observations", headers=bearer(aide_token)).get_json()["items"]
    assert [(o["room"], o["condition"]) for o in history] == [("LHS-IT", "fair"), ("LHS-101", "broken")]
    assert history[0]["by"] == "aide@example.org" and history[0]["at"] == iso(now - timedelta(minutes=1))


def test_future_clock_is_clamped_and_flagged(app, client, aide_token):
    ahead = scan("LHS-1000", at=datetime.now(UTC) + timedelta(hours=2))
    slightly = scan("LHS-1001", at=datetime.now(UTC) + timedelta(minutes=2))
    before = datetime.now(UTC)
    results = post(client, aide_token, [ahead, slightly]).get_json()["results"]
    after = datetime.now(UTC)
    assert results[0]["status"] == "applied" and results[0]["flagged"] is True
    assert "flagged" not in results[1]
    with app.app_context():
        row = db.session.get(SyncEvent, ahead["id"])
        assert row.flagged and before - timedelta(seconds=1) <= row.at <= after
        assert row.client_at > after + timedelta(hours=1)
        obs = db.session.scalar(sa.select(Observation).where(Observation.event_id == ahead["id"]))
        assert obs.flagged and obs.at == row.at
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        assert asset.last_seen_at == row.at
        assert not db.session.get(SyncEvent, slightly["id"]).flagged


def test_501_events_is_413(app, client, aide_token):
    resp = post(client, aide_token, [scan("LHS-1000") for _ in range(501)])
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == "too_large"
    with app.app_context():
        assert count(SyncEvent) == 0


def test_more_than_a_megabyte_is_413(app, client, aide_token):
    # 100 events (well under the count limit) whose notes add up to more than 1 MB.
    body = json.dumps({"events": [scan("LHS-1000", note="x" * 11_000) for _ in range(100)]})
    assert sync_service.MAX_BYTES == 1024 * 1024 < len(body)
    resp = client.post("/api/v1/sync", data=body, headers={**bearer(aide_token), "Content-Type": "application/json"})
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "too_large"
    with app.app_context():
        assert count(SyncEvent) == 0


def test_not_a_batch_is_422(client, aide_token):
    resp = client.post("/api/v1/sync", data="nope", headers={**bearer(aide_token), "Content-Type": "application/json"})
    assert resp.status_code == 422
    resp = client.post("/api/v1/sync", json={"events": "x"}, headers=bearer(aide_token))
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "events"


def test_no_credentials_is_401_json(client, district):
    resp = client.post("/api/v1/sync", json={"events": []}, headers={"Authorization": "Bearer rc_nope"})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"


def test_expired_session_is_401_json_not_a_redirect(app, client, district, login_as):
    user = login_as(Role.aide, "LHS")
    token = client.csrf_token()
    with app.app_context():
        # Signing out everywhere (or a password change) ends this session.
        db.session.get(User, user.id).end_sessions()
        db.session.commit()
    resp = client.post("/api/v1/sync", json={"events": [scan("LHS-1000")]}, headers={"X-CSRFToken": token}, csrf=False)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "unauthorized"
    assert "Location" not in resp.headers


def test_session_with_csrf_header_works_and_without_is_400(app, client, district, login_as):
    login_as(Role.aide, "LHS")
    ok = client.post("/api/v1/sync", json={"client_id": "web", "events": [scan("LHS-1000")]})
    assert ok.status_code == 200 and ok.get_json()["results"][0]["status"] == "applied"
    bad = client.post("/api/v1/sync", json={"events": [scan("LHS-1001")]}, csrf=False)
    assert bad.status_code == 400 and bad.is_json
    with app.app_context():
        assert count(Observation) == 1


def test_room_of_another_campus_is_rejected_and_nothing_applied(app, client, aide_token):
    results = post(client, aide_token, [scan("LHS-1000", room="JMS-201")]).get_json()["results"]
    assert results[0]["status"] == "rejected"
    assert "JMS-201 is not on your campuses" in results[0]["reason"]
    with app.app_context():
        assert count(Observation) == 0
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        assert asset.current_room_id is None and asset.last_seen_at is None


def test_device_of_another_campus_in_own_room_is_seen_here(app, client, aide_token):
    results = post(client, aide_token, [scan("WJ8D51111G", room="LHS-101", condition="damaged")]).get_json()
    result = results["results"][0]
    assert result["status"] == "applied"
    assert result["info"] == {
        "asset": {"asset_tag": "JMS-2000", "model": "Acer Chromebook 311", "campus": "JMS"},
        "room": "LHS-101",
        "seen_here": True,
    }
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "JMS-2000"))
        assert asset.current_room.code == "LHS-101"
        assert asset.condition.value == "damaged"
        assert count(Observation, Observation.asset_id == asset.id) == 1
    # The LHS aide still cannot look at the JMS device itself.
    assert client.get("/api/v1/assets/JMS-2000/observations", headers=bearer(aide_token)).status_code == 404


def test_own_device_answer_says_where_it_belongs(client, aide_token):
    info = post(client, aide_token, [scan("LHS-1000", room="LHS-IT")]).get_json()["results"][0]["info"]
    assert info["seen_here"] is False
    assert info["asset"]["home_room"] == "LHS-101" and info["asset"]["status"] == "deployed"


def test_unknown_tag_is_recorded_for_review(app, client, aide_token):
    result = post(client, aide_token, [scan("NOPE-42", note="yellow sticker")]).get_json()["results"][0]
    assert result["status"] == "applied" and result["info"]["unknown"] is True
    with app.app_context():
        row = db.session.scalar(sa.select(UnknownScan))
        assert (row.code, row.room.code, row.note) == ("NOPE-42", "LHS-101", "yellow sticker")
        assert count(Observation) == 0


def test_viewer_cannot_scan(app, client, district):
    with app.app_context():
        raw = issue_token(factories.make_user(Role.viewer, "LHS"), by=None, via=Via.cli)
        db.session.commit()
    result = post(client, raw, [scan("LHS-1000")]).get_json()["results"][0]
    assert result["status"] == "rejected" and "viewer" in result["reason"]


def test_moves_are_logged_once(app, client, aide_token):
    now = datetime.now(UTC)
    post(client, aide_token, [scan("LHS-1000", at=now - timedelta(minutes=5))])
    post(client, aide_token, [scan("LHS-1000", at=now - timedelta(minutes=4))])  # same room: no new entry
    post(client, aide_token, [scan("LHS-1000", room="LHS-IT", at=now - timedelta(minutes=3))])
    with app.app_context():
        entries = db.session.scalars(
            sa.select(Activity).where(Activity.action == "observation.scan").order_by(Activity.id)
        ).all()
        assert [e.after["current_room"] for e in entries] == ["LHS-101", "LHS-IT"]
        assert all(e.via is Via.sync for e in entries)


def test_a_failing_handler_takes_only_its_event_down(app, client, aide_token, monkeypatch):
    def explode(data, ctx):
        raise RuntimeError("boom")

    def refuse(data, ctx):
        raise sync_service.Rejected("Not today.")

    monkeypatch.setitem(sync_service.HANDLERS, "test.explode", sync_service.Registration(explode, None))
    monkeypatch.setitem(sync_service.HANDLERS, "test.refuse", sync_service.Registration(refuse, None))
    boom = {"id": str(uuid.uuid4()), "type": "test.explode", "at": iso(datetime.now(UTC)), "data": {}}
    no = {"id": str(uuid.uuid4()), "type": "test.refuse", "at": iso(datetime.now(UTC)), "data": {}}
    results = post(client, aide_token, [scan("LHS-1000"), boom, no, scan("LHS-1001")]).get_json()["results"]
    assert [r["status"] for r in results] == ["applied", "rejected", "rejected", "applied"]
    assert results[2]["reason"] == "Not today."
    with app.app_context():
        assert count(Observation) == 2
        # A crash is not recorded, so the event can be tried again; a refusal is.
        assert db.session.get(SyncEvent, boom["id"]) is None
        assert db.session.get(SyncEvent, no["id"]).reason == "Not today."


def test_register_adds_event_types_with_roles(app, client, aide_token, monkeypatch):
    seen = []

    def handler(data, ctx):
        seen.append((data["x"], ctx.user.email, ctx.type, ctx.client_id, ctx.flagged))
        return {"ok": True}

    # register() writes to the one table the engine reads: these keys leave it again when the test ends.
    for name in ("test.ping", "test.admin_only"):
        monkeypatch.setitem(sync_service.HANDLERS, name, None)
    sync_service.register("test.ping", handler)
    sync_service.register("test.admin_only", handler, roles=("admin",))
    ev = {"id": str(uuid.uuid4()), "type": "test.ping", "at": iso(datetime.now(UTC)), "data": {"x": 1}}
    adm = {"id": str(uuid.uuid4()), "type": "test.admin_only", "at": iso(datetime.now(UTC)), "data": {"x": 2}}
    results = post(client, aide_token, [ev, adm]).get_json()["results"]
    assert results[0] == {"id": ev["id"], "status": "applied", "info": {"ok": True}}
    assert results[1]["status"] == "rejected" and "aide" in results[1]["reason"]
    assert seen == [(1, "aide@example.org", "test.ping", "test-phone", False)]


def test_observations_endpoint_needs_auth_and_scoping(client, aide_token):
    assert client.get("/api/v1/assets/LHS-1000/observations").status_code == 401
    assert client.get("/api/v1/assets/NOPE/observations", headers=bearer(aide_token)).status_code == 404
    body = client.get("/api/v1/assets/LHS-1000/observations", headers=bearer(aide_token)).get_json()
    assert body == {"items": []}


def test_demo_observations_populate_last_seen(app):
    from app.services import demo

    with app.app_context():
        demo.seed(n_assets=120, seed=3)
        db.session.commit()
        observed = count(Observation)
        seen = count(Asset, Asset.last_seen_at.is_not(None))
        assert observed >= seen > 30
        # The projection is the newest observation of each device.
        newest = db.session.execute(
            sa.select(Observation.asset_id, sa.func.max(Observation.at)).group_by(Observation.asset_id)
        ).all()
        for asset_id, at in newest[:20]:
            assert db.session.get(Asset, asset_id).last_seen_at == at


def test_scan_by_tag_code_url_and_mixed_case(app, client, aide_token):
    with app.app_context():
        code = db.session.scalar(sa.select(Asset.tag_code).where(Asset.asset_tag == "LHS-1001"))
    typed = f"{code[:5].lower()}-{code[5:].lower()}"
    events = [scan(typed), scan(f"https://rollcall.test/t/{code}", room="lhs-it"), scan("mkqqa7msua")]
    results = post(client, aide_token, events).get_json()["results"]
    assert [r["info"]["asset"]["asset_tag"] for r in results] == ["LHS-1001", "LHS-1001", "LHS-1000"]
    assert [r["info"]["room"] for r in results] == ["LHS-101", "LHS-IT", "LHS-101"]
