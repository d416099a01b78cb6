"""Devices whose most recent Google user is known not to be their assignee and is fine that way (a shared cart):
marked by a person, with why, for the Google user they were marked for."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, utcnow
from app.models.users import User


class GoogleExpectedUser(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """A device left off the mismatch list while its most recent Google user is still `recent_user`; once Google
    reports someone else the mark no longer matches and the device is listed again."""

    __tablename__ = "google_expected_users"

    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    # Lower-case, as the sync keeps Asset.google_recent_user.
    recent_user: Mapped[str] = mapped_column(sa.String(254))
    reason: Mapped[str] = mapped_column(sa.String(300))
    marked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    marked_by: Mapped[User | None] = relationship(lazy="selectin")
