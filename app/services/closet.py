"""The closet finder: devices nobody has seen in N days, devices marked missing, and repairs that stalled.

"Seen" is the asset's last-seen projection, which every scan, audit, loan and Google sync moves forward.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Asset, AssetStatus, Campus, Room, User, utcnow
from app.models.tickets import OPEN_STATUSES, Ticket
from app.services.assets import visible_to
from app.services.audits import missing_in_audit_clause
from app.services.csvio import write_csv

DEFAULT_DAYS = 30
NEVER = datetime(1970, 1, 1, tzinfo=UTC)
DAY_CHOICES = (7, 14, 30, 60, 90, 180, 365)
# Devices that are expected to be out of sight: retired ones, and missing ones (they have their own list).
NOT_EXPECTED = (AssetStatus.retired, AssetStatus.missing)
CSV_HEADER = [
    "Asset Tag",
    "Serial Number",
    "Model",
    "Status",
    "Campus",
    "Last Room",
    "Last Seen",
    "Seen By",
    "Home Room",
    "Assigned To",
    "Updated",
]


def cutoff(days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=days)


def unseen_conditions(user: User, days: int, now: datetime | None = None) -> list[Any]:
    """Devices in use on the user's campuses not seen since `days` ago (or never)."""
    since = cutoff(days, now)
    # COALESCE rather than "< since OR IS NULL": one pass over ix_assets_campus_status_seen instead of
    # fetching every matching row from the table.
    return [
        visible_to(user),
        Asset.status.not_in(NOT_EXPECTED),
        sa.func.coalesce(Asset.last_seen_at, NEVER) < since,
    ]


@dataclass
class Group:
    campus: Campus
    room: Room | None
    count: int
    oldest: datetime | None

    @property
    def room_key(self) -> str:
        return str(self.room.id) if self.room else "none"


def unseen_groups(user: User, days: int, now: datetime | None = None) -> list[Group]:
    """Unseen devices counted by campus and the room they were last seen in (never-seen devices together)."""
    rows = db.session.execute(
        sa.select(Asset.campus_id, Asset.current_room_id, sa.func.count(), sa.func.min(Asset.last_seen_at))
        .where(*unseen_conditions(user, days, now))
        .group_by(Asset.campus_id, Asset.current_room_id)
    ).all()
    campuses = {c.id: c for c in db.session.scalars(sa.select(Campus))}
    room_ids = {r[1] for r in rows if r[1]}
    rooms = {r.id: r for r in db.session.scalars(sa.select(Room).where(Room.id.in_(room_ids)))} if room_ids else {}
    groups = [Group(campuses[c], rooms.get(r) if r else None, n, oldest) for c, r, n, oldest in rows]
    # Campus by code, then the room with the most unseen devices first (that is where the closet is);
    # devices never scanned in any room come last.
    groups.sort(key=lambda g: (g.campus.code, g.room is None, -g.count, g.room.code if g.room else ""))
    return groups


def unseen_count(user: User, days: int, now: datetime | None = None) -> int:
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Asset).where(*unseen_conditions(user, days, now))) or 0
    )


def unseen_query(
    user: User, days: int, *, campus_id: int | None = None, room: str | None = None, now: datetime | None = None
) -> sa.Select:
    """The unseen devices themselves, longest unseen first (never-seen first of all)."""
    stmt = sa.select(Asset).where(*unseen_conditions(user, days, now))
    if campus_id:
        stmt = stmt.where(Asset.campus_id == campus_id)
    if room == "none":
        stmt = stmt.where(Asset.current_room_id.is_(None))
    elif room and room.isdigit():
        stmt = stmt.where(Asset.current_room_id == int(room))
    return stmt.order_by(Asset.last_seen_at.asc().nulls_first(), Asset.asset_tag)


def missing_query(user: User) -> sa.Select:
    """Devices marked missing, by a person or by an audit that did not find them (until seen again),
    last seen longest ago first."""
    return (
        sa.select(Asset)
        .where(visible_to(user), sa.or_(Asset.status == AssetStatus.missing, missing_in_audit_clause()))
        .order_by(Asset.last_seen_at.asc().nulls_first(), Asset.asset_tag)
    )


def _open_ticket_clause() -> Any:
    """NOT EXISTS an open ticket for the asset."""
    return ~sa.exists().where(Ticket.asset_id == Asset.id, Ticket.status.in_(OPEN_STATUSES))


def stale_repairs_query(user: User, days: int, now: datetime | None = None) -> sa.Select:
    """Devices `in_repair` whose record has not changed for `days` days and that have no open ticket.

    The asset's last update stands in for "went into repair": Google syncs do not touch it, edits and
    status changes do.
    """
    stmt = sa.select(Asset).where(
        visible_to(user), Asset.status == AssetStatus.in_repair, Asset.updated_at < cutoff(days, now)
    )
    return stmt.where(_open_ticket_clause()).order_by(Asset.updated_at.asc(), Asset.asset_tag)


def with_details(stmt: sa.Select) -> sa.Select:
    """Load what the lists show (rooms, who saw it, assignee) in a few queries, not one per row."""
    return stmt.options(
        selectinload(Asset.current_room),
        selectinload(Asset.home_room),
        selectinload(Asset.last_seen_by),
        selectinload(Asset.assigned_to),
    )


def seen_by(asset: Asset) -> str:
    """Who saw the device last: a person, or Google when its sync is what last counted as seen."""
    if asset.last_seen_by is not None:
        return str(asset.last_seen_by)
    if asset.last_seen_at is not None and asset.last_seen_at == asset.last_sync_at:
        return "Google sync" + (f" ({asset.google_recent_user})" if asset.google_recent_user else "")
    return ""


def csv_rows(stmt: sa.Select) -> Iterator[str]:
    """A list as formula-safe CSV, streamed in chunks so a district-sized list never sits in memory."""

    def rows() -> Iterator[list[Any]]:
        for asset in db.session.scalars(with_details(stmt).execution_options(yield_per=1000)):
            yield [
                asset.asset_tag,
                asset.serial,
                str(asset.model),
                asset.status.value,
                asset.campus.code,
                asset.current_room.code if asset.current_room else "",
                asset.last_seen_at.isoformat() if asset.last_seen_at else "",
                seen_by(asset),
                asset.home_room.code if asset.home_room else "",
                asset.assigned_to.name if asset.assigned_to else "",
                asset.updated_at.isoformat() if asset.updated_at else "",
            ]

    return write_csv(CSV_HEADER, rows())
