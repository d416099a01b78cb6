"""The loaner swap: a loaner lent to the student while their device is repaired, and handing it back."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Asset,
    AssetStatus,
    Assignment,
    Condition,
    Loan,
    LoanerSwap,
    ObservationSource,
    Ticket,
    TicketStatus,
    User,
    Via,
    utcnow,
)
from app.models.tickets import OPEN_STATUSES
from app.services import activity, loans
from app.services import tickets as ticket_service
from app.services.assets import open_assignment, visible_to
from app.services.errors import Invalid
from app.services.observations import Sighting, record_sightings
from app.services.repairs.record import hold, other_open_holds, repair_of, require_open

# A loaner lent for a repair is due back after this many days unless the swap is reversed sooner.
SWAP_LOAN_DAYS = 14


def open_swap(ticket: Ticket) -> LoanerSwap | None:
    """The ticket's swap that is not reversed yet, if any."""
    return db.session.scalar(
        sa.select(LoanerSwap).where(LoanerSwap.ticket_id == ticket.id, LoanerSwap.reversed_at.is_(None))
    )


def swaps_of(ticket: Ticket) -> list[LoanerSwap]:
    """Every swap made for the ticket, oldest first."""
    return list(
        db.session.scalars(sa.select(LoanerSwap).where(LoanerSwap.ticket_id == ticket.id).order_by(LoanerSwap.id))
    )


def latest_swap(ticket: Ticket) -> LoanerSwap | None:
    """The ticket's most recent swap, reversed or not."""
    return db.session.scalar(
        sa.select(LoanerSwap).where(LoanerSwap.ticket_id == ticket.id).order_by(LoanerSwap.id.desc()).limit(1)
    )


def available_loaners(campus_id: int, *, exclude: int | None = None, limit: int = 50) -> list[Asset]:
    """Loaners in the campus's pool that are on the shelf (not on loan, not assigned), by tag."""
    on_loan = sa.select(Loan.asset_id).where(Loan.returned_at.is_(None))
    assigned = sa.select(Assignment.asset_id).where(Assignment.returned_at.is_(None))
    stmt = (
        sa.select(Asset)
        .where(
            Asset.campus_id == campus_id,
            Asset.status == AssetStatus.loaner,
            Asset.id.not_in(on_loan),
            Asset.id.not_in(assigned),
        )
        .order_by(Asset.asset_tag)
        .limit(limit)
    )
    if exclude is not None:
        stmt = stmt.where(Asset.id != exclude)
    return list(db.session.scalars(stmt))


def _handed_over(devices: list[tuple[Asset, str]], *, by: User, via: Via) -> None:
    """Both devices of a swap were in the tech's hands: each is a sighting (last seen now, by them)."""
    now = utcnow()
    record_sightings(
        [Sighting(a, None, now, by, note=note[:500], source=ObservationSource.loan, via=via) for a, note in devices]
    )


@ticket_service.ticket_action
def swap_in_loaner(ticket: Ticket, *, by: User, via: Via, loaner: Asset | None = None) -> LoanerSwap:
    """In one step: the broken device goes in repair and a loaner is lent to the same student, both on the ticket.

    The swap row is written first: its partial unique index lets one of two simultaneous presses through, and the
    loan goes through the loan rules (one open loan per device, decided by the database too).
    """
    require_open(ticket)
    asset = ticket.asset
    if not by.can_see_campus(asset.campus_id):
        raise Invalid("That device is not on one of your campuses.", field="loaner")
    if open_swap(ticket) is not None:
        raise Invalid(f"A loaner is already swapped in for {ticket.number}.", field="loaner")
    assignment = open_assignment(asset)
    broken_loan = loans.open_loan(asset)
    person = assignment.person if assignment else (broken_loan.person if broken_loan else None)
    if person is None:
        raise Invalid(
            f"No one has {asset.asset_tag} at the moment, so there is no one to lend a loaner to.", field="loaner"
        )
    held = repair_of(ticket, create=False)
    broken_status = (
        held.held_from_status
        if asset.status is AssetStatus.in_repair and held is not None and held.held_from_status
        else asset.status
    )
    swap = LoanerSwap(
        ticket_id=ticket.id,
        broken_asset_id=asset.id,
        person_id=person.id,
        assignment_id=assignment.id if assignment else None,
        broken_loan_id=broken_loan.id if broken_loan else None,
        broken_status=broken_status,
        created_by_id=by.id,
    )
    try:
        # The savepoint starts before the row is added: begin_nested() flushes pending rows first.
        with db.session.begin_nested():
            db.session.add(swap)
            db.session.flush()
    except IntegrityError as exc:
        raise Invalid(f"A loaner was just swapped in for {ticket.number} by someone else.", field="loaner") from exc
    row = repair_of(ticket)
    if broken_loan is not None:
        # The broken device was itself a loaner: its loan ends here (condition noted on the ticket, not re-ticketed).
        loans.check_in(asset, by=by, condition=None, note=f"Taken in for repair ({ticket.number})", via=via)
    if loaner is None:
        pool = available_loaners(asset.campus_id, exclude=asset.id, limit=1)
        if not pool:
            raise Invalid(f"No loaner is free in the {asset.campus.code} pool.", field="loaner")
        loaner = pool[0]
    if loaner.id == asset.id:
        raise Invalid("Choose a different device as the loaner.", field="loaner")
    if loaner.campus_id != asset.campus_id:
        raise Invalid(f"{loaner.asset_tag} belongs to another campus's pool.", field="loaner")
    hold(ticket, row)
    row.held_from_status = broken_status
    due = loans.local_time(asset.campus, utcnow()).date() + timedelta(days=SWAP_LOAN_DAYS)
    loan = loans.check_out(loaner, person, by=by, due=due, via=via)
    swap.loaner_loan_id = loan.id
    db.session.flush()
    if ticket.status in (TicketStatus.new, TicketStatus.triaged):
        ticket_service.change_status(ticket, TicketStatus.in_repair, by=by, via=via)
    _handed_over(
        [
            (asset, f"Taken in for repair in a loaner swap ({ticket.number})"),
            (loaner, f"Lent as the loaner in a loaner swap ({ticket.number})"),
        ],
        by=by,
        via=via,
    )
    activity.record(
        "repair.swap",
        f"Swapped {asset.asset_tag} for loaner {loaner.asset_tag} for {person.name} ({ticket.number})",
        by=by,
        via=via,
        asset=asset,
        person=person,
        subject=swap,
        before={"status": broken_status.value},
        after={"status": asset.status.value, "loaner": loaner.asset_tag},
    )
    return swap


@ticket_service.ticket_action
def reverse_swap(swap: LoanerSwap, *, by: User, via: Via, loaner_condition: Condition | None = None) -> LoanerSwap:
    """In one step: the loaner comes back and the repaired device goes back to the student; at most once."""
    ticket = swap.ticket
    if ticket.status.is_open:
        raise Invalid(f"Resolve {ticket.number} first: the device is still being repaired.", field="swap")
    now = utcnow()
    # The database decides who reverses: only one UPDATE finds reversed_at still empty.
    result = db.session.execute(
        sa.update(LoanerSwap)
        .where(LoanerSwap.id == swap.id, LoanerSwap.reversed_at.is_(None))
        .values(reversed_at=now, reversed_by_id=by.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Invalid(f"The loaner swap for {ticket.number} was already reversed.", field="swap")
    db.session.expire(swap)
    asset = swap.broken_asset
    loaner_loan = swap.loaner_loan
    loaner_tag = loaner_loan.asset.asset_tag if loaner_loan else None
    if loaner_loan is not None and loaner_loan.returned_at is None:
        loans.check_in(
            loaner_loan.asset, by=by, condition=loaner_condition, note=f"Swap reversed ({ticket.number})", via=via
        )
    _handed_over(
        [(asset, f"Handed back as the loaner swap was reversed ({ticket.number})")]
        + ([(loaner_loan.asset, f"Loaner returned as the swap was reversed ({ticket.number})")] if loaner_loan else []),
        by=by,
        via=via,
    )
    row = repair_of(ticket)
    if asset.status is AssetStatus.in_repair and not other_open_holds(ticket):
        asset.status = swap.broken_status
    row.held_from_status = None
    db.session.flush()
    if swap.broken_loan_id is not None and asset.status is AssetStatus.loaner:
        back = loans.check_out(
            asset,
            swap.person,
            by=by,
            due=loans.local_time(asset.campus, now).date() + timedelta(days=SWAP_LOAN_DAYS),
            via=via,
        )
        swap.return_loan_id = back.id
        db.session.flush()
    activity.record(
        "repair.swap_reverse",
        f"{swap.person.name} has {asset.asset_tag} back" + (f"; loaner {loaner_tag} returned" if loaner_tag else ""),
        by=by,
        via=via,
        asset=asset,
        person=swap.person,
        subject=swap,
        before={"status": AssetStatus.in_repair.value, "loaner": loaner_tag},
        after={"status": asset.status.value},
    )
    return swap


def swaps_to_reverse(user: User) -> list[LoanerSwap]:
    """Unreversed swaps on the user's campuses, those whose repair is resolved first, oldest first."""
    stmt = (
        sa.select(LoanerSwap)
        .join(Ticket, Ticket.id == LoanerSwap.ticket_id)
        .join(Asset, Asset.id == LoanerSwap.broken_asset_id)
        .where(LoanerSwap.reversed_at.is_(None), visible_to(user, Asset.campus_id))
        .order_by(Ticket.status.in_(OPEN_STATUSES), LoanerSwap.created_at, LoanerSwap.id)
    )
    return list(db.session.scalars(stmt))
