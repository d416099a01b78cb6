"""Live Google sync: each run (what it asked Google, what came of it), the district's sync settings and lease,
and the write-back queue (changes waiting for Google to confirm them)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, str_enum, utcnow
from app.models.users import User

DEFAULT_INTERVAL_MINUTES = 60


class SyncRunStatus(enum.Enum):
    running = "running"
    done = "done"
    failed = "failed"
    # Another run held the lease, so this one did nothing.
    skipped = "skipped"


class GoogleSyncRun(db.Model):  # type: ignore[name-defined]
    """One run of the sync: full (every device, and those Google no longer has) or incremental (devices synced
    since the last good run), its outcome in counts, and on failure the reason in plain words and Google's own."""

    __tablename__ = "google_sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    full: Mapped[bool] = mapped_column(default=False)
    dry_run: Mapped[bool] = mapped_column(default=False)
    # schedule, manual (Sync now) or cli.
    trigger: Mapped[str] = mapped_column(sa.String(20))
    status: Mapped[SyncRunStatus] = mapped_column(
        str_enum(SyncRunStatus, "google_sync_run_status"), default=SyncRunStatus.running
    )
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    job_id: Mapped[str | None] = mapped_column(sa.String(36))
    # The list query sent (`sync:2026-11-30..`), none for a full run.
    query: Mapped[str | None] = mapped_column(sa.String(120))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pages: Mapped[int] = mapped_column(default=0, server_default="0")
    devices: Mapped[int] = mapped_column(default=0, server_default="0")
    created: Mapped[int] = mapped_column(default=0, server_default="0")
    updated: Mapped[int] = mapped_column(default=0, server_default="0")
    unchanged: Mapped[int] = mapped_column(default=0, server_default="0")
    removed: Mapped[int] = mapped_column(default=0, server_default="0")
    # Answers from Google that were tried again (429, 5xx).
    retries: Mapped[int] = mapped_column(default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(sa.Text)
    google_error: Mapped[str | None] = mapped_column(sa.Text)
    report: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    requested_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.Index("ix_google_sync_runs_started_at", "started_at"),)

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class GoogleSyncState(db.Model):  # type: ignore[name-defined]
    """The district's one row (id 1): how often to sync, whether to write back, the lease that keeps two runs
    from overlapping on any number of servers, and how the last runs went."""

    __tablename__ = "google_sync_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    interval_minutes: Mapped[int] = mapped_column(
        default=DEFAULT_INTERVAL_MINUTES, server_default=str(DEFAULT_INTERVAL_MINUTES)
    )
    write_back: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    write_back_changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    write_back_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Write-back's org unit for devices in a status: {"in_repair": "/Devices/Repair", "loaner": "/Devices/Loaners"}.
    ou_by_status: Mapped[dict[str, str] | None] = mapped_column(sa.JSON)
    # Who holds the lease (a job id or cli:host:pid) and until when; a lease past its time is free.
    lease_holder: Mapped[str | None] = mapped_column(sa.String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the last good run (and the last good full run) started: the next incremental asks from there.
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_full_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by the first failed run after a good one, cleared by the next good one.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.Text)


class WriteBackStatus(enum.Enum):
    pending = "pending"
    done = "done"
    failed = "failed"


class GoogleWriteBack(db.Model):  # type: ignore[name-defined]
    """One change Rollcall asks Google to make to a device (disable, reenable, deprovision, move, annotate), who
    asked and why, waiting until Google confirms it."""

    __tablename__ = "google_write_backs"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int | None] = mapped_column(sa.ForeignKey("assets.id", ondelete="SET NULL"), index=True)
    device_id: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(20))
    params: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    status: Mapped[WriteBackStatus] = mapped_column(
        str_enum(WriteBackStatus, "google_write_back_status"), default=WriteBackStatus.pending
    )
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(sa.Text)

    requested_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.Index("ix_google_write_backs_status", "status"),)
