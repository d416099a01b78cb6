"""Student reports that a rate limit refused, counted per device and hour, so staff can see a device being flooded."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import UTCDateTime


class ReportRefusal(db.Model):
    """How many reports for one device were refused in one hour (UTC, truncated), and when the last one came."""

    __tablename__ = "report_refusals"

    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(default=0, server_default="0")
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (sa.Index("ix_report_refusals_hour", "hour"),)
