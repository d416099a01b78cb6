"""Import runs: an uploaded file checked in a dry run, then applied (or not), with what it did."""

from __future__ import annotations

import enum
import io
import shutil
import zipfile
from datetime import datetime
from typing import IO, Any

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


# A parked upload is a zip of the file (deflated) and what its dry run found each row would do.
PARKED_FILE = "upload.csv"
PARKED_PLAN = "plan"
PARKED_REJECTED = "rejected.csv"
ZIP_MAGIC = b"PK\x03\x04"


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

    def park(self, upload: IO[bytes], plan: bytes, rejected: bytes = b"") -> None:
        """Keep the file, compressed (an export shrinks to about a fifth, in well under a second for 60 MB), its
        dry run's plan for the apply, and its bad rows as a CSV to fix (when it has any).

        The upload is copied from the start in chunks, so only the compressed copy is ever held whole.
        """
        upload.seek(0)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
            with bundle.open(PARKED_FILE, "w", force_zip64=True) as out:
                shutil.copyfileobj(upload, out, 1 << 20)
            bundle.writestr(PARKED_PLAN, plan, zipfile.ZIP_STORED)
            if rejected:
                bundle.writestr(PARKED_REJECTED, rejected)
        self.content = buffer.getvalue()

    def parked(self) -> tuple[IO[bytes], bytes | None]:
        """The parked file as a stream read as it is decompressed, and its dry run's plan (None for a file
        parked before dry runs kept one: its bytes as they are)."""
        if not self.content.startswith(ZIP_MAGIC):
            return io.BytesIO(self.content), None
        bundle = zipfile.ZipFile(io.BytesIO(self.content))
        return bundle.open(PARKED_FILE), bundle.read(PARKED_PLAN)

    def rejected(self) -> bytes | None:
        """The bad rows its last dry run found, as a CSV of the file's own columns and an `error` column."""
        if not self.content or not self.content.startswith(ZIP_MAGIC):
            return None
        bundle = zipfile.ZipFile(io.BytesIO(self.content))
        return bundle.read(PARKED_REJECTED) if PARKED_REJECTED in bundle.namelist() else None

    def applied_leaving(self, rejected: bytes | None) -> None:
        """Drop the applied file, keeping only the bad rows it left out (to download, fix and upload again)."""
        if not rejected:
            self.content = None
            return
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
            bundle.writestr(PARKED_REJECTED, rejected)
        self.content = buffer.getvalue()


class ImportMapping(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """The admin's own names for one kind of file's columns, remembered so the next file like it just reads:
    `columns` maps a column's canonical name (`asset_tag`) to the header that file gives it (`Tag ID`)."""

    __tablename__ = "import_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(str_enum(ImportKind, "import_mapping_kind"), unique=True)
    columns: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
