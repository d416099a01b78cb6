"""Writing the activity log: one explicit call per service operation."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any

from app.extensions import db
from app.models import Activity, Asset, Person, User, Via


def plain(value: Any) -> Any:
    """A JSON-safe copy of a column value (dates as ISO strings, enums as their values)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "id") and hasattr(value, "__table__"):
        return str(value)
    return value


def snapshot(obj: Any, fields: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The named fields of obj as JSON-safe values."""
    return {f: plain(getattr(obj, f)) for f in fields}


def diff(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the keys whose values differ, from both sides."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def apply(obj: Any, values: dict[str, Any], fields: list[str] | tuple[str, ...]) -> tuple[dict, dict]:
    """Set `values` on obj; the fields that changed, before and after, ready for the log."""
    before = snapshot(obj, fields)
    for key, value in values.items():
        setattr(obj, key, value)
    return diff(before, snapshot(obj, fields))


def record(
    action: str,
    summary: str,
    *,
    by: User | None,
    via: Via,
    asset: Asset | None = None,
    person: Person | None = None,
    campus_id: int | None = None,
    subject: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> Activity:
    """Append one entry to the activity log and flush it with the change it describes."""
    if campus_id is None:
        campus_id = asset.campus_id if asset is not None else (person.campus_id if person is not None else None)
    entry = Activity(
        action=action,
        summary=summary[:300],
        user_id=by.id if by is not None else None,
        via=via,
        asset_id=asset.id if asset is not None else None,
        person_id=person.id if person is not None else None,
        campus_id=campus_id,
        subject_type=subject.__tablename__ if subject is not None else None,
        subject_id=subject.id if subject is not None else None,
        before=before or None,
        after=after or None,
    )
    db.session.add(entry)
    db.session.flush()
    return entry
