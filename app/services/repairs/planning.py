"""Planning numbers for next year's budget: cost by month, model and campus, claims, time to repair, age."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, Campus, DeviceModel, Ticket, TicketLabour, TicketPart, TicketRepair, User, utcnow
from app.models.tickets import OPEN_STATUSES
from app.services.assets import visible_to
from app.services.repairs.costs import money

AGE_BUCKETS = ((7, "under 7 days"), (30, "7–30 days"), (90, "30–90 days"), (None, "over 90 days"))


@dataclass
class Planning:
    """Numbers for next year's budget, over the user's campuses."""

    since: date
    by_month: list[tuple[str, Decimal]] = field(default_factory=list)
    by_model: list[tuple[str, Decimal]] = field(default_factory=list)
    by_campus: list[tuple[str, Decimal]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    avg_days_to_repair: float | None = None
    repaired_count: int = 0
    open_by_age: list[tuple[str, int]] = field(default_factory=list)

    @property
    def total_cost(self) -> Decimal:
        return money(sum((v for _k, v in self.by_month), Decimal("0")))


def _cost_lines(user: User, since: datetime) -> list[tuple[datetime, str, str, Decimal]]:
    """(when, model, campus, cost) for every part fitted and every labour entry since `since`."""
    lines = []
    for table, when, amount in (
        (TicketPart, TicketPart.used_at, TicketPart.unit_cost * TicketPart.quantity),
        (TicketLabour, TicketLabour.at, TicketLabour.cost),
    ):
        rows = db.session.execute(
            sa.select(when, DeviceModel.manufacturer, DeviceModel.name, Campus.code, amount)
            .select_from(table)
            .join(Ticket, Ticket.id == table.ticket_id)
            .join(Asset, Asset.id == Ticket.asset_id)
            .join(DeviceModel, DeviceModel.id == Asset.model_id)
            .join(Campus, Campus.id == Asset.campus_id)
            .where(when >= since, visible_to(user, Asset.campus_id))
        ).all()
        lines += [(at, f"{maker} {name}", code, money(cost)) for at, maker, name, code, cost in rows]
    return lines


def planning(user: User, *, months: int = 12, now: datetime | None = None) -> Planning:
    """Repair cost by month, model and campus; warranty claims used vs available; time to repair; open by age."""
    now = now or utcnow()
    first = (now.date().replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    out = Planning(since=first)
    month_totals: dict[str, Decimal] = {}
    day = first
    while day <= now.date():
        month_totals[day.strftime("%Y-%m")] = Decimal("0.00")
        day = (day + timedelta(days=32)).replace(day=1)
    models: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    campuses: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for at, model, campus, cost in _cost_lines(user, since):
        key = at.strftime("%Y-%m")
        month_totals[key] = month_totals.get(key, Decimal("0.00")) + cost
        models[model] += cost
        campuses[campus] += cost
    out.by_month = sorted(month_totals.items())
    out.by_model = sorted(models.items(), key=lambda kv: (-kv[1], kv[0]))
    out.by_campus = sorted(campuses.items())

    today = now.date()
    rows = db.session.execute(
        sa.select(
            DeviceModel.manufacturer,
            DeviceModel.name,
            sa.func.count(Asset.id),
            sa.func.sum(Asset.warranty_claims_allowed),
            sa.func.sum(Asset.warranty_claims_used),
            sa.func.sum(sa.case((Asset.warranty_claims_allowed.is_(None), 1), else_=0)),
        )
        .join(DeviceModel, DeviceModel.id == Asset.model_id)
        .where(Asset.warranty_end.is_not(None), Asset.warranty_end >= today, visible_to(user, Asset.campus_id))
        .group_by(DeviceModel.manufacturer, DeviceModel.name)
        .order_by(DeviceModel.manufacturer, DeviceModel.name)
    ).all()
    for maker, name, covered, allowed, used, unlimited in rows:
        out.claims.append(
            {
                "model": f"{maker} {name}",
                "covered": covered,
                "allowed": int(allowed or 0),
                "used": int(used or 0),
                "unlimited": int(unlimited or 0),
                "available": max(0, int(allowed or 0) - int(used or 0)),
            }
        )

    repaired = db.session.execute(
        sa.select(Ticket.created_at, TicketRepair.repaired_at)
        .join(TicketRepair, TicketRepair.ticket_id == Ticket.id)
        .join(Asset, Asset.id == Ticket.asset_id)
        .where(
            TicketRepair.repaired_at.is_not(None), TicketRepair.repaired_at >= since, visible_to(user, Asset.campus_id)
        )
    ).all()
    if repaired:
        out.repaired_count = len(repaired)
        out.avg_days_to_repair = round(
            sum((done - opened).total_seconds() for opened, done in repaired) / len(repaired) / 86400, 1
        )

    opened = db.session.scalars(
        sa.select(Ticket.created_at)
        .join(Asset, Asset.id == Ticket.asset_id)
        .where(Ticket.status.in_(OPEN_STATUSES), visible_to(user, Asset.campus_id))
    ).all()
    counts = dict.fromkeys((label for _d, label in AGE_BUCKETS), 0)
    for created in opened:
        age = (now - created).days
        for limit, label in AGE_BUCKETS:
            if limit is None or age < limit:
                counts[label] += 1
                break
    out.open_by_age = list(counts.items())
    return out


def planning_csv_rows(p: Planning) -> list[list[Any]]:
    """The planning numbers as one table: section, key, value(s)."""
    rows: list[list[Any]] = []
    rows += [["cost by month", k, str(v), ""] for k, v in p.by_month]
    rows += [["cost by model", k, str(v), ""] for k, v in p.by_model]
    rows += [["cost by campus", k, str(v), ""] for k, v in p.by_campus]
    rows += [
        [
            "warranty claims",
            c["model"],
            f"{c['used']} used",
            f"{c['available']} available" + (f" (+{c['unlimited']} devices without a limit)" if c["unlimited"] else ""),
        ]
        for c in p.claims
    ]
    rows.append(
        ["average days from report to repaired", f"{p.repaired_count} repaired", p.avg_days_to_repair or "", ""]
    )
    rows += [["open tickets by age", k, n, ""] for k, n in p.open_by_age]
    return rows
