"""Labour and cost: amounts in cents, technician time at the district's rate, and what a ticket's repair cost."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import Ticket, TicketLabour, TicketPart, User, Via, utcnow
from app.services import activity
from app.services import tickets as ticket_service
from app.services.errors import Invalid
from app.services.repairs.record import require_open

CENT = Decimal("0.01")
DEFAULT_HOURLY_RATE = Decimal("30.00")
MAX_MINUTES = 8 * 60


def money(value: Decimal | int | float | str) -> Decimal:
    """A currency amount rounded to cents; InvalidOperation for NaN, which would fail every comparison later."""
    amount = Decimal(str(value))
    if amount.is_nan():
        raise InvalidOperation(f"{value!r} is not an amount.")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def hourly_rate() -> Decimal:
    """The district's labour rate for costing technician time (REPAIR_HOURLY_RATE, default 30.00)."""
    return money(current_app.config.get("REPAIR_HOURLY_RATE", DEFAULT_HOURLY_RATE))


@ticket_service.ticket_action
def log_labour(ticket: Ticket, minutes: int, *, by: User, via: Via, note: str = "") -> TicketLabour:
    """Record technician time on a ticket, costed at the current hourly rate."""
    require_open(ticket)
    if minutes < 1 or minutes > MAX_MINUTES:
        raise Invalid(f"Enter minutes from 1 to {MAX_MINUTES}.", field="minutes")
    cost = money(hourly_rate() * minutes / 60)
    row = TicketLabour(ticket_id=ticket.id, minutes=minutes, cost=cost, note=(note or "").strip()[:300], by_id=by.id)
    db.session.add(row)
    ticket.updated_at = utcnow()
    db.session.flush()
    activity.record(
        "repair.labour",
        f"Logged {minutes} min on {ticket.number} ({ticket.asset.asset_tag})",
        by=by,
        via=via,
        asset=ticket.asset,
        subject=ticket,
        after={"minutes": minutes, "cost": str(cost)},
    )
    return row


@dataclass
class Cost:
    """A ticket's repair cost: parts, labour and the minutes worked."""

    parts: Decimal = Decimal("0.00")
    labour: Decimal = Decimal("0.00")
    minutes: int = 0

    @property
    def total(self) -> Decimal:
        return money(self.parts + self.labour)


def parts_used(ticket: Ticket) -> list[TicketPart]:
    """Parts fitted on the ticket, in the order they were fitted."""
    return list(
        db.session.scalars(sa.select(TicketPart).where(TicketPart.ticket_id == ticket.id).order_by(TicketPart.id))
    )


def labour_of(ticket: Ticket) -> list[TicketLabour]:
    """Technician time logged on the ticket, oldest first."""
    return list(
        db.session.scalars(sa.select(TicketLabour).where(TicketLabour.ticket_id == ticket.id).order_by(TicketLabour.id))
    )


def ticket_cost(ticket: Ticket) -> Cost:
    """Parts at the cost they were fitted at, plus labour: the ticket's repair cost."""
    parts = sum((p.cost for p in parts_used(ticket)), Decimal("0"))
    labour_rows = labour_of(ticket)
    return Cost(
        parts=money(parts),
        labour=money(sum((r.cost for r in labour_rows), Decimal("0"))),
        minutes=sum(r.minutes for r in labour_rows),
    )
