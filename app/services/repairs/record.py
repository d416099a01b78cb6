"""The ticket's repair record (triage and hold) and the hold on its device, which the workflow and swaps share."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Asset, AssetStatus, Person, Priority, Ticket, TicketRepair
from app.models.tickets import OPEN_STATUSES
from app.services import loans
from app.services.assets import open_assignment
from app.services.errors import Invalid


def repair_of(ticket: Ticket, *, create: bool = True) -> TicketRepair | None:
    """The ticket's triage and hold record (made on first use)."""
    row = db.session.get(TicketRepair, ticket.id)
    if row is None and create:
        row = TicketRepair(ticket_id=ticket.id, priority=Priority.normal)
        try:
            # The savepoint starts before the row is added: begin_nested() flushes pending rows first.
            with db.session.begin_nested():
                db.session.add(row)
                db.session.flush()
        except IntegrityError:
            # Another request made it a moment ago; use theirs.
            row = db.session.scalar(sa.select(TicketRepair).where(TicketRepair.ticket_id == ticket.id))
    return row


def holder_of(asset: Asset) -> Person | None:
    """Who has the device now: the person it is assigned to, or on loan to."""
    assignment = open_assignment(asset)
    if assignment is not None:
        return assignment.person
    loan = loans.open_loan(asset)
    return loan.person if loan is not None else None


def require_open(ticket: Ticket) -> None:
    """Refuse work on a resolved or closed ticket."""
    if not ticket.status.is_open:
        raise Invalid(f"{ticket.number} is {ticket.status.label}; reopen it first.", field="status")


def hold(ticket: Ticket, row: TicketRepair) -> AssetStatus | None:
    """Put the device in repair, remembering the status it leaves; None when it was already held."""
    asset = ticket.asset
    if asset.status is AssetStatus.in_repair:
        if row.held_from_status is None:
            # Someone set in_repair by hand before: return it as deployed if it is someone's, else to stock.
            row.held_from_status = AssetStatus.deployed if open_assignment(asset) else AssetStatus.in_stock
        return None
    previous = asset.status
    row.held_from_status = previous
    asset.status = AssetStatus.in_repair
    return previous


def other_open_holds(ticket: Ticket) -> bool:
    """Whether another open ticket still holds the same device (it stays in repair until that one is done)."""
    return bool(
        db.session.scalar(
            sa.select(sa.func.count(Ticket.id))
            .join(TicketRepair, TicketRepair.ticket_id == Ticket.id)
            .where(
                Ticket.asset_id == ticket.asset_id,
                Ticket.id != ticket.id,
                Ticket.status.in_(OPEN_STATUSES),
                TicketRepair.held_from_status.is_not(None),
            )
        )
    )


def release(ticket: Ticket, row: TicketRepair) -> AssetStatus | None:
    """Give the device back its status from before the repair; None when it was not held."""
    asset = ticket.asset
    previous = row.held_from_status
    if previous is None:
        return None
    row.held_from_status = None
    if asset.status is AssetStatus.in_repair and not other_open_holds(ticket):
        asset.status = previous
        return previous
    return None
