"""Observations: immutable sightings of a device in a room (scans, audits, check-ins), the source of "last seen"."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.activity import Via
from app.models.assets import Asset, Condition
from app.models.locations import Room
from app.models.types import UTCDateTime, str_enum, utcnow
from app.models.users import User


class ObservationSource(enum.Enum):
    scan = "scan"
    audit = "audit"
    loan = "loan"
    report = "report"
    manual = "manual"
    demo = "demo"


class Observation(db.Model):
    """One sighting; never updated. Asset projections (current room, condition, last seen) derive from these."""

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"))
    room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    # Event time: when it was seen (the device's clock, clamped), not when the server heard of it.
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    condition: Mapped[Condition | None] = mapped_column(str_enum(Condition, "observation_condition"))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    # The client UUID naming the audit this scan belongs to (audits are created offline too).
    audit_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    source: Mapped[ObservationSource] = mapped_column(str_enum(ObservationSource, "observation_source"))
    via: Mapped[Via] = mapped_column(str_enum(Via, "observation_via"))
    # The sync event that carried it, when it came through the outbox.
    event_id: Mapped[str | None] = mapped_column(sa.String(64))
    flagged: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    asset: Mapped[Asset] = relationship()
    room: Mapped[Room | None] = relationship()
    by: Mapped[User | None] = relationship()

    __table_args__ = (sa.Index("ix_observations_asset_at", "asset_id", "at"),)
