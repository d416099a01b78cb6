"""The collection day's live board: devices returned and not yet returned, by campus and grade, and the list of
students still holding one (for follow-up)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, Assignment, Campus, Collection, Person, PersonKind, User
from app.services.assets import visible_to
from app.services.csvio import write_csv
from app.services.deployment.agreements import YEAR_STARTS_MONTH, school_year

NOT_RETURNED_HEADER = ("student_id", "name", "grade", "campus", "asset_tag", "serial", "assigned_at")


@dataclass(frozen=True)
class BoardRow:
    campus: str
    grade: str
    returned: int
    out: int

    @property
    def total(self) -> int:
        return self.returned + self.out

    @property
    def percent(self) -> int:
        return round(100 * self.returned / self.total) if self.total else 0


def year_start(year: str | None = None) -> datetime:
    """The first moment of a school year ("2026-27" starts on 1 July 2026), UTC."""
    first = int((year or school_year())[:4])
    return datetime(first, YEAR_STARTS_MONTH, 1, tzinfo=UTC)


def _not_returned(user: User, campus_id: int | None) -> sa.Select:
    returned = sa.select(Collection.id).where(Collection.assignment_id == Assignment.id).exists()
    stmt = (
        sa.select(Assignment)
        .join(Asset, Asset.id == Assignment.asset_id)
        .join(Person, Person.id == Assignment.person_id)
        .where(
            Assignment.returned_at.is_(None),
            Person.kind == PersonKind.student,
            ~returned,
            visible_to(user, Asset.campus_id),
        )
    )
    return stmt.where(Asset.campus_id == campus_id) if campus_id else stmt


def rows(user: User, campus_id: int | None = None) -> list[BoardRow]:
    """Returned this school year and still out, per campus and grade, in campus then grade order."""
    grade = sa.func.coalesce(Person.grade, "")
    out = db.session.execute(
        _not_returned(user, campus_id)
        .join(Campus, Campus.id == Asset.campus_id)
        .with_only_columns(Campus.code, grade, sa.func.count())
        .group_by(Campus.code, grade)
    ).all()
    back_stmt = (
        sa.select(Campus.code, grade, sa.func.count())
        .select_from(Collection)
        .join(Person, Person.id == Collection.person_id)
        .join(Campus, Campus.id == Collection.campus_id)
        .where(Collection.at >= year_start(), Person.kind == PersonKind.student, visible_to(user, Collection.campus_id))
        .group_by(Campus.code, grade)
    )
    if campus_id:
        back_stmt = back_stmt.where(Collection.campus_id == campus_id)
    counts: dict[tuple[str, str], list[int]] = {}
    for code, g, n in db.session.execute(back_stmt).all():
        counts.setdefault((code, g), [0, 0])[0] += n
    for code, g, n in out:
        counts.setdefault((code, g), [0, 0])[1] += n
    return [
        BoardRow(code, g, r, o)
        for (code, g), (r, o) in sorted(counts.items(), key=lambda kv: (kv[0][0], _grade_key(kv[0][1])))
    ]


def _grade_key(grade: str) -> tuple[int, str]:
    return (int(grade), "") if grade.isdigit() else (-1 if grade.upper() in ("K", "KG", "PK") else 99, grade)


def totals(board: list[BoardRow]) -> BoardRow:
    return BoardRow("", "", sum(r.returned for r in board), sum(r.out for r in board))


def not_returned_csv(user: User, campus_id: int | None = None) -> Iterator[str]:
    """Students still holding a device, by campus, grade and name (formula-safe CSV)."""
    stmt = (
        _not_returned(user, campus_id)
        .join(Campus, Campus.id == Asset.campus_id)
        .with_only_columns(
            Person.external_id,
            Person.name,
            Person.grade,
            Campus.code,
            Asset.asset_tag,
            Asset.serial,
            Assignment.assigned_at,
        )
        .order_by(Campus.code, Person.grade, Person.name, Person.id)
    )

    def lines():
        for eid, name, grade, code, tag, serial, at in db.session.execute(stmt.limit(200_000)):
            yield (eid, name, grade or "", code, tag, serial, at.strftime("%Y-%m-%dT%H:%M:%SZ"))

    return write_csv(NOT_RETURNED_HEADER, lines())
