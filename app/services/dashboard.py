"""The dashboard's numbers, scoped to the user's campuses: status by campus, the AUE cliff by school year,
warranty expiry by month, and loaner use. Each number comes with the filters of the list behind it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, AssetStatus, Campus, DeviceModel, Loan, Room, User, utcnow
from app.models.disposal import disposed_asset_ids
from app.models.tickets import OPEN_STATUSES, Ticket, TicketCategory
from app.services.assets import visible_to
from app.services.audits import last_closed_audits
from app.services.ticket_queue import swaps_waiting as _swaps_waiting

# School years run July to June (the US school calendar); "2026–27" starts on 1 July 2026.
SCHOOL_YEAR_START_MONTH = 7
AUE_YEARS = 5
WARRANTY_MONTHS = 12


def school_year_of(day: date) -> int:
    """The calendar year a school year starts in: 2026 for any day from July 2026 to June 2027."""
    return day.year if day.month >= SCHOOL_YEAR_START_MONTH else day.year - 1


def school_year_label(start_year: int) -> str:
    return f"{start_year}–{(start_year + 1) % 100:02d}"


def school_year_range(start_year: int) -> tuple[date, date]:
    """[1 July start_year, 1 July start_year + 1)."""
    return date(start_year, SCHOOL_YEAR_START_MONTH, 1), date(start_year + 1, SCHOOL_YEAR_START_MONTH, 1)


def month_start(day: date, plus: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + plus
    return date(index // 12, index % 12 + 1, 1)


def planning_filters(args: Mapping[str, str]) -> dict[str, Any]:
    """Inventory filters for the dashboard's links: `aue_year=2027` (a school year), `aue_year=expired`,
    `warranty_month=2027-06`, `warranty=expired`, `active=1`. Unreadable values are ignored."""
    out: dict[str, Any] = {}
    today = utcnow().date()
    year = (args.get("aue_year") or "").strip()
    if year == "expired":
        out["aue_to"] = today
    elif year == "later":
        out["aue_from"] = school_year_range(school_year_of(today) + AUE_YEARS)[0]
    elif year.isdigit() and 2000 <= int(year) <= 2100:
        out["aue_from"], out["aue_to"] = school_year_range(int(year))
    month = (args.get("warranty_month") or "").strip()
    if re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", month):
        start = date(int(month[:4]), int(month[5:]), 1)
        out["warranty_from"], out["warranty_to"] = start, month_start(start, 1)
    if (args.get("warranty") or "") == "expired":
        out["warranty_to"] = today
    if args.get("active") in ("1", "true", "yes"):
        out["active"] = True
    return out


@dataclass
class Bar:
    """One bar (or point) of a chart: its label, its number and the list behind it."""

    label: str
    value: int
    args: dict[str, Any] = field(default_factory=dict)
    css: str = ""
    href: str | None = None
    # A short label for crowded axes.
    tick: str = ""


@dataclass
class StatusByCampus:
    campuses: list[Campus]
    counts: dict[tuple[int, AssetStatus], int]

    def campus_total(self, campus_id: int) -> int:
        return sum(n for (c, _), n in self.counts.items() if c == campus_id)

    def status_total(self, status: AssetStatus) -> int:
        return sum(n for (_, s), n in self.counts.items() if s is status)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _scope(user: User) -> Any:
    """The user's campuses as an explicit IN list, even for district-wide users: it lets the planner walk
    the (campus_id, …) indexes campus by campus instead of reading the table."""
    ids = user.campus_ids
    if ids is None:
        ids = set(db.session.scalars(sa.select(Campus.id)))
    return Asset.campus_id.in_(sorted(ids))


def _campuses(user: User) -> list[Campus]:
    return list(db.session.scalars(sa.select(Campus).where(visible_to(user, Campus.id)).order_by(Campus.code)))


@dataclass
class Fleet:
    """Device counts by campus, status, model and own AUE, with how many of each are unseen and out of
    warranty: what the dashboard's tiles, status chart and AUE chart are all made from."""

    rows: list[tuple[int, AssetStatus, int, date | None, int, int, int]]
    unseen_days: int

    def by_campus_status(self) -> dict[tuple[int, AssetStatus], int]:
        out: dict[tuple[int, AssetStatus], int] = {}
        for campus_id, status, _, _, n, _, _ in self.rows:
            out[(campus_id, status)] = out.get((campus_id, status), 0) + n
        return out

    @property
    def unseen(self) -> int:
        """Devices in use not seen in `unseen_days` (the closet finder's first list)."""
        return sum(r[5] for r in self.rows if r[1] not in (AssetStatus.retired, AssetStatus.missing))

    @property
    def warranty_expired(self) -> int:
        return sum(r[6] for r in self.rows if r[1] is not AssetStatus.retired)


def fleet(user: User, today: date | None = None, unseen_days: int = 30) -> Fleet:
    """One pass over ix_assets_dashboard (no table reads, no sort: the GROUP BY follows the index)."""
    today = today or utcnow().date()
    since = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=unseen_days)
    never = datetime(1970, 1, 1, tzinfo=UTC)
    one = sa.literal(1)
    rows = db.session.execute(
        sa.select(
            Asset.campus_id,
            Asset.status,
            Asset.model_id,
            Asset.google_aue_date,
            sa.func.count(),
            sa.func.sum(sa.case((sa.func.coalesce(Asset.last_seen_at, never) < since, one), else_=0)),
            sa.func.sum(sa.case((Asset.warranty_end < today, one), else_=0)),
        )
        .where(_scope(user), Asset.id.not_in(disposed_asset_ids()))
        .group_by(Asset.campus_id, Asset.status, Asset.model_id, Asset.google_aue_date)
    ).all()
    return Fleet([tuple(r) for r in rows], unseen_days)


def status_by_campus(user: User, summary: Fleet | None = None) -> StatusByCampus:
    """Device counts per campus and status."""
    summary = summary or fleet(user)
    return StatusByCampus(_campuses(user), summary.by_campus_status())


def aue_cliff(user: User, today: date | None = None, summary: Fleet | None = None) -> list[Bar]:
    """Devices (not retired) losing ChromeOS updates: already expired, each of the next five school years,
    later, and unknown. A device's own AUE from Google wins over its model's."""
    today = today or utcnow().date()
    summary = summary or fleet(user, today)
    first = school_year_of(today)
    model_aue = dict(db.session.execute(sa.select(DeviceModel.id, DeviceModel.aue_date)).all())
    expired = later = unknown = 0
    years = dict.fromkeys(range(first, first + AUE_YEARS), 0)
    for _, status, model_id, own, n, _, _ in summary.rows:
        if status is AssetStatus.retired:
            continue
        aue = own or model_aue.get(model_id)
        if aue is None:
            unknown += n
        elif aue < today:
            expired += n
        elif school_year_of(aue) in years:
            years[school_year_of(aue)] += n
        else:
            later += n
    bars = [Bar("Already expired", expired, {"aue_year": "expired", "active": 1}, "bad")]
    bars += [
        Bar(school_year_label(y), n, {"aue_year": y, "active": 1}, "warn" if y == first else "")
        for y, n in years.items()
    ]
    bars.append(Bar(f"{school_year_label(first + AUE_YEARS)} or later", later, {"aue_year": "later", "active": 1}))
    if unknown:
        bars.append(Bar("AUE unknown", unknown, {}, "muted"))
    return bars


def warranty_by_month(user: User, today: date | None = None, months: int = WARRANTY_MONTHS) -> list[Bar]:
    """Devices (not retired) whose warranty ends in each of the next `months` months, this month first."""
    today = today or utcnow().date()
    start, end = month_start(today), month_start(today, months)
    rows = db.session.execute(
        sa.select(Asset.warranty_end, sa.func.count())
        .where(
            _scope(user),
            Asset.status != AssetStatus.retired,
            Asset.warranty_end >= start,
            Asset.warranty_end < end,
        )
        .group_by(Asset.warranty_end)
    ).all()
    counts = dict.fromkeys((month_start(today, i) for i in range(months)), 0)
    for day, n in rows:
        counts[month_start(day)] += n
    return [
        Bar(m.strftime("%b %Y"), n, {"warranty_month": m.strftime("%Y-%m"), "active": 1}) for m, n in counts.items()
    ]


def warranty_expired(user: User, today: date | None = None) -> int:
    """Devices in use whose warranty has already ended."""
    return fleet(user, today).warranty_expired


@dataclass
class Loaners:
    pool: int
    out: int
    overdue: int

    @property
    def available(self) -> int:
        return max(0, self.pool - self.out)


def loaners(user: User, now: datetime | None = None) -> Loaners:
    """The loaner pool on the user's campuses, how many are out, and how many of those are overdue."""
    now = now or datetime.now(UTC)
    pool = (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Asset).where(_scope(user), Asset.status == AssetStatus.loaner)
        )
        or 0
    )
    out, overdue = db.session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(Loan.due_at < now))
        .select_from(Loan)
        .join(Asset, Loan.asset_id == Asset.id)
        .where(visible_to(user), Loan.returned_at.is_(None))
    ).one()
    return Loaners(pool=pool, out=out or 0, overdue=overdue or 0)


def swaps_to_reverse(user: User) -> int:
    """Loaner swaps on the user's campuses whose repair is done while the student still has the loaner."""
    return _swaps_waiting(user)


AGE_BUCKETS = ((7, "Under a week"), (30, "1–4 weeks"), (90, "1–3 months"), (None, "Over 3 months"))


def tickets_open(user: User, now: datetime | None = None) -> tuple[list[Bar], list[Bar]]:
    """Open tickets on the user's campuses by category, and by how long they have been open."""
    now = now or utcnow()
    rows = db.session.execute(
        sa.select(Ticket.category, Ticket.created_at)
        .join(Asset, Ticket.asset_id == Asset.id)
        .where(visible_to(user), Ticket.status.in_(OPEN_STATUSES))
    ).all()
    by_category = dict.fromkeys(TicketCategory, 0)
    by_age = [0] * len(AGE_BUCKETS)
    for category, created in rows:
        by_category[category] += 1
        days = (now - created).days
        index = next(i for i, (limit, _) in enumerate(AGE_BUCKETS) if limit is None or days < limit)
        by_age[index] += 1
    categories = [Bar(c.label, n, {"category": c.value, "status": "open"}) for c, n in by_category.items() if n]
    categories.sort(key=lambda b: -b.value)
    ages = [
        Bar(label, n, {"sort": "oldest_open"}, "bad" if limit is None and n else "")
        for (limit, label), n in zip(AGE_BUCKETS, by_age, strict=True)
    ]
    return categories, ages


@dataclass
class Coverage:
    campus: Campus
    rooms: int
    audited: int
    days: int

    @property
    def due(self) -> int:
        return self.rooms - self.audited


def audit_coverage(user: User, now: datetime | None = None) -> list[Coverage]:
    """Per campus: active rooms, and how many had an audit closed within the campus's audit interval."""
    now = now or utcnow()
    last = last_closed_audits()
    rows = db.session.execute(
        sa.select(Room.campus_id, last.c.last)
        .outerjoin(last, last.c.room_id == Room.id)
        .where(Room.active.is_(True), visible_to(user, Room.campus_id))
    ).all()
    out = []
    for campus in _campuses(user):
        since = now - timedelta(days=campus.audit_interval_days)
        mine = [when for campus_id, when in rows if campus_id == campus.id]
        audited = sum(1 for when in mine if when is not None and when.replace(tzinfo=UTC) >= since)
        out.append(Coverage(campus, len(mine), audited, campus.audit_interval_days))
    return out
