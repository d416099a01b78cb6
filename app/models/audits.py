"""Room audits: an aide (or several) scanning a room against the devices that belong there, and what closing found."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.assets import Asset, Condition
from app.models.locations import Campus, Room
from app.models.types import UTCDateTime, str_enum, utcnow
from app.models.users import User


class AuditStatus(enum.Enum):
    open = "open"
    closed = "closed"


class AuditOutcome(enum.Enum):
    # Expected here (home room = the audited room) and scanned during the audit.
    found = "found"
    # Expected here and not scanned by the time the audit closed: "missing in audit" until seen again.
    missing = "missing"
    # Scanned during the audit but its home is elsewhere (or nowhere).
    unexpected = "unexpected"


class Audit(db.Model):
    """One aide's audit of a room, named by the UUID the phone made up (audits start offline)."""

    __tablename__ = "audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    campus_id: Mapped[int] = mapped_column(sa.ForeignKey("campuses.id"), index=True)
    # An audit started while another of the same room was open joins it: scans of the group merge, and the
    # first audit (the primary) holds the result. None for a primary.
    primary_id: Mapped[int | None] = mapped_column(sa.ForeignKey("audits.id"), index=True)
    status: Mapped[AuditStatus] = mapped_column(str_enum(AuditStatus, "audit_status"), default=AuditStatus.open)
    # Event times from the phones (clamped by sync when a clock runs ahead).
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    room: Mapped[Room] = relationship()
    campus: Mapped[Campus] = relationship()
    started_by: Mapped[User | None] = relationship(foreign_keys=[started_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    primary: Mapped[Audit | None] = relationship(remote_side=[id])

    __table_args__ = (
        sa.Index("ix_audits_room_status", "room_id", "status"),
        sa.Index("ix_audits_campus_closed", "campus_id", "closed_at"),
        sa.CheckConstraint("closed_at IS NULL OR status = 'closed'", name="closed_at_only_when_closed"),
    )

    def __str__(self) -> str:
        return f"Audit of {self.room.code}" if self.room else "Audit"


class AuditItem(db.Model):
    """A device's outcome in a closed audit: the record of what was expected, found, missing and out of place."""

    __tablename__ = "audit_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Always the primary audit of the group.
    audit_id: Mapped[int] = mapped_column(sa.ForeignKey("audits.id", ondelete="CASCADE"))
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"))
    outcome: Mapped[AuditOutcome] = mapped_column(str_enum(AuditOutcome, "audit_outcome"))
    # Where the device belonged when the audit closed (for unexpected ones: where it should go back to).
    home_room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rooms.id"))
    # Scans during the audit; more than one is a duplicate, counted once.
    scans: Mapped[int] = mapped_column(default=0, server_default="0")
    condition: Mapped[Condition | None] = mapped_column(str_enum(Condition, "audit_item_condition"))

    audit: Mapped[Audit] = relationship()
    asset: Mapped[Asset] = relationship()
    home_room: Mapped[Room | None] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("audit_id", "asset_id"),
        # "Which devices are missing in an audit" starts here.
        sa.Index("ix_audit_items_outcome_asset", "outcome", "asset_id"),
        sa.CheckConstraint("scans >= 0", name="scans_not_negative"),
    )
