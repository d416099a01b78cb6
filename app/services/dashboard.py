"""The dashboard's numbers, scoped to the user's campuses: status by campus, the AUE cliff by school year,
warranty expiry by month, and loaner use. Each number comes with the filters of the list behind it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, AssetStatus, Campus, DeviceModel, User, utcnow
from app.services.assets import visible_to

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


def _campuses(user: User) -> list[Campus]:
    return list(db.session.scalars(sa.select(Campus).where(visible_to(user, Campus.id)).order_by(Campus.code)))


def status_by_campus(user: User) -> StatusByCampus:
    """Device counts per campus and status (one pass over the campus/status index)."""
    rows = db.session.execute(
        sa.select(Asset.campus_id, Asset.status, sa.func.count())
        .where(visible_to(user))
        .group_by(Asset.campus_id, Asset.status)
    ).all()
    return StatusByCampus(_campuses(user), {(c, s): n for c, s, n in rows})


def aue_cliff(user: User, today: date | None = None) -> list[Bar]:
    """Devices (not retired) losing ChromeOS updates: already expired, each of the next five school years,
    later, and unknown. A device's own AUE from Google wins over its model's."""
    today = today or utcnow().date()
    first = school_year_of(today)
    rows = db.session.execute(
        sa.select(Asset.model_id, Asset.google_aue_date, sa.func.count())
        .where(visible_to(user), Asset.status != AssetStatus.retired)
        .group_by(Asset.model_id, Asset.google_aue_date)
    ).all()
    model_aue = dict(db.session.execute(sa.select(DeviceModel.id, DeviceModel.aue_date)).all())
    expired = later = unknown = 0
    years = dict.fromkeys(range(first, first + AUE_YEARS), 0)
    for model_id, own, n in rows:
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
            visible_to(user),
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
    today = today or utcnow().date()
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Asset)
            .where(visible_to(user), Asset.status != AssetStatus.retired, Asset.warranty_end < today)
        )
        or 0
    )


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
    from app.models import Loan

    now = now or datetime.now(UTC)
    pool = (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Asset).where(visible_to(user), Asset.status == AssetStatus.loaner)
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
