"""Room audits: starting and closing them (through the outbox), their live and recorded results, rooms due.

How results are decided (so late, replayed and reordered events give the same answer):

* An audit's scans are the observations carrying its UUID (the `scan` event's `audit` field). Audits of the same
  room started while one was open form a group with the first as primary; every member's scans count.
* While open, expected = devices whose home room is the room (retired ones excepted); found = expected devices
  scanned; missing = expected not found; unexpected = scanned devices whose home is elsewhere; unknown = codes
  scanned in the room during the audit that matched no device. A device scanned twice is flagged, counted once.
* Closing (`audit.close`, event time T) snapshots the expected set into AuditItem rows and counts a scan as found
  when its event time is at most T. A scan that reaches the server after the close is kept (it is an
  observation like any other): with an event time after T it is reported as a late scan; with an event time
  before T (a phone that was offline) it still counts as found, whatever order the events arrived in.
* Expected devices not found are marked "missing in audit" (an AuditItem with outcome `missing`; the device
  keeps its status). The mark clears as soon as the device is seen again anywhere after the close (or a scan of
  it for this audit, made before the close, arrives late) — derived from observations, so no write is needed.
* A `scan` naming a closed audit is applied as a plain observation (it still records where the device was);
  the audit reports it as a late scan. `audit.start` naming a closed audit, or an unknown room, is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import (
    Asset,
    AssetStatus,
    Audit,
    AuditItem,
    AuditOutcome,
    AuditStatus,
    Campus,
    Condition,
    Observation,
    ObservationSource,
    Room,
    UnknownScan,
    User,
    Via,
    utcnow,
)
from app.services import activity
from app.services.assets import find_asset
from app.services.errors import Invalid
from app.services.observations import record_observation
from app.services.sync import Context, Rejected, choice, find_room, register, text

UUID_MAX = 64


# Reading ---------------------------------------------------------------------------------------------------


def find_audit(uuid: str) -> Audit | None:
    """The audit with this client UUID, or None."""
    return db.session.scalar(sa.select(Audit).where(Audit.uuid == (uuid or "").strip()))


def primary_of(audit: Audit) -> Audit:
    """The audit holding the group's result (itself when it started first)."""
    return audit.primary if audit.primary_id is not None and audit.primary is not None else audit


def members(primary: Audit) -> list[Audit]:
    """Every audit of the group: the primary first, then those that joined it, by start."""
    rows = db.session.scalars(
        sa.select(Audit).where(sa.or_(Audit.id == primary.id, Audit.primary_id == primary.id)).order_by(Audit.id)
    )
    return list(rows)


def open_audit_of(room: Room) -> Audit | None:
    """The open primary audit of a room, if any."""
    return db.session.scalar(
        sa.select(Audit)
        .where(Audit.room_id == room.id, Audit.status == AuditStatus.open, Audit.primary_id.is_(None))
        .order_by(Audit.started_at)
        .limit(1)
    )


def expected_assets(room: Room) -> list[Asset]:
    """Devices whose home room is this room and that should be there (not retired), by tag."""
    return list(
        db.session.scalars(
            sa.select(Asset)
            .where(Asset.home_room_id == room.id, Asset.status != AssetStatus.retired)
            .order_by(Asset.asset_tag)
        )
    )


@dataclass
class Line:
    """One device in an audit result."""

    asset: Asset
    scans: int = 0
    condition: Condition | None = None
    # The last time a scan for this audit saw it.
    seen_at: datetime | None = None
    # For unexpected devices: where they belong; for missing ones: where they were last seen.
    home_room: Room | None = None
    # Scanned for this audit before the close, but the scan reached the server after it.
    synced_late: bool = False
    # A missing device seen again since the close (the "missing in audit" mark is cleared).
    seen_since: datetime | None = None

    @property
    def duplicate(self) -> bool:
        return self.scans > 1


@dataclass
class LateScan:
    asset: Asset
    at: datetime
    by: User | None


@dataclass
class AuditResult:
    """What an audit found: live while open, the recorded result once closed."""

    audit: Audit
    members: list[Audit]
    found: list[Line] = field(default_factory=list)
    missing: list[Line] = field(default_factory=list)
    unexpected: list[Line] = field(default_factory=list)
    unknown: list[UnknownScan] = field(default_factory=list)
    late: list[LateScan] = field(default_factory=list)

    @property
    def expected_count(self) -> int:
        return len(self.found) + len(self.missing)

    @property
    def duplicates(self) -> int:
        return sum(1 for line in self.found + self.unexpected if line.duplicate)

    @property
    def auditors(self) -> list[User]:
        seen: dict[int, User] = {}
        for m in self.members:
            if m.started_by is not None:
                seen.setdefault(m.started_by.id, m.started_by)
        return list(seen.values())


def _group_observations(uuids: list[str]) -> list[Observation]:
    return list(
        db.session.scalars(
            sa.select(Observation).where(Observation.audit_id.in_(uuids)).order_by(Observation.at, Observation.id)
        )
    )


def audit_result(audit: Audit, *, closing_at: datetime | None = None) -> AuditResult:
    """The group's result, derived from its observations (and, once closed, its recorded expected set).

    `closing_at` asks for the result as of a close at that time, before anything is recorded (used by close_audit).
    """
    primary = primary_of(audit)
    group = members(primary)
    result = AuditResult(audit=primary, members=group)
    closed_at = primary.closed_at if primary.status is AuditStatus.closed else closing_at
    lines: dict[int, Line] = {}
    for obs in _group_observations([m.uuid for m in group]):
        if closed_at is not None and obs.at > closed_at:
            result.late.append(LateScan(obs.asset, obs.at, obs.by))
            continue
        line = lines.setdefault(obs.asset_id, Line(obs.asset))
        if obs.source is not ObservationSource.audit:
            line.scans += 1
        if obs.condition is not None:
            line.condition = obs.condition
        line.seen_at = obs.at
    if primary.status is AuditStatus.open:
        expected = {a.id: a for a in expected_assets(primary.room)}
        recorded: dict[int, AuditItem] = {}
    else:
        recorded = {
            item.asset_id: item
            for item in db.session.scalars(sa.select(AuditItem).where(AuditItem.audit_id == primary.id))
        }
        expected = {
            i.asset_id: i.asset for i in recorded.values() if i.outcome in (AuditOutcome.found, AuditOutcome.missing)
        }
    for asset_id, asset in expected.items():
        line = lines.pop(asset_id, None)
        if line is not None:
            item = recorded.get(asset_id)
            line.synced_late = item is not None and item.outcome is AuditOutcome.missing
            result.found.append(line)
        else:
            result.missing.append(Line(asset, home_room=asset.current_room))
    for line in lines.values():
        item = recorded.get(line.asset.id)
        line.home_room = item.home_room if item is not None else line.asset.home_room
        line.synced_late = primary.status is AuditStatus.closed and item is None
        result.unexpected.append(line)
    if primary.status is AuditStatus.closed:
        seen = _seen_since(primary, [line.asset.id for line in result.missing])
        for line in result.missing:
            line.seen_since = seen.get(line.asset.id)
    result.unknown = list(
        db.session.scalars(
            sa.select(UnknownScan)
            .where(
                UnknownScan.room_id == primary.room_id,
                UnknownScan.at >= min(m.started_at for m in group) - timedelta(minutes=1),
                UnknownScan.at <= (closed_at or utcnow() + timedelta(days=1)),
            )
            .order_by(UnknownScan.at)
        )
    )
    key = lambda line: line.asset.asset_tag  # noqa: E731
    result.found.sort(key=key)
    result.missing.sort(key=key)
    result.unexpected.sort(key=key)
    return result


def _seen_since(primary: Audit, asset_ids: list[int]) -> dict[int, datetime]:
    if not asset_ids:
        return {}
    rows = db.session.execute(
        sa.select(Observation.asset_id, sa.func.max(Observation.at))
        .where(Observation.asset_id.in_(asset_ids), Observation.at > primary.closed_at)
        .group_by(Observation.asset_id)
    )
    return {asset_id: at for asset_id, at in rows}


def missing_in_audit_clause() -> Any:
    """Assets marked missing by a closed audit and not seen since (a WHERE clause on Asset)."""
    item, primary, member = aliased(AuditItem), aliased(Audit), aliased(Audit)
    cleared = (
        sa.select(Observation.id)
        .where(
            Observation.asset_id == item.asset_id,
            sa.or_(
                Observation.at > primary.closed_at,
                Observation.audit_id.in_(
                    sa.select(member.uuid).where(sa.or_(member.id == primary.id, member.primary_id == primary.id))
                ),
            ),
        )
        .exists()
    )
    return (
        sa.select(item.id)
        .join(primary, primary.id == item.audit_id)
        .where(item.asset_id == Asset.id, item.outcome == AuditOutcome.missing, ~cleared)
        .exists()
    )


def missing_in_audit(user: User, campus_id: int | None = None, limit: int = 500) -> list[Asset]:
    """Devices on the user's campuses that an audit could not find and nobody has seen since."""
    from app.services.assets import visible_to

    stmt = sa.select(Asset).where(visible_to(user), missing_in_audit_clause()).order_by(Asset.asset_tag).limit(limit)
    if campus_id:
        stmt = stmt.where(Asset.campus_id == campus_id)
    return list(db.session.scalars(stmt))


def is_missing_in_audit(asset: Asset) -> bool:
    """Whether this device carries a "missing in audit" mark right now."""
    return bool(db.session.scalar(sa.select(sa.literal(True)).where(Asset.id == asset.id, missing_in_audit_clause())))


def audits_query(user: User, *, room: Room | None = None, campus_id: int | None = None) -> sa.Select:
    """Primary audits on the user's campuses, newest first (closed and open)."""
    stmt = sa.select(Audit).where(Audit.primary_id.is_(None))
    ids = user.campus_ids
    if ids is not None:
        stmt = stmt.where(Audit.campus_id.in_(ids))
    if room is not None:
        stmt = stmt.where(Audit.room_id == room.id)
    if campus_id:
        stmt = stmt.where(Audit.campus_id == campus_id)
    return stmt.order_by(Audit.started_at.desc(), Audit.id.desc())


def open_audits(user: User) -> list[Audit]:
    """Audits in progress on the user's campuses (others can join them)."""
    return list(db.session.scalars(audits_query(user).where(Audit.status == AuditStatus.open)))


@dataclass
class DueRoom:
    room: Room
    last_closed_at: datetime | None
    interval_days: int

    @property
    def days_since(self) -> int | None:
        if self.last_closed_at is None:
            return None
        return (utcnow() - self.last_closed_at).days


def last_closed_audits() -> sa.Subquery:
    """Per room (`room_id`), when its most recent audit closed (`last`)."""
    return (
        sa.select(Audit.room_id, sa.func.max(Audit.closed_at).label("last"))
        .where(Audit.status == AuditStatus.closed)
        .group_by(Audit.room_id)
        .subquery()
    )


def rooms_due(user: User, *, now: datetime | None = None, campus_id: int | None = None) -> list[DueRoom]:
    """Active rooms not audited (closed audit) within their campus's interval, never-audited first."""
    now = now or utcnow()
    last = last_closed_audits()
    stmt = (
        sa.select(Room, last.c.last, Campus.audit_interval_days)
        .join(Campus, Campus.id == Room.campus_id)
        .outerjoin(last, last.c.room_id == Room.id)
        .where(Room.active.is_(True))
    )
    ids = user.campus_ids
    if ids is not None:
        stmt = stmt.where(Room.campus_id.in_(ids))
    if campus_id:
        stmt = stmt.where(Room.campus_id == campus_id)
    rows = db.session.execute(stmt.order_by(last.c.last.asc().nulls_first(), Room.code)).all()
    due = []
    for room, last_at, days in rows:
        if last_at is None or last_at < now - timedelta(days=days):
            due.append(DueRoom(room, last_at, days))
    return due


# Changing ---------------------------------------------------------------------------------------------------


def start_audit(uuid: str, room: Room, *, by: User, at: datetime, via: Via) -> Audit:
    """Open an audit of a room; one started while another of the room is open joins it. Idempotent by UUID."""
    if not by.can_see_campus(room.campus_id):
        raise Invalid(f"Room {room.code} is not on your campuses.", field="room")
    if not room.active:
        raise Invalid(f"Room {room.code} is no longer in use.", field="room")
    existing = find_audit(uuid)
    if existing is not None:
        if existing.room_id != room.id:
            raise Invalid("That audit belongs to another room.", field="audit")
        if primary_of(existing).status is AuditStatus.closed:
            raise Invalid(f"The audit of {room.code} was already closed; start a new one.", field="audit")
        return existing
    primary = open_audit_of(room)
    audit = Audit(
        uuid=uuid,
        room=room,
        campus_id=room.campus_id,
        primary_id=primary.id if primary is not None else None,
        started_at=at,
        started_by_id=by.id,
    )
    db.session.add(audit)
    db.session.flush()
    joined = f" (joining the audit started by {primary.started_by})" if primary is not None else ""
    activity.record(
        "audit.start",
        f"Started an audit of {room.code}{joined}",
        by=by,
        via=via,
        campus_id=room.campus_id,
        subject=audit,
    )
    return audit


def close_audit(audit: Audit, *, by: User, at: datetime, via: Via) -> tuple[Audit, bool]:
    """Close the audit's group and record its result; returns (primary, whether this call closed it)."""
    primary = primary_of(audit)
    if not by.can_see_campus(primary.campus_id):
        raise Invalid("That audit is not on your campuses.", field="audit")
    if primary.status is AuditStatus.closed:
        return primary, False
    group = members(primary)
    # A close stamped before the audit started (a phone clock off) would count nothing as found.
    closed_at = max(at, max(m.started_at for m in group))
    result = audit_result(primary, closing_at=closed_at)
    for m in group:
        m.status = AuditStatus.closed
        m.closed_at = closed_at
        m.closed_by = by
    db.session.flush()
    for line in result.found:
        db.session.add(
            AuditItem(
                audit_id=primary.id,
                asset_id=line.asset.id,
                outcome=AuditOutcome.found,
                home_room_id=primary.room_id,
                scans=line.scans,
                condition=line.condition,
            )
        )
    for line in result.missing:
        db.session.add(
            AuditItem(
                audit_id=primary.id, asset_id=line.asset.id, outcome=AuditOutcome.missing, home_room_id=primary.room_id
            )
        )
    for line in result.unexpected:
        db.session.add(
            AuditItem(
                audit_id=primary.id,
                asset_id=line.asset.id,
                outcome=AuditOutcome.unexpected,
                home_room_id=line.asset.home_room_id,
                scans=line.scans,
                condition=line.condition,
            )
        )
    db.session.flush()
    activity.record(
        "audit.close",
        f"Closed the audit of {primary.room.code}: {len(result.found)} of {result.expected_count} found, "
        f"{len(result.missing)} missing, {len(result.unexpected)} out of place",
        by=by,
        via=via,
        campus_id=primary.campus_id,
        subject=primary,
        after={
            "found": len(result.found),
            "expected": result.expected_count,
            "missing": [line.asset.asset_tag for line in result.missing],
            "unexpected": [line.asset.asset_tag for line in result.unexpected],
        },
    )
    return primary, True


def move_here(audit: Audit, asset: Asset, *, by: User, via: Via) -> bool:
    """Make the audited room the device's home room (an unexpected device that belongs here after all)."""
    room = primary_of(audit).room
    if not by.can_see_campus(asset.campus_id) or not by.can_see_campus(room.campus_id):
        raise Invalid(f"{asset.asset_tag} is not on your campuses.", field="asset")
    if asset.campus_id != room.campus_id:
        raise Invalid(
            f"{asset.asset_tag} belongs to {asset.campus.code}; transfer it to {room.campus.code} from its page first.",
            field="asset",
        )
    if asset.home_room_id == room.id:
        return False
    before = {"home_room": asset.home_room.code if asset.home_room else None}
    asset.home_room_id = room.id
    asset.home_room = room
    db.session.flush()
    activity.record(
        "audit.move",
        f"Moved {asset.asset_tag}'s home room to {room.code} after an audit",
        by=by,
        via=via,
        asset=asset,
        subject=primary_of(audit),
        before=before,
        after={"home_room": room.code},
    )
    return True


# Sync events ----------------------------------------------------------------------------------------------------


def _audit_arg(data: dict[str, Any]) -> str:
    return text(data, "audit", max_len=UUID_MAX) or ""


def _existing_audit(data: dict[str, Any], ctx: Context) -> Audit:
    uuid = _audit_arg(data)
    audit = find_audit(uuid)
    if audit is None or not ctx.user.can_see_campus(audit.campus_id):
        raise Rejected("The server has no record of this audit; it was never started.")
    return audit


def apply_start(data: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """`audit.start` {audit, room}: room by code or by the room's tag (its sticker)."""
    uuid = _audit_arg(data)
    room_code = text(data, "room", max_len=120) or ""
    room = find_room(room_code)
    if room is None or not ctx.user.can_see_campus(room.campus_id):
        raise Rejected(f"There is no room {room_code} on your campuses.")
    try:
        audit = start_audit(uuid, room, by=ctx.user, at=ctx.at, via=ctx.via)
    except Invalid as exc:
        raise Rejected(exc.message) from None
    primary = primary_of(audit)
    return {
        "audit": audit.uuid,
        "room": room.code,
        "joined": primary.uuid if primary.id != audit.id else None,
        "started_by": str(primary.started_by) if primary.started_by else None,
    }


def apply_close(data: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """`audit.close` {audit}: closes the group; a second close answers who closed it first."""
    audit = _existing_audit(data, ctx)
    try:
        primary, closed_now = close_audit(audit, by=ctx.user, at=ctx.at, via=ctx.via)
    except Invalid as exc:
        raise Rejected(exc.message) from None
    result = audit_result(primary)
    return {
        "audit": audit.uuid,
        "already_closed": not closed_now,
        "closed_by": str(primary.closed_by) if primary.closed_by else None,
        "found": len(result.found),
        "expected": result.expected_count,
        "missing": [line.asset.asset_tag for line in result.missing],
        "unexpected": [line.asset.asset_tag for line in result.unexpected],
    }


def apply_condition(data: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """`audit.condition` {audit, tag, condition}: the one-tap good/damaged of a device found in the audit."""
    audit = _existing_audit(data, ctx)
    tag = text(data, "tag", max_len=120) or ""
    condition = choice(data, "condition", Condition)
    if condition is None:
        raise Rejected("The event has no condition.")
    asset = find_asset(tag)
    if asset is None or not ctx.user.can_see_campus(asset.campus_id):
        raise Rejected(f"No device {tag} on your campuses.")
    record_observation(
        asset,
        primary_of(audit).room,
        at=ctx.at,
        by=ctx.user,
        condition=condition,
        audit_id=audit.uuid,
        source=ObservationSource.audit,
        via=ctx.via,
        event_id=ctx.event_id,
        flagged=ctx.flagged,
    )
    return {"asset": asset.asset_tag, "condition": condition.value}


def apply_move(data: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """`audit.move` {audit, tag}: make the audited room the home of a device found there."""
    audit = _existing_audit(data, ctx)
    tag = text(data, "tag", max_len=120) or ""
    asset = find_asset(tag)
    if asset is None or not ctx.user.can_see_campus(asset.campus_id):
        raise Rejected(f"No device {tag} on your campuses.")
    try:
        moved = move_here(audit, asset, by=ctx.user, via=ctx.via)
    except Invalid as exc:
        raise Rejected(exc.message) from None
    return {"asset": asset.asset_tag, "home_room": primary_of(audit).room.code, "moved": moved}


def result_json(result: AuditResult, user: User) -> dict[str, Any]:
    """The API's view of an audit result (devices of other campuses show only tag and model)."""

    def iso(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat().replace("+00:00", "Z")

    def device(line: Line) -> dict[str, Any]:
        asset = line.asset
        out: dict[str, Any] = {"asset_tag": asset.asset_tag, "model": str(asset.model)}
        if user.can_see_campus(asset.campus_id):
            out.update(serial=asset.serial, tag_code=asset.tag_code)
        out.update(
            scans=line.scans,
            duplicate=line.duplicate,
            condition=line.condition.value if line.condition else None,
            synced_late=line.synced_late,
        )
        return out

    a = result.audit
    return {
        "audit": a.uuid,
        "members": [m.uuid for m in result.members],
        "room": a.room.code,
        "campus": a.campus.code,
        "status": a.status.value,
        "started_at": iso(a.started_at),
        "started_by": str(a.started_by) if a.started_by else None,
        "closed_at": iso(a.closed_at),
        "closed_by": str(a.closed_by) if a.closed_by else None,
        "expected": result.expected_count,
        "found": [device(line) for line in result.found],
        "missing": [{**device(line), "seen_since": iso(line.seen_since)} for line in result.missing],
        "unexpected": [
            {
                **device(line),
                "home_room": line.home_room.code if line.home_room else None,
                "campus": line.asset.campus.code,
            }
            for line in result.unexpected
        ],
        "unknown": [{"code": u.code, "at": iso(u.at)} for u in result.unknown],
        "late": [{"asset_tag": s.asset.asset_tag, "at": iso(s.at)} for s in result.late],
    }


register("audit.start", apply_start, needs="audits.run")
register("audit.close", apply_close, needs="audits.run")
register("audit.condition", apply_condition, needs="audits.run")
# Moving a device's home room is an inventory change; aides doing audits may make it for their rooms.
register("audit.move", apply_move, needs="audits.run")
