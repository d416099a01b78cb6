"""Finding students and staff from the roster."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Campus, Person, PersonKind, User


def id_is(text: str) -> sa.ColumnElement[bool]:
    """Person.external_id equals text in any case (a card says "lhs100001" as well as "LHS100001")."""
    return sa.func.lower(Person.external_id) == text.strip().lower()


def find_person_by_id(text: str) -> Person | None:
    """A person by their student or staff ID, in any case (the exact spelling first)."""
    text = (text or "").strip()
    if not text:
        return None
    exact = db.session.scalar(sa.select(Person).where(Person.external_id == text))
    if exact is not None:
        return exact
    return db.session.scalar(sa.select(Person).where(id_is(text)).order_by(Person.id).limit(1))


def find_person(text: str) -> Person | None:
    """A person by their student or staff ID (any case), or by exact email."""
    text = (text or "").strip()
    if not text:
        return None
    return find_person_by_id(text) or db.session.scalar(
        sa.select(Person).where(Person.email == text.lower()).order_by(Person.id).limit(1)
    )


def visible_people(user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause: the people the user may see (see Person.seen_by), in SQL."""
    ids = user.campus_ids
    return sa.true() if ids is None else Person.on_campuses(ids)


def search_people(user: User, q: str = "", campus_id: int | None = None, kind: PersonKind | None = None) -> sa.Select:
    """People on the user's campuses (any campus they belong to) matching a name, ID or email, by name."""
    stmt = sa.select(Person).where(visible_people(user))
    if q.strip():
        needle = q.strip().lower()
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(Person.name).like(f"%{needle}%"),
                id_is(q),
                Person.email == needle,
            )
        )
    if campus_id:
        stmt = stmt.where(Person.on_campuses([campus_id]))
    if kind:
        stmt = stmt.where(Person.kind == kind)
    return stmt.order_by(Person.name, Person.id)


def other_campuses(person: Person) -> list[Campus]:
    """The campuses a person belongs to besides their primary one, by name."""
    ids = person.campus_ids - {person.campus_id}
    if not ids:
        return []
    return list(db.session.scalars(sa.select(Campus).where(Campus.id.in_(ids)).order_by(Campus.name)))
