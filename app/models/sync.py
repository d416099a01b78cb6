"""Offline sync: every event id the server has seen (applied or rejected), and unknown tags scanned for review."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.locations import Room
from app.models.types import UTCDateTime, str_enum, utcnow
from app.models.users import User


class SyncStatus(enum.Enum):
    applied = "applied"
    rejected = "rejected"


class SyncEvent(db.Model):
    """One outbox event, stored in the same transaction as its effect; the primary key makes it exactly-once."""

    __tablename__ = "sync_events"

    # The client's UUID for the event; a replay collides here and is answered from this row.
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(40))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    client_id: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")
    status: Mapped[SyncStatus] = mapped_column(str_enum(SyncStatus, "sync_status"))
    reason: Mapped[str | None] = mapped_column(sa.String(300))
    # Event time after clamping; client_at is what the device said when that differs.
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    client_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # The device clock was more than the allowed skew ahead; `at` was clamped to the receive time.
    flagged: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Kept for rejected events only, so someone can see what was refused.
    data: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON(none_as_null=True))
    # A hash of what the event said (type, time, data): a replay that says something else is not the same event.
    digest: Mapped[str | None] = mapped_column(sa.String(32))

    user: Mapped[User | None] = relationship()


class UnknownScan(db.Model):
    """A scanned code that matched no device: kept for an admin to review (a new sticker, a typo, a stray)."""

    __tablename__ = "unknown_scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(120))
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    event_id: Mapped[str | None] = mapped_column(sa.String(64))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    room: Mapped[Room] = relationship()
    by: Mapped[User | None] = relationship(foreign_keys=[by_id])
