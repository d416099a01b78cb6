"""Students and staff from the roster (people who hold devices; not necessarily users who sign in)."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.locations import Campus
from app.models.types import str_enum


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

    __table_args__ = (sa.Index("ix_people_name_lower", sa.func.lower(name)),)

    def __str__(self) -> str:
        return self.name
