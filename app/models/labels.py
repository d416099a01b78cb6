"""Label printing records: who printed which tags, when, on which label stock."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, str_enum, utcnow
from app.models.users import User


class LabelFormat(enum.Enum):
    avery5160 = "avery5160"
    avery22806 = "avery22806"
    thermal = "thermal"
    dymo30252 = "dymo30252"

    @property
    def label(self) -> str:
        return FORMAT_LABELS[self]


FORMAT_LABELS = {
    LabelFormat.avery5160: 'Avery 5160 (30 a sheet, 2⅝" × 1")',
    LabelFormat.avery22806: 'Avery 22806 (12 a sheet, 2" square)',
    # 2¼" × 1¼" is the Dymo 30334 multipurpose label (and most thermal printers' small roll).
    LabelFormat.thermal: 'Thermal 2¼" × 1¼", one at a time (Dymo 30334)',
    LabelFormat.dymo30252: 'Thermal 3½" × 1⅛", one at a time (Dymo 30252 address)',
}


class LabelPrint(db.Model):
    __tablename__ = "label_prints"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    format: Mapped[LabelFormat] = mapped_column(str_enum(LabelFormat, "label_format"))
    count: Mapped[int]
    # Where on the first sheet printing starts (1 = the top-left label), so a part-used sheet can be finished.
    first_position: Mapped[int] = mapped_column(default=1, server_default="1")
    # A Code 128 of each device's asset tag beside its QR, for scanners that read only 1D codes.
    code128: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    user: Mapped[User | None] = relationship()
    items: Mapped[list[LabelPrintItem]] = relationship(back_populates="print_job", order_by="LabelPrintItem.position")

    __table_args__ = (
        sa.CheckConstraint("count > 0", name="count_positive"),
        sa.CheckConstraint("first_position >= 1", name="first_position_positive"),
    )


class LabelPrintItem(db.Model):
    """One label of a print: an asset's or a room's tag, with the code printed (codes can be reissued)."""

    __tablename__ = "label_print_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    print_id: Mapped[int] = mapped_column(sa.ForeignKey("label_prints.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    tag_code: Mapped[str] = mapped_column(sa.String(16), index=True)

    print_job: Mapped[LabelPrint] = relationship(back_populates="items")

    __table_args__ = (sa.CheckConstraint("(asset_id IS NULL) <> (room_id IS NULL)", name="asset_xor_room"),)
