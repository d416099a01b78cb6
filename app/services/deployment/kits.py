"""Accessory kinds a district defines, and the accessories that go out with a device and come back with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    AccessoryKind,
    AccessoryOutcome,
    AccessoryTracking,
    Asset,
    Collection,
    Deployment,
    IssuedAccessory,
    User,
    Via,
)
from app.services import activity, fees
from app.services.errors import Invalid

MAX_KINDS = 40


# Read once per sync batch (the engine clears "sync." keys) or request: a collection day sends returns by the hundred.
KINDS_KEY = "sync.deployment.kinds"
POLICY_KEY = "sync.deployment.policy"


def kinds(*, active_only: bool = True) -> list[AccessoryKind]:
    """The district's accessory kinds in the order stations list them."""
    every = db.session.info.get(KINDS_KEY)
    if every is None:
        order = (AccessoryKind.position, AccessoryKind.name, AccessoryKind.id)
        every = db.session.info[KINDS_KEY] = list(db.session.scalars(sa.select(AccessoryKind).order_by(*order)))
    return [k for k in every if k.active] if active_only else list(every)


def _forget_kinds() -> None:
    db.session.info.pop(KINDS_KEY, None)


def fee_amount(reason: str | None) -> Decimal | None:
    """The usual amount the fee schedule names for a reason (None when the schedule has no such reason)."""
    if not reason:
        return None
    schedule = db.session.info.get(POLICY_KEY)
    if schedule is None:
        schedule = db.session.info[POLICY_KEY] = {name.lower(): amount for name, amount in fees.policy()}
    return schedule.get(reason.lower())


def add_kind(
    name: str, *, tracking: AccessoryTracking, fee_reason: str | None, standard: bool, by: User, via: Via
) -> AccessoryKind:
    """A new accessory kind; its fee reason, when given, must be one of the fee schedule's."""
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("Name the accessory, such as Charger.", field="name")
    if len(name) > 80:
        raise Invalid("Keep the name under 80 characters.", field="name")
    if len(kinds(active_only=False)) >= MAX_KINDS:
        raise Invalid(f"A district keeps at most {MAX_KINDS} accessory kinds.", field="name")
    reason = (fee_reason or "").strip() or None
    if reason is not None and fee_amount(reason) is None:
        raise Invalid("Choose a reason from the fee schedule, or none.", field="fee_reason")
    if db.session.scalar(sa.select(AccessoryKind.id).where(sa.func.lower(AccessoryKind.name) == name.lower())):
        raise Invalid(f"There is already an accessory called {name}.", field="name")
    position = (db.session.scalar(sa.select(sa.func.max(AccessoryKind.position))) or 0) + 1
    kind = AccessoryKind(name=name, tracking=tracking, fee_reason=reason, standard=standard, position=position)
    _forget_kinds()
    try:
        with db.session.begin_nested():
            db.session.add(kind)
            db.session.flush()
    except IntegrityError as exc:
        raise Invalid(f"There is already an accessory called {name}.", field="name") from exc
    activity.record(
        "kit.kind",
        f"Added accessory kind {name}",
        by=by,
        via=via,
        subject=kind,
        after={"name": name, "tracking": tracking.value, "fee_reason": reason, "standard": standard},
    )
    return kind


def set_kind_active(kind: AccessoryKind, active: bool, *, by: User, via: Via) -> None:
    """Stop (or start again) listing a kind at stations; what was issued keeps its record."""
    if kind.active is active:
        return
    kind.active = active
    _forget_kinds()
    db.session.flush()
    activity.record(
        "kit.kind",
        f"{'Listed' if active else 'Retired'} accessory kind {kind.name}",
        by=by,
        via=via,
        subject=kind,
        before={"active": not active},
        after={"active": active},
    )


def open_accessories(asset: Asset) -> list[IssuedAccessory]:
    """What went out with the device and has not come back yet, in the kinds' order."""
    return list(
        db.session.scalars(
            sa.select(IssuedAccessory)
            .join(AccessoryKind, AccessoryKind.id == IssuedAccessory.kind_id)
            .where(IssuedAccessory.asset_id == asset.id, IssuedAccessory.closed_at.is_(None))
            .order_by(AccessoryKind.position, AccessoryKind.id)
        )
    )


@dataclass(frozen=True)
class KitLine:
    """One accessory handed out with a device: its kind, and its serial when the kind is tracked by serial."""

    kind: AccessoryKind
    serial: str | None = None


def check_kit(lines: list[KitLine]) -> list[KitLine]:
    """Serials where the kind needs one (and only there), one line per kind."""
    seen: set[int] = set()
    out = []
    for line in lines:
        if line.kind.id in seen:
            continue
        seen.add(line.kind.id)
        serial = " ".join((line.serial or "").split()).upper() or None
        if line.kind.tracking is AccessoryTracking.serial:
            if serial is None:
                raise Invalid(
                    f"Scan or type the {line.kind.name.lower()}'s serial or tag.", field=f"serial_{line.kind.id}"
                )
            if len(serial) > 64:
                raise Invalid(f"The {line.kind.name.lower()}'s serial is too long.", field=f"serial_{line.kind.id}")
        else:
            serial = None
        out.append(KitLine(line.kind, serial))
    return out


def issue(asset: Asset, lines: list[KitLine], *, deployment: Deployment, at: datetime) -> list[IssuedAccessory]:
    """Record the accessories that leave with the device (the deployment writes the activity entry)."""
    rows = [
        IssuedAccessory(
            asset_id=asset.id, kind_id=line.kind.id, serial=line.serial, issued_at=at, deployment=deployment
        )
        for line in lines
    ]
    try:
        with db.session.begin_nested():
            db.session.add_all(rows)
            db.session.flush()
    except IntegrityError as exc:
        taken = _serial_elsewhere(lines)
        if taken:
            raise Invalid(taken, field="kit") from exc
        raise Invalid(f"{asset.asset_tag} already has one of these out; collect it first.", field="kit") from exc
    return rows


def _serial_elsewhere(lines: list[KitLine]) -> str | None:
    for line in lines:
        if line.serial is None:
            continue
        other = db.session.scalar(
            sa.select(Asset.asset_tag)
            .join(IssuedAccessory, IssuedAccessory.asset_id == Asset.id)
            .where(
                IssuedAccessory.kind_id == line.kind.id,
                IssuedAccessory.serial == line.serial,
                IssuedAccessory.closed_at.is_(None),
            )
        )
        if other:
            return f"{line.kind.name} {line.serial} is out with {other}; collect it first."
    return None


@dataclass(frozen=True)
class Checked:
    """An accessory as a collection found it: returned or missing, and the fee the schedule suggests if missing."""

    kind: AccessoryKind
    outcome: AccessoryOutcome
    serial: str | None = None
    fee_reason: str | None = None
    fee_amount: Decimal | None = None


def check_in(asset: Asset, returned_kind_ids: set[int], *, collection: Collection, at: datetime) -> list[Checked]:
    """Close what went out with the device: ticked kinds came back, the rest are missing.

    A device with no accessories on record (handed out before the district kept kits) is expected to bring back its
    standard kinds; ticked kinds beyond those are recorded as returned, so the kit is known for next year.
    """
    out = open_accessories(asset)
    expected = {row.kind_id for row in out}
    if not out:
        for kind in kinds():
            if kind.standard or kind.id in returned_kind_ids:
                row = IssuedAccessory(asset_id=asset.id, kind_id=kind.id, issued_at=at)
                row.kind = kind
                db.session.add(row)
                out.append(row)
                expected.add(kind.id)
    for kind in kinds():
        if kind.id in returned_kind_ids and kind.id not in expected:
            row = IssuedAccessory(asset_id=asset.id, kind_id=kind.id, issued_at=at)
            row.kind = kind
            db.session.add(row)
            out.append(row)
    checked = []
    for row in out:
        outcome = AccessoryOutcome.returned if row.kind_id in returned_kind_ids else AccessoryOutcome.missing
        row.closed_at = at
        row.outcome = outcome
        row.collection = collection
        missing = outcome is AccessoryOutcome.missing
        reason = row.kind.fee_reason if missing else None
        checked.append(Checked(row.kind, outcome, row.serial, reason, fee_amount(reason)))
    db.session.flush()
    return checked


def returned_with(collection: Collection) -> list[IssuedAccessory]:
    """The accessories a collection checked, in the kinds' order."""
    return list(
        db.session.scalars(
            sa.select(IssuedAccessory)
            .join(AccessoryKind, AccessoryKind.id == IssuedAccessory.kind_id)
            .where(IssuedAccessory.collection_id == collection.id)
            .order_by(AccessoryKind.position, AccessoryKind.id)
        )
    )


def issued_with(deployment: Deployment) -> list[IssuedAccessory]:
    """The accessories handed out with a deployment, in the kinds' order."""
    return list(
        db.session.scalars(
            sa.select(IssuedAccessory)
            .join(AccessoryKind, AccessoryKind.id == IssuedAccessory.kind_id)
            .where(IssuedAccessory.deployment_id == deployment.id)
            .order_by(AccessoryKind.position, AccessoryKind.id)
        )
    )
