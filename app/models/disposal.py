"""Disposal batches: end-of-life devices handed to a recycler, with the certificate of data destruction."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.assets import Asset
from app.models.locations import Campus
from app.models.repairs import Vendor
from app.models.types import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from app.models.users import User


class DisposalStatus(enum.Enum):
    open = "open"
    picked_up = "picked_up"
    disposed = "disposed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class DisposalBatch(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    """Retired devices of one campus going to one recycler: open while devices are added, picked up, then disposed
    (the recycler's certificate number and file on record; nothing about it changes after that)."""

    __tablename__ = "disposal_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    campus_id: Mapped[int] = mapped_column(sa.ForeignKey("campuses.id"), index=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendors.id"), index=True)
    planned_on: Mapped[date | None]
    status: Mapped[DisposalStatus] = mapped_column(
        str_enum(DisposalStatus, "disposal_status"), default=DisposalStatus.open
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    picked_up_on: Mapped[date | None]
    picked_up_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    disposed_on: Mapped[date | None]
    disposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The recycler's certificate of data destruction.
    certificate_number: Mapped[str | None] = mapped_column(sa.String(80))

    campus: Mapped[Campus] = relationship()
    vendor: Mapped[Vendor] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    items: Mapped[list[DisposalItem]] = relationship(back_populates="batch", order_by="DisposalItem.id")
    certificate: Mapped[DisposalCertificate | None] = relationship(back_populates="batch")

    __table_args__ = (
        sa.CheckConstraint(
            "status <> 'disposed' OR (disposed_on IS NOT NULL AND certificate_number IS NOT NULL)",
            name="disposed_has_certificate",
        ),
    )

    @property
    def label(self) -> str:
        return f"D-{self.id:05d}"

    @property
    def is_open(self) -> bool:
        return self.status is DisposalStatus.open


class DisposalItem(db.Model):  # type: ignore[name-defined]
    """A device in a disposal batch; a device is in at most one batch, ever (disposed devices stay where they went)."""

    __tablename__ = "disposal_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("disposal_batches.id"), index=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), unique=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    batch: Mapped[DisposalBatch] = relationship(back_populates="items")
    asset: Mapped[Asset] = relationship()


class DisposalCertificate(db.Model):  # type: ignore[name-defined]
    """The certificate file (PDF or image), kept in the database like ticket photos so app servers stay stateless."""

    __tablename__ = "disposal_certificates"

    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("disposal_batches.id", ondelete="CASCADE"), primary_key=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(40))
    byte_size: Mapped[int]
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    batch: Mapped[DisposalBatch] = relationship(back_populates="certificate")


def disposed_asset_ids() -> sa.Select:
    """Ids of devices in a disposed batch: gone from the fleet, kept for their history."""
    return (
        sa.select(DisposalItem.asset_id)
        .join(DisposalBatch, DisposalItem.batch_id == DisposalBatch.id)
        .where(DisposalBatch.status == DisposalStatus.disposed)
    )
