"""Recording sightings of devices and moving the asset projections (room, condition, last seen) forward in time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from app import bulk
from app.extensions import db
from app.models import (
    Activity,
    Asset,
    Condition,
    Observation,
    ObservationSource,
    Room,
    User,
    Via,
    utcnow,
)


class AssetRef(Protocol):
    """An asset as a sighting needs it: an Asset, or a lighter row with these fields."""

    id: int
    asset_tag: str
    campus_id: int


# The projections move only forward in event time; the guard is in the WHERE clause so that it holds against any
# writer, whatever this request read before.
_ADVANCE_ROOM = (
    "UPDATE assets SET current_room_id = ?, last_seen_at = ?, last_seen_by_id = ?, updated_at = ?"
    " WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)"
)
# A sighting with no room (a device received at the repair desk, handed over in a loaner swap) says when and by
# whom it was last seen, and leaves its room as the last one it was seen in.
_ADVANCE_SEEN = (
    "UPDATE assets SET last_seen_at = ?, last_seen_by_id = ?, updated_at = ?"
    " WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at < ?)"
)
_ADVANCE_CONDITION = (
    "UPDATE assets SET condition = ?, condition_at = ?, updated_at = ?"
    " WHERE id = ? AND (condition_at IS NULL OR condition_at < ?)"
)


class Sighting(NamedTuple):
    """One device seen (or checked) somewhere at a point in time, before it is stored."""

    asset: AssetRef
    room: Room | None
    at: datetime
    by: User | None
    condition: Condition | None = None
    note: str | None = None
    audit_id: str | None = None
    source: ObservationSource = ObservationSource.scan
    via: Via = Via.sync
    event_id: str | None = None
    flagged: bool = False


def record_observation(asset: AssetRef, room: Room | None, *, at: datetime, by: User | None, **fields: Any) -> None:
    """Store one sighting; see record_sightings. `fields` are Sighting's optional fields."""
    record_sightings([Sighting(asset, room, at, by, **fields)])


def record_sightings(sightings: Sequence[Sighting]) -> None:
    """Store each sighting as an immutable observation and move the asset projections only for the newest facts.

    Every observation is kept, whatever its time; `current_room`, `last_seen_at` and `last_seen_by` change only
    when a sighting is newer than `last_seen_at`, and `condition` only when it is newer than `condition_at`. The
    sightings are taken in order, as if stored one by one; the activity log gets an entry for each that changes a
    device's room or condition. The assets' rows are locked while they are read (SELECT ... FOR UPDATE; SQLite's
    write transactions hold the database lock already), and each UPDATE repeats the time guard, so two writers
    racing on one asset cannot move a projection backwards. A batch costs a fixed handful of statements.
    """
    if not sightings:
        return
    # Times and conditions are compared as the database holds them (on SQLite, fixed-width text that sorts by
    # time), so the rows need no parsing.
    columns = Asset.__table__.c
    moment, condition_value = bulk.converter(columns.last_seen_at), bulk.converter(columns.condition)
    state = {
        asset_id: {"room": room_id, "seen": seen, "condition": condition, "condition_at": condition_at}
        for asset_id, room_id, seen, condition, condition_at in bulk.fetch_all(
            "SELECT id, current_room_id, last_seen_at, condition, condition_at FROM assets WHERE id IN ({ids})"
            " ORDER BY id" + ("" if db.session.get_bind().dialect.name == "sqlite" else " FOR UPDATE"),
            ids=sorted({s.asset.id for s in sightings}),
        )
    }
    now = utcnow()
    rows = [
        (
            s.asset.id,
            s.room.id if s.room is not None else None,
            s.at,
            s.by.id if s.by is not None else None,
            s.condition,
            s.note or None,
            s.audit_id,
            s.source,
            s.via,
            s.event_id,
            s.flagged,
        )
        for s in sightings
    ]
    obs_ids = _insert_observations(rows, now)

    moved: dict[int, Sighting] = {}
    seen: dict[int, Sighting] = {}
    checked: dict[int, Sighting] = {}
    entries: list[dict[str, Any]] = []
    for s, obs_id in zip(sightings, obs_ids, strict=True):
        current = state[s.asset.id]
        when = moment(s.at)
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        if current["seen"] is None or current["seen"] < when:
            _see(current, s, when, before, after, moved if s.room is not None else seen)
            if s.room is not None:
                seen.pop(s.asset.id, None)
        if s.condition is not None and (current["condition_at"] is None or current["condition_at"] < when):
            value = condition_value(s.condition)
            if current["condition"] != value:
                before["condition"], after["condition"] = current["condition"], s.condition.value
            current.update(condition=value, condition_at=when)
            checked[s.asset.id] = s
        if after:
            where = f" in {s.room.code}" if s.room is not None else ""
            entries.append(
                {
                    "action": f"observation.{s.source.value}",
                    "summary": (
                        f"Saw {s.asset.asset_tag}{where}" + (f" ({s.condition.value})" if "condition" in after else "")
                    )[:300],
                    "user_id": s.by.id if s.by is not None else None,
                    "via": s.via,
                    "asset_id": s.asset.id,
                    "campus_id": s.asset.campus_id,
                    "subject_type": Observation.__tablename__,
                    "subject_id": obs_id,
                    "before": before,
                    "after": after,
                }
            )

    stamp = bulk.convert(columns.updated_at, now)
    bulk.execute_many(
        _ADVANCE_ROOM,
        [(s.room.id, moment(s.at), s.by.id if s.by else None, stamp, i, moment(s.at)) for i, s in moved.items()],
    )
    bulk.execute_many(
        _ADVANCE_SEEN,
        [(moment(s.at), s.by.id if s.by else None, stamp, i, moment(s.at)) for i, s in seen.items()],
    )
    bulk.execute_many(
        _ADVANCE_CONDITION,
        [(condition_value(s.condition), moment(s.at), stamp, i, moment(s.at)) for i, s in checked.items()],
    )
    if entries:
        codes = _room_codes({e["before"]["current_room"] for e in entries if e["before"].get("current_room")})
        for e in entries:
            if "current_room" in e["before"]:
                e["before"]["current_room"] = codes.get(e["before"]["current_room"])
        bulk.insert_many(Activity.__table__, entries, same={"at": now})

    _refresh_loaded(moved, seen, checked)


def _refresh_loaded(moved: dict[int, Sighting], seen: dict[int, Sighting], checked: dict[int, Sighting]) -> None:
    """Copies of these assets already loaded in the session learn their new projections without another query."""
    # (Identity keys are (class, primary key, token): reading them never reloads an expired object.)
    loaded = {key[1][0]: obj for key, obj in db.session.identity_map.items() if key[0] is Asset}
    for asset_id, s in moved.items():
        if (asset := loaded.get(asset_id)) is not None:
            set_committed_value(asset, "current_room_id", s.room.id)
            set_committed_value(asset, "current_room", s.room)
            set_committed_value(asset, "last_seen_at", s.at)
            set_committed_value(asset, "last_seen_by_id", s.by.id if s.by else None)
    for asset_id, s in seen.items():
        if (asset := loaded.get(asset_id)) is not None:
            set_committed_value(asset, "last_seen_at", s.at)
            set_committed_value(asset, "last_seen_by_id", s.by.id if s.by else None)
    for asset_id, s in checked.items():
        if (asset := loaded.get(asset_id)) is not None:
            set_committed_value(asset, "condition", s.condition)
            set_committed_value(asset, "condition_at", s.at)


def _see(current: dict[str, Any], s: Sighting, when: Any, before: dict, after: dict, into: dict[int, Sighting]) -> None:
    """A sighting newer than the device's last seen: it moves "last seen" (and the room, when it names one)."""
    if s.room is not None:
        if current["room"] != s.room.id:
            before["current_room"], after["current_room"] = current["room"], s.room.code
        current["room"] = s.room.id
    current["seen"] = when
    into[s.asset.id] = s


_OBSERVATION_COLUMNS = (
    "asset_id",
    "room_id",
    "at",
    "by_id",
    "condition",
    "note",
    "audit_id",
    "source",
    "via",
    "event_id",
    "flagged",
)


def _insert_observations(rows: list[tuple[Any, ...]], now: datetime) -> list[int]:
    """INSERT the rows (in _OBSERVATION_COLUMNS order); their ids in the same order, in a few statements.

    PostgreSQL returns the ids of a multi-row insert in parameter order. SQLite cannot promise that order, so
    there the ids are given: the caller's write transaction holds SQLite's only write lock (BEGIN IMMEDIATE),
    so the ids after the current largest are free, and a concurrent insert would fail loudly on the key.
    """
    table = Observation.__table__
    if len(rows) == 1 or db.session.get_bind().dialect.name != "sqlite":
        stmt = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        params = [dict(zip(_OBSERVATION_COLUMNS, row, strict=True), created_at=now) for row in rows]
        return list(db.session.scalars(stmt, params).all())
    first = (db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1
    ids = list(range(first, first + len(rows)))
    rows_with_ids = [(obs_id, *row) for obs_id, row in zip(ids, rows, strict=True)]
    bulk.insert_rows(table, ("id", *_OBSERVATION_COLUMNS), rows_with_ids, same={"created_at": now})
    return ids


def _room_codes(room_ids: set[int]) -> dict[int, str]:
    if not room_ids:
        return {}
    return dict(db.session.execute(sa.select(Room.id, Room.code).where(Room.id.in_(room_ids))).all())


def observations_of(asset: Asset, limit: int = 500) -> list[Observation]:
    """The asset's observations, newest first."""
    return list(
        db.session.scalars(
            sa.select(Observation)
            .where(Observation.asset_id == asset.id)
            .order_by(Observation.at.desc(), Observation.id.desc())
            .limit(limit)
        )
    )
