"""Inventory workflows: finding, creating and editing assets, assigning them to people."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Activity,
    Asset,
    AssetStatus,
    Assignment,
    Condition,
    DeviceModel,
    Observation,
    Person,
    Room,
    User,
    Via,
    search,
    utcnow,
)
from app.services import activity
from app.services.errors import Invalid, unique_fields
from app.tagcodes import looks_like_code, normalise, scanned_value

# Fields a person edits on the asset form; each change is logged with its before and after.
EDITABLE = (
    "asset_tag",
    "serial",
    "model_id",
    "campus_id",
    "home_room_id",
    "status",
    "condition",
    "purchase_date",
    "purchase_cost",
    "warranty_provider",
    "warranty_plan",
    "warranty_start",
    "warranty_end",
    "warranty_accidental",
    "warranty_battery",
    "notes",
)
# Statuses from which a device can be handed to a person for the long term.
ASSIGNABLE = {AssetStatus.deployed, AssetStatus.in_stock, AssetStatus.loaner}
SORTS = {
    "tag": Asset.asset_tag,
    "serial": Asset.serial,
    "status": Asset.status,
    "seen": Asset.last_seen_at,
    "updated": Asset.updated_at,
}


@dataclass
class AssetFilters:
    q: str = ""
    campus_id: int | None = None
    room_id: int | None = None
    status: AssetStatus | None = None
    condition: Condition | None = None
    model_id: int | None = None
    # Date ranges [from, to) for the dashboard's AUE and warranty links; `active` leaves out retired devices.
    aue_from: date | None = None
    aue_to: date | None = None
    warranty_from: date | None = None
    warranty_to: date | None = None
    active: bool = False
    sort: str = "tag"
    descending: bool = False


def visible_to(user: User, column: Any = Asset.campus_id) -> Any:
    """A WHERE clause limiting rows to the user's campuses (true for district-wide admins)."""
    ids = user.campus_ids
    return sa.true() if ids is None else column.in_(ids)


def _conditions(user: User, f: AssetFilters) -> list[Any]:
    clauses = [visible_to(user)]
    words = f.q.strip().lower().split()
    if words:
        clauses.append(search.contains_all(words[:8], db.session.get_bind().dialect.name, Asset.id, Asset.search_text))
    if f.campus_id:
        clauses.append(Asset.campus_id == f.campus_id)
    if f.room_id:
        clauses.append(sa.or_(Asset.home_room_id == f.room_id, Asset.current_room_id == f.room_id))
    if f.status:
        clauses.append(Asset.status == f.status)
    if f.condition:
        clauses.append(Asset.condition == f.condition)
    if f.model_id:
        clauses.append(Asset.model_id == f.model_id)
    if f.aue_from or f.aue_to:
        model_aue = sa.select(DeviceModel.aue_date).where(DeviceModel.id == Asset.model_id).scalar_subquery()
        aue = sa.func.coalesce(Asset.google_aue_date, model_aue)
        clauses += [aue >= f.aue_from] if f.aue_from else []
        clauses += [aue < f.aue_to] if f.aue_to else []
    if f.warranty_from:
        clauses.append(Asset.warranty_end >= f.warranty_from)
    if f.warranty_to:
        clauses.append(Asset.warranty_end < f.warranty_to)
    if f.active:
        clauses.append(Asset.status != AssetStatus.retired)
    return clauses


def _order(f: AssetFilters) -> list[Any]:
    col = SORTS.get(f.sort, Asset.asset_tag)
    order = col.desc() if f.descending else col.asc()
    if col is Asset.last_seen_at:
        order = order.nulls_last() if f.descending else order.nulls_first()
    if col is Asset.asset_tag:
        # Tags are unique: the unique index alone gives the order, with no sort step.
        return [order]
    return [order, Asset.id.desc() if f.descending else Asset.id.asc()]


def search_assets(user: User, f: AssetFilters) -> sa.Select:
    """The inventory query: the user's campuses, the filters, the search text, in a stable order."""
    return sa.select(Asset).where(*_conditions(user, f)).order_by(*_order(f))


@dataclass
class Page:
    """One page of results, with what a pager needs."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def asset_page(user: User, f: AssetFilters, page: int = 1, per_page: int = 50) -> Page:
    """A page of the inventory: ids from the indexes first, then just those rows with what the list shows."""
    page = max(1, page)
    conditions = _conditions(user, f)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Asset).where(*conditions)) or 0
    ids = list(
        db.session.scalars(
            sa.select(Asset.id).where(*conditions).order_by(*_order(f)).limit(per_page).offset((page - 1) * per_page)
        )
    )
    rows = (
        db.session.scalars(
            sa.select(Asset)
            .where(Asset.id.in_(ids))
            .options(
                selectinload(Asset.home_room),
                selectinload(Asset.current_room),
                selectinload(Asset.assigned_to),
                selectinload(Asset.last_seen_by),
            )
        ).all()
        if ids
        else []
    )
    by_id = {a.id: a for a in rows}
    return Page(items=[by_id[i] for i in ids if i in by_id], page=page, per_page=per_page, total=total)


def refresh_search_text(ids: list[int]) -> None:
    """Recompute what the inventory search matches for these devices (after their model was changed or renamed)."""
    db.session.expire_all()
    for start in range(0, len(ids), 1000):
        for asset in db.session.scalars(sa.select(Asset).where(Asset.id.in_(ids[start : start + 1000]))):
            asset.refresh_search_text()
    db.session.flush()


def find_asset(text: str) -> Asset | None:
    """The asset a scanned or typed value names: its tag code, asset tag or serial (any case)."""
    raw = scanned_value(text)
    if not raw:
        return None
    if looks_like_code(raw):
        hit = db.session.scalar(sa.select(Asset).where(Asset.tag_code == normalise(raw)))
        if hit:
            return hit
    hit = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == raw))
    if hit:
        return hit
    upper = raw.upper()
    return db.session.scalar(
        sa.select(Asset).where(sa.or_(Asset.asset_tag == upper, Asset.serial == upper, Asset.serial == raw))
    )


def _check_placement(values: dict[str, Any], by: User, kept_room_id: int | None = None) -> None:
    """The campus is the user's and the home room is on it and in use (or is the one the device already had)."""
    campus_id = values.get("campus_id")
    if campus_id is not None and not by.can_see_campus(campus_id):
        raise Invalid("You can only place devices on your own campuses.", field="campus_id")
    room_id = values.get("home_room_id")
    if room_id is not None:
        room = db.session.get(Room, room_id)
        if room is None or room.campus_id != campus_id:
            raise Invalid("That room is not on the chosen campus.", field="home_room_id")
        if not room.active and room.id != kept_room_id:
            raise Invalid(f"{room.code} is no longer in use; choose another room.", field="home_room_id")
    if values.get("model_id") is not None and db.session.get(DeviceModel, values["model_id"]) is None:
        raise Invalid("Choose a model from the list.", field="model_id")


# The unique fields of a device, with the message each gets when another device holds the value.
UNIQUE = {
    "asset_tag": "Another device already has this asset tag.",
    "serial": "Another device already has this serial number.",
}


def _check_unique(values: dict[str, Any], asset_id: int | None) -> None:
    for field, message in UNIQUE.items():
        value = values.get(field)
        if value is None:
            continue
        clash = db.session.scalar(
            sa.select(Asset.id).where(getattr(Asset, field) == value, Asset.id != (asset_id or 0))
        )
        if clash:
            raise Invalid(message, field=field)


def create_asset(values: dict[str, Any], *, by: User, via: Via) -> Asset:
    """Add a device to the inventory."""
    values = {k: v for k, v in values.items() if k in EDITABLE}
    _check_placement(values, by)
    _check_unique(values, None)
    asset = Asset(**values)
    asset.model = db.session.get(DeviceModel, values["model_id"])
    asset.refresh_search_text()
    with unique_fields(UNIQUE):
        db.session.add(asset)
    activity.record(
        "asset.create",
        f"Added {asset.asset_tag} ({asset.model})",
        by=by,
        via=via,
        asset=asset,
        subject=asset,
        after=activity.snapshot(asset, EDITABLE),
    )
    return asset


def update_asset(asset: Asset, values: dict[str, Any], *, by: User, via: Via) -> dict[str, Any]:
    """Apply edits to an asset; returns the fields that changed (empty when nothing did)."""
    values = {k: v for k, v in values.items() if k in EDITABLE}
    merged = {"campus_id": asset.campus_id, "home_room_id": asset.home_room_id, **values}
    _check_placement(merged, by, kept_room_id=asset.home_room_id)
    _check_unique(values, asset.id)
    model = db.session.get(DeviceModel, values["model_id"]) if "model_id" in values else None
    db.session.flush()
    before = activity.snapshot(asset, EDITABLE)
    with unique_fields(UNIQUE):
        for key, value in values.items():
            setattr(asset, key, value)
        if model is not None:
            asset.model = model
        if "condition" in values and before["condition"] != activity.plain(values["condition"]):
            asset.condition_at = utcnow()
        asset.refresh_search_text()
    old, new = activity.diff(before, activity.snapshot(asset, EDITABLE))
    if not new:
        return {}
    activity.record(
        "asset.update",
        f"Changed {', '.join(k.replace('_id', '').replace('_', ' ') for k in new)} of {asset.asset_tag}",
        by=by,
        via=via,
        asset=asset,
        subject=asset,
        before=old,
        after=new,
    )
    return new


def open_assignment(asset: Asset) -> Assignment | None:
    return db.session.scalar(
        sa.select(Assignment).where(Assignment.asset_id == asset.id, Assignment.returned_at.is_(None))
    )


def assign(asset: Asset, person: Person, *, by: User, via: Via, at: datetime | None = None) -> Assignment:
    """Hand a device to a person for the long term; the device becomes `deployed`."""
    if asset.status not in ASSIGNABLE:
        raise Invalid(f"{asset.asset_tag} is {asset.status.label}; it cannot be assigned.", field="person")
    if not person.active:
        raise Invalid(f"{person.name} is no longer active in the roster.", field="person")
    if not person.seen_by(by):
        raise Invalid("That person is not on one of your campuses.", field="person")
    current = open_assignment(asset)
    if current is not None:
        if current.person_id == person.id:
            raise Invalid(f"{asset.asset_tag} is already assigned to {person.name}.", field="person")
        raise Invalid(f"{asset.asset_tag} is assigned to someone else; return it first.", field="person")
    before = {"assigned_to": activity.plain(asset.assigned_to), "status": asset.status.value}
    row = Assignment(asset=asset, person=person, assigned_at=at or utcnow(), assigned_by_id=by.id)
    try:
        # Added inside the savepoint: begin_nested() flushes what is pending first, outside its protection.
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError as exc:
        raise Invalid(f"{asset.asset_tag} was just assigned by someone else.", field="person") from exc
    asset.assigned_to = person
    asset.status = AssetStatus.deployed
    asset.refresh_search_text()
    activity.record(
        "asset.assign",
        f"Assigned {asset.asset_tag} to {person.name}",
        by=by,
        via=via,
        asset=asset,
        person=person,
        subject=row,
        before=before,
        after={"assigned_to": person.name, "status": asset.status.value},
    )
    return row


def unassign(
    asset: Asset, *, by: User, via: Via, condition: Condition | None = None, status: AssetStatus = AssetStatus.in_stock
) -> Assignment:
    """Take a device back from the person it was assigned to, noting its condition."""
    row = open_assignment(asset)
    if row is None:
        raise Invalid(f"{asset.asset_tag} is not assigned to anyone.", field="condition")
    now = utcnow()
    row.returned_at = now
    row.returned_by_id = by.id
    row.return_condition = condition
    before = {"assigned_to": row.person.name, "status": asset.status.value, "condition": asset.condition.value}
    asset.assigned_to = None
    asset.status = status
    if condition is not None and condition is not asset.condition:
        asset.condition = condition
        asset.condition_at = now
    asset.refresh_search_text()
    db.session.flush()
    activity.record(
        "asset.return",
        f"{row.person.name} returned {asset.asset_tag}" + (f" ({condition.value})" if condition else ""),
        by=by,
        via=via,
        asset=asset,
        person=row.person,
        subject=row,
        before=before,
        after={"assigned_to": None, "status": asset.status.value, "condition": asset.condition.value},
    )
    return row


@dataclass
class TimelineEntry:
    """One line of an asset's history: a logged change or a sighting."""

    at: datetime
    kind: str  # "change" or "seen"
    summary: str
    who: str
    via: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def timeline(asset: Asset, limit: int = 100) -> list[TimelineEntry]:
    """Everything that happened to an asset, newest first: its activity entries and every scan of it."""
    changes = db.session.scalars(
        sa.select(Activity)
        .where(Activity.asset_id == asset.id)
        .order_by(Activity.at.desc(), Activity.id.desc())
        .limit(limit)
    )
    sightings = db.session.scalars(
        sa.select(Observation)
        .where(Observation.asset_id == asset.id)
        .order_by(Observation.at.desc(), Observation.id.desc())
        .limit(limit)
    )
    entries = [
        TimelineEntry(
            at=e.at,
            kind="change",
            summary=e.summary,
            who=e.user.name if e.user else "system",
            via=e.via.value,
            before=e.before,
            after=e.after,
        )
        for e in changes
    ] + [
        TimelineEntry(
            at=o.at,
            kind="seen",
            summary=f"Seen in {o.room}" if o.room else "Seen",
            who=o.by.name if o.by else "system",
            via=o.via.value,
            after={
                k: v
                for k, v in (
                    ("condition", o.condition.value if o.condition else None),
                    ("note", o.note),
                    ("source", o.source.value),
                )
                if v
            },
        )
        for o in sightings
    ]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
