"""Device models, assets (the devices themselves) and their 1:1 assignments."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models import search
from app.models.locations import Campus, Room
from app.models.people import Person
from app.models.types import UTCDateTime, str_enum, utcnow
from app.tagcodes import new_tag_code

if TYPE_CHECKING:
    from app.models.users import User


class DeviceModel(db.Model):
    __tablename__ = "device_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    manufacturer: Mapped[str] = mapped_column(sa.String(80))
    name: Mapped[str] = mapped_column(sa.String(120))
    category: Mapped[str] = mapped_column(sa.String(40), default="Chromebook")
    # Google's Auto Update Expiration: after this the device gets no more ChromeOS updates.
    aue_date: Mapped[date | None]

    __table_args__ = (sa.UniqueConstraint("manufacturer", "name"),)

    def __str__(self) -> str:
        return f"{self.manufacturer} {self.name}"


class AssetStatus(enum.Enum):
    deployed = "deployed"
    in_stock = "in_stock"
    loaner = "loaner"
    in_repair = "in_repair"
    missing = "missing"
    retired = "retired"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Condition(enum.Enum):
    good = "good"
    fair = "fair"
    damaged = "damaged"
    broken = "broken"

    @property
    def label(self) -> str:
        return self.value


class Asset(db.Model):
    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_tag: Mapped[str] = mapped_column(sa.String(32), unique=True)
    serial: Mapped[str] = mapped_column(sa.String(64), unique=True)
    tag_code: Mapped[str] = mapped_column(sa.String(16), unique=True, default=new_tag_code)
    model_id: Mapped[int] = mapped_column(sa.ForeignKey("device_models.id"), index=True)
    campus_id: Mapped[int] = mapped_column(sa.ForeignKey("campuses.id"))
    home_room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    status: Mapped[AssetStatus] = mapped_column(str_enum(AssetStatus, "asset_status"), default=AssetStatus.in_stock)
    condition: Mapped[Condition] = mapped_column(str_enum(Condition, "asset_condition"), default=Condition.good)
    purchase_date: Mapped[date | None]
    purchase_cost: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))
    # The purchase order it came on, as Snipe-IT's Order Number (kept so an export and its import agree).
    order_number: Mapped[str | None] = mapped_column(sa.String(64))
    warranty_provider: Mapped[str | None] = mapped_column(sa.String(80))
    warranty_plan: Mapped[str | None] = mapped_column(sa.String(80))
    warranty_start: Mapped[date | None]
    warranty_end: Mapped[date | None]
    warranty_accidental: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    warranty_battery: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Claims the plan allows over its term (empty: no limit) and claims made so far (denied ones give it back).
    warranty_claims_allowed: Mapped[int | None]
    warranty_claims_used: Mapped[int] = mapped_column(default=0, server_default="0")
    assigned_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("people.id"), index=True)
    notes: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # Projections derived from observations (scans); each moves only forward in event time.
    current_room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    last_seen_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    condition_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the Google Admin console last said about this device (filled by the Google Admin import).
    google_device_id: Mapped[str | None] = mapped_column(sa.String(64))
    google_status: Mapped[str | None] = mapped_column(sa.String(32))
    org_unit: Mapped[str | None] = mapped_column(sa.String(255))
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    google_recent_user: Mapped[str | None] = mapped_column(sa.String(254))
    annotated_asset_id: Mapped[str | None] = mapped_column(sa.String(64))
    annotated_location: Mapped[str | None] = mapped_column(sa.String(160))
    annotated_user: Mapped[str | None] = mapped_column(sa.String(254))
    # This device's own Auto Update Expiration when Google reports one; the model's date otherwise.
    google_aue_date: Mapped[date | None]
    # Lower-cased tag, serial, model and assignee; app/models/search.py indexes it for substring search.
    search_text: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # Loaded by id lookups (selectin), so list queries stay on the asset indexes instead of joining.
    model: Mapped[DeviceModel] = relationship(lazy="selectin")
    campus: Mapped[Campus] = relationship(lazy="selectin")
    home_room: Mapped[Room | None] = relationship(foreign_keys=[home_room_id])
    current_room: Mapped[Room | None] = relationship(foreign_keys=[current_room_id])
    assigned_to: Mapped[Person | None] = relationship(foreign_keys=[assigned_to_id])
    last_seen_by: Mapped[User | None] = relationship(foreign_keys=[last_seen_by_id])

    __table_args__ = (
        sa.Index("ix_assets_campus_status", "campus_id", "status"),
        sa.Index("ix_assets_campus_tag", "campus_id", "asset_tag"),
        # The dashboard's one summary scan reads only this index, grouped in its order.
        sa.Index(
            "ix_assets_dashboard", "campus_id", "status", "model_id", "google_aue_date", "last_seen_at", "warranty_end"
        ),
        sa.Index("ix_assets_campus_warranty", "campus_id", "warranty_end", "status"),
        # The closet finder counts and groups unseen devices by campus and last room from this index alone.
        sa.Index("ix_assets_campus_room_seen", "campus_id", "current_room_id", "status", "last_seen_at"),
        sa.CheckConstraint("purchase_cost IS NULL OR purchase_cost >= 0", name="purchase_cost_not_negative"),
        sa.CheckConstraint(
            "warranty_end IS NULL OR warranty_start IS NULL OR warranty_end >= warranty_start",
            name="warranty_dates_ordered",
        ),
    )

    def __str__(self) -> str:
        return self.asset_tag

    @property
    def aue_date(self) -> date | None:
        if self.google_aue_date is not None:
            return self.google_aue_date
        return self.model.aue_date if self.model else None

    def refresh_search_text(self) -> None:
        """Recompute the lower-cased text that the inventory search matches against."""
        parts = [self.asset_tag, self.serial, self.tag_code]
        if self.model:
            parts += [self.model.manufacturer, self.model.name]
        if self.assigned_to:
            parts += [self.assigned_to.name, self.assigned_to.external_id]
        self.search_text = " ".join(p for p in parts if p).lower()


search.install_listeners(Asset.__table__)


class Assignment(db.Model):
    """A device handed to a person for the long term (1:1); at most one open per asset."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    return_condition: Mapped[Condition | None] = mapped_column(str_enum(Condition, "return_condition"))

    asset: Mapped[Asset] = relationship()
    person: Mapped[Person] = relationship()

    __table_args__ = (
        sa.Index(
            "uq_assignments_open_asset",
            "asset_id",
            unique=True,
            sqlite_where=sa.text("returned_at IS NULL"),
            postgresql_where=sa.text("returned_at IS NULL"),
        ),
    )
