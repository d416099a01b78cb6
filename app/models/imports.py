"""Import runs: an uploaded file checked in a dry run, then applied (or not), with what it did."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.types import UTCDateTime, str_enum, utcnow
from app.models.users import User


class ImportKind(enum.Enum):
    google_admin = "google_admin"
    snipeit = "snipeit"
    oneroster = "oneroster"

    @property
    def label(self) -> str:
        return {"google_admin": "Google Admin", "snipeit": "Snipe-IT", "oneroster": "OneRoster"}[self.value]


class ImportState(enum.Enum):
    checked = "checked"
    applied = "applied"


class ImportRun(db.Model):
    """One uploaded file: kept until it is applied so the dry run and the apply read the same bytes."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(str_enum(ImportKind, "import_kind"))
    state: Mapped[ImportState] = mapped_column(str_enum(ImportState, "import_state"), default=ImportState.checked)
    filename: Mapped[str] = mapped_column(sa.String(255), default="")
    # Random and unguessable: the apply form names the run by it, so one admin cannot apply another's upload.
    token: Mapped[str] = mapped_column(sa.String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The file itself, dropped once applied.
    content: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    # Counts and the reconciliation (serial lists), as the last run of this file reported them.
    report: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    created_by: Mapped[User | None] = relationship()
