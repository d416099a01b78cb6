"""Guardians from the roster: OneRoster users with role parent, guardian or relative, linked to their students by
`agentSourcedIds` (on either side), kept with their contact details for notices to families. Never accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Guardian, GuardianLink
from app.services.csvio import Row

GUARDIAN_ROLES = ("parent", "guardian", "relative")
FIELDS = ("name", "email", "phone", "role", "language", "active")
LIMITS = {"name": 160, "email": 254, "phone": 40, "language": 35}
BATCH = 1000


class Refused(Exception):
    """A row that cannot be imported: what is wrong, in which column."""

    def __init__(self, message: str, column: str) -> None:
        super().__init__(message)
        self.message, self.column = message, column


def agents(row: Row) -> set[str]:
    """The sourcedIds a row's agentSourcedIds names."""
    return {s.strip() for s in row.get("agentSourcedIds").split(",") if s.strip()}


def full_name(row: Row) -> str:
    return " ".join(p for p in (row.get("givenName"), row.get("familyName")) if p)


def _values(row: Row) -> dict[str, Any]:
    name = full_name(row)
    if not name:
        raise Refused("givenName and familyName are both empty", "givenName")
    values: dict[str, Any] = {
        "name": name,
        "email": row.get("email").lower() or None,
        "phone": row.get("phone") or row.get("sms") or None,
        "role": row.get("role").lower(),
        "language": row.get("preferredLanguage") or None,
        "active": True,
    }
    for name_, limit in LIMITS.items():
        if values[name_] and len(values[name_]) > limit:
            raise Refused(f"{name_} is longer than {limit} characters", name_)
    return values


@dataclass
class FamilyWork:
    """What the apply writes for guardians: rows to insert and update, and each synced student's guardians."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    # Student sourcedId → the sourcedIds of their guardians, for each student in the import's scope.
    links: dict[str, set[str]] = field(default_factory=dict)


class Family:
    """Guardian rows and the links the file draws, checked against the guardians Rollcall has."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.removed: set[str] = set()
        self.pairs: set[tuple[str, str]] = set()
        cols = [Guardian.id, Guardian.sourced_id, *(getattr(Guardian, f) for f in FIELDS)]
        self.existing = {r["sourced_id"]: dict(r) for r in db.session.execute(sa.select(*cols)).mappings()}
        self.created = self.updated = self.unlinked = 0

    def guardian(self, row: Row, sid: str) -> None:
        """A guardian row: checked, and kept until the students in the import's scope are known."""
        if row.get("status").lower() == "tobedeleted":
            self.removed.add(sid)
            return
        self.rows[sid] = _values(row)
        self.pairs.update((student, sid) for student in agents(row))

    def student(self, row: Row, sid: str) -> None:
        """A student row's guardians (its agentSourcedIds)."""
        self.pairs.update((sid, guardian) for guardian in agents(row))

    def plan(self, students: set[str]) -> FamilyWork:
        """Guardians of the students in scope: new ones, changed ones, and every such student's links (a guardian
        of no student in scope is passed over, so a campus admin keeps only their own families)."""
        if not self.pairs and not self.existing:
            return FamilyWork()  # a roster without families, into a district without any: nothing to sync
        work = FamilyWork(links={sid: set() for sid in students})
        known = {sid for sid in self.rows} | {sid for sid, g in self.existing.items() if g["active"]}
        for student, guardian in self.pairs:
            if student not in students:
                continue
            if guardian in known and guardian not in self.removed:
                work.links[student].add(guardian)
            else:
                self.unlinked += 1
        wanted = set().union(*work.links.values()) if work.links else set()
        for sid in sorted(wanted & set(self.rows)):
            values, current = self.rows[sid], self.existing.get(sid)
            if current is None:
                work.inserts.append({"sourced_id": sid, **values})
                self.created += 1
            elif any(current[f] != v for f, v in values.items()):
                work.updates.append({"id": current["id"], **values})
                self.updated += 1
        for sid in sorted(self.removed & set(self.existing)):
            if self.existing[sid]["active"]:
                work.updates.append({"id": self.existing[sid]["id"], "active": False})
        return work


def apply(work: FamilyWork, person_ids: dict[str, int]) -> int:
    """Write the guardians and set each synced student's links; returns how many links were added or removed."""
    for start in range(0, len(work.inserts), BATCH):
        db.session.execute(sa.insert(Guardian), work.inserts[start : start + BATCH])
    for start in range(0, len(work.updates), BATCH):
        db.session.execute(sa.update(Guardian), work.updates[start : start + BATCH])
    wanted_sids = set().union(*work.links.values()) if work.links else set()
    guardian_ids: dict[str, int] = {}
    for chunk in _chunks(sorted(wanted_sids)):
        rows = db.session.execute(sa.select(Guardian.sourced_id, Guardian.id).where(Guardian.sourced_id.in_(chunk)))
        guardian_ids.update({sid: gid for sid, gid in rows})
    wanted = {
        (person_ids[student], guardian_ids[g])
        for student, guardians in work.links.items()
        if student in person_ids
        for g in guardians
        if g in guardian_ids
    }
    people = sorted(person_ids[s] for s in work.links if s in person_ids)
    have: set[tuple[int, int]] = set()
    for chunk in _chunks(people):
        found = db.session.execute(
            sa.select(GuardianLink.person_id, GuardianLink.guardian_id).where(GuardianLink.person_id.in_(chunk))
        )
        have.update((p, g) for p, g in found)
    gone, new = sorted(have - wanted), sorted(wanted - have)
    for chunk in _chunks(gone):
        db.session.execute(
            sa.delete(GuardianLink).where(sa.tuple_(GuardianLink.person_id, GuardianLink.guardian_id).in_(chunk))
        )
    for chunk in _chunks(new):
        db.session.execute(sa.insert(GuardianLink), [{"person_id": p, "guardian_id": g} for p, g in chunk])
    return len(gone) + len(new)


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[start : start + BATCH] for start in range(0, len(items), BATCH)]
