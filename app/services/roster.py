"""OneRoster 1.1 import: students and teachers from users.csv, their schools mapped to campuses through orgs.csv.

People are matched by the roster's `sourcedId`; the ID a student carries (and the desk scans) is `identifier`.
Every bad row is reported with its line number and nothing is written until the whole file is clean.
"""

from __future__ import annotations

import io
import shutil
import zipfile
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
    for row in table.rows:
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
        by_eid[rec["external_id"]] = rec
    return by_sid, by_eid


def _values(row: Row, kind: PersonKind, campus_id: int | None) -> tuple[dict[str, Any] | None, RowError | None]:
    identifier = row.get("identifier")
    if not identifier and kind is PersonKind.staff:
        identifier = row.get("username")
    if not identifier:
        return None, RowError(row.line, "identifier (the student ID) is empty", "identifier")
    name = " ".join(p for p in (row.get("givenName"), row.get("familyName")) if p)
    if not name:
        return None, RowError(row.line, "givenName and familyName are both empty", "givenName")
    grade = next((g.strip() for g in row.get("grades").split(",") if g.strip()), None)
    values = {
        "external_id": identifier,
        "kind": kind,
        "name": name,
        "grade": grade if kind is PersonKind.student else None,
        "email": row.get("email").lower() or None,
        "username": row.get("username") or None,
        "campus_id": campus_id,
        "active": True,
    }
    for field, limit in LIMITS.items():
        if values[field] and len(values[field]) > limit:
            return None, RowError(row.line, f"{field.replace('_', ' ')} is longer than {limit} characters", field)
    return values, None


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, PersonKind) else value


def plan(files: RosterFiles, *, campus: Campus | None = None, campus_ids: set[int] | None = None):
    """Read and check the files; return (report, rows to insert, rows to update). Writes nothing."""
    report = ImportReport(source=files.name, dry_run=True)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    orgs = _read_orgs(files.orgs, report) if files.orgs is not None else None
    try:
        table = read_table(_stream(files.users), USER_COLUMNS, USER_REQUIRED)
    except HeaderError as exc:
        report.errors.append(RowError(1, str(exc)))
        return report, inserts, updates
    campuses = {c.code.upper(): c for c in db.session.scalars(sa.select(Campus))}
    names = {c.id: c.code for c in campuses.values()}
    resolver = _Resolver(orgs, campuses, campus)
    by_sid, by_eid = _existing()
    seen_sid: dict[str, int] = {}
    seen_eid: dict[str, int] = {}
    skipped_roles = skipped_campus = 0
    for row in table.rows:
        sid = row.get("sourcedId")
        if not sid:
            report.errors.append(RowError(row.line, "sourcedId is empty", "sourcedId"))
            continue
        if sid in seen_sid:
            report.errors.append(
                RowError(row.line, f"duplicate sourcedId {sid!r} (first on line {seen_sid[sid]})", "sourcedId")
            )
            continue
        seen_sid[sid] = row.line
        current = by_sid.get(sid)
        if row.get("status").lower() == "tobedeleted":
            if current is not None and current["active"]:
                outside = campus is not None and current["campus_id"] != campus.id
                if outside or (campus_ids is not None and current["campus_id"] not in campus_ids):
                    skipped_campus += 1
                    continue
                updates.append({"id": current["id"], "active": False})
                report.deactivated += 1
                report.changes.append(
                    {
                        "line": row.line,
                        "action": "deactivate",
                        "sourced_id": sid,
                        "external_id": current["external_id"],
                        "name": current["name"],
                        "fields": {"active": [True, False]},
                    }
                )
            else:
                report.unchanged += 1
            continue
        role = row.get("role").lower()
        if role in SKIPPED_ROLES:
            skipped_roles += 1
            continue
        if role not in KINDS:
            report.errors.append(RowError(row.line, f"unknown role {row.get('role')!r}", "role"))
            continue
        found, problem = resolver.campuses_for(row)
        if problem:
            report.errors.append(RowError(row.line, problem, "orgSourcedIds"))
            continue
        values, error = _values(row, KINDS[role], None)
        if error:
            report.errors.append(error)
            continue
        eid = values["external_id"]
        if eid in seen_eid:
            report.errors.append(
                RowError(row.line, f"identifier {eid!r} is also on line {seen_eid[eid]}", "identifier")
            )
            continue
        seen_eid[eid] = row.line
        holder = by_eid.get(eid)
        if current is None and holder is not None and not holder["sourced_id"]:
            # Someone entered by hand (or seeded) before the roster arrived: adopt them rather than duplicate.
            current = holder
        if holder is not None and (current is None or holder["id"] != current["id"]):
            report.errors.append(
                RowError(
                    row.line,
                    f"identifier {eid!r} already belongs to {holder['name']} (another roster record)",
                    "identifier",
                )
            )
            continue
        campus_id, skip = resolver.choose(found, current)
        if skip or (campus_ids is not None and campus_id not in campus_ids):
            skipped_campus += 1
            continue
        values["campus_id"] = campus_id
        if current is None:
            inserts.append({"sourced_id": sid, **values})
            report.created += 1
            report.changes.append(
                {
                    "line": row.line,
                    "action": "create",
                    "sourced_id": sid,
                    "external_id": eid,
                    "name": values["name"],
                    "fields": {"campus": [None, names.get(campus_id)], "kind": [None, values["kind"].value]},
                }
            )
            continue
        if campus_ids is not None and current["campus_id"] not in campus_ids:
            skipped_campus += 1
            continue
        changed = {f: [_plain(current[f]), _plain(v)] for f, v in values.items() if current[f] != v}
        if current["sourced_id"] != sid:
            changed["sourced_id"] = [current["sourced_id"], sid]
        if not changed:
            report.unchanged += 1
            continue
        updates.append({"id": current["id"], "sourced_id": sid, **values})
        report.updated += 1
        if "campus_id" in changed:
            changed["campus"] = [names.get(changed.pop("campus_id")[0]), names.get(campus_id)]
        report.changes.append(
            {
                "line": row.line,
                "action": "update",
                "sourced_id": sid,
                "external_id": eid,
                "name": values["name"],
                "fields": changed,
            }
        )
    if skipped_roles:
        report.notes.append(f"{skipped_roles} guardian or parent row(s) passed over: they hold no devices.")
    if skipped_campus:
        report.notes.append(f"{skipped_campus} row(s) for other campuses passed over.")
    return report, inserts, updates


def import_roster(
    files: RosterFiles,
    *,
    by: User | None,
    via: Via,
    campus_code: str | None = None,
    dry_run: bool = False,
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
    report, inserts, updates = plan(files, campus=campus, campus_ids=campus_ids)
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
