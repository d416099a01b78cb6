"""Where a device new to Rollcall goes, and what it is called: the org-unit mapping and each campus's tag rule.

Admins map org unit path prefixes to a campus (and optionally a home room); the longest prefix that covers a
device's org unit wins, a whole path segment at a time and ignoring case. Without a mapping, an Annotated
Location that names exactly one room (`LHS-117`, or `LHS Room 117` for room "Room 117" of campus LHS) places the
device there. Its asset tag is Google's Annotated Asset ID, else its campus's prefix before its serial; a campus
without a rule leaves such devices unimported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import Campus, Room, User, Via
from app.models.google import GoogleTagRule, OrgUnitMapping
from app.services import activity
from app.services.csvio import safe_cell
from app.services.errors import Invalid

TAG_MAX = 32
SERIAL_MAX = 64
PREFIX_MAX = 16
_FOLD = re.compile(r"[^a-z0-9]+")


def fold(text: str) -> str:
    """Text folded for matching a location to a room: lower case, letters and digits only."""
    return _FOLD.sub("", (text or "").lower())


def prefix_key(path: str) -> str:
    """An org unit path as mappings compare it: lower case, one leading slash, no trailing slash (root is "")."""
    parts = [p for p in (path or "").strip().lower().split("/") if p]
    return "/" + "/".join(parts) if parts else ""


def clean_prefix(path: str) -> str:
    """An org unit path as an admin typed it, tidied: one leading slash, no empty segments or trailing slash."""
    parts = [p.strip() for p in (path or "").strip().split("/") if p.strip()]
    return "/" + "/".join(parts)


def unsafe(text: str) -> bool:
    """A value a spreadsheet would run as a formula: never an identifier."""
    return safe_cell(text) != text


@dataclass(frozen=True)
class Place:
    campus_id: int
    room_id: int | None


class Placement:
    """The mappings, rooms and tag rules, loaded once for a whole run."""

    def __init__(self) -> None:
        mappings = db.session.execute(
            sa.select(OrgUnitMapping.prefix_key, OrgUnitMapping.campus_id, OrgUnitMapping.room_id)
        )
        self.mappings = sorted(((k, Place(c, r)) for k, c, r in mappings), key=lambda m: -len(m[0]))
        self.rules = tag_rules()
        codes: dict[int | None, str] = dict(db.session.execute(sa.select(Campus.id, Campus.code)).all())
        self.campus_codes = codes
        # Folded room names within a campus, and folded codes (and campus code + name) across the district.
        self.by_campus: dict[tuple[int, str], int | None] = {}
        self.by_district: dict[str, Place | None] = {}
        self.room_codes: dict[int | None, str] = {}
        rows = db.session.execute(sa.select(Room.id, Room.campus_id, Room.code, Room.name).where(Room.active))
        for room_id, campus_id, code, name in rows:
            self.room_codes[room_id] = code
            for key in {fold(code), fold(name), fold(codes.get(campus_id, "") + name)} - {""}:
                self._keep(self.by_campus, (campus_id, key), room_id)
            for key in {fold(code), fold(codes.get(campus_id, "") + name)} - {""}:
                self._keep(self.by_district, key, Place(campus_id, room_id))

    @staticmethod
    def _keep(index: dict, key: object, value: object) -> None:
        """Index a room under a key; a key two rooms share names neither (None)."""
        index[key] = value if key not in index or index[key] == value else None

    def mapping_for(self, org_unit: str | None) -> Place | None:
        key = prefix_key(org_unit or "")
        for prefix, place in self.mappings:
            if prefix == "" or key == prefix or key.startswith(prefix + "/"):
                return place
        return None

    def place(self, org_unit: str | None, location: str | None) -> Place | None:
        """The campus and home room for a new device, or None when neither its org unit nor its location says."""
        where = fold(location or "")
        mapped = self.mapping_for(org_unit)
        if mapped is not None:
            if mapped.room_id is None and where:
                return Place(mapped.campus_id, self.by_campus.get((mapped.campus_id, where)))
            return mapped
        return self.by_district.get(where) if where else None

    def tag_for(self, campus_id: int, serial: str, annotated: str | None) -> tuple[str | None, str]:
        """(asset tag, "") for a new device, or (None, why it cannot have one)."""
        if annotated:
            tag = annotated
        elif campus_id in self.rules:
            tag = f"{self.rules[campus_id]}{serial}"
        else:
            return None, "no Annotated Asset ID, and its campus has no tag rule"
        if len(tag) > TAG_MAX:
            return None, f"asset tag {tag!r} is longer than {TAG_MAX} characters"
        if unsafe(tag):
            return None, f"asset tag {tag!r} looks like a spreadsheet formula"
        return tag, ""


# The admin page's changes: each one checked, applied and logged.


def _scope(by: User, campus: Campus) -> None:
    if not by.can_see_campus(campus.id):
        raise Invalid("Choose one of your campuses.", field="campus")


def add_mapping(prefix: str, campus: Campus, room: Room | None, *, by: User) -> OrgUnitMapping:
    """Map an org unit path prefix to a campus (and a room on it); a prefix already mapped is refused."""
    _scope(by, campus)
    path = clean_prefix(prefix)
    if len(path) > 255:
        raise Invalid("An org unit path is at most 255 characters.", field="prefix")
    if unsafe(path.lstrip("/")):
        raise Invalid("An org unit path cannot start with =, +, - or @.", field="prefix")
    if room is not None and room.campus_id != campus.id:
        raise Invalid(f"{room.code} is not on {campus.code}.", field="room")
    key = prefix_key(path)
    if db.session.scalar(sa.select(OrgUnitMapping.id).where(OrgUnitMapping.prefix_key == key)) is not None:
        raise Invalid(f"{path} is already mapped; remove that mapping first.", field="prefix")
    mapping = OrgUnitMapping(prefix=path, prefix_key=key, campus=campus, room=room)
    db.session.add(mapping)
    db.session.flush()
    where = campus.code + (f" {room.code}" if room else "")
    activity.record(
        "google.org_unit.map", f"Org unit {path} → {where}", by=by, via=Via.web, campus_id=campus.id, subject=mapping
    )
    return mapping


def remove_mapping(mapping: OrgUnitMapping, *, by: User) -> None:
    _scope(by, mapping.campus)
    activity.record(
        "google.org_unit.unmap",
        f"Org unit {mapping.prefix} no longer mapped to {mapping.campus.code}",
        by=by,
        via=Via.web,
        campus_id=mapping.campus_id,
    )
    db.session.delete(mapping)
    db.session.flush()


def set_tag_rule(campus: Campus, prefix: str | None, *, by: User) -> None:
    """Tag a campus's new devices `prefix + serial` (None or empty: leave them unimported and list them)."""
    _scope(by, campus)
    text = (prefix or "").strip()
    if len(text) > PREFIX_MAX:
        raise Invalid(f"A prefix is at most {PREFIX_MAX} characters.", field="prefix")
    if text and unsafe(text):
        raise Invalid("A prefix cannot start with =, +, - or @.", field="prefix")
    rule = db.session.get(GoogleTagRule, campus.id)
    before = rule.prefix if rule else None
    if (before or "") == text:
        return
    if text and rule is None:
        db.session.add(GoogleTagRule(campus_id=campus.id, prefix=text))
    elif text and rule is not None:
        rule.prefix = text
    elif rule is not None:
        db.session.delete(rule)
    db.session.flush()
    said = f"prefix {text!r} + serial" if text else "leave unimported"
    activity.record(
        "google.tag_rule",
        f"New Google devices on {campus.code}: {said}",
        by=by,
        via=Via.web,
        campus_id=campus.id,
        before={"prefix": before},
        after={"prefix": text or None},
    )


def mappings_for(user: User) -> list[OrgUnitMapping]:
    """The mappings of the user's campuses, by prefix."""
    stmt = sa.select(OrgUnitMapping).order_by(OrgUnitMapping.prefix_key)
    if user.campus_ids is not None:
        stmt = stmt.where(OrgUnitMapping.campus_id.in_(user.campus_ids))
    return list(db.session.scalars(stmt))


def tag_rules() -> dict[int, str]:
    return dict(db.session.execute(sa.select(GoogleTagRule.campus_id, GoogleTagRule.prefix)).all())


__all__ = ["Place", "Placement", "add_mapping", "mappings_for", "remove_mapping", "set_tag_rule"]
