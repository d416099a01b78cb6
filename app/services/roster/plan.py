"""The dry run of a OneRoster import: users.csv read row by row against the people Rollcall has, each school mapped
to a campus through orgs.csv, and what the import would write (people, their schools, their guardians, and who
leaves) worked out without writing anything.

People are matched by the roster's `sourcedId`; the ID a student carries (and the desk scans) is `identifier`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, Assignment, Campus, Person, PersonCampus, PersonKind
from app.services.csvio import HeaderError, ImportReport, Row, RowError, read_table
from app.services.roster.family import GUARDIAN_ROLES, Family, FamilyWork, Refused, full_name
from app.services.roster.files import RosterFiles, stream
from app.services.roster.schools import Resolver, own, read_enrollments, read_orgs

# Canonical names are OneRoster's own spellings, so "missing column" messages name what the file should have.
USER_COLUMNS = own(
    {
        "sourcedId": ("sourced id", "id"),
        "status": (),
        "enabledUser": (),
        "orgSourcedIds": ("orgSourcedId", "orgs"),
        "role": (),
        "username": ("user name",),
        "givenName": ("firstName", "first name"),
        "familyName": ("lastName", "last name"),
        "identifier": ("studentId", "student id", "staffId"),
        "email": ("emailAddress",),
        "grades": ("grade",),
        "agentSourcedIds": ("agentSourcedId", "agents"),
        "phone": (),
        "sms": (),
        "preferredLanguage": ("language", "primaryLanguage", "metadata.preferredLanguage", "metadata.language"),
    }
)
USER_REQUIRED = ("sourcedId", "orgSourcedIds", "role", "givenName", "familyName", "identifier")

KINDS = {
    "student": PersonKind.student,
    "teacher": PersonKind.staff,
    "administrator": PersonKind.staff,
    "aide": PersonKind.staff,
    "proctor": PersonKind.staff,
}
FIELDS = ("external_id", "kind", "name", "grade", "email", "username", "campus_id", "active")
LIMITS = {"external_id": 64, "name": 160, "email": 254, "username": 120, "grade": 8}
# Devices held by people the import would deactivate, listed in the dry run (the count is always whole).
LEAVING_KEPT = 500
KEEP = 500
CHUNK = 1000


@dataclass
class RosterReport(ImportReport):
    """A roster import's report: people, and the guardians, schools and departures that come with them."""

    rows: int = 0
    # Deactivated because a full roster no longer has them (part of `deactivated`).
    missing: int = 0
    guardians_created: int = 0
    guardians_updated: int = 0
    # Devices assigned to people the import deactivates: asset tag, person's name and ID.
    leaving: list[dict[str, Any]] = field(default_factory=list)
    leaving_count: int = 0

    def counts(self) -> dict[str, int]:
        return {
            **super().counts(),
            "missing": self.missing,
            "guardians_created": self.guardians_created,
            "guardians_updated": self.guardians_updated,
            "leaving_devices": self.leaving_count,
        }

    def to_json(self) -> dict[str, Any]:
        """What an import run keeps for its page."""
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "counts": self.counts(),
            "notes": self.notes,
            "errors": [{"line": e.line, "column": e.column, "message": e.message} for e in self.errors[:KEEP]],
            "changes": self.changes[:KEEP],
            "changes_count": len(self.changes),
            "leaving": self.leaving,
        }


@dataclass
class Work:
    """What an apply writes: people to insert and update, the schools of each person whose schools changed
    (by sourcedId), and the guardians' work."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    schools: dict[str, set[int]] = field(default_factory=dict)
    family: FamilyWork = field(default_factory=FamilyWork)


def _existing() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Everyone Rollcall has, by sourcedId and by lower-case ID, each with the schools they belong to."""
    cols = [Person.id, Person.sourced_id, *(getattr(Person, f) for f in FIELDS)]
    schools: dict[int, set[int]] = {}
    for person_id, campus_id in db.session.execute(sa.select(PersonCampus.person_id, PersonCampus.campus_id)):
        schools.setdefault(person_id, set()).add(campus_id)
    by_sid: dict[str, dict[str, Any]] = {}
    by_eid: dict[str, dict[str, Any]] = {}
    for row in db.session.execute(sa.select(*cols)).mappings():
        rec = dict(row)
        rec["schools"] = schools.get(rec["id"], set())
        if rec["sourced_id"]:
            by_sid[rec["sourced_id"]] = rec
        # IDs are read in any case at the desk, so two people may not hold one ID in different cases.
        by_eid[rec["external_id"].lower()] = rec
    return by_sid, by_eid


def _everywhere(rec: dict[str, Any], campus_id: int | None = None, schools: set[int] | None = None) -> set[int]:
    """Every campus a person belongs to: their schools and their primary campus."""
    primary = rec["campus_id"] if campus_id is None and schools is None else campus_id
    found = set(rec["schools"] if schools is None else schools)
    return found | ({primary} if primary is not None else set())


def _values(row: Row, kind: PersonKind) -> dict[str, Any]:
    """The person's fields from a user row (campus not yet chosen); raises Refused for a bad cell."""
    identifier = row.get("identifier")
    if not identifier and kind is PersonKind.staff:
        identifier = row.get("username")
    if not identifier:
        raise Refused("identifier (the student ID) is empty", "identifier")
    name = full_name(row)
    if not name:
        raise Refused("givenName and familyName are both empty", "givenName")
    grade = next((g.strip() for g in row.get("grades").split(",") if g.strip()), None)
    values: dict[str, Any] = {
        "external_id": identifier,
        "kind": kind,
        "name": name,
        "grade": grade if kind is PersonKind.student else None,
        "email": row.get("email").lower() or None,
        "username": row.get("username") or None,
        "campus_id": None,
        "active": True,
    }
    for field_, limit in LIMITS.items():
        if values[field_] and len(values[field_]) > limit:
            raise Refused(f"{field_.replace('_', ' ')} is longer than {limit} characters", field_)
    return values


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, PersonKind) else value


class _Planner:
    """The users.csv rows against the people Rollcall has: one method per kind of row, each noting in the report
    what the row does and queuing what the apply writes."""

    def __init__(
        self,
        report: RosterReport,
        resolver: Resolver,
        campus: Campus | None,
        campus_ids: set[int] | None,
    ):
        self.report, self.resolver = report, resolver
        self.campus, self.campus_ids = campus, campus_ids
        self.names = {c.id: c.code for c in resolver.campuses.values()}
        self.by_sid, self.by_eid = _existing()
        self.seen_sid: dict[str, int] = {}
        self.seen_eid: dict[str, int] = {}
        self.skipped_campus = 0
        self.work = Work()
        self.family = Family()
        # Students in the import's scope (their guardians are synced), and the campuses the file covers.
        self.students: set[str] = set()
        self.covered: set[int] = set()
        self.leavers: list[int] = []

    def row(self, row: Row) -> None:
        """One user row; a bad one is reported with its line."""
        try:
            self.read(row)
        except Refused as refused:
            self.report.errors.append(RowError(row.line, refused.message, refused.column))

    def read(self, row: Row) -> None:
        """A removal (status tobedeleted), a guardian, or a person to upsert."""
        sid = row.get("sourcedId")
        if not sid:
            raise Refused("sourcedId is empty", "sourcedId")
        if sid in self.seen_sid:
            raise Refused(f"duplicate sourcedId {sid!r} (first on line {self.seen_sid[sid]})", "sourcedId")
        self.seen_sid[sid] = row.line
        role = row.get("role").lower()
        if role in GUARDIAN_ROLES:
            self.family.guardian(row, sid)
            return
        current = self.by_sid.get(sid)
        if row.get("status").lower() == "tobedeleted":
            self.deactivate(row.line, sid, current)
            return
        if role not in KINDS:
            raise Refused(f"unknown role {row.get('role')!r}", "role")
        self.person(row, sid, KINDS[role], current)

    def outside(self, campus_id: int | None) -> bool:
        """Whether a campus is not one of the importing user's (who may have the whole district)."""
        return self.campus_ids is not None and campus_id not in self.campus_ids

    def in_scope(self, campus_id: int | None) -> bool:
        """Whether the import may change what a person has at this campus (its --campus, the user's campuses)."""
        return not self.outside(campus_id) and (self.campus is None or campus_id == self.campus.id)

    def deactivate(self, line: int, sid: str, current: dict[str, Any] | None, *, missing: bool = False) -> None:
        """A person the roster removed (or, with deactivate_missing, left out): deactivated, when on the import's
        campuses and still active. They keep their record and its history."""
        if current is None or not current["active"]:
            self.report.unchanged += 1
            return
        if (self.campus is not None and current["campus_id"] != self.campus.id) or self.outside(current["campus_id"]):
            self.skipped_campus += 1
            return
        self.work.updates.append({"id": current["id"], "active": False})
        self.leavers.append(current["id"])
        self.report.deactivated += 1
        self.report.missing += missing
        self.report.changes.append(
            {
                "line": line,
                "action": "deactivate",
                "sourced_id": sid,
                "external_id": current["external_id"],
                "name": current["name"],
                "fields": {"active": [True, False]},
                "missing": missing,
            }
        )

    def person(self, row: Row, sid: str, kind: PersonKind, current: dict[str, Any] | None) -> None:
        """A student or a member of staff: checked, placed on a campus, then created or updated."""
        found, problem = self.resolver.campuses_for(row)
        if problem:
            raise Refused(problem, "orgSourcedIds")
        values = _values(row, kind)
        current = self.holder(row, values["external_id"], current)
        campus_id, skip = self.resolver.choose(found, current)
        if skip or self.outside(campus_id):
            self.skipped_campus += 1
            return
        values["campus_id"] = campus_id
        if current is not None and self.outside(current["campus_id"]):
            self.skipped_campus += 1
            return
        mine = {c for c in found if c is not None and self.in_scope(c)}
        self.covered |= mine
        if kind is PersonKind.student:
            self.students.add(sid)
            self.family.student(row, sid)
        if current is None:
            self.create(row, sid, values, mine)
        else:
            self.update(row, sid, values, current, mine)

    def holder(self, row: Row, eid: str, current: dict[str, Any] | None) -> dict[str, Any] | None:
        """The person a row's identifier (the ID a student carries) is on: the row's own record, one entered by
        hand before the roster came (adopted rather than duplicated), or None. Refused when the ID is taken."""
        key = eid.lower()
        if key in self.seen_eid:
            raise Refused(f"identifier {eid!r} is also on line {self.seen_eid[key]}", "identifier")
        self.seen_eid[key] = row.line
        holder = self.by_eid.get(key)
        if current is None and holder is not None and not holder["sourced_id"]:
            current = holder
        if holder is not None and (current is None or holder["id"] != current["id"]):
            raise Refused(
                f"identifier {eid!r} already belongs to {holder['name']} (another roster record)", "identifier"
            )
        return current

    def _codes(self, ids: set[int]) -> str | None:
        return ", ".join(sorted(self.names.get(i, "?") for i in ids)) or None

    def create(self, row: Row, sid: str, values: dict[str, Any], schools: set[int]) -> None:
        """Someone new to Rollcall."""
        self.work.inserts.append({"sourced_id": sid, **values})
        if len(schools) > 1:
            self.work.schools[sid] = schools
        self.report.created += 1
        fields = {"campus": [None, self.names.get(values["campus_id"])], "kind": [None, values["kind"].value]}
        if len(schools) > 1:
            fields["schools"] = [None, self._codes(schools)]
        self.report.changes.append(
            {
                "line": row.line,
                "action": "create",
                "sourced_id": sid,
                "external_id": values["external_id"],
                "name": values["name"],
                "fields": fields,
            }
        )

    def schools_of(self, current: dict[str, Any], mine: set[int]) -> set[int]:
        """A person's schools after this import: the file's within its scope, what they had outside it."""
        kept = {c for c in _everywhere(current) if not self.in_scope(c)}
        return kept | mine

    def update(self, row: Row, sid: str, values: dict[str, Any], current: dict[str, Any], mine: set[int]) -> None:
        """Someone Rollcall has: updated when anything about them changed (their schools included)."""
        changed = {f: [_plain(current[f]), _plain(v)] for f, v in values.items() if current[f] != v}
        if current["sourced_id"] != sid:
            changed["sourced_id"] = [current["sourced_id"], sid]
        before, after = _everywhere(current), _everywhere(current, values["campus_id"], self.schools_of(current, mine))
        if before != after:
            stored = after if len(after) > 1 else set()
            if stored != current["schools"]:
                self.work.schools[sid] = stored
            if len(before) > 1 or len(after) > 1:
                changed["schools"] = [self._codes(before), self._codes(after)]
        if not changed:
            self.report.unchanged += 1
            return
        if changed.keys() - {"schools"}:
            self.work.updates.append({"id": current["id"], "sourced_id": sid, **values})
        self.report.updated += 1
        if "campus_id" in changed:
            changed["campus"] = [self.names.get(changed.pop("campus_id")[0]), self.names.get(values["campus_id"])]
        self.report.changes.append(
            {
                "line": row.line,
                "action": "update",
                "sourced_id": sid,
                "external_id": values["external_id"],
                "name": values["name"],
                "fields": changed,
            }
        )

    def missing(self) -> None:
        """People the roster made who are not in this full roster: deactivated, only when every campus they
        belong to is one the file covers (someone also at a school the file leaves out may still be there).
        People entered by hand (no sourcedId) are never touched."""
        for sid, current in sorted(self.by_sid.items(), key=lambda item: item[1]["name"]):
            if sid in self.seen_sid or not current["active"]:
                continue
            campuses = _everywhere(current)
            if campuses and campuses <= self.covered:
                self.deactivate(0, sid, current, missing=True)

    def leaving(self) -> None:
        """The devices assigned to people this import deactivates, for the dry run to name."""
        for start in range(0, len(self.leavers), CHUNK):
            rows = db.session.execute(
                sa.select(Asset.asset_tag, Person.name, Person.external_id)
                .join(Assignment, Assignment.asset_id == Asset.id)
                .join(Person, Person.id == Assignment.person_id)
                .where(Assignment.person_id.in_(self.leavers[start : start + CHUNK]), Assignment.returned_at.is_(None))
                .order_by(Person.name, Asset.asset_tag)
            )
            for tag, name, eid in rows:
                self.report.leaving_count += 1
                if len(self.report.leaving) < LEAVING_KEPT:
                    self.report.leaving.append({"asset_tag": tag, "name": name, "external_id": eid})

    def finish(self) -> None:
        """Guardians of the students in scope, and what the notes say was passed over."""
        self.work.family = self.family.plan(self.students)
        self.report.guardians_created, self.report.guardians_updated = self.family.created, self.family.updated
        if self.family.created or self.family.updated:
            self.report.notes.append(
                f"Guardians: {self.family.created} new, {self.family.updated} updated (contacts for notices; "
                "they do not sign in)."
            )
        if self.family.unlinked:
            self.report.notes.append(
                f"{self.family.unlinked} guardian link(s) name no guardian in the file or in Rollcall; passed over."
            )
        if self.skipped_campus:
            self.report.notes.append(f"{self.skipped_campus} row(s) for other campuses passed over.")
        if self.report.missing:
            self.report.notes.append(
                f"{self.report.missing} person(s) not in this roster would be deactivated "
                f"(only people the roster made, on {self._codes(self.covered)})."
            )


def plan(
    files: RosterFiles,
    *,
    campus: Campus | None = None,
    campus_ids: set[int] | None = None,
    deactivate_missing: bool = False,
    progress: Callable[[int], None] | None = None,
) -> tuple[RosterReport, Work]:
    """Read and check the files; return the report and what the apply would write. Writes nothing. `progress`,
    when given, is called with the users.csv rows read so far."""
    report = RosterReport(source=files.name, dry_run=True)
    orgs = read_orgs(files.orgs, report) if files.orgs is not None else None
    enrolled = read_enrollments(files.enrollments, report) if files.enrollments is not None else {}
    try:
        table = read_table(stream(files.users), USER_COLUMNS, USER_REQUIRED)
    except HeaderError as exc:
        report.errors.append(RowError(1, str(exc)))
        return report, Work()
    campuses = {c.code.upper(): c for c in db.session.scalars(sa.select(Campus))}
    planner = _Planner(report, Resolver(orgs, campuses, campus, enrolled), campus, campus_ids)
    try:
        for n, row in enumerate(table.rows, 1):
            planner.row(row)
            report.rows = n
            if progress is not None:
                progress(n)
    except HeaderError as exc:  # a line no CSV reader takes, met part way: nothing of the file is used
        report.errors.append(RowError(1, str(exc)))
        return report, Work()
    if deactivate_missing:
        planner.missing()
    planner.leaving()
    planner.finish()
    return report, planner.work
