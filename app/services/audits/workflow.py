"""Changing audits: starting one (or joining the open one), closing a group and recording its result, moving a
device's home room to the audited room."""

from __future__ import annotations

from datetime import datetime

from app.extensions import db
from app.models import Asset, Audit, AuditItem, AuditOutcome, AuditStatus, Room, User, Via
from app.services import activity
from app.services.audits.groups import find_audit, members, open_audit_of, primary_of
from app.services.audits.results import audit_result
from app.services.errors import Invalid


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
