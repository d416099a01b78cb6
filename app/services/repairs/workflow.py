"""The repair workflow: triage, taking a device in, resolving, closing and reopening, and the status list."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AssetStatus,
    ClaimStatus,
    Condition,
    LoanerSwap,
    Person,
    Priority,
    Ticket,
    TicketCategory,
    TicketRepair,
    TicketStatus,
    User,
    Via,
    WarrantyClaim,
    utcnow,
)
from app.services import activity
from app.services import tickets as ticket_service
from app.services.errors import Invalid
from app.services.repairs.record import hold, release, repair_of, require_open
from app.services.repairs.swaps import open_swap

# Categories that usually mean someone dropped, spilled on or pried at the device.
LIKELY_ACCIDENTAL = {TicketCategory.cracked_screen, TicketCategory.liquid, TicketCategory.missing_keys}
# Statuses in which the ticket's device is with the technicians, not the student.
HOLDING = {TicketStatus.in_repair, TicketStatus.waiting_parts, TicketStatus.warranty_claim}


@ticket_service.ticket_action
def triage(
    ticket: Ticket,
    *,
    category: TicketCategory,
    priority: Priority,
    responsible: Person | None,
    accidental: bool,
    by: User,
    via: Via,
) -> TicketRepair:
    """Record what the damage is, how urgent, who is answerable for it and whether it looks accidental."""
    require_open(ticket)
    if responsible is not None and not responsible.seen_by(by):
        raise Invalid("That person is not on one of your campuses.", field="responsible")
    row = repair_of(ticket)
    before = {
        "category": ticket.category.value,
        "priority": row.priority.value if row.priority else None,
        "responsible": row.responsible.name if row.responsible else None,
        "accidental": row.accidental,
    }
    ticket.category = category
    row.priority = priority
    row.responsible = responsible
    row.accidental = accidental
    row.triaged_at = utcnow()
    row.triaged_by_id = by.id
    ticket.updated_at = row.triaged_at
    db.session.flush()
    if ticket.status is TicketStatus.new:
        ticket_service.change_status(ticket, TicketStatus.triaged, by=by, via=via)
    after = {
        "category": category.value,
        "priority": priority.value,
        "responsible": responsible.name if responsible else None,
        "accidental": accidental,
    }
    old, new = activity.diff(before, after)
    activity.record(
        "ticket.triage",
        f"Triaged {ticket.number} ({ticket.asset.asset_tag}): {category.label}, {priority.label} priority"
        + (", accidental" if accidental else ""),
        by=by,
        via=via,
        asset=ticket.asset,
        person=responsible,
        campus_id=ticket.asset.campus_id,
        subject=ticket,
        before=old,
        after=new or after,
    )
    return row


@ticket_service.ticket_action
def take_in(ticket: Ticket, *, by: User, via: Via, status: TicketStatus = TicketStatus.in_repair) -> TicketRepair:
    """The device leaves the student's hands for repair: it becomes in_repair and the ticket moves on."""
    require_open(ticket)
    if status not in HOLDING:
        raise Invalid("Choose in repair, waiting for parts or warranty claim.", field="status")
    row = repair_of(ticket)
    previous = hold(ticket, row)
    db.session.flush()
    ticket_service.change_status(ticket, status, by=by, via=via)
    if previous is not None:
        activity.record(
            "repair.take_in",
            f"{ticket.asset.asset_tag} taken in for {ticket.number}",
            by=by,
            via=via,
            asset=ticket.asset,
            subject=ticket,
            before={"status": previous.value},
            after={"status": AssetStatus.in_repair.value},
        )
    return row


def open_claims(ticket: Ticket) -> list[WarrantyClaim]:
    """The ticket's warranty claims not yet returned or denied (they keep it from being resolved)."""
    return list(
        db.session.scalars(
            sa.select(WarrantyClaim).where(
                WarrantyClaim.ticket_id == ticket.id,
                WarrantyClaim.status.not_in([ClaimStatus.returned, ClaimStatus.denied]),
            )
        )
    )


@dataclass
class Resolution:
    """What resolving did: the status the device went back to, and a swap still waiting to be reversed."""

    ticket: Ticket
    device_status: AssetStatus | None
    swap: LoanerSwap | None


@ticket_service.ticket_action
def resolve(ticket: Ticket, *, by: User, via: Via) -> Resolution:
    """The repair is done: the ticket is resolved and the device returns to its previous state.

    With a loaner swapped in, the repaired device waits (in repair) for the swap's reversal, which hands it back.
    Resolving a ticket that is already resolved changes nothing and says so.
    """
    if ticket.status in (TicketStatus.resolved, TicketStatus.closed):
        raise Invalid(f"{ticket.number} is already {ticket.status.label}.", field="status")
    claims = open_claims(ticket)
    if claims:
        claim = claims[0]
        raise Invalid(
            f"Warranty claim {claim.rma or '#' + str(claim.id)} is still {claim.status.label}; "
            "receive the device back or record the denial first.",
            field="status",
        )
    row = repair_of(ticket)
    now = utcnow()
    row.repaired_at = now
    asset = ticket.asset
    if asset.condition in (Condition.damaged, Condition.broken):
        asset.condition = Condition.good
        asset.condition_at = now
    swap = open_swap(ticket)
    restored = None if swap is not None else release(ticket, row)
    db.session.flush()
    ticket_service.change_status(ticket, TicketStatus.resolved, by=by, via=via)
    activity.record(
        "repair.resolve",
        f"{ticket.number} resolved; {asset.asset_tag} "
        + ("waits for the loaner swap to be reversed" if swap is not None else f"is {asset.status.label} again"),
        by=by,
        via=via,
        asset=asset,
        subject=ticket,
        after={"status": asset.status.value, "swap_waiting": swap is not None},
    )
    return Resolution(ticket, restored, swap)


@ticket_service.ticket_action
def close(ticket: Ticket, *, by: User, via: Via) -> None:
    """Close a resolved ticket once nothing about it is left waiting."""
    if ticket.status is TicketStatus.closed:
        raise Invalid(f"{ticket.number} is already closed.", field="status")
    if ticket.status is not TicketStatus.resolved:
        raise Invalid(f"Resolve {ticket.number} before closing it.", field="status")
    if open_swap(ticket) is not None:
        raise Invalid("Reverse the loaner swap before closing the ticket.", field="status")
    ticket_service.change_status(ticket, TicketStatus.closed, by=by, via=via)


@ticket_service.ticket_action
def reopen(ticket: Ticket, *, by: User, via: Via) -> None:
    """Bring a resolved or closed ticket back to triaged (the device is not held again until taken in)."""
    if ticket.status.is_open:
        raise Invalid(f"{ticket.number} is still open.", field="status")
    ticket_service.change_status(ticket, TicketStatus.triaged, by=by, via=via)


def apply_status(ticket: Ticket, status: TicketStatus, *, by: User, via: Via) -> bool:
    """A status picked from the ticket's list, with the repair workflow's effect on the device; False if unchanged.

    In repair / waiting for parts take the device in, resolved gives it back, closed resolves first when needed.
    """
    if status is ticket.status:
        return False
    if status in (TicketStatus.in_repair, TicketStatus.waiting_parts) and ticket.status.is_open:
        take_in(ticket, by=by, via=via, status=status)
    elif status is TicketStatus.resolved:
        resolve(ticket, by=by, via=via)
    elif status is TicketStatus.closed:
        if ticket.status.is_open:
            resolve(ticket, by=by, via=via)
        close(ticket, by=by, via=via)
    else:
        ticket_service.change_status(ticket, status, by=by, via=via)
    return True
