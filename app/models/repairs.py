"""Repairs: parts and their stock, work on a ticket, warranty claims, shipping batches, fees and loaner swaps."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.assets import Asset, AssetStatus, DeviceModel
from app.models.locations import Campus
from app.models.people import Person
from app.models.types import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from app.models.loans import Loan
    from app.models.tickets import Ticket
    from app.models.users import User


part_models = sa.Table(
    "part_models",
    db.metadata,
    sa.Column("part_id", sa.ForeignKey("parts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("model_id", sa.ForeignKey("device_models.id", ondelete="CASCADE"), primary_key=True),
)


class Part(db.Model):
    """A replacement part in the catalogue (a screen, a keyboard, a charger) and the models it fits."""

    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    part_number: Mapped[str] = mapped_column(sa.String(64), unique=True)
    unit_cost: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    # Stock at or below this on a campus puts the part on the low-stock list.
    low_stock_at: Mapped[int] = mapped_column(default=2, server_default="2")
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    fits: Mapped[list[DeviceModel]] = relationship(secondary=part_models, order_by=DeviceModel.name)
    stock: Mapped[list[PartStock]] = relationship(back_populates="part", order_by="PartStock.campus_id")

    __table_args__ = (
        sa.CheckConstraint("unit_cost >= 0", name="unit_cost_not_negative"),
        sa.CheckConstraint("low_stock_at >= 0", name="low_stock_at_not_negative"),
    )

    def __str__(self) -> str:
        return f"{self.name} ({self.part_number})"


class PartStock(db.Model):
    """How many of a part a campus has on the shelf; the CHECK keeps it from ever going below zero."""

    __tablename__ = "part_stock"

    part_id: Mapped[int] = mapped_column(sa.ForeignKey("parts.id", ondelete="CASCADE"), primary_key=True)
    campus_id: Mapped[int] = mapped_column(sa.ForeignKey("campuses.id"), primary_key=True)
    stock: Mapped[int] = mapped_column(default=0, server_default="0")

    part: Mapped[Part] = relationship(back_populates="stock")
    campus: Mapped[Campus] = relationship()

    __table_args__ = (sa.CheckConstraint("stock >= 0", name="stock_not_negative"),)


class StockReason(enum.Enum):
    """Why a campus's stock of a part changed."""

    counted = "counted"  # a shelf count: the stock is set to what was counted
    received = "received"
    damaged = "damaged"
    lost = "lost"
    used = "used"  # fitted on a ticket


class StockAdjustment(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """One change to a campus's stock of a part: who, when, why, by how much and what was left."""

    __tablename__ = "stock_adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(sa.ForeignKey("parts.id", ondelete="CASCADE"), index=True)
    campus_id: Mapped[int] = mapped_column(sa.ForeignKey("campuses.id"))
    reason: Mapped[StockReason] = mapped_column(str_enum(StockReason, "stock_reason"))
    delta: Mapped[int]
    stock_after: Mapped[int]
    note: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    part: Mapped[Part] = relationship()
    campus: Mapped[Campus] = relationship()
    ticket: Mapped[Ticket | None] = relationship()
    by: Mapped[User | None] = relationship()

    __table_args__ = (sa.CheckConstraint("stock_after >= 0", name="stock_after_not_negative"),)


class TicketPart(db.Model):
    """Parts fitted during a ticket's repair, at the cost they had that day."""

    __tablename__ = "ticket_parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    part_id: Mapped[int] = mapped_column(sa.ForeignKey("parts.id"), index=True)
    campus_id: Mapped[int] = mapped_column(sa.ForeignKey("campuses.id"))
    quantity: Mapped[int]
    unit_cost: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    used_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    part: Mapped[Part] = relationship()
    used_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    @property
    def cost(self) -> Decimal:
        return self.unit_cost * self.quantity


class TicketLabour(db.Model):
    """Time a technician spent on a ticket, costed at the hourly rate in force when it was logged."""

    __tablename__ = "ticket_labour"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    minutes: Mapped[int]
    cost: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    note: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    by: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("minutes > 0", name="minutes_positive"),
        sa.CheckConstraint("cost >= 0", name="cost_not_negative"),
    )


class Priority(enum.Enum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"

    @property
    def label(self) -> str:
        return self.value


class TicketRepair(db.Model):
    """What triage decided about a ticket, and the device's status before the repair took it away."""

    __tablename__ = "ticket_repairs"

    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    priority: Mapped[Priority] = mapped_column(str_enum(Priority, "repair_priority"), default=Priority.normal)
    # The student (or staff member) answerable for the damage, when known.
    responsible_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"), index=True)
    accidental: Mapped[bool | None]
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    triaged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Set while the device is held for this repair; resolving puts the device back to it.
    held_from_status: Mapped[AssetStatus | None] = mapped_column(str_enum(AssetStatus, "repair_held_from"))
    repaired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    ticket: Mapped[Ticket] = relationship()
    responsible: Mapped[Person | None] = relationship()
    triaged_by: Mapped[User | None] = relationship()


class ClaimStatus(enum.Enum):
    submitted = "submitted"
    approved = "approved"
    shipped = "shipped"
    repaired = "repaired"
    returned = "returned"
    denied = "denied"

    @property
    def label(self) -> str:
        return self.value

    @property
    def is_open(self) -> bool:
        return self not in (ClaimStatus.returned, ClaimStatus.denied)


class Vendor(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    """A warranty or repair vendor that claims go to and batches ship to: one list for the district, kept by admins.

    Claims and batches keep the vendor's name beside the link (`vendor`), which is what the API has always shown.
    """

    __tablename__ = "vendors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    # Who to talk to: a name, a phone number, an email; free text as vendors give it.
    contact: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    portal_url: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    # Where devices for this vendor are shipped: printed on the packing list.
    ship_to: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # A vendor no longer used is kept for its claims but offered for no new claim or batch.
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.CheckConstraint("length(name) > 0", name="name_not_empty"),)

    def __str__(self) -> str:
        return self.name


class ShippingBatch(db.Model):
    """Devices boxed together for one vendor; printed as a packing list, received back one scan at a time."""

    __tablename__ = "shipping_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor: Mapped[str] = mapped_column(sa.String(80))
    vendor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vendors.id"), index=True)
    campus_id: Mapped[int] = mapped_column(sa.ForeignKey("campuses.id"), index=True)
    carrier: Mapped[str] = mapped_column(sa.String(60), default="", server_default="")
    tracking: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    campus: Mapped[Campus] = relationship()
    vendor_row: Mapped[Vendor | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    shipped_by: Mapped[User | None] = relationship(foreign_keys=[shipped_by_id])
    claims: Mapped[list[WarrantyClaim]] = relationship(back_populates="batch", order_by="WarrantyClaim.id")

    @property
    def label(self) -> str:
        return f"B-{self.id:05d}"


class WarrantyClaim(db.Model):
    """A claim on a device's warranty for one ticket; at most one open claim per ticket."""

    __tablename__ = "warranty_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    vendor: Mapped[str] = mapped_column(sa.String(80))
    vendor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vendors.id"), index=True)
    # The vendor's claim number or RMA; vendors issue it on approval, so it may come later.
    rma: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    status: Mapped[ClaimStatus] = mapped_column(str_enum(ClaimStatus, "claim_status"), default=ClaimStatus.submitted)
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("shipping_batches.id"), index=True)
    note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    denial_reason: Mapped[str | None] = mapped_column(sa.String(300))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    repaired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    denied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket] = relationship()
    asset: Mapped[Asset] = relationship()
    vendor_row: Mapped[Vendor | None] = relationship()
    batch: Mapped[ShippingBatch | None] = relationship(back_populates="claims")
    submitted_by: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.Index(
            "uq_warranty_claims_open_ticket",
            "ticket_id",
            unique=True,
            sqlite_where=sa.text("status NOT IN ('returned', 'denied')"),
            postgresql_where=sa.text("status NOT IN ('returned', 'denied')"),
        ),
        sa.Index("ix_warranty_claims_status", "status", "submitted_at"),
    )


class FeeStatus(enum.Enum):
    outstanding = "outstanding"
    paid = "paid"
    waived = "waived"

    @property
    def label(self) -> str:
        return self.value


class FeeReason(db.Model):
    """One line of the district's fee schedule: a reason a fee may be charged for, and its usual amount."""

    __tablename__ = "fee_reasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.String(200), unique=True)
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))

    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("length(reason) > 0", name="reason_not_empty"),
    )


class Fee(db.Model):
    """A charge to a person for damage under the district's policy; recorded here, paid elsewhere."""

    __tablename__ = "fees"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    campus_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campuses.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(10, 2))
    reason: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[FeeStatus] = mapped_column(str_enum(FeeStatus, "fee_status"), default=FeeStatus.outstanding)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    settled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    settle_note: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")

    person: Mapped[Person] = relationship()
    asset: Mapped[Asset | None] = relationship()
    ticket: Mapped[Ticket | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    settled_by: Mapped[User | None] = relationship(foreign_keys=[settled_by_id])

    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("length(reason) > 0", name="reason_not_empty"),
    )


class LoanerSwap(db.Model):
    """A broken device taken in and a loaner lent in its place for one ticket, until the swap is reversed.

    One unreversed swap per ticket (partial unique index); reversing sets `reversed_at` with a conditional UPDATE,
    so a swap is reversed at most once however many times the button is pressed.
    """

    __tablename__ = "loaner_swaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    broken_asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    # How the student held the broken device: a 1:1 assignment (kept open) or a loan (closed by the swap).
    assignment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignments.id"))
    broken_loan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("loans.id"))
    broken_status: Mapped[AssetStatus] = mapped_column(str_enum(AssetStatus, "swap_broken_status"))
    loaner_loan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("loans.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    reversed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    return_loan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("loans.id"))

    ticket: Mapped[Ticket] = relationship()
    broken_asset: Mapped[Asset] = relationship()
    person: Mapped[Person] = relationship()
    loaner_loan: Mapped[Loan | None] = relationship(foreign_keys=[loaner_loan_id])
    broken_loan: Mapped[Loan | None] = relationship(foreign_keys=[broken_loan_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    __table_args__ = (
        sa.Index(
            "uq_loaner_swaps_open_ticket",
            "ticket_id",
            unique=True,
            sqlite_where=sa.text("reversed_at IS NULL"),
            postgresql_where=sa.text("reversed_at IS NULL"),
        ),
    )

    @property
    def is_open(self) -> bool:
        return self.reversed_at is None
