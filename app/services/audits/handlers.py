"""The audit's sync events (`audit.start`, `audit.close`, `audit.condition`, `audit.move`): the same rules as the
pages, with refusals sent back to the phone as the reason."""

from __future__ import annotations

from typing import Any

from app.models import Audit, Condition, ObservationSource
from app.services.assets import find_asset
from app.services.audits.groups import find_audit, primary_of
from app.services.audits.results import audit_result
from app.services.audits.workflow import close_audit, move_here, start_audit
from app.services.errors import Invalid
from app.services.observations import record_observation
from app.services.sync.engine import Context, Rejected, choice, text
from app.services.sync.scan import find_room

UUID_MAX = 64


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
