"""Collection day: a device handed back at a station, once per holding however many stations scan it (online or
through the outbox's `collect.return` events), with its accessories checked, damage sent to repair, fees suggested,
and optionally held over the summer still assigned to its student."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.i18n import campus_zone
from app.models import (
    AccessoryOutcome,
    Asset,
    AssetStatus,
    Assignment,
    Collection,
    Condition,
    Fee,
    Person,
    TicketCategory,
    User,
    Via,
    utcnow,
)
from app.services import activity, fees
from app.services import tickets as ticket_service
from app.services.assets import find_asset, open_assignment
from app.services.deployment import kits
from app.services.errors import Invalid
from app.services.people import find_person
from app.services.sync import Context, Rejected, choice, text

DAMAGE = {Condition.damaged, Condition.broken}


class AlreadyReturned(Invalid):
    """Another station (or this one, earlier) already recorded this device's return; `collection` is that return."""

    def __init__(self, collection: Collection):
        super().__init__(already_words(collection), field="asset")
        self.collection = collection


def already_words(collection: Collection) -> str:
    """What the second station is told: when, where and by whom the device was already returned."""
    local = collection.at.astimezone(campus_zone(collection.asset.campus)).strftime("%a %b %-d, %-H:%M")
    where = f" at {collection.station}" if collection.station else ""
    who = f" by {collection.by.name}" if collection.by else ""
    whose = f" from {collection.person.name}" if collection.person else ""
    return f"{collection.asset.asset_tag} was already returned{whose} {local}{where}{who}; this scan was not recorded."


def latest_assignment(asset: Asset) -> Assignment | None:
    """The device's most recent assignment, open or closed."""
    return db.session.scalar(
        sa.select(Assignment).where(Assignment.asset_id == asset.id).order_by(Assignment.id.desc()).limit(1)
    )


def by_cycle(cycle: str) -> Collection | None:
    return db.session.scalar(sa.select(Collection).where(Collection.cycle == cycle))


def pending_cycle(asset: Asset) -> tuple[Assignment | None, str]:
    """The holding a return of this device would close: its open assignment, or (assigned to no one) the time since
    its last assignment, named as Collection.cycle names it."""
    assignment = open_assignment(asset)
    if assignment is not None:
        return assignment, f"a{assignment.id}"
    latest = latest_assignment(asset)
    if latest is not None and by_cycle(f"a{latest.id}") is not None:
        # Its assignment ended with a return at a station: that return is the one a second scan repeats.
        return None, f"a{latest.id}"
    return None, f"u{asset.id}-{latest.id if latest else 0}"


def held_collection(asset: Asset) -> Collection | None:
    """The summer return of a device still assigned to its student for next year, if it is held so."""
    assignment = open_assignment(asset)
    if assignment is None:
        return None
    found = by_cycle(f"a{assignment.id}")
    return found if found is not None and found.held else None


def collect(
    asset: Asset,
    *,
    by: User,
    via: Via,
    returned: set[int],
    condition: Condition | None,
    note: str = "",
    hold: bool = False,
    person: Person | None = None,
    at: datetime | None = None,
    station: str = "",
    event_id: str | None = None,
) -> Collection:
    """Record a device handed back: the student comes from its assignment (`person` only for one assigned to no
    one); ticked accessory kinds came back, the rest are missing; damage opens a ticket. With `hold` it stays
    assigned for next year. A second return of the same holding raises AlreadyReturned."""
    if not by.can_see_campus(asset.campus_id):
        raise Invalid(f"{asset.asset_tag} belongs to another campus; collect it there.", field="asset")
    assignment, cycle = pending_cycle(asset)
    existing = by_cycle(cycle)
    if existing is not None:
        raise AlreadyReturned(existing)
    holder = assignment.person if assignment is not None else person
    if holder is None:
        raise Invalid(f"{asset.asset_tag} is assigned to no one; scan the student's ID too.", field="person")
    if assignment is None:
        if not by.can_see_campus(holder.campus_id):
            raise Invalid("That person is not on one of your campuses.", field="person")
        if hold:
            raise Invalid(f"{asset.asset_tag} is assigned to no one, so it cannot be held for them.", field="hold")
    now = utcnow()
    at = min(at or now, now)
    if assignment is not None:
        # A phone's clock can lag: a return never happens before the device was handed out.
        at = max(at, assignment.assigned_at)
    note = (note or "").strip()[:2000]
    collection = Collection(
        asset=asset,
        person=holder,
        assignment=assignment,
        cycle=cycle,
        campus_id=asset.campus_id,
        at=at,
        recorded_at=now,
        by_id=by.id,
        condition=condition,
        note=note,
        held=hold,
        station=(station or "").strip()[:40],
        source_event_id=event_id,
    )
    try:
        # Two stations returning the same device: the unique cycle lets one through, the other hears about it.
        with db.session.begin_nested():
            db.session.add(collection)
            db.session.flush()
    except IntegrityError as exc:
        winner = by_cycle(cycle)
        if winner is None:
            raise Invalid(f"{asset.asset_tag} could not be collected just now; try again.", field="asset") from exc
        raise AlreadyReturned(winner) from exc
    checked = kits.check_in(asset, returned, collection=collection, at=at)
    before = {"status": asset.status.value, "condition": asset.condition.value, "assigned_to": holder.name}
    _settle_device(asset, assignment, collection, by=by)
    if condition in DAMAGE:
        collection.ticket = _damage_ticket(asset, holder, collection, by=by, via=via)
    db.session.flush()
    missing = [c.kind.name for c in checked if c.outcome is AccessoryOutcome.missing]
    summary = f"{holder.name} returned {asset.asset_tag}" + (f" ({condition.value})" if condition else "")
    if missing:
        summary += f"; missing {', '.join(missing)}"
    if hold:
        summary += f"; held for {holder.name} next year"
    if collection.ticket is not None:
        summary += f"; opened {collection.ticket.number}"
    after: dict[str, Any] = {
        "status": asset.status.value,
        "condition": asset.condition.value,
        "assigned_to": holder.name if hold else None,
        "returned": [c.kind.name for c in checked if c.outcome is AccessoryOutcome.returned],
        "missing": missing,
    }
    if collection.station:
        after["station"] = collection.station
    activity.record(
        "deployment.collect",
        summary,
        by=by,
        via=via,
        asset=asset,
        person=holder,
        subject=collection,
        before=before,
        after=after,
    )
    return collection


def _settle_device(asset: Asset, assignment: Assignment | None, collection: Collection, *, by: User) -> None:
    """The device is back with the district: its assignment ends, unless it is held for the same student."""
    condition, at = collection.condition, collection.at
    # Projections follow event time: a late-arriving return never overwrites a newer condition.
    if condition is not None and (asset.condition_at is None or at >= asset.condition_at):
        asset.condition = condition
        asset.condition_at = at
    if asset.status is AssetStatus.deployed:
        asset.status = AssetStatus.in_stock
    if assignment is not None and not collection.held:
        assignment.returned_at = at
        assignment.returned_by_id = by.id
        assignment.return_condition = condition
        asset.assigned_to = None
        asset.refresh_search_text()


def _damage_ticket(asset: Asset, holder: Person, collection: Collection, *, by: User, via: Via):
    assert collection.condition is not None
    description = f"Came back {collection.condition.value} at collection from {holder.name} ({holder.external_id})."
    if collection.note:
        description += f" Station note: {collection.note}"
    return ticket_service.open_ticket(asset, category=TicketCategory.other, description=description, by=by, via=via)


# Fees the schedule suggests --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """A fee the schedule suggests for a return: a missing accessory's reason, or damage (any reason of the
    schedule); `charged` once someone charged it."""

    reason: str | None
    amount: Decimal | None
    why: str
    charged: bool = False


def suggested_fees(collection: Collection) -> list[Suggestion]:
    """Missing accessories with a fee reason, and damage, for a return; nothing when no one is to be charged."""
    if collection.person is None:
        return []
    charged = set(
        db.session.scalars(
            sa.select(Fee.reason).where(
                Fee.person_id == collection.person_id,
                Fee.asset_id == collection.asset_id,
                Fee.created_at >= collection.recorded_at,
            )
        )
    )
    out = []
    for row in kits.returned_with(collection):
        if row.outcome is AccessoryOutcome.missing and row.kind.fee_reason:
            amount = kits.fee_amount(row.kind.fee_reason)
            if amount is not None:
                why = f"{row.kind.name} not returned"
                out.append(Suggestion(row.kind.fee_reason, amount, why, row.kind.fee_reason in charged))
    if collection.condition in DAMAGE:
        damage = [r for r, _a in fees.policy() if r in charged]
        out.append(Suggestion(None, None, f"Came back {collection.condition.value}", bool(damage)))
    return out


def charge(collection: Collection, reason: str, *, by: User, via: Via) -> Fee:
    """Charge the student a suggested fee at the schedule's amount for that reason."""
    if collection.person is None:
        raise Invalid("No one returned this device, so no one can be charged.", field="reason")
    amount = kits.fee_amount(reason)
    if amount is None:
        raise Invalid("Choose a reason from the fee schedule.", field="reason")
    if any(s.reason == reason and s.charged for s in suggested_fees(collection)):
        raise Invalid(f"{collection.person.name} was already charged for {reason} on this return.", field="reason")
    accessory = any(s.reason == reason for s in suggested_fees(collection))
    ticket = collection.ticket if collection.condition in DAMAGE and not accessory else None
    return fees.charge(
        collection.person, amount=amount, reason=reason, by=by, via=via, asset=collection.asset, ticket=ticket
    )


# The outbox's `collect.return` event -------------------------------------------------------------------------------


def _kind_ids(value: Any) -> set[int]:
    """The accessory kinds an event says came back: a list of their names (any case) or ids."""
    if value is None:
        return set()
    if not isinstance(value, list) or len(value) > kits.MAX_KINDS:
        raise Rejected("The accessories must be a list of accessory names.")
    by_name = {k.name.lower(): k.id for k in kits.kinds(active_only=False)}
    ids = set(by_name.values())
    out = set()
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise Rejected("The accessories must be a list of accessory names.")
        if isinstance(item, int):
            if item not in ids:
                raise Rejected(f"No accessory kind has the id {item}.")
            out.add(item)
            continue
        found = by_name.get(" ".join(item.split()).lower())
        if found is None:
            raise Rejected(f"No accessory is called {item[:80]!r}.")
        out.add(found)
    return out


def apply_collect_event(data: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """`collect.return`: data `asset` (tag code, asset tag or serial), optional `accessories` (names that came back),
    `condition`, `note`, `hold` (true: stays assigned for next year), `person` (only for a device assigned to no one)
    and `station` (the station's name)."""
    code = text(data, "asset", max_len=120)
    asset = find_asset(code)
    if asset is None or not ctx.user.can_see_campus(asset.campus_id):
        raise Rejected(f"No device on your campuses matches {code!r}.")
    returned = _kind_ids(data.get("accessories"))
    condition = choice(data, "condition", Condition)
    note = text(data, "note", required=False, max_len=2000) or ""
    hold = data.get("hold", False)
    if not isinstance(hold, bool):
        raise Rejected("The hold must be true or false.")
    who = text(data, "person", required=False, max_len=120)
    person = None
    if who is not None:
        person = find_person(who)
        if person is None or not ctx.user.can_see_campus(person.campus_id):
            raise Rejected(f"No one on your campuses has the ID {who!r}.")
    station = text(data, "station", required=False, max_len=40) or ""
    try:
        done = collect(
            asset,
            by=ctx.user,
            via=ctx.via,
            returned=returned,
            condition=condition,
            note=note,
            hold=hold,
            person=person,
            at=ctx.at,
            station=station,
            event_id=ctx.event_id,
        )
    except Invalid as exc:
        raise Rejected(exc.message) from exc
    return {
        "collection": done.id,
        "asset_tag": asset.asset_tag,
        "person": done.person.name if done.person else "",
        "held": done.held,
        "ticket": done.ticket.number if done.ticket else None,
        "missing": [r.kind.name for r in kits.returned_with(done) if r.outcome is AccessoryOutcome.missing],
    }
