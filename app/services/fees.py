"""Damage fees: recording a charge under the district's policy, marking it paid or waived, exporting for the office."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.models import Asset, Fee, FeeReason, FeeStatus, Person, Ticket, User, Via, utcnow
from app.services import activity
from app.services.assets import visible_to
from app.services.csvio import pasted_lines, write_csv
from app.services.errors import Forbidden, Invalid

MAX_AMOUNT = Decimal("5000.00")
# The built-in schedule (the one kept in the app, or FEE_POLICY in the settings, replaces it): reason and usual amount.
DEFAULT_POLICY = (
    ("Cracked screen", Decimal("25.00")),
    ("Liquid damage", Decimal("50.00")),
    ("Keyboard damage", Decimal("20.00")),
    ("Lost charger", Decimal("30.00")),
    ("Lost or destroyed device", Decimal("250.00")),
)
CSV_HEADER = (
    "fee_id",
    "created_at",
    "person_id",
    "person_name",
    "campus",
    "asset_tag",
    "ticket",
    "reason",
    "amount",
    "status",
    "recorded_by",
    "settled_at",
    "settled_by",
    "settle_note",
)


def policy() -> list[tuple[str, Decimal]]:
    """The reasons (and usual amounts) a fee may be charged for: the schedule kept in the app, else FEE_POLICY in
    the settings, else the built-in one."""
    kept = db.session.execute(sa.select(FeeReason.reason, FeeReason.amount).order_by(FeeReason.position)).all()
    if kept:
        return [(reason, Decimal(amount)) for reason, amount in kept]
    configured = current_app.config.get("FEE_POLICY")
    if not configured:
        return list(DEFAULT_POLICY)
    return [(str(reason), Decimal(str(amount))) for reason, amount in configured]


SCHEDULE_LINES_MAX = 100


def schedule_text(lines: list[tuple[str, Decimal]]) -> str:
    """A schedule as the lines the editing form takes."""
    return "\n".join(f"{reason}, {amount}" for reason, amount in lines)


def parse_schedule(text: str) -> list[tuple[str, Decimal]]:
    """A schedule written one reason per line, with its usual amount after the last comma (or tab)."""
    lines = pasted_lines(
        text,
        field="schedule",
        most=SCHEDULE_LINES_MAX,
        empty="Enter at least one reason, such as: Cracked screen, 25.00",
        too_many=f"Keep the schedule to {SCHEDULE_LINES_MAX} reasons.",
    )
    schedule: list[tuple[str, Decimal]] = []
    seen: dict[str, int] = {}
    for number, line, separator in lines:
        reason, _sep, amount = line.rpartition(separator)
        reason = " ".join(reason.split())
        if not reason:
            raise Invalid(f"Line {number}: write the reason, a comma, then the usual amount.", field="schedule")
        if len(reason) > 200:
            raise Invalid(f"Line {number}: keep the reason under 200 characters.", field="schedule")
        if reason.lower() in seen:
            raise Invalid(f"Line {number}: {reason} is also on line {seen[reason.lower()]}.", field="schedule")
        try:
            value = _amount(amount)
        except Invalid as exc:
            raise Invalid(f"Line {number}: {exc.message}", field="schedule") from None
        seen[reason.lower()] = number
        schedule.append((reason, value))
    return schedule


def set_schedule(schedule: list[tuple[str, Decimal]], *, by: User, via: Via) -> bool:
    """Replace the district's fee schedule (district-wide admins); fees already charged keep their reason and
    amount. Whether anything changed."""
    if not by.district_wide:
        raise Forbidden("Only a district-wide admin can change the fee schedule.")
    before = policy()
    if schedule == before:
        return False
    db.session.execute(sa.delete(FeeReason))
    db.session.add_all(
        FeeReason(position=i, reason=reason, amount=amount) for i, (reason, amount) in enumerate(schedule, 1)
    )
    db.session.flush()
    activity.record(
        "fees.schedule",
        f"Changed the fee schedule ({len(schedule)} reasons)",
        by=by,
        via=via,
        before={"schedule": [f"{r}: {a}" for r, a in before]},
        after={"schedule": [f"{r}: {a}" for r, a in schedule]},
    )
    return True


def _amount(value: Decimal | str | None) -> Decimal:
    try:
        amount = Decimal(str(value).strip().lstrip("$")).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise Invalid("Enter the amount, e.g. 25.00.", field="amount") from exc
    if amount.is_nan():
        raise Invalid("Enter the amount, e.g. 25.00.", field="amount")
    if amount <= 0 or amount > MAX_AMOUNT:
        raise Invalid(f"The amount must be more than 0 and at most {MAX_AMOUNT}.", field="amount")
    return amount


def charge(
    person: Person,
    *,
    amount: Decimal | str,
    reason: str,
    by: User,
    via: Via,
    asset: Asset | None = None,
    ticket: Ticket | None = None,
) -> Fee:
    """Record a fee owed by a person for damage, with the policy reason; payment happens elsewhere."""
    if not person.seen_by(by):
        raise Invalid("That person is not on one of your campuses.", field="person")
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise Invalid("Give the reason under the district's policy.", field="reason")
    value = _amount(amount)
    if ticket is not None and asset is None:
        asset = ticket.asset
    fee = Fee(
        person=person,
        asset=asset,
        ticket=ticket,
        campus_id=person.campus_id or (asset.campus_id if asset else None),
        amount=value,
        reason=reason,
        status=FeeStatus.outstanding,
        created_by_id=by.id,
    )
    db.session.add(fee)
    db.session.flush()
    activity.record(
        "fee.create",
        f"Fee {value} for {person.name}: {reason}" + (f" ({ticket.number})" if ticket else ""),
        by=by,
        via=via,
        asset=asset,
        person=person,
        campus_id=fee.campus_id,
        subject=fee,
        after={"amount": str(value), "reason": reason, "status": fee.status.value},
    )
    return fee


def settle(fee: Fee, status: FeeStatus, *, by: User, via: Via, note: str = "") -> Fee:
    """Mark an outstanding fee paid (recorded elsewhere) or waived, by whom and when."""
    if status is FeeStatus.outstanding:
        raise Invalid("Choose paid or waived.", field="status")
    if fee.status is not FeeStatus.outstanding:
        raise Invalid(f"This fee is already {fee.status.label}.", field="status")
    note = (note or "").strip()
    if status is FeeStatus.waived and not note:
        raise Invalid("Say why the fee is waived.", field="note")
    if len(note) > 300:
        raise Invalid("Keep the note under 300 characters.", field="note")
    fee.status = status
    fee.settled_at = utcnow()
    fee.settled_by_id = by.id
    fee.settle_note = note
    db.session.flush()
    activity.record(
        f"fee.{status.value}",
        f"Fee {fee.amount} for {fee.person.name} {status.label}" + (f": {note}" if note else ""),
        by=by,
        via=via,
        asset=fee.asset,
        person=fee.person,
        campus_id=fee.campus_id,
        subject=fee,
        before={"status": FeeStatus.outstanding.value},
        after={"status": status.value},
    )
    return fee


def fees_query(user: User, *, status: FeeStatus | None = None, person: Person | None = None) -> sa.Select:
    """Fees on the user's campuses, newest first."""
    stmt = sa.select(Fee).where(visible_to(user, Fee.campus_id))
    if status is not None:
        stmt = stmt.where(Fee.status == status)
    if person is not None:
        stmt = stmt.where(Fee.person_id == person.id)
    return stmt.order_by(Fee.created_at.desc(), Fee.id.desc())


def totals(user: User) -> dict[str, Decimal]:
    """Sum of fees by status on the user's campuses."""
    rows = db.session.execute(
        sa.select(Fee.status, sa.func.sum(Fee.amount)).where(visible_to(user, Fee.campus_id)).group_by(Fee.status)
    ).all()
    out = {s.value: Decimal("0.00") for s in FeeStatus}
    for status, total in rows:
        out[status.value] = Decimal(str(total or 0)).quantize(Decimal("0.01"))
    return out


def export_csv(user: User, *, status: FeeStatus | None = None) -> Iterator[str]:
    """The fee record as CSV for the business office or the SIS (formula-safe cells)."""
    fees = db.session.scalars(fees_query(user, status=status).limit(100_000))

    def rows():
        for fee in fees:
            yield (
                fee.id,
                fee.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                fee.person.external_id,
                fee.person.name,
                fee.person.campus.code if fee.person.campus else "",
                fee.asset.asset_tag if fee.asset else "",
                fee.ticket.number if fee.ticket else "",
                fee.reason,
                str(fee.amount),
                fee.status.value,
                fee.created_by.email if fee.created_by else "",
                fee.settled_at.strftime("%Y-%m-%dT%H:%M:%SZ") if fee.settled_at else "",
                fee.settled_by.email if fee.settled_by else "",
                fee.settle_note,
            )

    return write_csv(CSV_HEADER, rows())
