"""OneRoster 1.1 import: students and teachers from users.csv, their schools mapped to campuses through orgs.csv.

People are matched by the roster's `sourcedId`; the ID a student carries (and the desk scans) is `identifier`.
Every bad row is reported with its line number and nothing is written until the whole file is clean.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Campus, Person, PersonKind, User, Via
from app.services import activity
from app.services.csvio import HeaderError, ImportReport, Row, RowError, read_table
from app.services.errors import Invalid

# Canonical names are OneRoster's own spellings, so "missing column" messages name what the file should have.
USER_COLUMNS: dict[str, tuple[str, ...]] = {
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
}
USER_REQUIRED = ("sourcedId", "orgSourcedIds", "role", "givenName", "familyName", "identifier")
ORG_COLUMNS: dict[str, tuple[str, ...]] = {
    "sourcedId": ("sourced id", "id"),
    "status": (),
    "name": (),
    "type": (),
    "identifier": ("code",),
    "parentSourcedId": (),
}
ORG_REQUIRED = ("sourcedId", "type", "identifier")

KINDS = {
    "student": PersonKind.student,
    "teacher": PersonKind.staff,
    "administrator": PersonKind.staff,
    "aide": PersonKind.staff,
    "proctor": PersonKind.staff,
}
# Roles that hold no device of their own; their rows are counted and passed over.
SKIPPED_ROLES = {"guardian", "parent", "relative"}
# Orgs above the school level: their people belong to no campus (district-wide admins see them).
DISTRICT_TYPES = {"district", "local", "state", "national"}
FIELDS = ("external_id", "kind", "name", "grade", "email", "username", "campus_id", "active")
LIMITS = {"external_id": 64, "name": 160, "email": 254, "username": 120, "grade": 8}
BATCH = 1000
ZIP_MAGIC = b"PK\x03\x04"


@dataclass
class RosterFiles:
    """A OneRoster users.csv and, when there is one, its orgs.csv: bytes, or seekable binary streams (uploads
    spooled to disk, members of a zip) that are read as they go."""

    users: bytes | IO[bytes]
    orgs: bytes | IO[bytes] | None = None
    name: str = "users.csv"


def _stream(data: bytes | IO[bytes]) -> IO[bytes]:
    """The file from its start, as a stream."""
    if isinstance(data, bytes):
        return io.BytesIO(data)
    data.seek(0)
    return data


def _is_zip(data: bytes | IO[bytes]) -> bool:
    stream = _stream(data)
    head = stream.read(len(ZIP_MAGIC))
    stream.seek(0)
    return head == ZIP_MAGIC


def _from_zip(data: bytes | IO[bytes], name: str) -> RosterFiles:
    try:
        archive = zipfile.ZipFile(_stream(data))
    except zipfile.BadZipFile as exc:
        raise Invalid(f"{name} is not a readable zip file.", field="users") from exc
    members = {Path(m).name.lower(): m for m in archive.namelist() if not m.endswith("/")}
    if "users.csv" not in members:
        raise Invalid(f"{name} holds no users.csv.", field="users")
    orgs = archive.open(members["orgs.csv"]) if "orgs.csv" in members else None
    return RosterFiles(users=archive.open(members["users.csv"]), orgs=orgs, name=f"{name}/users.csv")


def pack(files: RosterFiles) -> bytes:
    """The files as one zip (users.csv, orgs.csv), to park between the dry run and the import; copied in
    chunks, so only the compressed copy is held whole."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for member, data in (("users.csv", files.users), ("orgs.csv", files.orgs)):
            if data is not None:
                with bundle.open(member, "w", force_zip64=True) as out:
                    shutil.copyfileobj(_stream(data), out, 1 << 20)
    return buffer.getvalue()


def files_from_path(path: str | Path) -> RosterFiles:
    """A directory holding users.csv (and orgs.csv), a OneRoster zip, or a users.csv with orgs.csv beside it."""
    path = Path(path)
    if path.is_dir():
        users = path / "users.csv"
        if not users.is_file():
            raise Invalid(f"{path} holds no users.csv.", field="users")
        orgs = path / "orgs.csv"
        return RosterFiles(users.read_bytes(), orgs.read_bytes() if orgs.is_file() else None, str(users))
    if not path.is_file():
        raise Invalid(f"{path} does not exist.", field="users")
    data = path.read_bytes()
    if data.startswith(ZIP_MAGIC):
        return _from_zip(data, str(path))
    orgs = path.parent / "orgs.csv"
    return RosterFiles(data, orgs.read_bytes() if orgs.is_file() and orgs != path else None, str(path))


def files_from_upload(users: bytes | IO[bytes], orgs: bytes | IO[bytes] | None, name: str = "users.csv") -> RosterFiles:
    """Uploaded files (bytes or seekable streams): a users.csv (with an optional orgs.csv) or one OneRoster zip."""
    if _is_zip(users):
        bundle = _from_zip(users, name)
        if orgs:
            bundle.orgs = orgs
        return bundle
    return RosterFiles(users, orgs or None, name)


@dataclass
class _Org:
    line: int
    kind: str
    identifier: str
    name: str


def _read_orgs(data: bytes | IO[bytes], report: ImportReport) -> dict[str, _Org]:
    try:
        table = read_table(_stream(data), ORG_COLUMNS, ORG_REQUIRED)
    except HeaderError as exc:
        report.errors.append(RowError(1, f"orgs.csv: {exc}"))
        return {}
    orgs: dict[str, _Org] = {}
    try:
        rows = list(table.rows)  # orgs.csv is one line per school
    except HeaderError as exc:
        report.errors.append(RowError(1, f"orgs.csv: {exc}"))
        return {}
    for row in rows:
        sid = row.get("sourcedId")
        if not sid:
            report.errors.append(RowError(row.line, "orgs.csv: sourcedId is empty", "sourcedId"))
            continue
        if sid in orgs:
            first = orgs[sid].line
            report.errors.append(
                RowError(row.line, f"orgs.csv: duplicate sourcedId {sid!r} (first on line {first})", "sourcedId")
            )
            continue
        if row.get("status").lower() == "tobedeleted":
            continue
        orgs[sid] = _Org(row.line, row.get("type").lower(), row.get("identifier"), row.get("name"))
    return orgs


class _Resolver:
    """Maps a user's orgSourcedIds to a campus: the first school whose identifier is a campus code."""

    def __init__(self, orgs: dict[str, _Org] | None, campuses: dict[str, Campus], only: Campus | None):
        self.orgs = orgs
        self.campuses = campuses
        self.only = only

    def campuses_for(self, row: Row) -> tuple[list[int | None], str | None]:
        """(the campuses of the user's orgs, None standing for district level; an error message) for a row."""
        ids = [s.strip() for s in row.get("orgSourcedIds").split(",") if s.strip()]
        if not ids:
            return [], "orgSourcedIds is empty"
        if self.orgs is None:
            # No orgs.csv: only an explicit --campus can say where these people belong.
            if self.only is None:
                return [], "orgs.csv is needed to map schools to campuses (or choose a campus)"
            return [self.only.id], None
        found: list[int | None] = []
        for sid in ids:
            org = self.orgs.get(sid)
            if org is None:
                return [], f"unknown org {sid!r} (not in orgs.csv)"
            if org.kind in DISTRICT_TYPES:
                found.append(None)
                continue
            campus = self.campuses.get(org.identifier.upper())
            if campus is None:
                if self.only is not None:
                    continue
                return [], (
                    f"school {org.name or sid} has identifier {org.identifier!r}, which is no campus code; "
                    "add that campus or import one campus at a time"
                )
            found.append(campus.id)
        return found, None

    def choose(self, found: list[int | None], current: dict[str, Any] | None) -> tuple[int | None, bool]:
        """(campus, skip): a person in several schools stays where they are if that is one of them."""
        if self.only is not None and self.only.id not in found:
            return None, True
        if current is not None and current["campus_id"] in found:
            return current["campus_id"], False
        if self.only is not None:
            return self.only.id, False
        return next((c for c in found if c is not None), None), False


def _existing() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    cols = [Person.id, Person.sourced_id, *(getattr(Person, f) for f in FIELDS)]
    by_sid: dict[str, dict[str, Any]] = {}
    by_eid: dict[str, dict[str, Any]] = {}
    for row in db.session.execute(sa.select(*cols)).mappings():
        rec = dict(row)
        if rec["sourced_id"]:
            by_sid[rec["sourced_id"]] = rec
        # IDs are read in any case at the desk, so two people may not hold one ID in different cases.
        by_eid[rec["external_id"].lower()] = rec
    return by_sid, by_eid


class _Refused(Exception):
    """A user row that cannot be imported: what is wrong, in which column."""

    def __init__(self, message: str, column: str) -> None:
        super().__init__(message)
        self.message, self.column = message, column


def _values(row: Row, kind: PersonKind) -> dict[str, Any]:
    """The person's fields from a user row (campus not yet chosen); raises _Refused for a bad cell."""
    identifier = row.get("identifier")
    if not identifier and kind is PersonKind.staff:
        identifier = row.get("username")
    if not identifier:
        raise _Refused("identifier (the student ID) is empty", "identifier")
    name = " ".join(p for p in (row.get("givenName"), row.get("familyName")) if p)
    if not name:
        raise _Refused("givenName and familyName are both empty", "givenName")
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
    for field, limit in LIMITS.items():
        if values[field] and len(values[field]) > limit:
            raise _Refused(f"{field.replace('_', ' ')} is longer than {limit} characters", field)
    return values


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, PersonKind) else value


class _Planner:
    """The users.csv rows against the people Rollcall has: one method per kind of row, each noting in the report
    what the row does and queuing its insert or update."""

    def __init__(self, report: ImportReport, resolver: _Resolver, campus: Campus | None, campus_ids: set[int] | None):
        self.report, self.resolver = report, resolver
        self.campus, self.campus_ids = campus, campus_ids
        self.names = {c.id: c.code for c in resolver.campuses.values()}
        self.by_sid, self.by_eid = _existing()
        self.seen_sid: dict[str, int] = {}
        self.seen_eid: dict[str, int] = {}
        self.skipped_roles = self.skipped_campus = 0
        self.inserts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []

    def row(self, row: Row) -> None:
        """One user row; a bad one is reported with its line."""
        try:
            self.read(row)
        except _Refused as refused:
            self.report.errors.append(RowError(row.line, refused.message, refused.column))

    def read(self, row: Row) -> None:
        """A removal (status tobedeleted), a role that holds no device, or a person to upsert."""
        sid = row.get("sourcedId")
        if not sid:
            raise _Refused("sourcedId is empty", "sourcedId")
        if sid in self.seen_sid:
            raise _Refused(f"duplicate sourcedId {sid!r} (first on line {self.seen_sid[sid]})", "sourcedId")
        self.seen_sid[sid] = row.line
        current = self.by_sid.get(sid)
        if row.get("status").lower() == "tobedeleted":
            self.deactivate(row, sid, current)
            return
        role = row.get("role").lower()
        if role in SKIPPED_ROLES:
            self.skipped_roles += 1
            return
        if role not in KINDS:
            raise _Refused(f"unknown role {row.get('role')!r}", "role")
        self.person(row, sid, KINDS[role], current)

    def outside(self, campus_id: int | None) -> bool:
        """Whether a campus is not one of the importing user's (who may have the whole district)."""
        return self.campus_ids is not None and campus_id not in self.campus_ids

    def deactivate(self, row: Row, sid: str, current: dict[str, Any] | None) -> None:
        """A person the roster removed: deactivated, when on the import's campuses and still active."""
        if current is None or not current["active"]:
            self.report.unchanged += 1
            return
        if (self.campus is not None and current["campus_id"] != self.campus.id) or self.outside(current["campus_id"]):
            self.skipped_campus += 1
            return
        self.updates.append({"id": current["id"], "active": False})
        self.report.deactivated += 1
        self.report.changes.append(
            {
                "line": row.line,
                "action": "deactivate",
                "sourced_id": sid,
                "external_id": current["external_id"],
                "name": current["name"],
                "fields": {"active": [True, False]},
            }
        )

    def person(self, row: Row, sid: str, kind: PersonKind, current: dict[str, Any] | None) -> None:
        """A student or a member of staff: checked, placed on a campus, then created or updated."""
        found, problem = self.resolver.campuses_for(row)
        if problem:
            raise _Refused(problem, "orgSourcedIds")
        values = _values(row, kind)
        current = self.holder(row, values["external_id"], current)
        campus_id, skip = self.resolver.choose(found, current)
        if skip or self.outside(campus_id):
            self.skipped_campus += 1
            return
        values["campus_id"] = campus_id
        if current is None:
            self.create(row, sid, values)
        elif self.outside(current["campus_id"]):
            self.skipped_campus += 1
        else:
            self.update(row, sid, values, current)

    def holder(self, row: Row, eid: str, current: dict[str, Any] | None) -> dict[str, Any] | None:
        """The person a row's identifier (the ID a student carries) is on: the row's own record, one entered by
        hand before the roster came (adopted rather than duplicated), or None. Refused when the ID is taken."""
        key = eid.lower()
        if key in self.seen_eid:
            raise _Refused(f"identifier {eid!r} is also on line {self.seen_eid[key]}", "identifier")
        self.seen_eid[key] = row.line
        holder = self.by_eid.get(key)
        if current is None and holder is not None and not holder["sourced_id"]:
            current = holder
        if holder is not None and (current is None or holder["id"] != current["id"]):
            raise _Refused(
                f"identifier {eid!r} already belongs to {holder['name']} (another roster record)", "identifier"
            )
        return current

    def create(self, row: Row, sid: str, values: dict[str, Any]) -> None:
        """Someone new to Rollcall."""
        self.inserts.append({"sourced_id": sid, **values})
        self.report.created += 1
        self.report.changes.append(
            {
                "line": row.line,
                "action": "create",
                "sourced_id": sid,
                "external_id": values["external_id"],
                "name": values["name"],
                "fields": {"campus": [None, self.names.get(values["campus_id"])], "kind": [None, values["kind"].value]},
            }
        )

    def update(self, row: Row, sid: str, values: dict[str, Any], current: dict[str, Any]) -> None:
        """Someone Rollcall has: updated when anything about them changed."""
        changed = {f: [_plain(current[f]), _plain(v)] for f, v in values.items() if current[f] != v}
        if current["sourced_id"] != sid:
            changed["sourced_id"] = [current["sourced_id"], sid]
        if not changed:
            self.report.unchanged += 1
            return
        self.updates.append({"id": current["id"], "sourced_id": sid, **values})
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

    def notes(self) -> None:
        """Say how many rows were passed over, and why."""
        if self.skipped_roles:
            self.report.notes.append(
                f"{self.skipped_roles} guardian or parent row(s) passed over: they hold no devices."
            )
        if self.skipped_campus:
            self.report.notes.append(f"{self.skipped_campus} row(s) for other campuses passed over.")


def plan(
    files: RosterFiles,
    *,
    campus: Campus | None = None,
    campus_ids: set[int] | None = None,
    progress: Callable[[int], None] | None = None,
):
    """Read and check the files; return (report, rows to insert, rows to update). Writes nothing. `progress`, when
    given, is called with the users.csv rows read so far."""
    report = ImportReport(source=files.name, dry_run=True)
    orgs = _read_orgs(files.orgs, report) if files.orgs is not None else None
    try:
        table = read_table(_stream(files.users), USER_COLUMNS, USER_REQUIRED)
    except HeaderError as exc:
        report.errors.append(RowError(1, str(exc)))
        return report, [], []
    campuses = {c.code.upper(): c for c in db.session.scalars(sa.select(Campus))}
    planner = _Planner(report, _Resolver(orgs, campuses, campus), campus, campus_ids)
    try:
        for n, row in enumerate(table.rows, 1):
            planner.row(row)
            if progress is not None:
                progress(n)
    except HeaderError as exc:  # a line no CSV reader takes, met part way: nothing of the file is used
        report.errors.append(RowError(1, str(exc)))
        return report, [], []
    planner.notes()
    return report, planner.inserts, planner.updates


def import_roster(
    files: RosterFiles,
    *,
    by: User | None,
    via: Via,
    campus_code: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Check the roster and, unless this is a dry run or any row is bad, upsert every person in it.

    Campus-scoped users import only people of their own campuses; the rest are passed over and counted.
    """
    campus = None
    if campus_code:
        campus = db.session.scalar(sa.select(Campus).where(Campus.code == campus_code.strip().upper()))
        if campus is None:
            raise Invalid(f"There is no campus {campus_code!r}.", field="campus")
    campus_ids = by.campus_ids if by is not None else None
    if campus is not None and campus_ids is not None and campus.id not in campus_ids:
        raise Invalid("You can only import people for your own campuses.", field="campus")
    report, inserts, updates = plan(files, campus=campus, campus_ids=campus_ids, progress=progress)
    report.dry_run = dry_run or not report.ok
    if report.dry_run:
        return report
    for start in range(0, len(inserts), BATCH):
        db.session.execute(sa.insert(Person), inserts[start : start + BATCH])
    for start in range(0, len(updates), BATCH):
        db.session.execute(sa.update(Person), updates[start : start + BATCH])
    db.session.flush()
    activity.record(
        "people.import",
        f"OneRoster import: {report.created} new, {report.updated} updated, "
        f"{report.deactivated} deactivated, {report.unchanged} unchanged",
        by=by,
        via=via,
        campus_id=campus.id if campus else None,
        after={"file": files.name, **report.counts()},
    )
    return report
