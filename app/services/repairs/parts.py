"""Parts and stock: the catalogue, each campus's shelf, and fitting parts to a ticket's device."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Campus,
    DeviceModel,
    Part,
    PartStock,
    StockAdjustment,
    StockReason,
    Ticket,
    TicketPart,
    User,
    Via,
    utcnow,
)
from app.services import activity
from app.services import tickets as ticket_service
from app.services.assets import visible_to
from app.services.errors import Invalid
from app.services.repairs.costs import money
from app.services.repairs.record import require_open

MAX_QUANTITY = 50
MAX_STOCK = 10_000
NOTE_LENGTH = 300
# The reasons a person picks on the part page; `used` is written only by fitting parts on a ticket.
ADJUST_REASONS = (StockReason.counted, StockReason.received, StockReason.damaged, StockReason.lost)


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


def _check_low_stock_at(low_stock_at: int) -> None:
    if low_stock_at < 0 or low_stock_at > MAX_STOCK:
        raise Invalid("The low-stock level must be between 0 and 10,000.", field="low_stock_at")


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
    _check_low_stock_at(low_stock_at)
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


def update_part(
    part: Part,
    *,
    name: str,
    part_number: str,
    unit_cost: Decimal | str,
    fits: list[DeviceModel],
    low_stock_at: int,
    by: User,
    via: Via,
) -> Part:
    """Change a part's name, number, cost, low-stock level or the models it fits; one entry names what changed."""
    name, part_number, cost = _clean_part_fields(name, part_number, unit_cost)
    _check_low_stock_at(low_stock_at)
    taken = db.session.scalar(sa.select(Part.id).where(Part.part_number == part_number, Part.id != part.id))
    if taken:
        raise Invalid(f"Part number {part_number} is already in the catalogue.", field="part_number")
    was = _part_fields(part)
    try:
        # The savepoint starts before the change: begin_nested() flushes pending rows first.
        with db.session.begin_nested():
            part.name, part.part_number, part.unit_cost, part.low_stock_at = name, part_number, cost, low_stock_at
            part.fits = list(fits)
            db.session.flush()
    except IntegrityError as exc:
        raise Invalid(f"Part number {part_number} is already in the catalogue.", field="part_number") from exc
    now = _part_fields(part)
    before = {k: v for k, v in was.items() if now[k] != v}
    after = {k: now[k] for k in before}
    if not after:
        return part
    activity.record(
        "part.update",
        f"Changed part {part}: {', '.join(k.replace('_', ' ') for k in after)}",
        by=by,
        via=via,
        subject=part,
        before=before,
        after=after,
    )
    return part


def _part_fields(part: Part) -> dict[str, Any]:
    return {
        "name": part.name,
        "part_number": part.part_number,
        "unit_cost": str(money(part.unit_cost)),
        "low_stock_at": part.low_stock_at,
        "fits": [str(m) for m in part.fits],
    }


def stock_of(part: Part, campus_id: int) -> int:
    """How many of the part are on the campus's shelf."""
    return (
        db.session.scalar(
            sa.select(PartStock.stock).where(PartStock.part_id == part.id, PartStock.campus_id == campus_id)
        )
        or 0
    )


def _ensure_stock_row(part: Part, campus: Campus) -> None:
    if db.session.get(PartStock, (part.id, campus.id)) is not None:
        return
    try:
        # The savepoint starts before the row is added: begin_nested() flushes pending rows first.
        with db.session.begin_nested():
            db.session.add(PartStock(part_id=part.id, campus_id=campus.id, stock=0))
            db.session.flush()
    except IntegrityError:
        pass  # Another request created the row first; the UPDATE that follows changes it.


def adjust_stock(
    part: Part,
    campus: Campus,
    reason: StockReason,
    quantity: int,
    *,
    note: str = "",
    by: User,
    via: Via,
) -> StockAdjustment:
    """Change a campus's stock of a part for a reason: `counted` sets it to the quantity counted, `received` adds
    the quantity, `damaged` and `lost` take it away (never below zero). One adjustment row and one activity entry
    record the change."""
    if not by.can_see_campus(campus.id):
        raise Invalid("Choose one of your campuses.", field="campus")
    if reason not in ADJUST_REASONS:
        raise Invalid("Choose why the stock changes: counted, received, damaged or lost.", field="reason")
    note = (note or "").strip()
    if len(note) > NOTE_LENGTH:
        raise Invalid(f"Keep the note to {NOTE_LENGTH} characters.", field="note")
    if reason is StockReason.counted:
        if quantity < 0 or quantity > MAX_STOCK:
            raise Invalid("Enter how many are on the shelf (0 to 10,000).", field="quantity")
    elif quantity < 1 or quantity > MAX_STOCK:
        raise Invalid("Enter how many, from 1 to 10,000.", field="quantity")
    _ensure_stock_row(part, campus)
    where = (PartStock.part_id == part.id, PartStock.campus_id == campus.id)
    if reason is StockReason.counted:
        # The row is locked (PostgreSQL) before it is read, so the change recorded is against the stock replaced.
        was = db.session.scalar(sa.select(PartStock.stock).where(*where).with_for_update()) or 0
        delta = quantity - was
        db.session.execute(
            sa.update(PartStock).where(*where).values(stock=quantity).execution_options(synchronize_session=False)
        )
    else:
        delta = quantity if reason is StockReason.received else -quantity
        # The database decides: the UPDATE only matches while the stock stays at zero or above.
        result = db.session.execute(
            sa.update(PartStock)
            .where(*where, PartStock.stock + delta >= 0)
            .values(stock=PartStock.stock + delta)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            left = stock_of(part, campus.id)
            raise Invalid(
                f"Only {left} × {part.name} on the shelf at {campus.code}; you cannot take away {quantity}.",
                field="quantity",
            )
    _expire_stock(part.id, campus.id)
    new = stock_of(part, campus.id)
    row = _log_adjustment(part, campus.id, reason, delta, new, note=note, by=by)
    words = {
        StockReason.counted: f"Counted {new} × {part.name} at {campus.code} (was {new - delta})",
        StockReason.received: f"Received {quantity} × {part.name} at {campus.code} (now {new})",
        StockReason.damaged: f"Wrote off {quantity} damaged × {part.name} at {campus.code} (now {new})",
        StockReason.lost: f"Wrote off {quantity} lost × {part.name} at {campus.code} (now {new})",
    }
    activity.record(
        "part.stock",
        words[reason] + (f": {note}" if note else ""),
        by=by,
        via=via,
        campus_id=campus.id,
        subject=part,
        before={"stock": new - delta},
        after={"stock": new, "reason": reason.value, **({"note": note} if note else {})},
    )
    return row


def _log_adjustment(
    part: Part,
    campus_id: int,
    reason: StockReason,
    delta: int,
    stock_after: int,
    *,
    note: str = "",
    by: User | None,
    ticket: Ticket | None = None,
) -> StockAdjustment:
    row = StockAdjustment(
        part_id=part.id,
        campus_id=campus_id,
        reason=reason,
        delta=delta,
        stock_after=stock_after,
        note=note,
        ticket_id=ticket.id if ticket is not None else None,
        by_id=by.id if by is not None else None,
    )
    db.session.add(row)
    db.session.flush()
    return row


def add_stock(part: Part, campus: Campus, quantity: int, *, by: User, via: Via) -> int:
    """Put parts on a campus's shelf, or with a negative quantity write off lost ones (the form before reasons,
    still posted by older pages); returns the new stock."""
    if quantity == 0 or abs(quantity) > MAX_STOCK:
        raise Invalid("Enter how many to add (or a negative number to write off).", field="quantity")
    reason = StockReason.received if quantity > 0 else StockReason.lost
    try:
        adjust_stock(part, campus, reason, abs(quantity), by=by, via=via)
    except Invalid as exc:
        if exc.field != "quantity" or quantity > 0:
            raise
        left = stock_of(part, campus.id)
        raise Invalid(
            f"Only {left} on the shelf at {campus.code}; you cannot write off {-quantity}.", field="quantity"
        ) from exc
    return stock_of(part, campus.id)


def adjustments(part: Part, user: User, limit: int = 100) -> list[StockAdjustment]:
    """The part's stock changes on the user's campuses, newest first."""
    query = sa.select(StockAdjustment).where(StockAdjustment.part_id == part.id)
    if user.campus_ids is not None:
        query = query.where(StockAdjustment.campus_id.in_(user.campus_ids))
    return list(db.session.scalars(query.order_by(StockAdjustment.at.desc(), StockAdjustment.id.desc()).limit(limit)))


def _expire_stock(part_id: int, campus_id: int) -> None:
    row = db.session.identity_map.get(db.session.identity_key(PartStock, (part_id, campus_id)))
    if row is not None:
        db.session.expire(row)


@ticket_service.ticket_action
def use_parts(ticket: Ticket, part: Part, quantity: int, *, by: User, via: Via) -> TicketPart:
    """Fit parts from the ticket's campus stock: one conditional UPDATE, so stock never goes below zero."""
    require_open(ticket)
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
    _log_adjustment(part, campus_id, StockReason.used, -quantity, stock_of(part, campus_id), by=by, ticket=ticket)
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
