"""The loaner desk's workflows: lending a loaner, taking it back (damage opens a ticket), due dates, lists."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.i18n import campus_zone
from app.models import (
    Asset,
    AssetStatus,
    Campus,
    Condition,
    Loan,
    Person,
    TicketCategory,
    User,
    Via,
    utcnow,
)
from app.services import activity
from app.services import tickets as ticket_service
from app.services.assets import find_asset, open_assignment, visible_to
from app.services.errors import Invalid
from app.services.people import find_person
from app.services.sync import Context, Rejected, choice, text

# Why a device outside the pool cannot be lent; the desk shows these words.
REFUSED = {
    AssetStatus.in_repair: "is in repair",
    AssetStatus.missing: "is reported missing",
    AssetStatus.retired: "is retired",
}
DAMAGE = {Condition.damaged, Condition.broken}


def due_on(campus: Campus, day: date) -> datetime:
    """The end of the school day on `day`, campus local time, as UTC."""
    return datetime.combine(day, campus.day_ends_at, campus_zone(campus)).astimezone(UTC)


def default_due_date(campus: Campus, at: datetime | None = None) -> date:
    """The day a loan made at `at` falls due: today (or the next day once school is out), or N days on.

    Weekends roll forward to Monday: nobody can bring a loaner back to a closed library.
    """
    local = (at or utcnow()).astimezone(campus_zone(campus))
    day = local.date()
    if campus.loan_days > 0:
        day += timedelta(days=campus.loan_days)
    elif local.time() >= campus.day_ends_at:
        day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def local_time(campus: Campus, moment: datetime) -> datetime:
    """A stored UTC time shown in the campus's zone."""
    return moment.astimezone(campus_zone(campus))


def open_loan(asset: Asset) -> Loan | None:
    """The loan the device is out on, if any."""
    return db.session.scalar(sa.select(Loan).where(Loan.asset_id == asset.id, Loan.returned_at.is_(None)))


def _on_loan_reason(asset: Asset, loan: Loan, person: Person | None = None) -> str:
    if person is not None and loan.person_id == person.id:
        return f"{asset.asset_tag} is already on loan to {person.name}."
    return f"{asset.asset_tag} is already on loan to {loan.person.name}; check it in first."


def check_lendable(asset: Asset, *, by: User) -> None:
    """Raise Invalid with the reason the desk shows when this device cannot leave the pool now."""
    if not by.can_see_campus(asset.campus_id):
        raise Invalid(f"{asset.asset_tag} belongs to another campus's loaner pool.", field="asset")
    if asset.status in REFUSED:
        raise Invalid(f"{asset.asset_tag} {REFUSED[asset.status]}; it cannot be lent.", field="asset")
    if asset.status is not AssetStatus.loaner:
        raise Invalid(
            f"{asset.asset_tag} is not in the loaner pool (it is {asset.status.label}).",
            field="asset",
        )
    assignment = open_assignment(asset)
    if assignment is not None:
        raise Invalid(f"{asset.asset_tag} is assigned to {assignment.person.name}; it cannot be lent.", field="asset")


def resolve_due(campus: Campus, due: datetime | date | None, at: datetime) -> datetime:
    """The due moment for a checkout at `at`: a date means the end of that school day."""
    if due is None:
        return due_on(campus, default_due_date(campus, at))
    try:
        if isinstance(due, datetime):
            if due.tzinfo is None:
                due = due.replace(tzinfo=campus_zone(campus))
            due_at = due.astimezone(UTC)
        else:
            due_at = due_on(campus, due)
    except OverflowError:
        # Year 1 or 9999 whose offset carries it past what a datetime holds: as far off as can be, for the checks.
        due_at = (datetime.min if due.year < 2000 else datetime.max).replace(tzinfo=UTC)
    if due_at <= at:
        raise Invalid("That due date has already passed; choose a later one.", field="due")
    if due_at > at + timedelta(days=366):
        raise Invalid("Loans last at most a year; choose an earlier due date.", field="due")
    return due_at


def check_out(
    asset: Asset,
    person: Person,
    *,
    by: User,
    due: datetime | date | None,
    via: Via,
    at: datetime | None = None,
    event_id: str | None = None,
) -> Loan:
    """Lend a loaner to a student or staff member until `due` (default: the campus's usual due time)."""
    at = at or utcnow()
    check_lendable(asset, by=by)
    if not person.active:
        raise Invalid(f"{person.name} is no longer active in the roster.", field="person")
    if not person.seen_by(by):
        raise Invalid("That person is not on one of your campuses.", field="person")
    current = open_loan(asset)
    if current is not None:
        raise Invalid(_on_loan_reason(asset, current, person), field="asset")
    due_at = resolve_due(asset.campus, due, at)
    loan = Loan(
        asset=asset,
        person=person,
        checked_out_at=at,
        checked_out_by_id=by.id,
        due_at=due_at,
        source_event_id=event_id,
    )
    try:
        # Two desks lending the same device at once: the partial unique index lets one through;
        # the loser gets the same words as if it had looked a moment later. The add sits inside the
        # savepoint because begin_nested() flushes pending rows before it starts.
        with db.session.begin_nested():
            db.session.add(loan)
            db.session.flush()
    except IntegrityError as exc:
        winner = open_loan(asset)
        if winner is None:
            raise Invalid(f"{asset.asset_tag} could not be lent just now; try again.", field="asset") from exc
        raise Invalid(_on_loan_reason(asset, winner, person), field="asset") from exc
    due_text = local_time(asset.campus, due_at).strftime("%a %Y-%m-%d %H:%M")
    activity.record(
        "loan.checkout",
        f"Lent {asset.asset_tag} to {person.name}, due {due_text}",
        by=by,
        via=via,
        asset=asset,
        person=person,
        subject=loan,
        after={"person": f"{person.name} ({person.external_id})", "due": activity.plain(due_at)},
    )
    return loan


def check_in(
    asset: Asset,
    *,
    by: User,
    condition: Condition | None,
    note: str = "",
    via: Via,
    at: datetime | None = None,
) -> Loan:
    """Take a loaner back, noting its condition; damage opens a repair ticket."""
    if not by.can_see_campus(asset.campus_id):
        raise Invalid(f"{asset.asset_tag} belongs to another campus; return it there.", field="asset")
    loan = open_loan(asset)
    if loan is None:
        raise Invalid(f"{asset.asset_tag} is not on loan.", field="asset")
    # A phone's clock can lag: a return never happens before its checkout.
    returned_at = max(at or utcnow(), loan.checked_out_at)
    note = (note or "").strip()[:2000]
    loan.returned_at = returned_at
    loan.returned_by_id = by.id
    loan.return_condition = condition
    loan.note = note
    before = {"condition": asset.condition.value}
    # Projections follow event time: a late-arriving return never overwrites a newer condition.
    if (
        condition is not None
        and condition is not asset.condition
        and (asset.condition_at is None or returned_at >= asset.condition_at)
    ):
        asset.condition = condition
        asset.condition_at = returned_at
    db.session.flush()
    late = returned_at > loan.due_at
    summary = f"{loan.person.name} returned {asset.asset_tag}"
    if condition is not None:
        summary += f" ({condition.value})"
    if late:
        summary += ", late"
    ticket = _open_damage_ticket(asset, loan, condition, note, by=by, via=via) if condition in DAMAGE else None
    after = {"condition": asset.condition.value, "returned": activity.plain(returned_at)}
    if note:
        after["note"] = note
    if ticket is not None:
        after["ticket"] = ticket
        summary += f"; opened {ticket}"
    activity.record(
        "loan.checkin",
        summary,
        by=by,
        via=via,
        asset=asset,
        person=loan.person,
        subject=loan,
        before=before,
        after=after,
    )
    return loan


def _open_damage_ticket(asset: Asset, loan: Loan, condition: Condition, note: str, *, by: User, via: Via) -> str:
    """Open a repair ticket for a loaner that came back damaged; returns its number."""
    description = f"Came back {condition.value} from a loan to {loan.person.name} ({loan.person.external_id})."
    if note:
        description += f" Desk note: {note}"
    ticket = ticket_service.open_ticket(asset, category=TicketCategory.other, description=description, by=by, via=via)
    return ticket.number


def loans_query(
    user: User,
    *,
    open_only: bool = False,
    overdue: bool = False,
    campus_id: int | None = None,
    now: datetime | None = None,
) -> sa.Select:
    """Loans on the user's campuses (by the device's campus), soonest due first when open."""
    stmt = (
        sa.select(Loan)
        .join(Asset, Asset.id == Loan.asset_id)
        .where(visible_to(user, Asset.campus_id))
        .options(joinedload(Loan.asset), joinedload(Loan.person), joinedload(Loan.checked_out_by))
    )
    if campus_id:
        stmt = stmt.where(Asset.campus_id == campus_id)
    if open_only or overdue:
        stmt = stmt.where(Loan.returned_at.is_(None))
    if overdue:
        stmt = stmt.where(Loan.due_at < (now or utcnow()))
    if open_only or overdue:
        return stmt.order_by(Loan.due_at, Loan.id)
    return stmt.order_by(Loan.checked_out_at.desc(), Loan.id.desc())


def loans_of(person: Person, limit: int = 50) -> list[Loan]:
    """A person's loans, open ones first, then newest."""
    return list(
        db.session.scalars(
            sa.select(Loan)
            .where(Loan.person_id == person.id)
            .options(joinedload(Loan.asset))
            .order_by(Loan.returned_at.is_not(None), Loan.checked_out_at.desc(), Loan.id.desc())
            .limit(limit)
        )
    )


# Offline desk events (POST /api/v1/sync): the same rules, with refusals sent back as the reason on the desk.


def _event_asset(data: dict[str, Any], ctx: Context) -> Asset:
    code = text(data, "asset", max_len=120)
    asset = find_asset(code)
    if asset is None or not ctx.user.can_see_campus(asset.campus_id):
        raise Rejected(f"No device on your campuses matches {code!r}.")
    return asset


def _event_due(value: str | None) -> date | datetime | None:
    if value is None:
        return None
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Rejected(f"The due date {value!r} is not an ISO 8601 date.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def apply_checkout_event(data: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """`loan.checkout`: data `asset` (tag code, asset tag or serial), `person` (student or staff ID), `due`."""
    asset = _event_asset(data, ctx)
    who = text(data, "person", max_len=120)
    person = find_person(who)
    if person is None or not person.seen_by(ctx.user):
        raise Rejected(f"No one on your campuses has the ID {who!r}.")
    due = _event_due(text(data, "due", required=False, max_len=40))
    try:
        loan = check_out(asset, person, by=ctx.user, due=due, via=ctx.via, at=ctx.at, event_id=ctx.event_id)
    except Invalid as exc:
        raise Rejected(exc.message) from exc
    return {"loan": loan.id, "asset_tag": asset.asset_tag, "person": person.name, "due_at": loan.due_at.isoformat()}


def apply_checkin_event(data: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """`loan.checkin`: data `asset`, optional `condition` and `note`."""
    asset = _event_asset(data, ctx)
    condition = choice(data, "condition", Condition)
    note = text(data, "note", required=False, max_len=2000) or ""
    try:
        loan = check_in(asset, by=ctx.user, condition=condition, note=note, via=ctx.via, at=ctx.at)
    except Invalid as exc:
        raise Rejected(exc.message) from exc
    return {"loan": loan.id, "asset_tag": asset.asset_tag, "person": loan.person.name}
