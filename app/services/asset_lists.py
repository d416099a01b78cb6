"""The dashboard's planning lists (devices losing ChromeOS updates by school year, warranties ending by month):
the filter a list carries, in words, the date each row is listed for, and the list as CSV."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Asset, User, utcnow
from app.services.assets import AssetFilters, search_assets
from app.services.csvio import write_csv
from app.services.dashboard import AUE_YEARS, school_year_label, school_year_of

# The query arguments the dashboard's links add (app.services.dashboard.planning_filters reads them).
PLANNING_KEYS = ("aue_year", "warranty_month", "warranty", "active")
CSV_HEADER = [
    "asset_tag",
    "serial",
    "model",
    "status",
    "campus",
    "home_room",
    "assigned_to",
    "aue_date",
    "warranty_provider",
    "warranty_end",
]


@dataclass
class PlanningList:
    """What a planning list is filtered to: chip labels, the query without them, and which date it is about."""

    chips: list[str]
    without: dict[str, str]
    dates: list[str] = field(default_factory=list)  # "aue", "warranty"

    def date_of(self, asset: Asset, kind: str) -> date | None:
        return asset.aue_date if kind == "aue" else asset.warranty_end


def _month_words(text: str) -> str | None:
    if not re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", text):
        return None
    return date(int(text[:4]), int(text[5:]), 1).strftime("%b %Y")


def planning_list(args: Mapping[str, str], today: date | None = None) -> PlanningList | None:
    """The planning filter a device list carries (None when it carries none), the way the dashboard's links
    write it; values planning_filters ignores are ignored here too."""
    today = today or utcnow().date()
    chips: list[str] = []
    dates: list[str] = []
    year = (args.get("aue_year") or "").strip()
    if year == "expired":
        chips.append("AUE already passed")
    elif year == "later":
        chips.append(f"AUE in {school_year_label(school_year_of(today) + AUE_YEARS)} or later")
    elif year.isdigit() and 2000 <= int(year) <= 2100:
        this = " (this school year)" if int(year) == school_year_of(today) else ""
        chips.append(f"AUE in the {school_year_label(int(year))} school year{this}")
    if chips:
        dates.append("aue")
    month = _month_words((args.get("warranty_month") or "").strip())
    if month:
        chips.append(f"Warranty ends in {month}")
    elif (args.get("warranty") or "") == "expired":
        chips.append("Warranty already ended")
    if month or (args.get("warranty") or "") == "expired":
        dates.append("warranty")
    if not chips:
        return None
    if args.get("active") in ("1", "true", "yes"):
        chips.append("In use (not retired)")
    without = {k: v for k, v in args.items() if k not in PLANNING_KEYS and k != "page" and v}
    return PlanningList(chips, without, dates)


def csv_rows(user: User, f: AssetFilters) -> Iterator[str]:
    """The device list as the filters narrow it, with its AUE and warranty dates, as formula-safe CSV streamed
    a thousand rows at a time."""
    stmt = search_assets(user, f).options(
        selectinload(Asset.model),
        selectinload(Asset.campus),
        selectinload(Asset.home_room),
        selectinload(Asset.assigned_to),
    )

    def rows() -> Iterator[list[Any]]:
        for a in db.session.scalars(stmt.execution_options(yield_per=1000)):
            yield [
                a.asset_tag,
                a.serial,
                str(a.model) if a.model else "",
                a.status.value,
                a.campus.code,
                a.home_room.code if a.home_room else "",
                a.assigned_to.name if a.assigned_to else "",
                a.aue_date.isoformat() if a.aue_date else "",
                a.warranty_provider or "",
                a.warranty_end.isoformat() if a.warranty_end else "",
            ]

    return write_csv(CSV_HEADER, rows())
