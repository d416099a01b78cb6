"""An audit and its group: finding it by UUID, its primary, its members, the open audit of a room, what a room
expects."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, AssetStatus, Audit, AuditStatus, Room


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
