"""Google Admin's side of the fleet: where its org units put new devices, how a campus names them, and the facts
Google reports about each device that the asset row does not hold."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.locations import Campus, Room
from app.models.types import UTCDateTime, utcnow


class OrgUnitMapping(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """An org unit path prefix (`/Students/LHS`) and the campus, and optionally the home room, of the devices
    Google files under it; the longest prefix that matches a device's org unit wins."""

    __tablename__ = "google_org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Kept without a trailing slash and matched ignoring case, a whole path segment at a time.
    prefix: Mapped[str] = mapped_column(sa.String(255))
    prefix_key: Mapped[str] = mapped_column(sa.String(255), unique=True)
    campus_id: Mapped[int] = mapped_column(sa.ForeignKey("campuses.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rooms.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    campus: Mapped[Campus] = relationship(lazy="selectin")
    room: Mapped[Room | None] = relationship(lazy="selectin")


class GoogleTagRule(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """How a campus tags a device Google has and Rollcall lacks when Google gives it no Annotated Asset ID: the
    prefix put before its serial. A campus without a rule leaves such devices unimported (they are listed)."""

    __tablename__ = "google_tag_rules"

    campus_id: Mapped[int] = mapped_column(sa.ForeignKey("campuses.id", ondelete="CASCADE"), primary_key=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))

    campus: Mapped[Campus] = relationship(lazy="selectin")


class GoogleDevice(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """What Google last said about a device beyond the asset's own Google columns (its panel's OS version and
    Google's notes); one row per device Google has reported."""

    __tablename__ = "google_devices"

    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    os_version: Mapped[str | None] = mapped_column(sa.String(64))
    notes: Mapped[str | None] = mapped_column(sa.Text)
