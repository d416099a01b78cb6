"""Reading the activity log: its filters (person, asset, action, date range) checked field by field, the query
within the reader's campuses, and the filtered log as CSV."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, Campus, User
from app.services.assets import visible_to
from app.services.csvio import write_csv

# Dates outside these years are typing mistakes (app.web.args keeps the same bounds).
FIRST_YEAR, LAST_YEAR = 1900, 2999
CSV_HEADER = ["at", "action", "summary", "by", "via", "asset_tag", "campus", "before", "after"]


@dataclass
class LogFilters:
    """What the log is narrowed to, and what was wrong with the filters as given (field name → message)."""

    user_email: str = ""
    asset_tag: str = ""
    action: str = ""
    since: date | None = None
    until: date | None = None
    errors: dict[str, str] = field(default_factory=dict)


def actions() -> list[str]:
    """Every kind of action the log holds, in order (one pass over the action index)."""
    return list(db.session.scalars(sa.select(Activity.action).distinct().order_by(Activity.action)))


def _date(raw: str, name: str, errors: dict[str, str]) -> date | None:
    text = raw.strip()
    if not text:
        return None
    try:
        value = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        errors[name] = "Enter a date written YYYY-MM-DD."
        return None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        errors[name] = f"Enter a date between {FIRST_YEAR} and {LAST_YEAR}."
        return None
    return value


def filters_from(args: Mapping[str, str], known_actions: list[str]) -> LogFilters:
    """The log's filters from a query string; a bad date, a range that ends before it starts or an action the
    log does not have is kept as an error on that field instead of quietly listing nothing."""
    errors: dict[str, str] = {}
    since = _date(args.get("from", ""), "from", errors)
    until = _date(args.get("to", ""), "to", errors)
    if since and until and until < since:
        errors["to"] = f"The range ends before it starts: choose a day on or after {since.isoformat()}."
    action = args.get("action", "").strip()
    if action and action not in known_actions:
        errors["action"] = "Choose an action from the list."
    return LogFilters(
        user_email=args.get("user", "").strip().lower()[:254],
        asset_tag=args.get("asset", "").strip().upper()[:64],
        action=action,
        since=since,
        until=until,
        errors=errors,
    )


def log_query(user: User, f: LogFilters) -> sa.Select:
    """Log entries matching the filters, newest first; campus-scoped staff see entries about their campuses
    (district-level entries stay with district-wide admins)."""
    stmt = sa.select(Activity).order_by(Activity.at.desc(), Activity.id.desc())
    if user.campus_ids is not None:
        stmt = stmt.where(visible_to(user, Activity.campus_id))
    if f.user_email:
        stmt = stmt.where(Activity.user_id.in_(sa.select(User.id).where(User.email == f.user_email)))
    if f.asset_tag:
        stmt = stmt.where(Activity.asset_id.in_(sa.select(Asset.id).where(Asset.asset_tag == f.asset_tag)))
    if f.action:
        stmt = stmt.where(Activity.action == f.action)
    if f.since:
        stmt = stmt.where(Activity.at >= datetime.combine(f.since, time.min, UTC))
    if f.until:
        stmt = stmt.where(Activity.at < datetime.combine(f.until + timedelta(days=1), time.min, UTC))
    return stmt


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str) if value else ""


def csv_rows(user: User, f: LogFilters) -> Iterator[str]:
    """The filtered log as formula-safe CSV (times in ISO 8601 UTC), streamed a thousand entries at a time."""
    entries = log_query(user, f).subquery()
    stmt = (
        sa.select(
            entries.c.at,
            entries.c.action,
            entries.c.summary,
            User.email,
            entries.c.via,
            Asset.asset_tag,
            Campus.code,
            entries.c.before,
            entries.c.after,
        )
        .outerjoin(User, User.id == entries.c.user_id)
        .outerjoin(Asset, Asset.id == entries.c.asset_id)
        .outerjoin(Campus, Campus.id == entries.c.campus_id)
        .order_by(entries.c.at.desc(), entries.c.id.desc())
    )

    def rows() -> Iterator[list[Any]]:
        for r in db.session.execute(stmt.execution_options(yield_per=1000)):
            yield [
                r.at.astimezone(UTC).isoformat() if r.at else "",
                r.action,
                r.summary,
                r.email or "system",
                r.via.value if hasattr(r.via, "value") else r.via,
                r.asset_tag or "",
                r.code or "",
                _json(r.before),
                _json(r.after),
            ]

    return write_csv(CSV_HEADER, rows())
