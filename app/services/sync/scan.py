"""The `scan` event: a device seen in a room, applied many at a time; finding rooms and devices; unknown codes."""

from __future__ import annotations

from typing import Any, NamedTuple

import sqlalchemy as sa

from app import bulk
from app.extensions import db
from app.models import AssetStatus, Condition, Room, UnknownScan, User, Via, utcnow
from app.services import activity, found
from app.services.observations import Sighting, record_sightings
from app.services.sync.engine import Context, Rejected, choice, text
from app.tagcodes import looks_like_code, normalise, scanned_value


def find_room(code: str, batch: dict[str, Any] | None = None) -> Room | None:
    """The room named by its code (any case) or by its sticker's tag code; remembered for the rest of the batch."""
    raw = scanned_value(code)
    # Holding the objects (not ids) keeps them in the session's weak identity map for the whole batch.
    known: dict[str, Room] = (db.session.info if batch is None else batch).setdefault("sync.rooms", {})
    if raw in known:
        return known[raw]
    conds = [Room.code == raw.upper()]
    if looks_like_code(raw):
        conds.append(Room.tag_code == normalise(raw))
    rooms = db.session.scalars(sa.select(Room).where(sa.or_(*conds))).all()
    room = next((r for r in rooms if r.code == raw.upper()), rooms[0] if rooms else None)
    if room is not None:
        known[raw] = room
    return room


class ScannedDevice(NamedTuple):
    """What a scan needs to know about a device, read as one row rather than a whole asset."""

    id: int
    asset_tag: str
    serial: str
    tag_code: str
    campus_id: int
    campus_code: str
    model: str
    status: AssetStatus
    home_room_id: int | None


_DEVICES = (
    "SELECT a.id, a.asset_tag, a.serial, a.tag_code, a.campus_id, c.code, m.manufacturer || ' ' || m.name,"
    " a.status, a.home_room_id FROM assets a JOIN campuses c ON c.id = a.campus_id"
    " JOIN device_models m ON m.id = a.model_id"
    " WHERE a.asset_tag IN ({texts}) OR a.serial IN ({texts2}) OR a.tag_code IN ({codes})"
)


def _devices(texts: set[str]) -> list[ScannedDevice]:
    """The devices whose asset tag or serial is one of `texts` (as written or upper-cased) or whose tag code is."""
    both = sorted(texts | {t.upper() for t in texts})
    codes = sorted({normalise(t) for t in texts if looks_like_code(t)})
    rows = bulk.fetch_all(_DEVICES, texts=both, texts2=both, codes=codes)
    return [ScannedDevice(*row[:7], AssetStatus(row[7]), row[8]) for row in rows]


def _pick_device(raw: str, by_code: dict, by_tag: dict, by_serial: dict) -> ScannedDevice | None:
    """The precedence of app.services.assets.find_asset: tag code, exact asset tag, then upper-cased tag or serial."""
    code = normalise(raw) if looks_like_code(raw) else None
    upper = raw.upper()
    return (
        (by_code.get(code) if code else None)
        or by_tag.get(raw)
        or by_tag.get(upper)
        or by_serial.get(upper)
        or by_serial.get(raw)
    )


def _remember_devices(texts: set[str], devices: list[ScannedDevice]) -> dict[str, ScannedDevice]:
    by_code = {d.tag_code: d for d in devices}
    by_tag = {d.asset_tag: d for d in devices}
    by_serial = {d.serial: d for d in devices}
    known: dict[str, ScannedDevice] = db.session.info.setdefault("sync.assets", {})
    for raw in texts:
        found = _pick_device(raw, by_code, by_tag, by_serial)
        if found is not None:
            known[raw] = found
    return known


def find_scanned_asset(text: str, batch: dict[str, Any] | None = None) -> ScannedDevice | None:
    """The device a scan names (tag code, asset tag or serial, any case); remembered for the rest of the batch.

    Same answers as app.services.assets.find_asset, which it mirrors for the sync hot path.
    """
    raw = scanned_value(text)
    if not raw:
        return None
    known: dict[str, ScannedDevice] = (db.session.info if batch is None else batch).setdefault("sync.assets", {})
    if raw not in known:
        _remember_devices({raw}, _devices({raw}))
    return known.get(raw)


def prefetch_scans(datas: list[dict[str, Any]], user: User) -> None:
    """Load the rooms and devices a batch of scans names in two queries; the handler then finds them in memory."""
    rooms = {scanned_value(d["room"]) for d in datas if isinstance(d.get("room"), str)} - {""}
    tags = {scanned_value(d["tag"]) for d in datas if isinstance(d.get("tag"), str)} - {""}
    known_rooms: dict[str, Room] = db.session.info.setdefault("sync.rooms", {})
    if rooms:
        for room in db.session.scalars(sa.select(Room).where(Room.code.in_({r.upper() for r in rooms}))):
            for r in rooms:
                if r.upper() == room.code:
                    known_rooms[r] = room
    if tags:
        _remember_devices(tags, _devices(tags))


def _may_see(user: User, campus_id: int, batch: dict[str, Any]) -> bool:
    """User.can_see_campus, with the user's campuses read once per batch."""
    visible = batch.setdefault("sync.campus_ids", {})
    if user.id not in visible:
        visible[user.id] = user.campus_ids
    ids = visible[user.id]
    return ids is None or campus_id in ids


class _Scan(NamedTuple):
    tag: str
    room: Room
    asset: ScannedDevice | None
    condition: Condition | None
    note: str | None
    audit: str | None
    # A code that names no device but a room (its door tag, or its code typed): never an unknown device.
    door: Room | None = None


def plan_scan(data: dict[str, Any], ctx: Context) -> _Scan:
    """Check a `scan` event and find its room and device; nothing is written."""
    tag = text(data, "tag", max_len=120)
    room_code = text(data, "room", max_len=120)
    condition = choice(data, "condition", Condition)
    note = text(data, "note", required=False, max_len=500)
    audit = text(data, "audit", required=False, max_len=64)
    room = find_room(room_code, ctx.batch)
    if room is None:
        raise Rejected(f"There is no room {room_code}.")
    if not _may_see(ctx.user, room.campus_id, ctx.batch):
        raise Rejected(f"Room {room.code} is not on your campuses; nothing was recorded.")
    asset = find_scanned_asset(tag, ctx.batch)
    door = find_room(tag, ctx.batch) if asset is None else None
    return _Scan(tag, room, asset, condition, note, audit, door)


def write_scans(scans: list[tuple[_Scan, Context]]) -> list[dict[str, Any]]:
    """Store planned scans: an observation for each known device, a review entry for each unknown code.

    A device of another campus is recorded as seen here, and the answer names only its tag, model and home campus.
    A device marked missing is noticed as found (app.services.found) and its answer says so. A room's door tag
    is neither: nothing is stored, and the answer names the room so the phone can offer to switch to it.
    """
    unknown = [
        {
            "code": scan.tag,
            "room_id": scan.room.id,
            "by_id": ctx.user.id,
            "at": ctx.at,
            "event_id": ctx.event_id,
            "note": scan.note,
        }
        for scan, ctx in scans
        if scan.asset is None and scan.door is None
    ]
    bulk.insert_many(UnknownScan.__table__, unknown)
    record_sightings(
        [
            Sighting(
                scan.asset,
                scan.room,
                ctx.at,
                ctx.user,
                condition=scan.condition,
                note=scan.note,
                audit_id=scan.audit,
                via=ctx.via,
                event_id=ctx.event_id,
                flagged=ctx.flagged,
            )
            for scan, ctx in scans
            if scan.asset is not None
        ]
    )
    home_rooms = {scan.asset.home_room_id for scan, _ctx in scans if scan.asset is not None} - {None}
    home_codes = dict(db.session.execute(sa.select(Room.id, Room.code).where(Room.id.in_(home_rooms))).all())
    infos = []
    for scan, ctx in scans:
        asset = scan.asset
        if scan.door is not None:
            infos.append(_door_info(scan.door, scan.room, ctx))
            continue
        if asset is None:
            infos.append(
                {
                    "unknown": True,
                    "code": scan.tag,
                    "room": scan.room.code,
                    "message": "Unknown tag, recorded for review.",
                }
            )
            continue
        device = {"asset_tag": asset.asset_tag, "model": asset.model, "campus": asset.campus_code}
        notice = found.notice_found(
            asset, room=scan.room, by=ctx.user, via=ctx.via, at=ctx.at, sighting=False, event_id=ctx.event_id
        )
        flags = notice.as_info() if notice is not None else {}
        if not _may_see(ctx.user, asset.campus_id, ctx.batch):
            infos.append({"asset": device, "room": scan.room.code, "seen_here": True, **flags})
            continue
        device.update(status=asset.status.value, home_room=home_codes.get(asset.home_room_id))
        infos.append({"asset": device, "room": scan.room.code, "seen_here": False, **flags})
    return infos


def _door_info(door: Room, room: Room, ctx: Context) -> dict[str, Any]:
    """The answer to a scan of a room's door tag: which room it is, and whether the phone may switch to it."""
    may_switch = door.active and door.id != room.id and _may_see(ctx.user, door.campus_id, ctx.batch)
    return {
        "door": door.code,
        "room": room.code,
        "switch": may_switch,
        "message": door_message(door.code, room.code),
    }


def door_message(door: str, room: str) -> str:
    """What a scan of a door tag says (static/js/found.js says the same offline)."""
    if door == room:
        return f"This is {door}'s door tag — you are already in {door}."
    return f"This is {door}'s door tag — switch room?"


def apply_scan(data: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """`scan`: a device (tag code, asset tag or serial) seen in a room, with an optional condition and note.

    The room must be on one of the user's campuses. A device of another campus is recorded as seen here, and the
    answer names only its tag, model and home campus. A code that matches no device is kept for review.
    """
    return write_scans([(plan_scan(data, ctx), ctx)])[0]


def unknown_scans(user: User, *, resolved: bool = False, limit: int = 200) -> list[UnknownScan]:
    """Scanned codes that matched no device, in rooms on the user's campuses, newest first."""
    stmt = (
        sa.select(UnknownScan)
        .join(Room, Room.id == UnknownScan.room_id)
        .where(UnknownScan.resolved_at.is_not(None) if resolved else UnknownScan.resolved_at.is_(None))
        .order_by(UnknownScan.at.desc(), UnknownScan.id.desc())
        .limit(limit)
    )
    if user.campus_ids is not None:
        stmt = stmt.where(Room.campus_id.in_(user.campus_ids))
    return list(db.session.scalars(stmt))


def resolve_unknown(row: UnknownScan, *, by: User, via: Via) -> None:
    """Mark an unknown-tag scan as dealt with (registered, or a typo)."""
    if row.resolved_at is not None:
        return
    row.resolved_at = utcnow()
    row.resolved_by_id = by.id
    db.session.flush()
    activity.record(
        "unknown_scan.resolve",
        f"Reviewed unknown code {row.code} scanned in {row.room.code}",
        by=by,
        via=via,
        campus_id=row.room.campus_id,
        subject=row,
    )
