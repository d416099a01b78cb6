"""Recording sightings of devices and moving the asset projections (room, condition, last seen) forward in time."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import (
    Asset,
    AssetStatus,
    Condition,
    Observation,
    ObservationSource,
    Role,
    Room,
    User,
    Via,
)
from app.services import activity


def record_observation(
    asset: Asset,
    room: Room | None,
    *,
    at: datetime,
    by: User | None,
    condition: Condition | None = None,
    note: str | None = None,
    audit_id: str | None = None,
    source: ObservationSource = ObservationSource.scan,
    via: Via = Via.sync,
    event_id: str | None = None,
    flagged: bool = False,
) -> Observation:
    """Store an immutable observation and move the asset's projections only when it is the newest fact.

    Every observation is kept, whatever its time; `current_room`, `last_seen_at` and `last_seen_by` change only
    when `at` is newer than `last_seen_at`, and `condition` only when `at` is newer than `condition_at`. The
    comparison happens inside the UPDATE's WHERE clause, so two writers racing on one asset cannot move a
    projection backwards. The activity log gets an entry when the device's room or condition changes.
    """
    obs = Observation(
        asset_id=asset.id,
        room_id=room.id if room is not None else None,
        at=at,
        by_id=by.id if by is not None else None,
        condition=condition,
        note=note or None,
        audit_id=audit_id,
        source=source,
        via=via,
        event_id=event_id,
        flagged=flagged,
    )
    db.session.add(obs)
    db.session.flush()

    before_room, before_condition = asset.current_room_id, asset.condition
    moved = False
    if room is not None:
        moved = _advance(
            asset,
            Asset.last_seen_at,
            at,
            current_room_id=room.id,
            last_seen_at=at,
            last_seen_by_id=obs.by_id,
        )
    changed_condition = False
    if condition is not None:
        changed_condition = _advance(asset, Asset.condition_at, at, condition=condition, condition_at=at)

    room_changed = moved and before_room != room.id
    condition_changed = changed_condition and before_condition is not condition
    if room_changed or condition_changed:
        before, after = {}, {}
        if room_changed:
            before["current_room"], after["current_room"] = _room_code(before_room), room.code
        if condition_changed:
            before["condition"], after["condition"] = before_condition.value, condition.value
        where = f" in {room.code}" if room is not None else ""
        activity.record(
            f"observation.{source.value}",
            f"Saw {asset.asset_tag}{where}" + (f" ({condition.value})" if condition_changed else ""),
            by=by,
            via=via,
            asset=asset,
            subject=obs,
            before=before,
            after=after,
        )
    return obs


def _advance(asset: Asset, clock: sa.orm.InstrumentedAttribute, at: datetime, **values) -> bool:
    """UPDATE the asset's columns if `at` is newer than `clock`; mirror the change on the loaded object."""
    result = db.session.execute(
        sa.update(Asset)
        .where(Asset.id == asset.id, sa.or_(clock.is_(None), clock < at))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    for key, value in values.items():
        set_committed_value(asset, key, value)
    if "current_room_id" in values:
        set_committed_value(asset, "current_room", db.session.get(Room, values["current_room_id"]))
    return True


def _room_code(room_id: int | None) -> str | None:
    if room_id is None:
        return None
    room = db.session.get(Room, room_id)
    return room.code if room is not None else None


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


def seed_demo_observations(seed: int, now: datetime) -> int:
    """Give the demo district a believable "last seen": most devices scanned in the last weeks, a few moved.

    Bulk inserts and a bulk update by primary key keep this fast for hundreds of thousands of devices.
    """
    rng = random.Random(seed * 7919 + 4)
    scanners: dict[int, list[int]] = {}
    for user in db.session.scalars(sa.select(User).where(User.role.in_([Role.aide, Role.tech, Role.librarian]))):
        for campus in user.campuses:
            scanners.setdefault(campus.id, []).append(user.id)
    rooms_by_campus: dict[int, list[int]] = {}
    for room_id, campus_id in db.session.execute(sa.select(Room.id, Room.campus_id).order_by(Room.id)):
        rooms_by_campus.setdefault(campus_id, []).append(room_id)
    seen_statuses = [AssetStatus.deployed, AssetStatus.loaner, AssetStatus.in_stock, AssetStatus.in_repair]
    rows = db.session.execute(
        sa.select(Asset.id, Asset.campus_id, Asset.home_room_id)
        .where(Asset.status.in_(seen_statuses))
        .order_by(Asset.id)
    ).all()
    observations, projections = [], []
    for asset_id, campus_id, home_room_id in rows:
        if rng.random() > 0.7 or not scanners.get(campus_id):
            continue  # never scanned: these are what "not seen in N days" finds
        last = None
        for n in range(1 if rng.random() < 0.7 else 2):
            at = now - timedelta(days=rng.uniform(0, 75) / (n + 1), minutes=rng.randrange(600))
            room_id = home_room_id
            if rng.random() < 0.05:
                room_id = rng.choice(rooms_by_campus[campus_id])  # wandered off to another room
            row = {
                "asset_id": asset_id,
                "room_id": room_id,
                "at": at,
                "by_id": rng.choice(scanners[campus_id]),
                "source": ObservationSource.demo,
                "via": Via.cli,
                "flagged": False,
                "created_at": now,
            }
            observations.append(row)
            if last is None or at > last["at"]:
                last = row
        projections.append(
            {
                "id": asset_id,
                "current_room_id": last["room_id"],
                "last_seen_at": last["at"],
                "last_seen_by_id": last["by_id"],
            }
        )
    batch = 5000
    for start in range(0, len(observations), batch):
        db.session.execute(sa.insert(Observation), observations[start : start + batch])
    for start in range(0, len(projections), batch):
        db.session.execute(sa.update(Asset), projections[start : start + batch])
    return len(observations)
