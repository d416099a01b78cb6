"""Scans are applied many at a time: the answers and the stored history must be those of applying them one by one."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app import bulk
from app.extensions import db
from app.models import Activity, Asset, Observation, Role, SyncEvent, UnknownScan
from app.services import sync as sync_service
from tests import factories
from tests.test_sync import count, iso, post, scan


def mixed_batch(now: datetime) -> list[dict]:
    """Moves, reorderings, conditions, an unknown code, another campus's device and refusals, in one batch."""
    return [
        scan("LHS-1000", room="LHS-IT", at=now - timedelta(minutes=10)),
        scan("LHS-1000", room="LHS-101", at=now - timedelta(minutes=30), condition="broken"),  # older: history only
        scan("mkqqa7msua", room="LHS-101", at=now - timedelta(minutes=5), condition="fair"),  # serial, any case
        scan("LHS-1001", room="LHS-101", at=now - timedelta(minutes=8)),
        scan("NOT-A-DEVICE", room="LHS-IT", at=now - timedelta(minutes=7), note="sticker peeling"),
        scan("JMS-2000", room="LHS-101", at=now - timedelta(minutes=6)),  # another campus's device: seen here
        scan("LHS-1001", room="JMS-201", at=now - timedelta(minutes=4)),  # another campus's room: refused
        scan("LHS-1001", room="LHS-101", at=now - timedelta(minutes=3), condition="sparkly"),  # refused
        scan("LHS-1001", room="LHS-IT", at=now - timedelta(minutes=2), condition="good"),
        scan("LHS-1000", room="LHS-101", at=now - timedelta(minutes=1)),  # same room as the newest: no move
    ]


def history() -> dict:
    """What the batch left behind, without database ids and server clocks."""
    assets = db.session.scalars(sa.select(Asset).order_by(Asset.asset_tag)).all()
    return {
        "assets": [
            (
                a.asset_tag,
                a.current_room.code if a.current_room else None,
                a.last_seen_at,
                a.condition.value,
                a.condition_at,
            )
            for a in assets
        ],
        "observations": [
            (o.asset.asset_tag, o.room.code, o.at, o.condition.value if o.condition else None, o.note, o.event_id)
            for o in db.session.scalars(sa.select(Observation).order_by(Observation.id))
        ],
        "activity": [
            (e.action, e.summary, e.before, e.after, e.asset_id, e.subject_type)
            for e in db.session.scalars(
                sa.select(Activity).where(Activity.action.like("observation.%")).order_by(Activity.id)
            )
        ],
        "unknown": [(u.code, u.room.code, u.at, u.note) for u in db.session.scalars(sa.select(UnknownScan))],
        "events": sorted((e.id, e.status.value, e.reason) for e in db.session.scalars(sa.select(SyncEvent))),
    }


def forget_the_batch(start: dict) -> None:
    """Remove what a batch stored and put the devices back as they were, so it can be applied again."""
    for model in (Activity, Observation, UnknownScan, SyncEvent):
        db.session.execute(sa.delete(model))
    for asset in db.session.scalars(sa.select(Asset)):
        for key, value in start[asset.id].items():
            setattr(asset, key, value)
    db.session.commit()


def test_bulk_and_one_by_one_give_the_same_answers_and_history(app, client, aide_token, monkeypatch, caplog):
    now = datetime.now(UTC).replace(microsecond=0)
    batch = mixed_batch(now)
    keys = ("current_room_id", "last_seen_at", "last_seen_by_id", "condition", "condition_at")
    with app.app_context():
        start = {a.id: {k: getattr(a, k) for k in keys} for a in db.session.scalars(sa.select(Asset))}

    with caplog.at_level(logging.WARNING, logger="app.services.sync"):
        bulk_results = post(client, aide_token, batch).get_json()["results"]
    assert not caplog.records, "the batch fell back to one by one"  # the bulk path itself wrote it
    with app.app_context():
        bulk_history = history()
        forget_the_batch(start)

    registration = sync_service.HANDLERS["scan"]
    assert registration.bulk is not None
    monkeypatch.setitem(
        sync_service.HANDLERS, "scan", sync_service.Registration(registration.handler, registration.roles)
    )
    single_results = post(client, aide_token, batch).get_json()["results"]
    with app.app_context():
        single_history = history()

    assert bulk_results == single_results
    assert bulk_history == single_history
    statuses = [r["status"] for r in bulk_results]
    assert statuses == ["applied"] * 6 + ["rejected", "rejected", "applied", "applied"]
    assert "not on your campuses" in bulk_results[6]["reason"] and "sparkly" in bulk_results[7]["reason"]
    assert bulk_results[5]["info"] == {
        "asset": {"asset_tag": "JMS-2000", "model": bulk_results[5]["info"]["asset"]["model"], "campus": "JMS"},
        "room": "LHS-101",
        "seen_here": True,
    }
    assert bulk_results[4]["info"]["unknown"] is True
    # Every sighting is kept; the projections hold the newest; the log has one entry per change, in event order.
    assert len(bulk_history["observations"]) == 7
    assets = {row[0]: row for row in bulk_history["assets"]}
    assert assets["LHS-1000"][1:] == ("LHS-101", now - timedelta(minutes=1), "fair", now - timedelta(minutes=5))
    assert assets["LHS-1001"][1:4] == ("LHS-IT", now - timedelta(minutes=2), "good")
    moves = [(e[2], e[3]) for e in bulk_history["activity"]]
    assert moves == [
        ({"current_room": None}, {"current_room": "LHS-IT"}),
        ({"condition": "good"}, {"condition": "broken"}),  # older than the move, but the first word on condition
        ({"current_room": "LHS-IT", "condition": "broken"}, {"current_room": "LHS-101", "condition": "fair"}),
        ({"current_room": None}, {"current_room": "LHS-101"}),
        ({"current_room": None}, {"current_room": "LHS-101"}),
        ({"current_room": "LHS-101"}, {"current_room": "LHS-IT"}),
    ]


def test_a_failed_bulk_write_is_retried_one_by_one(app, client, aide_token, monkeypatch):
    registration = sync_service.HANDLERS["scan"]
    calls = []

    def failing_write(scans):  # e.g. the disk filled up half way through the run
        calls.append(len(scans))
        raise RuntimeError("the database went away")

    monkeypatch.setitem(
        sync_service.HANDLERS,
        "scan",
        sync_service.Registration(
            registration.handler,
            registration.roles,
            registration.prefetch,
            sync_service.Bulk(registration.bulk.plan, failing_write),
        ),
    )
    now = datetime.now(UTC)
    batch = [scan("LHS-1000", at=now - timedelta(minutes=2)), scan("LHS-1001", room="NOWHERE"), scan("LHS-1001")]
    results = post(client, aide_token, batch).get_json()["results"]
    assert calls == [2]
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert "NOWHERE" in results[1]["reason"]
    with app.app_context():
        assert count(Observation) == 2 and count(SyncEvent) == 3
    assert [r["status"] for r in post(client, aide_token, batch).get_json()["results"]] == [
        "duplicate",
        "rejected",
        "duplicate",
    ]


def test_a_partly_known_batch_applies_only_the_new_events(app, client, aide_token):
    first, refused, later = scan("LHS-1000"), scan("LHS-1000", condition="sparkly"), scan("LHS-1001")
    assert [r["status"] for r in post(client, aide_token, [first, refused]).get_json()["results"]] == [
        "applied",
        "rejected",
    ]
    results = post(client, aide_token, [refused, first, later, first]).get_json()["results"]
    assert [r["status"] for r in results] == ["rejected", "duplicate", "applied", "duplicate"]
    assert "sparkly" in results[0]["reason"]
    with app.app_context():
        assert count(Observation) == 2


def test_other_event_types_run_between_scans_in_order(app, client, aide_token, monkeypatch):
    seen_counts = []

    def probe(data, ctx):
        seen_counts.append(count(Observation))

    # register() writes to the one table the engine reads: the key leaves it again when the test ends.
    monkeypatch.setitem(sync_service.HANDLERS, "test.probe", None)
    sync_service.register("test.probe", probe)
    ping = {"id": str(uuid.uuid4()), "type": "test.probe", "at": iso(datetime.now(UTC)), "data": {}}
    pong = dict(ping, id=str(uuid.uuid4()))
    batch = [scan("LHS-1000"), scan("LHS-1001"), ping, scan("MKQQA7MSUA"), pong]
    results = post(client, aide_token, batch).get_json()["results"]
    assert [r["id"] for r in results] == [e["id"] for e in batch]
    assert [r["status"] for r in results] == ["applied"] * 5
    assert seen_counts == [2, 3]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 0, 5, 123456, tzinfo=UTC),
        datetime(2026, 11, 29, 23, 30, tzinfo=timezone(timedelta(hours=-6))),
    ],
)
def test_bulk_writes_store_times_exactly_as_the_orm_does(app, moment):
    column = Asset.__table__.c.last_seen_at
    with app.app_context():
        dialect = db.session.get_bind().dialect
        orm_form = column.type.dialect_impl(dialect).bind_processor(dialect)(moment)
        assert bulk.convert(column, moment) == orm_form
        with pytest.raises(ValueError, match="naive"):
            bulk.convert(column, moment.replace(tzinfo=None))


def test_a_loaded_asset_sees_its_new_projection(app, district):
    from app.models import Condition, Room
    from app.services.observations import record_observation

    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        room = db.session.scalar(sa.select(Room).where(Room.code == "LHS-IT"))
        user = factories.make_user(Role.aide, "LHS")
        at = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
        assert asset.last_seen_at is None
        record_observation(asset, room, at=at, by=user, condition=Condition.damaged)
        # No refresh: the same object was told.
        assert (asset.current_room, asset.last_seen_at, asset.last_seen_by_id) == (room, at, user.id)
        assert (asset.condition, asset.condition_at) == (Condition.damaged, at)
        db.session.expire_all()
        assert (asset.current_room_id, asset.last_seen_at, asset.condition) == (room.id, at, Condition.damaged)
