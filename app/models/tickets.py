"""Repair tickets: the ticket itself, its comments, its photos and its status history."""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.assets import Asset
from app.models.types import UTCDateTime, str_enum, utcnow
from app.models.users import User

NUMBER_PREFIX = "T-"


class TicketSource(enum.Enum):
    student_report = "student_report"
    staff = "staff"

    @property
    def label(self) -> str:
        return "student report" if self is TicketSource.student_report else "staff"


class TicketCategory(enum.Enum):
    cracked_screen = "cracked_screen"
    keyboard_trackpad = "keyboard_trackpad"
    wont_charge = "wont_charge"
    wont_turn_on = "wont_turn_on"
    liquid = "liquid"
    missing_keys = "missing_keys"
    camera_sound = "camera_sound"
    other = "other"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS = {
    TicketCategory.cracked_screen: "Cracked screen",
    TicketCategory.keyboard_trackpad: "Keyboard or trackpad",
    TicketCategory.wont_charge: "Won't charge",
    TicketCategory.wont_turn_on: "Won't turn on",
    TicketCategory.liquid: "Liquid damage",
    TicketCategory.missing_keys: "Missing keys",
    TicketCategory.camera_sound: "Camera or sound",
    TicketCategory.other: "Other",
}


class TicketStatus(enum.Enum):
    new = "new"
    triaged = "triaged"
    in_repair = "in_repair"
    waiting_parts = "waiting_parts"
    warranty_claim = "warranty_claim"
    resolved = "resolved"
    closed = "closed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @property
    def is_open(self) -> bool:
        return self not in (TicketStatus.resolved, TicketStatus.closed)


OPEN_STATUSES = tuple(s for s in TicketStatus if s.is_open)


def hash_status_token(raw: str) -> str:
    """Status links carry a random token; only its SHA-256 digest is stored."""
    return hashlib.sha256(raw.encode()).hexdigest()


def new_status_token() -> tuple[str, str]:
    """A fresh unguessable token and its digest."""
    raw = secrets.token_urlsafe(24)
    return raw, hash_status_token(raw)


class Ticket(db.Model):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    source: Mapped[TicketSource] = mapped_column(str_enum(TicketSource, "ticket_source"))
    category: Mapped[TicketCategory] = mapped_column(str_enum(TicketCategory, "ticket_category"))
    description: Mapped[str] = mapped_column(sa.Text)
    # What a student chose to tell us; shown to staff only, never on a public page.
    reporter_name: Mapped[str | None] = mapped_column(sa.String(160))
    reporter_student_id: Mapped[str | None] = mapped_column(sa.String(64))
    reporter_email: Mapped[str | None] = mapped_column(sa.String(254))
    status: Mapped[TicketStatus] = mapped_column(str_enum(TicketStatus, "ticket_status"), default=TicketStatus.new)
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    status_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    asset: Mapped[Asset] = relationship(lazy="joined", innerjoin=True)
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    comments: Mapped[list[TicketComment]] = relationship(back_populates="ticket", order_by="TicketComment.id")
    photos: Mapped[list[TicketPhoto]] = relationship(back_populates="ticket", order_by="TicketPhoto.id")
    events: Mapped[list[TicketEvent]] = relationship(back_populates="ticket", order_by="TicketEvent.id")

    __table_args__ = (
        sa.Index("ix_tickets_status_created", "status", "created_at"),
        sa.CheckConstraint("length(description) > 0", name="description_not_empty"),
    )

    @property
    def number(self) -> str:
        return format_number(self.id)

    def __str__(self) -> str:
        return self.number


def format_number(ticket_id: int) -> str:
    """The number people quote: T-000123."""
    return f"{NUMBER_PREFIX}{ticket_id:06d}"


def parse_number(text: str) -> int | None:
    """The ticket id in "T-000123", "t000123" or "123"; None when it is not a ticket number."""
    raw = (text or "").strip().upper().removeprefix("T").lstrip("-")
    return int(raw) if raw.isdigit() and 0 < len(raw) <= 12 else None


class TicketComment(db.Model):
    __tablename__ = "ticket_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship()

    __table_args__ = (sa.CheckConstraint("length(body) > 0", name="body_not_empty"),)


class TicketPhoto(db.Model):
    """A photo kept in the database (re-encoded JPEG, no metadata) so app servers stay stateless."""

    __tablename__ = "ticket_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    width: Mapped[int]
    height: Mapped[int]
    byte_size: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="photos")

    __table_args__ = (sa.CheckConstraint("width > 0 AND height > 0", name="dimensions_positive"),)


class TicketEventKind(enum.Enum):
    opened = "opened"
    status = "status"
    assigned = "assigned"


class TicketEvent(db.Model):
    """One step of a ticket's history: opened, a status change, an assignment."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    kind: Mapped[TicketEventKind] = mapped_column(str_enum(TicketEventKind, "ticket_event_kind"))
    from_value: Mapped[str | None] = mapped_column(sa.String(160))
    to_value: Mapped[str | None] = mapped_column(sa.String(160))

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()
