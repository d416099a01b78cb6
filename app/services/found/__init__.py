"""Missing devices found again: noticing a scan of a device marked missing, and marking it found.

A device goes missing through any status change (an edit, an import), and each of those writes the old and new
status to the activity log; that entry is where "when did it go missing" and "what was it before" are read, so
no writer of statuses has to remember anything extra. A device created as missing has no earlier status: it
goes back to `deployed` when it is assigned to someone and to `in_stock` otherwise.

Noticing (`notice_found`) changes nothing about the device but its sighting: it records who found it where, as
an `asset.found` entry in its history, and leaves the status for someone allowed to change it (`assets.edit`) to
put back with `mark_found`. Every page that scans (the scan page, audits, the loaner desk, repairs receive)
calls `notice_found`; what it returns is the alert the page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Activity, Asset, AssetStatus, ObservationSource, Room, User, Via, utcnow
from app.services import activity
from app.services.assets import visible_to
from app.services.errors import Invalid
from app.services.observations import AssetRef, record_observation

FOUND = "asset.found"
MARKED_FOUND = "asset.mark_found"
# How long a device marked found stays on the dashboard's and closet finder's "found" list.
RECENT_DAYS = 14


class DeviceRef(Protocol):
    """A device as noticing needs it: an Asset, or a lighter row (app.services.sync.ScannedDevice)."""

    @property
    def id(self) -> int: ...
    @property
    def asset_tag(self) -> str: ...
    @property
    def campus_id(self) -> int: ...
    @property
    def status(self) -> AssetStatus: ...


@dataclass(frozen=True)
class FoundNotice:
    """What a page tells the person who scanned a missing device."""

    asset_tag: str
    room: str | None
    message: str

    def as_info(self) -> dict[str, Any]:
        """The flag and words a sync result carries, so the phone can raise the alert after sending too."""
        return {"missing": True, "found_message": self.message}


def alert(asset_tag: str, room: str | None) -> str:
    """The words of the alert: the same on every page, online and offline (static/js/found.js says them too)."""
    return f"{asset_tag} was reported missing — found here" + (f" in {room}" if room else "")


def _went_missing_entries(asset_ids: list[int]) -> dict[int, Activity]:
    """For each device, the newest history entry that set its status to missing."""
    if not asset_ids:
        return {}
    rows = db.session.scalars(
        sa.select(Activity)
        .where(Activity.asset_id.in_(asset_ids), Activity.after["status"].as_string() == AssetStatus.missing.value)
        .order_by(Activity.at, Activity.id)
    )
    return {row.asset_id: row for row in rows if row.asset_id is not None}


def missing_since(asset_id: int) -> datetime | None:
    """When the device was last marked missing (None when its history does not say: created or seeded so)."""
    entry = _went_missing_entries([asset_id]).get(asset_id)
    return entry.at if entry is not None else None


def status_before_missing(asset: Asset) -> AssetStatus:
    """What the device was before it went missing, from its history; a sensible status when history is silent."""
    entry = _went_missing_entries([asset.id]).get(asset.id)
    value = (entry.before or {}).get("status") if entry is not None else None
    try:
        status = AssetStatus(value)
    except ValueError:
        status = None
    if status is None or status is AssetStatus.missing:
        return AssetStatus.deployed if asset.assigned_to_id is not None else AssetStatus.in_stock
    return status


def notice_found(
    asset: DeviceRef,
    *,
    room: Room | None,
    by: User,
    via: Via,
    at: datetime | None = None,
    sighting: bool = True,
    source: ObservationSource = ObservationSource.manual,
    event_id: str | None = None,
) -> FoundNotice | None:
    """A device was scanned somewhere: when it is marked missing, record who found it where and return the alert.

    `sighting=False` when the caller records the observation itself (the scan event does, many at a time).
    A scan made before the device was marked missing (a phone that was offline) is a sighting like any other:
    it found nothing. Scanning it again in the same room by the same person adds no second history entry.
    """
    if asset.status is not AssetStatus.missing:
        return None
    at = at or utcnow()
    if sighting:
        # AssetRef declares plain attributes; a read-only row (a NamedTuple) carries the same three.
        record_observation(cast(AssetRef, asset), room, at=at, by=by, source=source, via=via, event_id=event_id)
    since = missing_since(asset.id)
    if since is not None and at < since:
        return None
    room_code = room.code if room is not None else None
    notice = FoundNotice(asset.asset_tag, room_code, alert(asset.asset_tag, room_code))
    earlier = db.session.scalar(
        sa.select(Activity.after)
        .where(Activity.asset_id == asset.id, Activity.action == FOUND, Activity.user_id == by.id)
        .where(Activity.at >= since if since is not None else sa.true())
        .order_by(Activity.at.desc(), Activity.id.desc())
        .limit(1)
    )
    if earlier is not None and earlier.get("room") == room_code:
        return notice
    entry = Activity(
        action=FOUND,
        summary=f"Found {asset.asset_tag}" + (f" in {room_code}" if room_code else "") + " (reported missing)",
        user_id=by.id,
        via=via,
        asset_id=asset.id,
        campus_id=asset.campus_id,
        subject_type=Room.__tablename__ if room is not None else None,
        subject_id=room.id if room is not None else None,
        after={"room": room_code, "seen_at": at.isoformat()},
    )
    db.session.add(entry)
    db.session.flush()
    return notice


def mark_found(asset: Asset, *, by: User, via: Via) -> AssetStatus:
    """Put a missing device's status back to what it was before it went missing; returns that status."""
    if not by.can_see_campus(asset.campus_id):
        raise Invalid(f"{asset.asset_tag} is not on your campuses.", field="asset")
    if asset.status is not AssetStatus.missing:
        raise Invalid(f"{asset.asset_tag} is not marked missing (it is {asset.status.label}).", field="asset")
    status = status_before_missing(asset)
    asset.status = status
    db.session.flush()
    activity.record(
        MARKED_FOUND,
        f"Marked {asset.asset_tag} found; status back to {status.label}",
        by=by,
        via=via,
        asset=asset,
        subject=asset,
        before={"status": AssetStatus.missing.value},
        after={"status": status.value},
    )
    return status


def _seen_at(entry: Activity) -> datetime:
    """When the device was scanned (the event time a phone sent), not when the server heard of it."""
    value = (entry.after or {}).get("seen_at")
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else entry.at
    except ValueError:
        return entry.at


@dataclass
class FoundDevice:
    """A device found since it went missing: still marked missing (found_at) or marked found lately."""

    asset: Asset
    found_at: datetime | None = None
    found_in: str | None = None
    found_by: User | None = None
    marked_at: datetime | None = None
    marked_by: User | None = None

    @property
    def still_missing(self) -> bool:
        return self.asset.status is AssetStatus.missing


def found_devices(user: User, *, days: int = RECENT_DAYS, now: datetime | None = None) -> list[FoundDevice]:
    """Devices on the user's campuses found since they went missing, newest first.

    Those still marked missing that someone has scanned since (whenever that was), and those marked found in the
    last `days` days.
    """
    since = (now or utcnow()) - timedelta(days=days)
    entries = list(
        db.session.scalars(
            sa.select(Activity)
            .join(Asset, Asset.id == Activity.asset_id)
            .where(visible_to(user))
            .where(
                sa.or_(
                    sa.and_(
                        Activity.action == FOUND, sa.or_(Asset.status == AssetStatus.missing, Activity.at >= since)
                    ),
                    sa.and_(Activity.action == MARKED_FOUND, Activity.at >= since),
                )
            )
            .options(selectinload(Activity.user))
            .order_by(Activity.at, Activity.id)
        )
    )
    went_missing = _went_missing_entries(sorted({e.asset_id for e in entries if e.asset_id is not None}))
    by_asset: dict[int, FoundDevice] = {}
    for entry in entries:
        asset_id = entry.asset_id
        assert asset_id is not None
        missing_at = went_missing.get(asset_id)
        if entry.action == FOUND and missing_at is not None and _seen_at(entry) < missing_at.at:
            continue  # found before it went missing again
        row = by_asset.setdefault(asset_id, FoundDevice(asset=db.session.get(Asset, asset_id)))  # type: ignore[arg-type]
        if entry.action == FOUND:
            row.found_at, row.found_in, row.found_by = _seen_at(entry), (entry.after or {}).get("room"), entry.user
        else:
            row.marked_at, row.marked_by = entry.at, entry.user
    rows = [
        r
        for r in by_asset.values()
        # A device marked found and missing again since is no longer "found": only a new scan lists it again.
        if (r.still_missing and r.found_at is not None) or (not r.still_missing and r.marked_at is not None)
    ]
    rows.sort(key=lambda r: max(t for t in (r.found_at, r.marked_at) if t is not None), reverse=True)
    return rows
