"""What an audit found (live while open, recorded once closed), derived from its observations, and its JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Asset,
    Audit,
    AuditItem,
    AuditOutcome,
    AuditStatus,
    Condition,
    Observation,
    ObservationSource,
    Room,
    UnknownScan,
    User,
    utcnow,
)
from app.services.audits.groups import expected_assets, members, primary_of


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
