"""Campuses and the rooms inside them."""

from __future__ import annotations

import enum
from datetime import time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import str_enum
from app.tagcodes import new_tag_code


class Campus(db.Model):
    __tablename__ = "campuses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    # Rooms not audited for this many days are listed as due for audit.
    audit_interval_days: Mapped[int] = mapped_column(default=90, server_default="90")
    # Loaners are due this many days after checkout (0 means the end of the school day).
    loan_days: Mapped[int] = mapped_column(default=0, server_default="0")
    # When the school day ends (campus local time): loaners fall due then. Local time needs the zone.
    day_ends_at: Mapped[time] = mapped_column(default=time(15, 30), server_default="15:30:00")
    timezone: Mapped[str] = mapped_column(
        sa.String(64), default="America/Los_Angeles", server_default="America/Los_Angeles"
    )
    # Where shipments leave from and vendors send devices back to: the packing list's "ship from".
    ship_address: Mapped[str] = mapped_column(sa.Text, default="", server_default="")

    rooms: Mapped[list[Room]] = relationship(back_populates="campus", order_by="Room.code")

    __table_args__ = (
        sa.CheckConstraint("audit_interval_days > 0", name="audit_interval_positive"),
        sa.CheckConstraint("loan_days >= 0", name="loan_days_not_negative"),
    )

    def __str__(self) -> str:
        return self.name


class RoomKind(enum.Enum):
    classroom = "classroom"
    library = "library"
    office = "office"
    storage = "storage"
    cart = "cart"


class Room(db.Model):
    __tablename__ = "rooms"

    id: Mapped[int] = mapped_column(primary_key=True)
    campus_id: Mapped[int] = mapped_column(sa.ForeignKey("campuses.id"), index=True)
    # District-wide code such as "LHS-117"; what sync events and audits name a room by.
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[RoomKind] = mapped_column(str_enum(RoomKind, "room_kind"), default=RoomKind.classroom)
    tag_code: Mapped[str] = mapped_column(sa.String(16), unique=True, default=new_tag_code)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    campus: Mapped[Campus] = relationship(back_populates="rooms")

    def __str__(self) -> str:
        return f"{self.code} {self.name}" if self.name and self.name != self.code else self.code
