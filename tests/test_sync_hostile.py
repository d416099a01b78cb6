"""The sync door against hostile events: each bad event is refused on its own, nothing unstorable is kept, event
times stay believable, and an event id answers only for the event it was first used for."""

from __future__ import annotations

import dataclasses
import gzip
import json
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app, inputs
from app.config import TestConfig
from app.extensions import db
from app.models import Asset, Observation, Role, SyncEvent, SyncStatus, Via
from app.services import backup as backup_service
from app.services import sync as sync_service
from app.services.users import issue_token
from tests import factories
from tests.servers import fresh_database
from tests.test_sync import bearer, count, post, scan


def raw_post(client, token, body: str | bytes):
    return client.post(
        "/api/v1/sync", data=body, headers={**bearer(token), "Content-Type": "application/json"}, csrf=False
    )


def results_of(resp) -> list[dict]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["results"]


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "one-by-one"])
@pytest.mark.parametrize(
    "at", ["0999-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "2099-06-01T08:00:00Z"]
)
def test_unbelievable_times_are_clamped_and_flagged_and_backups_still_work(
    app, client, aide_token, tmp_path, monkeypatch, at, bulk
):
    if not bulk:
        _without_bulk(monkeypatch)
    before = datetime.now(UTC)
    events = [{**scan("LHS-1000"), "at": at}, {**scan("LHS-1001"), "at": at}]
    results = results_of(post(client, aide_token, events))
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert all(r.get("flagged") for r in results)
    with app.app_context():
        row = db.session.get(SyncEvent, events[0]["id"])
        assert row.flagged and row.at >= before
        assert row.client_at.year == int(at[:4])
        seen = db.session.scalars(sa.select(Observation.at)).all()
        assert len(seen) == 2 and all(t >= before for t in seen)
        summary = backup_service.backup(tmp_path / "after.gz")
    assert summary.rows["sync_events"] == 2
    with gzip.open(tmp_path / "after.gz", "rt") as f:
        assert at[:19] in f.read()  # what the device said is kept, readable


def _without_bulk(monkeypatch):
    monkeypatch.setitem(sync_service.HANDLERS, "scan", dataclasses.replace(sync_service.HANDLERS["scan"], bulk=None))


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "one-by-one"])
@pytest.mark.parametrize("field", ["tag", "room", "note"])
@pytest.mark.parametrize("bad", ["\u0000", "\ud800"], ids=["nul", "lone-surrogate"])
def test_an_unstorable_character_refuses_that_event_alone(app, client, aide_token, monkeypatch, field, bad, bulk):
    if not bulk:
        _without_bulk(monkeypatch)
    poison = scan("LHS-1001")
    poison["data"][field] = f"LHS{bad}-101" if field == "room" else f"x{bad}y"
    events = [scan("LHS-1000"), poison, scan("MKQQA7MSUA", room="LHS-IT")]
    body = json.dumps({"client_id": "phone", "events": events})  # ensure_ascii: the surrogate travels as \ud800
    results = results_of(raw_post(client, aide_token, body))
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert "cannot be stored" in results[1]["reason"]
    with app.app_context():
        assert count(Observation) == 2
        row = db.session.get(SyncEvent, poison["id"])
        assert row.status is SyncStatus.rejected and row.data is None
    # The same poison sent again answers the same, and does not hold anything else up.
    again = results_of(raw_post(client, aide_token, json.dumps({"events": [poison, scan("LHS-1000")]})))
    assert [r["status"] for r in again] == ["rejected", "applied"]
    assert again[0]["reason"] == results[1]["reason"]


@pytest.mark.parametrize(
    "data",
    [
        '{"value": Infinity}',
        '{"value": NaN}',
        '{"value": 1e999999}',
        '{"value": -Infinity}',
        '{"n": 123456789012345678901234567890}',
    ],
)
def test_numbers_no_database_can_store_are_refused_not_kept(app, client, aide_token, tmp_path, data):
    good = scan("LHS-1000")
    bad_id = str(uuid.uuid4())
    body = (
        '{"events": ['
        + json.dumps(good)
        + ', {"id": "'
        + bad_id
        + '", "type": "mystery", "at": "2026-11-30T10:00:00Z",'
        ' "data": ' + data + "}]}"
    )
    results = results_of(raw_post(client, aide_token, body))
    assert [r["status"] for r in results] == ["applied", "rejected"]
    assert "cannot be stored" in results[1]["reason"] or "not a number" in results[1]["reason"]
    with app.app_context():
        assert db.session.get(SyncEvent, bad_id).data is None
        backup_service.backup(tmp_path / "b.gz")
    # Every line is JSON that PostgreSQL would take too: no bare Infinity or NaN.
    with gzip.open(tmp_path / "b.gz", "rt") as f:
        for line in f:
            inputs.loads(line)


def test_deep_data_is_refused_on_its_own_and_not_stored(app, client, aide_token):
    deep = {"id": str(uuid.uuid4()), "type": "mystery", "at": "2026-11-30T10:00:00Z", "data": {"x": [[[[[]]]]]}}
    body = json.dumps({"events": [scan("LHS-1000"), deep]})
    body = body.replace("[[[[[]]]]]", "[" * 900 + "]" * 900)
    results = results_of(raw_post(client, aide_token, body))
    assert [r["status"] for r in results] == ["applied", "rejected"]
    assert "nested more than 32 levels" in results[1]["reason"]
    with app.app_context():
        assert db.session.get(SyncEvent, deep["id"]).data is None


def test_a_body_too_deep_to_parse_is_a_400_naming_the_limit(client, aide_token):
    body = '{"events": [' + "[" * 100_000 + "]" * 100_000 + "]}"
    resp = raw_post(client, aide_token, body)
    assert resp.status_code == 400
    assert "nested more than 32 levels" in resp.get_json()["error"]["message"]


def test_unstorable_client_id_does_not_cost_the_events(app, client, aide_token):
    ev = scan("LHS-1000")
    results = results_of(raw_post(client, aide_token, json.dumps({"client_id": "ph\u0000one", "events": [ev]})))
    assert results[0]["status"] == "applied"
    with app.app_context():
        assert db.session.get(SyncEvent, ev["id"]).client_id == ""


def test_an_id_reused_with_another_body_is_refused(app, client, aide_token):
    first = scan("LHS-1000")
    assert results_of(post(client, aide_token, [first]))[0]["status"] == "applied"
    changed = {**first, "data": {**first["data"], "room": "LHS-IT"}}
    answer = results_of(post(client, aide_token, [changed]))[0]
    assert answer == {"id": first["id"], "status": "rejected", "reason": sync_service.REUSED_ID}
    # Inside one batch too.
    twin = scan("LHS-1001")
    inside = results_of(post(client, aide_token, [twin, {**twin, "data": {"tag": "LHS-1002", "room": "LHS-101"}}]))
    assert [r["status"] for r in inside] == ["applied", "rejected"]
    # The exact event again is still a plain duplicate.
    assert results_of(post(client, aide_token, [first]))[0]["status"] == "duplicate"
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        assert asset.current_room.code == "LHS-101"


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "one-by-one"])
def test_another_users_id_reuse_learns_nothing(app, client, aide_token, monkeypatch, bulk):
    if not bulk:
        _without_bulk(monkeypatch)
    refused = scan("LHS-1000", condition="sparkly")
    reason = results_of(post(client, aide_token, [refused]))[0]["reason"]
    assert "sparkly" in reason
    with app.app_context():
        other = factories.make_user(Role.aide, "LHS", email="other.aide@example.org")
        other_token = issue_token(other, by=None, via=Via.cli)
        db.session.commit()
    answer = results_of(post(client, other_token, [refused]))[0]
    assert answer == {"id": refused["id"], "status": "rejected", "reason": sync_service.REUSED_ID}


def test_sqlite_times_written_without_a_padded_year_are_repaired_by_the_migration(tmp_path):
    with fresh_database(tmp_path, "repair") as url:
        if not url.startswith("sqlite"):
            pytest.skip("only SQLite stored times as text that could lose the year's zeros")

        class Config(TestConfig):
            SQLALCHEMY_DATABASE_URI = url

        app = create_app(Config)
        with app.app_context():
            upgrade(revision="0010")
            with db.engine.begin() as conn:
                conn.exec_driver_sql(
                    "INSERT INTO users (email, name, role, password_hash, active, session_token,"
                    " created_at) VALUES ('a@b.c', 'A', 'aide', 'x', 1, 't', '2026-11-30 10:00:00.000000')"
                )
                conn.exec_driver_sql(
                    "INSERT INTO sync_events (id, type, user_id, client_id, status, at, client_at, received_at,"
                    " flagged) VALUES ('ev-00000001', 'scan', 1, '', 'applied', '999-01-01 00:00:00.000000',"
                    " '99-01-01 00:00:00.000000', '2026-11-30 10:00:00.000000', 0)"
                )
            upgrade(revision="0011")
            row = db.session.get(SyncEvent, "ev-00000001")
            assert row.at == datetime(999, 1, 1, tzinfo=UTC)
            assert row.client_at == datetime(99, 1, 1, tzinfo=UTC)
            assert row.received_at == datetime(2026, 11, 30, 10, tzinfo=UTC)
            db.session.remove()
            db.engine.dispose()


def test_an_unreadable_event_id_is_not_echoed_back(client, aide_token):
    body = json.dumps({"events": [{**scan("LHS-1000"), "id": "bad\u0000id-00000"}, scan("LHS-1000")]})
    resp = raw_post(client, aide_token, body)
    answers = inputs.loads(resp.get_data())["results"]  # the answer itself is JSON any reader takes
    assert answers[0] == {"id": None, "status": "rejected", "reason": "The event has no valid id."}
    assert answers[1]["status"] == "applied"
