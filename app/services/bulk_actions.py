"""Bulk actions on the device list: one change to many devices, all or nothing, one activity entry per device.

A selection is either the ids ticked on a page or "every device matching this filter"; the filter is evaluated
here, within the user's campuses, at the moment the action runs, never taken as a list of ids from the page.
Status changes and room moves are set-based (one UPDATE per thousand devices, the log written with the driver's
executemany); each UPDATE repeats the rules in its WHERE clause and must touch exactly the rows planned, so a
device that changed between the check and the write refuses the whole action instead of slipping through.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa

from app import bulk
from app.extensions import db
from app.models import Activity, Asset, AssetStatus, Campus, Loan, Room, TicketCategory, User, Via, utcnow
from app.services import snipeit
from app.services import tickets as ticket_service
from app.services.assets import AssetFilters, search_assets, visible_to
from app.services.errors import Invalid

# The most devices one action takes; past it the person narrows the filter.
MAX_DEVICES = 10_000
# Opening a ticket is a workflow per device (its number, its first event, its log entry): fewer at once.
MAX_TICKETS = 1_000
# Ids per IN list: well under SQLite's 32,766 parameters, and a statement PostgreSQL plans quickly.
CHUNK = 1_000
# Record ids are 32-bit integers: a larger ticked id names no device.
MAX_ROW_ID = 2**31 - 1
# Refusals named in a message; the rest are counted.
SHOWN = 5
# Statuses that mean the device is on a shelf or out of service: wrong for one a person has (assigned or lent).
SHELF = frozenset({AssetStatus.in_stock, AssetStatus.loaner, AssetStatus.retired})


@dataclass(frozen=True)
class Selection:
    """The devices an action is for: ids ticked on a page, or (filters given) every device matching them."""

    ids: tuple[int, ...] = ()
    filters: AssetFilters | None = None

    @property
    def everything(self) -> bool:
        return self.filters is not None


@dataclass(frozen=True)
class Device:
    """What the rules read of one chosen device."""

    id: int
    asset_tag: str
    campus_id: int
    status: AssetStatus
    home_room_id: int | None
    in_hands: bool


@dataclass(frozen=True)
class Refusal:
    """A device the action cannot change, and why."""

    device: str
    reason: str


@dataclass
class Plan:
    """What an action would do: the devices it changes, those already as asked, and those it refuses."""

    devices: list[Device]
    # Ticked ids not on the user's campuses, then chosen devices the action's rules refuse.
    missing: list[Refusal] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    change: list[Device] = field(default_factory=list)

    @property
    def refusals(self) -> list[Refusal]:
        return self.missing + self.refused

    @property
    def total(self) -> int:
        return len(self.devices) + len(self.missing)

    @property
    def unchanged(self) -> int:
        return len(self.devices) - len(self.change) - len(self.refused)


class Refused(Invalid):
    """Some chosen devices cannot take the change, so none did: the first few by name, and how many in all."""

    def __init__(self, refusals: Sequence[Refusal], total: int):
        self.refusals = list(refusals)
        self.total = total
        first = "; ".join(f"{r.device}: {r.reason}" for r in self.refusals[:SHOWN])
        more = len(self.refusals) - SHOWN
        tail = f"; and {more:,} more." if more > 0 else "."
        super().__init__(
            f"Nothing was changed: {len(self.refusals):,} of {total:,} devices cannot be. {first}{tail}", field="ids"
        )


def _in_hands() -> sa.ColumnElement[bool]:
    """True for a device assigned to a person or out on loan."""
    on_loan = sa.exists().where(Loan.asset_id == Asset.id, Loan.returned_at.is_(None))
    return sa.or_(Asset.assigned_to_id.is_not(None), on_loan)


def _columns() -> list[Any]:
    return [
        Asset.id,
        Asset.asset_tag,
        Asset.campus_id,
        Asset.status,
        Asset.home_room_id,
        _in_hands().label("in_hands"),
    ]


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _too_many(limit: int) -> Invalid:
    return Invalid(f"Choose at most {limit:,} devices at a time; narrow the filter.", field="ids")


def count(user: User, selection: Selection) -> int:
    """How many devices the selection holds on the user's campuses."""
    if selection.filters is not None:
        stmt = search_assets(user, selection.filters).order_by(None).with_only_columns(sa.func.count(Asset.id))
        return db.session.scalar(stmt) or 0
    total = 0
    for chunk in _chunks([i for i in selection.ids if i <= MAX_ROW_ID]):
        stmt = sa.select(sa.func.count(Asset.id)).where(Asset.id.in_(chunk), visible_to(user))
        total += db.session.scalar(stmt) or 0
    return total


def load(user: User, selection: Selection, limit: int = MAX_DEVICES) -> tuple[list[Device], list[Refusal]]:
    """The chosen devices in list order, and a refusal for each ticked id that is not on the user's campuses
    (a device moved away since the page was shown, or one that never was theirs: named only by its id)."""
    if selection.filters is not None:
        stmt = search_assets(user, selection.filters).with_only_columns(*_columns()).limit(limit + 1)
        devices = [Device(*row) for row in db.session.execute(stmt)]
        if not devices:
            raise Invalid("No devices match this filter.", field="ids")
        if len(devices) > limit:
            raise _too_many(limit)
        return devices, []
    ids = list(dict.fromkeys(selection.ids))
    if not ids:
        raise Invalid("Choose at least one device.", field="ids")
    if len(ids) > limit:
        raise _too_many(limit)
    found: dict[int, Device] = {}
    # Ids past the column's 32 bits cannot exist (and PostgreSQL refuses to compare with them).
    for chunk in _chunks([i for i in ids if i <= MAX_ROW_ID]):
        stmt = sa.select(*_columns()).where(Asset.id.in_(chunk), visible_to(user))
        found.update((row.id, Device(*row)) for row in db.session.execute(stmt))
    refusals = [Refusal(f"#{i}", "not found on your campuses") for i in ids if i not in found]
    return [found[i] for i in ids if i in found], refusals


def status_refusal(status: AssetStatus, in_hands: bool) -> str | None:
    """Why a device cannot take this status, or None: one a person has cannot go back on the shelf or retire."""
    if in_hands and status in SHELF:
        return f"a person has it; take it back or check it in before marking it {status.label}"
    return None


def in_hands(asset: Asset) -> bool:
    """Whether a person has this device now (assigned to them, or out on loan)."""
    return bool(db.session.scalar(sa.select(_in_hands()).where(Asset.id == asset.id)))


def plan_status(user: User, selection: Selection, status: AssetStatus) -> Plan:
    """What changing the selection's status would do."""
    devices, missing = load(user, selection)
    plan = Plan(devices, missing)
    for d in devices:
        reason = status_refusal(status, d.in_hands)
        if reason:
            plan.refused.append(Refusal(d.asset_tag, reason))
        elif d.status is not status:
            plan.change.append(d)
    return plan


def _room_names(ids: set[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for chunk in _chunks(sorted(ids)):
        names.update(
            {i: code for i, code in db.session.execute(sa.select(Room.id, Room.code).where(Room.id.in_(chunk)))}
        )
    return names


def check_room(room: Room | None, by: User) -> Room:
    """The room devices are moved to: one in use on the user's campuses."""
    if room is None or not by.can_see_campus(room.campus_id):
        raise Invalid("Choose a room on your campuses.", field="to_room")
    if not room.active:
        raise Invalid(f"{room.code} is no longer in use; choose another room.", field="to_room")
    return room


def plan_move(user: User, selection: Selection, room: Room) -> Plan:
    """What moving the selection's home room to `room` would do: devices of other campuses cannot go there."""
    check_room(room, user)
    devices, missing = load(user, selection)
    plan = Plan(devices, missing)
    campuses = {i: code for i, code in db.session.execute(sa.select(Campus.id, Campus.code))}
    for d in devices:
        if d.campus_id != room.campus_id:
            reason = f"it belongs to {campuses.get(d.campus_id, '?')}; {room.code} is on {room.campus.code}"
            plan.refused.append(Refusal(d.asset_tag, reason))
        elif d.home_room_id != room.id:
            plan.change.append(d)
    return plan


def _write(
    plan: Plan,
    values: dict[str, Any],
    rules: list[Any],
    entries: list[dict[str, Any]],
    *,
    by: User,
    via: Via,
) -> int:
    """Apply `values` to the plan's devices in chunks, each UPDATE held to `rules`, and log one entry a device."""
    if plan.refusals:
        raise Refused(plan.refusals, plan.total)
    now = utcnow()
    ids = [d.id for d in plan.change]
    for chunk in _chunks(ids):
        stmt = (
            sa.update(Asset)
            .where(Asset.id.in_(chunk), visible_to(by), *rules)
            .values(**values, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if cast(sa.CursorResult, db.session.execute(stmt)).rowcount != len(chunk):
            raise Invalid("Some of these devices changed just now, so nothing was changed; try again.", field="ids")
    bulk.insert_many(
        Activity.__table__,
        entries,
        same={"at": now, "via": via, "user_id": by.id, "action": "asset.update", "subject_type": "assets"},
    )
    # Devices already loaded in this session read their new values from the database.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Asset):
            db.session.expire(obj)
    return len(ids)


def change_status(user: User, selection: Selection, status: AssetStatus, *, via: Via) -> Plan:
    """Set the status of every chosen device, or of none when any is refused."""
    plan = plan_status(user, selection, status)
    rules = [sa.not_(_in_hands())] if status in SHELF else []
    entries = [
        {
            "asset_id": d.id,
            "subject_id": d.id,
            "campus_id": d.campus_id,
            "summary": f"Changed status of {d.asset_tag}",
            "before": {"status": d.status.value},
            "after": {"status": status.value},
        }
        for d in plan.change
    ]
    _write(plan, {"status": status}, rules, entries, by=user, via=via)
    return plan


def move(user: User, selection: Selection, room: Room, *, via: Via) -> Plan:
    """Make `room` the home room of every chosen device, or of none when any is refused."""
    plan = plan_move(user, selection, room)
    names = _room_names({d.home_room_id for d in plan.change if d.home_room_id})
    entries = [
        {
            "asset_id": d.id,
            "subject_id": d.id,
            "campus_id": d.campus_id,
            "summary": f"Changed home room of {d.asset_tag}",
            "before": {"home_room": names.get(d.home_room_id) if d.home_room_id else None},
            "after": {"home_room": room.code},
        }
        for d in plan.change
    ]
    _write(plan, {"home_room_id": room.id}, [Asset.campus_id == room.campus_id], entries, by=user, via=via)
    return plan


def assets(user: User, selection: Selection, limit: int = MAX_DEVICES) -> list[Asset]:
    """The chosen devices themselves, in list order; any ticked id not on the user's campuses refuses them all."""
    devices, refusals = load(user, selection, limit)
    if refusals:
        raise Refused(refusals, len(devices) + len(refusals))
    ids = [d.id for d in devices]
    by_id: dict[int, Asset] = {}
    for chunk in _chunks(ids):
        by_id.update((a.id, a) for a in db.session.scalars(sa.select(Asset).where(Asset.id.in_(chunk))))
    return [by_id[i] for i in ids]


def open_tickets(
    user: User, selection: Selection, category: TicketCategory, description: str, *, via: Via
) -> list[Any]:
    """Open a staff ticket for every chosen device (the same workflow as one ticket), or for none."""
    chosen = assets(user, selection, MAX_TICKETS)
    return [
        ticket_service.open_ticket(asset, category=category, description=description, by=user, via=via)
        for asset in chosen
    ]


def export_csv(user: User, selection: Selection) -> Iterator[str]:
    """The inventory CSV (Snipe-IT's columns) of just the chosen devices on the user's campuses."""
    if selection.filters is not None:
        chosen: Any = search_assets(user, selection.filters).order_by(None).with_only_columns(Asset.id)
        if count(user, selection) == 0:
            raise Invalid("No devices match this filter.", field="ids")
    else:
        if not selection.ids:
            raise Invalid("Choose at least one device.", field="ids")
        if len(selection.ids) > MAX_DEVICES:
            raise _too_many(MAX_DEVICES)
        chosen = [i for i in selection.ids if i <= MAX_ROW_ID]
    return snipeit.export_csv(user.campus_ids, only=Asset.id.in_(chosen))
