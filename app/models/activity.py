"""The append-only activity log: who changed what, when, through which door, before and after."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, str_enum, utcnow
from app.models.users import User


class Via(enum.Enum):
    web = "web"
    api = "api"
    sync = "sync"
    import_ = "import"
    cli = "cli"
    public = "public"


class Activity(db.Model):
    __tablename__ = "activity"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    via: Mapped[Via] = mapped_column(str_enum(Via, "activity_via"))
    # Dotted verb such as "asset.update" or "user.create".
    action: Mapped[str] = mapped_column(sa.String(48), index=True)
    summary: Mapped[str] = mapped_column(sa.String(300))
    asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"), index=True)
    campus_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campuses.id"), index=True)
    subject_type: Mapped[str | None] = mapped_column(sa.String(32))
    subject_id: Mapped[int | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    user: Mapped[User | None] = relationship()

    __table_args__ = (sa.Index("ix_activity_subject", "subject_type", "subject_id"),)
