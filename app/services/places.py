"""Campuses and their rooms: the places devices belong to, which admins set up and keep current."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, Campus, Room, RoomKind, User, Via
from app.services import activity
from app.services.csvio import pasted_lines
from app.services.errors import Forbidden, Invalid, unique_fields

# What an admin edits on a campus (its code names it in URLs, imports and room codes, so it stays).
CAMPUS_FIELDS = ("name", "timezone", "day_ends_at", "loan_days", "audit_interval_days", "ship_address")
ROOM_FIELDS = ("name", "kind", "active")
CODE = re.compile(r"^[A-Z0-9](?:[A-Z0-9-]*[A-Z0-9])?$")
CAMPUS_CODE_MAX = 16
ROOM_CODE_MAX = 32
ROOM_LINES_MAX = 500
CAMPUS_TAKEN = "Another campus already has this code."


@cache
def time_zones() -> tuple[str, ...]:
    """IANA zones a campus can be in, by name (the legacy aliases left out)."""
    return tuple(sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))))


def campus_code(text: str) -> str:
    code = (text or "").strip().upper()
    if not code:
        raise Invalid("Enter a code, such as LHS.", field="code")
    if len(code) > CAMPUS_CODE_MAX or not CODE.match(code):
        raise Invalid(
            f"Use up to {CAMPUS_CODE_MAX} letters, digits and inner dashes, such as LHS or ELM-K8.", field="code"
        )
    return code


def room_code(campus: Campus, text: str) -> str:
    """A district-wide room code: what was typed, upper-cased, prefixed with the campus code when it lacks it."""
    code = re.sub(r"\s+", "-", (text or "").strip().upper())
    if not code:
        raise Invalid("Enter the room's code, such as 117.", field="code")
    if not code.startswith(f"{campus.code}-"):
        code = f"{campus.code}-{code}"
    if len(code) > ROOM_CODE_MAX or not CODE.match(code):
        raise Invalid(
            f"Use letters, digits and dashes, up to {ROOM_CODE_MAX} characters with the campus code.", field="code"
        )
    return code


def _check_campus(values: dict[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in values.items() if k in CAMPUS_FIELDS}
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            raise Invalid("Enter the campus's name.", field="name")
    if "timezone" in values and values["timezone"] not in time_zones():
        raise Invalid("Choose a time zone from the list, such as America/Los_Angeles.", field="timezone")
    if "day_ends_at" in values and not isinstance(values["day_ends_at"], time):
        raise Invalid("Enter the time the school day ends, such as 15:30.", field="day_ends_at")
    if "loan_days" in values and not (isinstance(values["loan_days"], int) and 0 <= values["loan_days"] <= 365):
        raise Invalid("Enter 0 (due at the end of the school day) up to 365 days.", field="loan_days")
    if "ship_address" in values:
        lines = (values["ship_address"] or "").splitlines()
        values["ship_address"] = "\n".join(line.strip() for line in lines if line.strip())
        if len(values["ship_address"]) > 500:
            raise Invalid("At most 500 characters.", field="ship_address")
    interval = values.get("audit_interval_days", 1)
    if not (isinstance(interval, int) and 1 <= interval <= 3650):
        raise Invalid("Enter a number of days from 1 to 3650.", field="audit_interval_days")
    return values


def _campus_entry(action: str, summary: str, campus: Campus, by: User | None, via: Via, **change: Any) -> None:
    activity.record(action, summary, by=by, via=via, campus_id=campus.id, subject=campus, **change)


def create_campus(code: str, values: dict[str, Any], *, by: User | None, via: Via) -> Campus:
    """A new campus; only district-wide admins (or the command line) add campuses."""
    if by is not None and not by.district_wide:
        raise Forbidden("Only a district-wide admin can add a campus.")
    code = campus_code(code)
    values = _check_campus(values)
    if "name" not in values:
        raise Invalid("Enter the campus's name.", field="name")
    if db.session.scalar(sa.select(Campus.id).where(Campus.code == code)):
        raise Invalid(CAMPUS_TAKEN, field="code")
    campus = Campus(code=code, **values)
    with unique_fields({"code": CAMPUS_TAKEN}):
        db.session.add(campus)
    _campus_entry(
        "campus.create",
        f"Added campus {code} ({campus.name})",
        campus,
        by,
        via,
        after={"code": code, **activity.snapshot(campus, CAMPUS_FIELDS)},
    )
    return campus


def update_campus(campus: Campus, values: dict[str, Any], *, by: User | None, via: Via) -> dict[str, Any]:
    """Change a campus's settings; returns what changed (field: new value)."""
    old, new = activity.apply(campus, _check_campus(values), CAMPUS_FIELDS)
    if new:
        db.session.flush()
        _campus_entry("campus.update", f"Changed campus {campus.code}", campus, by, via, before=old, after=new)
    return new


@dataclass(frozen=True)
class RoomLine:
    code: str
    name: str
    kind: RoomKind


def parse_room_lines(text: str) -> list[RoomLine]:
    """Rooms pasted one per line as `code, name, kind`, name and kind optional (see csvio.pasted_lines)."""
    lines = pasted_lines(
        text,
        field="lines",
        most=ROOM_LINES_MAX,
        empty="Enter at least one room, one per line.",
        too_many=f"Add at most {ROOM_LINES_MAX} rooms at a time.",
    )
    rooms = []
    for number, line, separator in lines:
        parts = [p.strip() for p in line.split(separator)]
        if len(parts) > 3:
            raise Invalid(f"Line {number}: write code, name, kind (a name with a comma needs a tab).", field="lines")
        code, name, kind = (parts + ["", ""])[:3]
        kind = kind.lower() or RoomKind.classroom.value
        if kind not in RoomKind._value2member_map_:
            kinds = ", ".join(k.value for k in RoomKind)
            raise Invalid(f"Line {number}: {kind!r} is not a kind of room ({kinds}).", field="lines")
        rooms.append(RoomLine(code, name, RoomKind(kind)))
    return rooms


def add_rooms(campus: Campus, lines: list[RoomLine], *, by: User | None, via: Via) -> list[Room]:
    """Add rooms to a campus, all or none: a bad or taken code names its line and nothing is added."""
    many = len(lines) > 1
    codes: dict[str, int] = {}
    rooms = []
    for number, line in enumerate(lines, 1):
        where = f"Line {number}: " if many else ""
        try:
            code = room_code(campus, line.code)
        except Invalid as exc:
            raise Invalid(where + exc.message, field="lines" if many else "code") from None
        if code in codes:
            raise Invalid(f"{where}{code} is also on line {codes[code]}.", field="lines")
        codes[code] = number
        name = line.name.strip()[:120] or code.removeprefix(f"{campus.code}-")
        rooms.append(Room(campus_id=campus.id, code=code, name=name, kind=line.kind))
    taken = db.session.scalars(sa.select(Room.code).where(Room.code.in_(codes))).all()
    if taken:
        first = min(taken, key=codes.__getitem__)
        where = f"Line {codes[first]}: " if many else ""
        raise Invalid(f"{where}a room with the code {first} already exists.", field="lines" if many else "code")
    with unique_fields({"code": "A room with this code was added meanwhile; try again."}):
        db.session.add_all(rooms)
    for room in rooms:
        activity.record(
            "room.create",
            f"Added room {room.code} ({room.name}) to {campus.code}",
            by=by,
            via=via,
            campus_id=campus.id,
            subject=room,
            after={"code": room.code, **activity.snapshot(room, ROOM_FIELDS)},
        )
    return rooms


def update_room(room: Room, values: dict[str, Any], *, by: User | None, via: Via) -> dict[str, Any]:
    """Rename a room, change its kind, or take it out of use (its history and devices stay)."""
    values = {k: v for k, v in values.items() if k in ROOM_FIELDS}
    if "name" in values:
        values["name"] = (values["name"] or "").strip()
        if not values["name"]:
            raise Invalid("Enter the room's name.", field="name")
    old, new = activity.apply(room, values, ROOM_FIELDS)
    if new:
        db.session.flush()
        activity.record(
            "room.update",
            f"Changed room {room.code}",
            by=by,
            via=via,
            campus_id=room.campus_id,
            subject=room,
            before=old,
            after=new,
        )
    return new


@dataclass(frozen=True)
class RoomRow:
    room: Room
    homed: int  # devices whose home room it is


def rooms_of(campus: Campus) -> list[RoomRow]:
    """A campus's rooms by code, each with how many devices call it home."""
    homed = dict(
        db.session.execute(
            sa.select(Asset.home_room_id, sa.func.count())
            .where(Asset.campus_id == campus.id, Asset.home_room_id.is_not(None))
            .group_by(Asset.home_room_id)
        ).all()
    )
    rooms = db.session.scalars(sa.select(Room).where(Room.campus_id == campus.id).order_by(Room.code))
    return [RoomRow(room, homed.get(room.id, 0)) for room in rooms]


@dataclass(frozen=True)
class CampusRow:
    campus: Campus
    rooms: int
    devices: int


def campus_rows(campus_ids: set[int] | None) -> list[CampusRow]:
    """Campuses (all, or these) by code, with their count of rooms in use and of devices."""
    rooms = sa.select(sa.func.count()).where(Room.campus_id == Campus.id, Room.active.is_(True)).scalar_subquery()
    devices = sa.select(sa.func.count()).where(Asset.campus_id == Campus.id).scalar_subquery()
    stmt = sa.select(Campus, rooms, devices).order_by(Campus.code)
    if campus_ids is not None:
        stmt = stmt.where(Campus.id.in_(campus_ids))
    return [CampusRow(c, r, d) for c, r, d in db.session.execute(stmt)]
