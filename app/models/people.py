"""Students and staff from the roster (people who hold devices; not necessarily users who sign in)."""

from __future__ import annotations

import enum
from collections.abc import Collection
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
    # Every school the person belongs to (OneRoster orgSourcedIds, a teacher in two schools): campus_id is the
    # primary one, which most pages show; who may see the person follows all of them.
    memberships: Mapped[list[PersonCampus]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="PersonCampus.campus_id"
    )
    guardians: Mapped[list[Guardian]] = relationship(
        secondary="guardian_links", back_populates="students", order_by="Guardian.name, Guardian.id"
    )

    # Cards print IDs in one case and people type them in another: the desk and the API look them up in any case.
    __table_args__ = (
        sa.Index("ix_people_name_lower", sa.func.lower(name)),
        sa.Index("ix_people_external_id_lower", sa.func.lower(external_id)),
    )

    def __str__(self) -> str:
        return self.name

    @property
    def campus_ids(self) -> set[int]:
        """Every campus the person belongs to: the primary one and the others of their memberships."""
        ids = {m.campus_id for m in self.memberships}
        if self.campus_id is not None:
            ids.add(self.campus_id)
        return ids

    def seen_by(self, user: User) -> bool:
        """Whether the user may see this person: district-wide admins anyone; everyone else people who belong to one
        of their campuses (the roster's people at district level are the district's)."""
        ids = user.campus_ids
        return ids is None or bool(ids & self.campus_ids)

    @classmethod
    def on_campuses(cls, ids: Collection[int]) -> sa.ColumnElement[bool]:
        """A WHERE clause: people whose primary campus, or any campus they belong to, is one of these."""
        members = sa.select(PersonCampus.person_id).where(PersonCampus.campus_id.in_(ids))
        return sa.or_(cls.campus_id.in_(ids), cls.id.in_(members))


class PersonCampus(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """A campus a person belongs to, besides or as well as their primary one (Person.campus_id)."""

    __tablename__ = "person_campuses"

    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    campus_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campuses.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Guardian(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """A student's parent or guardian from the roster (OneRoster role parent, guardian or relative): contact
    details kept for notices to the family. Not an account: guardians never sign in."""

    __tablename__ = "guardians"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The roster's own key, used to upsert on import.
    sourced_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(160))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(40))
    # How they are related to their students, as the roster's role says: parent, guardian or relative.
    role: Mapped[str] = mapped_column(sa.String(16), default="guardian")
    # The language notices to them are written in (a BCP 47 tag such as "es"), when the roster says.
    language: Mapped[str | None] = mapped_column(sa.String(35))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    students: Mapped[list[Person]] = relationship(secondary="guardian_links", back_populates="guardians")

    def __str__(self) -> str:
        return self.name


class GuardianLink(db.Model):  # type: ignore[name-defined]  # Flask-SQLAlchemy makes db.Model at runtime
    """A guardian of a student (OneRoster agentSourcedIds, read from either side)."""

    __tablename__ = "guardian_links"

    person_id: Mapped[int] = mapped_column(sa.ForeignKey("people.id", ondelete="CASCADE"), primary_key=True)
    guardian_id: Mapped[int] = mapped_column(
        sa.ForeignKey("guardians.id", ondelete="CASCADE"), primary_key=True, index=True
    )


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
