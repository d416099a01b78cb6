"""Doors to other systems: webhook endpoints and their delivery log, and the accounts vendors' tokens belong to."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.repairs import Vendor, WarrantyClaim
from app.models.types import UTCDateTime, str_enum, utcnow
from app.models.users import User


class EndpointKind(enum.Enum):
    """What the far end speaks: our signed JSON, or a chat service's incoming-webhook message."""

    webhook = "webhook"
    slack = "slack"
    teams = "teams"
    google_chat = "google_chat"

    @property
    def label(self) -> str:
        return {"webhook": "Webhook (signed JSON)", "slack": "Slack", "teams": "Microsoft Teams"}.get(
            self.value, "Google Chat"
        )


class DeliveryStatus(enum.Enum):
    pending = "pending"
    delivered = "delivered"
    failed = "failed"


class WebhookEndpoint(db.Model):  # type: ignore[name-defined]  # db.Model is made at run time
    """An address an admin registered to hear about some of the district's events."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    kind: Mapped[EndpointKind] = mapped_column(str_enum(EndpointKind, "webhook_kind"), default=EndpointKind.webhook)
    url: Mapped[str] = mapped_column(sa.String(500))
    # The shared secret the X-Rollcall-Signature HMAC is made with (chat services take none).
    secret: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    # Event types this endpoint hears ("ticket.created", …).
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # An admin allowed a private or loopback address (a receiver inside the district's network).
    allow_private: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.CheckConstraint("length(url) > 0", name="url_not_empty"),)

    def hears(self, event: str) -> bool:
        return self.enabled and event in (self.events or [])


class WebhookDelivery(db.Model):  # type: ignore[name-defined]
    """One event on its way to one endpoint: what is sent (fixed when the event happened), and how it went."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    # The event's own id: a delivery sent again carries the same one, so receivers can tell a repeat.
    event_id: Mapped[str] = mapped_column(sa.String(36))
    event: Mapped[str] = mapped_column(sa.String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "webhook_delivery_status"), default=DeliveryStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_code: Mapped[int | None] = mapped_column()
    # Why the last attempt failed, or why it was given up on.
    error: Mapped[str | None] = mapped_column(sa.String(500))
    # The delivery this one sends again ("Send again" on the log).
    resend_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))

    endpoint: Mapped[WebhookEndpoint] = relationship()

    __table_args__ = (sa.Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at"),)


class VendorAccount(db.Model):  # type: ignore[name-defined]
    """The login a vendor's API token belongs to: changes made through the vendor door are that vendor's in every
    history. It has no password and opens only /api/v1/claims."""

    __tablename__ = "vendor_accounts"

    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("vendors.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)

    vendor: Mapped[Vendor] = relationship()
    user: Mapped[User] = relationship()


class ClaimVendorInfo(db.Model):  # type: ignore[name-defined]
    """What a vendor told us about a claim beyond its status: the return shipment and their notes."""

    __tablename__ = "claim_vendor_info"

    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("warranty_claims.id", ondelete="CASCADE"), primary_key=True)
    return_tracking: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    shipped_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    claim: Mapped[WarrantyClaim] = relationship()
