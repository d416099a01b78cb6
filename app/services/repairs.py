"""In-house repair: triage, holding a device, parts and stock, labour, cost, resolving, the loaner swap, numbers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Asset,
    AssetStatus,
    Assignment,
    Campus,
    ClaimStatus,
    Condition,
    DeviceModel,
    Fee,
    Loan,
    LoanerSwap,
    Part,
    PartStock,
    Person,
    Priority,
    Ticket,
    TicketCategory,
    TicketLabour,
    TicketPart,
    TicketRepair,
    TicketStatus,
    User,
    Via,
    WarrantyClaim,
    utcnow,
)
from app.models.tickets import OPEN_STATUSES
from app.services import activity, loans
from app.services import tickets as ticket_service
from app.services.assets import open_assignment, visible_to
from app.services.errors import Invalid

CENT = Decimal("0.01")
DEFAULT_HOURLY_RATE = Decimal("30.00")
MAX_QUANTITY = 50
MAX_MINUTES = 8 * 60
# Categories that usually mean someone dropped, spilled on or pried at the device.
LIKELY_ACCIDENTAL = {TicketCategory.cracked_screen, TicketCategory.liquid, TicketCategory.missing_keys}
# Statuses in which the ticket's device is with the technicians, not the student.
HOLDING = {TicketStatus.in_repair, TicketStatus.waiting_parts, TicketStatus.warranty_claim}
# A loaner lent for a repair is due back after this many days unless the swap is reversed sooner.
SWAP_LOAN_DAYS = 14
REPEAT_WINDOW_DAYS = 365
AGE_BUCKETS = ((7, "under 7 days"), (30, "7–30 days"), (90, "30–90 days"), (None, "over 90 days"))


def money(value: Decimal | int | float | str) -> Decimal:
    """A currency amount rounded to cents; InvalidOperation for NaN, which would fail every comparison later."""
    amount = Decimal(str(value))
    if amount.is_nan():
        raise InvalidOperation(f"{value!r} is not an amount.")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# --- the ticket's repair record ---------------------------------------------------------------------------


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


def _require_open(ticket: Ticket) -> None:
    if not ticket.status.is_open:
        raise Invalid(f"{ticket.number} is {ticket.status.label}; reopen it first.", field="status")


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
    _require_open(ticket)
    if responsible is not None and not by.can_see_campus(responsible.campus_id):
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


def _hold(ticket: Ticket, row: TicketRepair) -> AssetStatus | None:
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


def take_in(ticket: Ticket, *, by: User, via: Via, status: TicketStatus = TicketStatus.in_repair) -> TicketRepair:
    """The device leaves the student's hands for repair: it becomes in_repair and the ticket moves on."""
    _require_open(ticket)
    if status not in HOLDING:
        raise Invalid("Choose in repair, waiting for parts or warranty claim.", field="status")
    row = repair_of(ticket)
    previous = _hold(ticket, row)
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


def open_swap(ticket: Ticket) -> LoanerSwap | None:
    return db.session.scalar(
        sa.select(LoanerSwap).where(LoanerSwap.ticket_id == ticket.id, LoanerSwap.reversed_at.is_(None))
    )


def open_claims(ticket: Ticket) -> list[WarrantyClaim]:
    return list(
        db.session.scalars(
            sa.select(WarrantyClaim).where(
                WarrantyClaim.ticket_id == ticket.id,
                WarrantyClaim.status.not_in([ClaimStatus.returned, ClaimStatus.denied]),
            )
        )
    )


def _other_open_holds(ticket: Ticket) -> bool:
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


def _release(ticket: Ticket, row: TicketRepair) -> AssetStatus | None:
    """Give the device back its status from before the repair; None when it was not held."""
    asset = ticket.asset
    previous = row.held_from_status
    if previous is None:
        return None
    row.held_from_status = None
    if asset.status is AssetStatus.in_repair and not _other_open_holds(ticket):
        asset.status = previous
        return previous
    return None


@dataclass
class Resolution:
    """What resolving did: the status the device went back to, and a swap still waiting to be reversed."""

    ticket: Ticket
    device_status: AssetStatus | None
    swap: LoanerSwap | None


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
    restored = None if swap is not None else _release(ticket, row)
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


def close(ticket: Ticket, *, by: User, via: Via) -> None:
    """Close a resolved ticket once nothing about it is left waiting."""
    if ticket.status is TicketStatus.closed:
        raise Invalid(f"{ticket.number} is already closed.", field="status")
    if ticket.status is not TicketStatus.resolved:
        raise Invalid(f"Resolve {ticket.number} before closing it.", field="status")
    if open_swap(ticket) is not None:
        raise Invalid("Reverse the loaner swap before closing the ticket.", field="status")
    ticket_service.change_status(ticket, TicketStatus.closed, by=by, via=via)


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


# --- parts and stock --------------------------------------------------------------------------------------


def _clean_part_fields(name: str, part_number: str, unit_cost: Decimal | str | None) -> tuple[str, str, Decimal]:
    name = (name or "").strip()
    part_number = (part_number or "").strip().upper()
    if not name or len(name) > 120:
        raise Invalid("Name the part (at most 120 characters).", field="name")
    if not part_number or len(part_number) > 64:
        raise Invalid("Enter the part number (at most 64 characters).", field="part_number")
    try:
        cost = money(unit_cost if unit_cost not in (None, "") else "x")
    except ArithmeticError as exc:
        raise Invalid("Enter the unit cost, e.g. 42.50.", field="unit_cost") from exc
    if cost < 0 or cost > Decimal("100000"):
        raise Invalid("The unit cost must be between 0 and 100,000.", field="unit_cost")
    return name, part_number, cost


def create_part(
    *,
    name: str,
    part_number: str,
    unit_cost: Decimal | str,
    fits: list[DeviceModel],
    low_stock_at: int = 2,
    by: User,
    via: Via,
) -> Part:
    """Add a part to the catalogue."""
    name, part_number, cost = _clean_part_fields(name, part_number, unit_cost)
    if low_stock_at < 0 or low_stock_at > 10_000:
        raise Invalid("The low-stock level must be between 0 and 10,000.", field="low_stock_at")
    if db.session.scalar(sa.select(Part.id).where(Part.part_number == part_number)):
        raise Invalid(f"Part number {part_number} is already in the catalogue.", field="part_number")
    part = Part(name=name, part_number=part_number, unit_cost=cost, low_stock_at=low_stock_at, fits=list(fits))
    try:
        # The savepoint starts before the row is added: begin_nested() flushes pending rows first.
        with db.session.begin_nested():
            db.session.add(part)
            db.session.flush()
    except IntegrityError as exc:
        raise Invalid(f"Part number {part_number} is already in the catalogue.", field="part_number") from exc
    activity.record(
        "part.create",
        f"Added part {part}",
        by=by,
        via=via,
        subject=part,
        after={"unit_cost": str(cost), "fits": [str(m) for m in fits]},
    )
    return part


def stock_of(part: Part, campus_id: int) -> int:
    return (
        db.session.scalar(
            sa.select(PartStock.stock).where(PartStock.part_id == part.id, PartStock.campus_id == campus_id)
        )
        or 0
    )


def add_stock(part: Part, campus: Campus, quantity: int, *, by: User, via: Via) -> int:
    """Put parts on a campus's shelf (a negative quantity writes off losses); returns the new stock."""
    if not by.can_see_campus(campus.id):
        raise Invalid("Choose one of your campuses.", field="campus")
    if quantity == 0 or abs(quantity) > 10_000:
        raise Invalid("Enter how many to add (or a negative number to write off).", field="quantity")
    if db.session.get(PartStock, (part.id, campus.id)) is None and quantity > 0:
        try:
            # The savepoint starts before the row is added: begin_nested() flushes pending rows first.
            with db.session.begin_nested():
                db.session.add(PartStock(part_id=part.id, campus_id=campus.id, stock=0))
                db.session.flush()
        except IntegrityError:
            pass  # Another request created the row first; the UPDATE below adds to it.
    result = db.session.execute(
        sa.update(PartStock)
        .where(PartStock.part_id == part.id, PartStock.campus_id == campus.id, PartStock.stock + quantity >= 0)
        .values(stock=PartStock.stock + quantity)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        left = stock_of(part, campus.id)
        raise Invalid(f"Only {left} on the shelf at {campus.code}; you cannot write off {-quantity}.", field="quantity")
    _expire_stock(part.id, campus.id)
    new = stock_of(part, campus.id)
    activity.record(
        "part.stock",
        f"{'Added' if quantity > 0 else 'Wrote off'} {abs(quantity)} × {part.name} at {campus.code} (now {new})",
        by=by,
        via=via,
        campus_id=campus.id,
        subject=part,
        before={"stock": new - quantity},
        after={"stock": new},
    )
    return new


def _expire_stock(part_id: int, campus_id: int) -> None:
    row = db.session.identity_map.get(db.session.identity_key(PartStock, (part_id, campus_id)))
    if row is not None:
        db.session.expire(row)


def use_parts(ticket: Ticket, part: Part, quantity: int, *, by: User, via: Via) -> TicketPart:
    """Fit parts from the ticket's campus stock: one conditional UPDATE, so stock never goes below zero."""
    _require_open(ticket)
    if quantity < 1 or quantity > MAX_QUANTITY:
        raise Invalid(f"Enter a quantity from 1 to {MAX_QUANTITY}.", field="quantity")
    asset = ticket.asset
    if not part.active:
        raise Invalid(f"{part.name} is no longer in the catalogue.", field="part")
    if part.fits and asset.model_id not in {m.id for m in part.fits}:
        raise Invalid(f"{part.name} does not fit a {asset.model}.", field="part")
    campus_id = asset.campus_id
    # The database decides: the UPDATE only matches while enough stock is left, even with two techs at once.
    result = db.session.execute(
        sa.update(PartStock)
        .where(PartStock.part_id == part.id, PartStock.campus_id == campus_id, PartStock.stock >= quantity)
        .values(stock=PartStock.stock - quantity)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        left = stock_of(part, campus_id)
        raise Invalid(
            f"Only {left} × {part.name} left in stock at {asset.campus.code}; you asked for {quantity}.",
            field="quantity",
        )
    _expire_stock(part.id, campus_id)
    row = TicketPart(
        ticket_id=ticket.id,
        part=part,
        campus_id=campus_id,
        quantity=quantity,
        unit_cost=part.unit_cost,
        used_by_id=by.id,
    )
    db.session.add(row)
    ticket.updated_at = utcnow()
    db.session.flush()
    activity.record(
        "repair.parts",
        f"Used {quantity} × {part.name} on {ticket.number} ({asset.asset_tag})",
        by=by,
        via=via,
        asset=asset,
        subject=ticket,
        after={"part": part.part_number, "quantity": quantity, "cost": str(row.cost)},
    )
    return row


def hourly_rate() -> Decimal:
    """The district's labour rate for costing technician time (REPAIR_HOURLY_RATE, default 30.00)."""
    return money(current_app.config.get("REPAIR_HOURLY_RATE", DEFAULT_HOURLY_RATE))


def log_labour(ticket: Ticket, minutes: int, *, by: User, via: Via, note: str = "") -> TicketLabour:
    """Record technician time on a ticket, costed at the current hourly rate."""
    _require_open(ticket)
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
    parts: Decimal = Decimal("0.00")
    labour: Decimal = Decimal("0.00")
    minutes: int = 0

    @property
    def total(self) -> Decimal:
        return money(self.parts + self.labour)


def parts_used(ticket: Ticket) -> list[TicketPart]:
    return list(
        db.session.scalars(sa.select(TicketPart).where(TicketPart.ticket_id == ticket.id).order_by(TicketPart.id))
    )


def labour_of(ticket: Ticket) -> list[TicketLabour]:
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


def parts_for(ticket: Ticket) -> list[tuple[Part, int]]:
    """Catalogue parts that fit the ticket's device, with the stock on its campus."""
    asset = ticket.asset
    rows = db.session.scalars(sa.select(Part).where(Part.active.is_(True)).order_by(Part.name))
    out = []
    for part in rows:
        if part.fits and asset.model_id not in {m.id for m in part.fits}:
            continue
        out.append((part, stock_of(part, asset.campus_id)))
    return out


def catalogue(user: User) -> list[dict[str, Any]]:
    """Every part with its stock on each of the user's campuses and whether any is low."""
    campus_ids = user.campus_ids
    stock_rows = db.session.execute(sa.select(PartStock.part_id, PartStock.campus_id, PartStock.stock)).all()
    stock: dict[int, dict[int, int]] = defaultdict(dict)
    for part_id, campus_id, n in stock_rows:
        if campus_ids is None or campus_id in campus_ids:
            stock[part_id][campus_id] = n
    out = []
    for part in db.session.scalars(sa.select(Part).where(Part.active.is_(True)).order_by(Part.name)):
        out.append({"part": part, "stock": stock.get(part.id, {})})
    return out


def low_stock(user: User) -> list[tuple[Part, Campus, int]]:
    """Parts at or below their low-stock level on each of the user's campuses (a campus with none counts)."""
    campuses = db.session.scalars(sa.select(Campus).where(visible_to(user, Campus.id)).order_by(Campus.code)).all()
    stock = {
        (p, c): n for p, c, n in db.session.execute(sa.select(PartStock.part_id, PartStock.campus_id, PartStock.stock))
    }
    out = []
    for part in db.session.scalars(sa.select(Part).where(Part.active.is_(True)).order_by(Part.name)):
        for campus in campuses:
            n = stock.get((part.id, campus.id), 0)
            if n <= part.low_stock_at:
                out.append((part, campus, n))
    return out


# --- the loaner swap --------------------------------------------------------------------------------------


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


def swap_in_loaner(ticket: Ticket, *, by: User, via: Via, loaner: Asset | None = None) -> LoanerSwap:
    """In one step: the broken device goes in repair and a loaner is lent to the same student, both on the ticket.

    The swap row is written first: its partial unique index lets one of two simultaneous presses through, and the
    loan goes through the loan rules (one open loan per device, decided by the database too).
    """
    _require_open(ticket)
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
    _hold(ticket, row)
    row.held_from_status = broken_status
    due = loans.local_time(asset.campus, utcnow()).date() + timedelta(days=SWAP_LOAN_DAYS)
    loan = loans.check_out(loaner, person, by=by, due=due, via=via)
    swap.loaner_loan_id = loan.id
    db.session.flush()
    if ticket.status in (TicketStatus.new, TicketStatus.triaged):
        ticket_service.change_status(ticket, TicketStatus.in_repair, by=by, via=via)
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
    row = repair_of(ticket)
    if asset.status is AssetStatus.in_repair and not _other_open_holds(ticket):
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


# --- accountability and planning --------------------------------------------------------------------------


def damage_history(person: Person) -> dict[str, Any]:
    """The tickets a person was answerable for and their fees, newest first."""
    tickets = list(
        db.session.scalars(
            sa.select(Ticket)
            .join(TicketRepair, TicketRepair.ticket_id == Ticket.id)
            .where(TicketRepair.responsible_id == person.id)
            .order_by(Ticket.created_at.desc())
        )
    )
    fees = list(db.session.scalars(sa.select(Fee).where(Fee.person_id == person.id).order_by(Fee.created_at.desc())))
    return {"tickets": tickets, "fees": fees}


def device_history(asset: Asset) -> list[Ticket]:
    return list(
        db.session.scalars(sa.select(Ticket).where(Ticket.asset_id == asset.id).order_by(Ticket.created_at.desc()))
    )


def repeat_damage(user: User, *, days: int = REPEAT_WINDOW_DAYS, at_least: int = 2) -> dict[str, list]:
    """Devices and people with `at_least` damage tickets in the last `days` days, on the user's campuses."""
    since = utcnow() - timedelta(days=days)
    devices = db.session.execute(
        sa.select(Asset, sa.func.count(Ticket.id).label("n"))
        .join(Ticket, Ticket.asset_id == Asset.id)
        .where(Ticket.created_at >= since, visible_to(user, Asset.campus_id))
        .group_by(Asset.id)
        .having(sa.func.count(Ticket.id) >= at_least)
        .order_by(sa.func.count(Ticket.id).desc(), Asset.asset_tag)
        .limit(200)
    ).all()
    people = db.session.execute(
        sa.select(Person, sa.func.count(Ticket.id).label("n"))
        .join(TicketRepair, TicketRepair.responsible_id == Person.id)
        .join(Ticket, Ticket.id == TicketRepair.ticket_id)
        .where(Ticket.created_at >= since, visible_to(user, Person.campus_id))
        .group_by(Person.id)
        .having(sa.func.count(Ticket.id) >= at_least)
        .order_by(sa.func.count(Ticket.id).desc(), Person.name)
        .limit(200)
    ).all()
    return {"devices": [(a, n) for a, n in devices], "people": [(p, n) for p, n in people]}


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
