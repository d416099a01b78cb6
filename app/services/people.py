"""Finding students and staff from the roster."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Person, PersonKind, User
from app.services.assets import visible_to


def find_person(text: str) -> Person | None:
    """A person by their student or staff ID, or by exact email."""
    text = (text or "").strip()
    if not text:
        return None
    return db.session.scalar(sa.select(Person).where(sa.or_(Person.external_id == text, Person.email == text.lower())))


def search_people(user: User, q: str = "", campus_id: int | None = None, kind: PersonKind | None = None) -> sa.Select:
    """People on the user's campuses matching a name, ID or email, by name."""
    stmt = sa.select(Person).where(visible_to(user, Person.campus_id))
    if q.strip():
        needle = q.strip().lower()
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(Person.name).like(f"%{needle}%"),
                Person.external_id == q.strip(),
                Person.email == needle,
            )
        )
    if campus_id:
        stmt = stmt.where(Person.campus_id == campus_id)
    if kind:
        stmt = stmt.where(Person.kind == kind)
    return stmt.order_by(Person.name, Person.id)
