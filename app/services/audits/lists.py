"""Lists of audits: the history on a user's campuses, the audits in progress, and the rooms due for one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Audit, AuditStatus, Campus, Room, User, utcnow


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
