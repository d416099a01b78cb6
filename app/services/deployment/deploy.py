"""Deployment day: a student and a device become a 1:1 assignment with its accessories and the year's
acceptable-use agreement acknowledged; a device held over the summer goes back to its student in one scan."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    AccessoryOutcome,
    Asset,
    AssetStatus,
    Assignment,
    Campus,
    Deployment,
    Person,
    User,
    Via,
    utcnow,
)
from app.services import activity
from app.services.assets import assign, find_asset, open_assignment
from app.services.deployment import agreements, kits
from app.services.deployment.collect import held_collection
from app.services.errors import Invalid
from app.services.people import find_person

SEARCH_LIMIT = 8


@dataclass
class StationScan:
    """What one entry at a deployment station means: `kind` is person, device, redeploy, ask or refuse."""

    kind: str
    person: Person | None = None
    asset: Asset | None = None
    matches: list[Person] = field(default_factory=list)
    message: str = ""


def _station_person(campus: Campus, text: str, by: User) -> Person | None:
    person = find_person(text)
    if person is None or not person.active or not by.can_see_campus(person.campus_id):
        return None
    return person


def read_scan(campus: Campus, code: str, selected: Person | None, *, by: User) -> StationScan:
    """A student ID, a device, or part of a name, as a deployment station reads it."""
    code = (code or "").strip()
    if not code:
        return StationScan("refuse", selected, message="Scan a student ID or a device.")
    person = _station_person(campus, code, by)
    if person is not None:
        return StationScan("person", person)
    asset = find_asset(code)
    if asset is not None and by.can_see_campus(asset.campus_id):
        held = held_collection(asset)
        if held is not None and held.person is not None and (selected is None or selected.id == held.person_id):
            return StationScan("redeploy", held.person, asset)
        if selected is None:
            return StationScan(
                "refuse", message=f"Scan the student's ID (or type their name) before {asset.asset_tag}."
            )
        return StationScan("device", selected, asset)
    if len(code) >= 2:
        needle = code.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        found = list(
            db.session.scalars(
                sa.select(Person)
                .where(
                    Person.campus_id == campus.id,
                    Person.active.is_(True),
                    sa.func.lower(Person.name).like(f"%{needle}%", escape="\\"),
                )
                .order_by(Person.name, Person.id)
                .limit(SEARCH_LIMIT)
            )
        )
        if len(found) == 1:
            return StationScan("person", found[0])
        if found:
            return StationScan("ask", selected, matches=found)
    return StationScan("refuse", selected, message=f"No student or device on your campuses matches “{code}”.")


def standard_kit() -> list[kits.KitLine]:
    """The kinds every device goes out with (serials to be filled in at the station)."""
    return [kits.KitLine(kind) for kind in kits.kinds() if kind.standard]


def redeploy_kit(asset: Asset) -> list[kits.KitLine]:
    """What came back with a held device in June, to go out with it again: the same serials."""
    held = held_collection(asset)
    if held is None:
        return standard_kit()
    return [
        kits.KitLine(row.kind, row.serial)
        for row in kits.returned_with(held)
        if row.outcome is AccessoryOutcome.returned and row.kind.active
    ]


def _other_device(person: Person, asset: Asset) -> Assignment | None:
    return db.session.scalar(
        sa.select(Assignment)
        .where(Assignment.person_id == person.id, Assignment.returned_at.is_(None), Assignment.asset_id != asset.id)
        .limit(1)
    )


def check_deployable(asset: Asset, person: Person, *, by: User) -> bool:
    """Raise Invalid with the station's words when this device cannot go to this person now; True for a device
    held over the summer for them (a redeployment)."""
    if not by.can_see_campus(asset.campus_id):
        raise Invalid(f"{asset.asset_tag} belongs to another campus.", field="asset")
    if asset.status is AssetStatus.loaner:
        raise Invalid(f"{asset.asset_tag} is a loaner; lend it at the loaner desk.", field="asset")
    current = open_assignment(asset)
    held = held_collection(asset)
    if current is not None and current.person_id != person.id:
        if held is not None:
            raise Invalid(f"{asset.asset_tag} is held for {current.person.name} for next year.", field="asset")
        raise Invalid(f"{asset.asset_tag} is assigned to {current.person.name}; collect it first.", field="asset")
    if current is not None and held is None:
        raise Invalid(f"{asset.asset_tag} is already deployed to {person.name}.", field="asset")
    other = _other_device(person, asset)
    if other is not None:
        if held_collection(other.asset) is not None:
            raise Invalid(f"{other.asset.asset_tag} is held for {person.name}; scan it to hand it back.", field="asset")
        raise Invalid(f"{person.name} already has {other.asset.asset_tag}; collect it first.", field="asset")
    return current is not None


def deploy(
    asset: Asset,
    person: Person,
    *,
    kit: list[kits.KitLine],
    signed_name: str | None,
    signature_png: bytes | None,
    by: User,
    via: Via,
    station: str = "",
) -> Deployment:
    """Hand a device to a student for the year: the assignment, its accessories, the agreement acknowledged
    (already on file for this version, or given now) and a receipt."""
    at = utcnow()
    redeploy = check_deployable(asset, person, by=by)
    if not person.active:
        raise Invalid(f"{person.name} is no longer active in the roster.", field="person")
    agreement = agreements.current()
    if agreement is None:
        raise Invalid(
            f"There is no acceptable-use agreement for {agreements.school_year()} yet; an admin adds it in "
            "deployment setup.",
            field="agreement",
        )
    ack = agreements.ack_of(person, agreement) or agreements.acknowledge(
        person, agreement, signed_name=signed_name, signature_png=signature_png, by=by, via=via, at=at
    )
    lines = kits.check_kit(kit)
    if redeploy:
        # The summer holding ends as the device goes back out; its June return was logged then.
        holding = open_assignment(asset)
        assert holding is not None
        holding.returned_at = at
        holding.returned_by_id = by.id
        db.session.flush()
    row = assign(asset, person, by=by, via=via, at=at)
    deployment = Deployment(
        asset=asset,
        person=person,
        assignment=row,
        campus_id=asset.campus_id,
        ack=ack,
        at=at,
        by_id=by.id,
        redeployed=redeploy,
        station=(station or "").strip()[:40],
    )
    db.session.add(deployment)
    db.session.flush()
    kits.issue(asset, lines, deployment=deployment, at=at)
    with_kit = ", ".join(f"{line.kind.name}{f' {line.serial}' if line.serial else ''}" for line in lines)
    activity.record(
        "deployment.deploy",
        f"{'Handed back' if redeploy else 'Deployed'} {asset.asset_tag} to {person.name}"
        + (f" with {with_kit}" if with_kit else ""),
        by=by,
        via=via,
        asset=asset,
        person=person,
        subject=deployment,
        after={
            "assigned_to": person.name,
            "accessories": [line.kind.name for line in lines],
            "agreement": agreement.label,
            "redeployed": redeploy,
        },
    )
    return deployment
