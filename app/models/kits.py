"""Deployment and collection days: accessory kinds, accessories issued with a device, the acceptable-use agreement
and who acknowledged it, and the records of each device handed out (deployment) and handed back (collection)."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.assets import Asset, Assignment, Condition
from app.models.people import Person
from app.models.types import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from app.models.tickets import Ticket
    from app.models.users import User


def new_receipt_token() -> str:
    """An unguessable token for a receipt's public page (the QR a family photographs)."""
    return secrets.token_urlsafe(18)


class AccessoryTracking(enum.Enum):
    # Each one carries its own serial number or tag, written down when it is issued.
    serial = "serial"
    # Only whether one went out with the device.
    issued = "issued"

    @property
    def label(self) -> str:
        return "own serial or tag" if self is AccessoryTracking.serial else "issued yes / no"


class AccessoryKind(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """Something a district hands out with a device (charger, case, hotspot, stylus)."""

    __tablename__ = "accessory_kinds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    tracking: Mapped[AccessoryTracking] = mapped_column(
        str_enum(AccessoryTracking, "accessory_tracking"), default=AccessoryTracking.issued
    )
    # The fee schedule's reason suggested when one does not come back (app.services.fees.policy()).
    fee_reason: Mapped[str | None] = mapped_column(sa.String(200))
    # Every device comes with one: expected back even from devices handed out before Rollcall kept kits.
    standard: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    __table_args__ = (sa.CheckConstraint("length(name) > 0", name="name_not_empty"),)

    def __str__(self) -> str:
        return self.name


class AccessoryOutcome(enum.Enum):
    returned = "returned"
    missing = "missing"

    @property
    def label(self) -> str:
        return self.value


class Agreement(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """One version of the acceptable-use agreement for a school year ("2026-27"); the newest version is in force."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_year: Mapped[str] = mapped_column(sa.String(7), index=True)
    version: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(160))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    __table_args__ = (sa.UniqueConstraint("school_year", "version"),)

    @property
    def label(self) -> str:
        return f"{self.school_year} v{self.version}"


class AgreementAck(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """A person acknowledged one version of the agreement: a typed name or a signature drawn on the screen (PNG)."""

    __tablename__ = "agreement_acks"

    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_id: Mapped[int] = mapped_column(sa.ForeignKey("agreements.id"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    signed_name: Mapped[str | None] = mapped_column(sa.String(160))
    signature_png: Mapped[bytes | None] = mapped_column(sa.LargeBinary)

    agreement: Mapped[Agreement] = relationship()
    person: Mapped[Person] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("agreement_id", "person_id"),
        sa.CheckConstraint("signed_name IS NOT NULL OR signature_png IS NOT NULL", name="signed_somehow"),
    )


class Deployment(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """A device handed to a student at a deployment station: the 1:1 assignment it opened and its receipt."""

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignments.id"), unique=True)
    campus_id: Mapped[int] = mapped_column(sa.ForeignKey("campuses.id"), index=True)
    ack_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agreement_acks.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # The same device handed back to the student it was held for over the summer.
    redeployed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    station: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    receipt_token: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_receipt_token)

    asset: Mapped[Asset] = relationship()
    person: Mapped[Person] = relationship()
    assignment: Mapped[Assignment] = relationship()
    ack: Mapped[AgreementAck | None] = relationship()
    by: Mapped[User | None] = relationship()


class Collection(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """A device handed back at a collection station: once per holding (`cycle`), however many stations scan it."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assignments.id"), index=True)
    # What was handed back: "a<assignment id>" for an assigned device, "u<asset id>-<its last assignment id or 0>"
    # for one assigned to no one. Unique, so two stations returning the same device record one return.
    cycle: Mapped[str] = mapped_column(sa.String(40), unique=True)
    campus_id: Mapped[int] = mapped_column(sa.ForeignKey("campuses.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    condition: Mapped[Condition | None] = mapped_column(str_enum(Condition, "collection_condition"))
    note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # Collected for the summer but still assigned to the student for next year.
    held: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"))
    station: Mapped[str] = mapped_column(sa.String(40), default="", server_default="")
    receipt_token: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_receipt_token)
    source_event_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    asset: Mapped[Asset] = relationship()
    person: Mapped[Person | None] = relationship()
    assignment: Mapped[Assignment | None] = relationship()
    ticket: Mapped[Ticket | None] = relationship()
    by: Mapped[User | None] = relationship()


class IssuedAccessory(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """One accessory that went out with a device (open while closed_at is empty) and how it came back."""

    __tablename__ = "issued_accessories"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    kind_id: Mapped[int] = mapped_column(sa.ForeignKey("accessory_kinds.id"), index=True)
    serial: Mapped[str | None] = mapped_column(sa.String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deployment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("deployments.id"), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[AccessoryOutcome | None] = mapped_column(str_enum(AccessoryOutcome, "accessory_outcome"))
    collection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("collections.id"), index=True)

    kind: Mapped[AccessoryKind] = relationship(lazy="selectin")
    deployment: Mapped[Deployment | None] = relationship()
    collection: Mapped[Collection | None] = relationship()

    __table_args__ = (
        # One of each kind with a device at a time, and a serial-tracked one with one device at a time.
        sa.Index(
            "uq_issued_accessories_open_kind",
            "asset_id",
            "kind_id",
            unique=True,
            sqlite_where=sa.text("closed_at IS NULL"),
            postgresql_where=sa.text("closed_at IS NULL"),
        ),
        sa.Index(
            "uq_issued_accessories_open_serial",
            "kind_id",
            "serial",
            unique=True,
            sqlite_where=sa.text("closed_at IS NULL AND serial IS NOT NULL"),
            postgresql_where=sa.text("closed_at IS NULL AND serial IS NOT NULL"),
        ),
    )
