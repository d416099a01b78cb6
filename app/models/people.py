"""Students and staff from the roster (people who hold devices; not necessarily users who sign in)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.locations import Campus
from app.models.types import UTCDateTime, str_enum, utcnow

if TYPE_CHECKING:
    from app.models.users import User


class PersonKind(enum.Enum):
    student = "student"
    staff = "staff"


class Person(db.Model):
    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The ID printed on a student's card or a staff badge; what the loaner desk scans.
    external_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The roster's own key (OneRoster sourcedId), used to upsert on import.
    sourced_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[PersonKind] = mapped_column(str_enum(PersonKind, "person_kind"))
    name: Mapped[str] = mapped_column(sa.String(160))
    grade: Mapped[str | None] = mapped_column(sa.String(8))
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    username: Mapped[str | None] = mapped_column(sa.String(120))
    campus_id: Mapped[int | None] = mapped_column(sa.ForeignKey("campuses.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    campus: Mapped[Campus | None] = relationship()

    # Cards print IDs in one case and people type them in another: the desk and the API look them up in any case.
    __table_args__ = (
        sa.Index("ix_people_name_lower", sa.func.lower(name)),
        sa.Index("ix_people_external_id_lower", sa.func.lower(external_id)),
    )

    def __str__(self) -> str:
        return self.name


class RecordView(db.Model):
    """A staff member opened (or exported) a person's record: who looked at whose data, and when."""

    __tablename__ = "record_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What was looked at: "page", "export" or "api".
    what: Mapped[str] = mapped_column(sa.String(16), default="page")

    user: Mapped[User] = relationship()

    __table_args__ = (sa.Index("ix_record_views_person_at", "person_id", "at"),)
