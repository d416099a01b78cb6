"""Where the roster's people belong: orgs.csv's schools mapped to campuses by their identifier, and the schools
enrollments.csv adds (a teacher with classes at two schools)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

from app.models import Campus
from app.services.csvio import HeaderError, ImportReport, Row, RowError, read_table
from app.services.roster.files import stream


def own(columns: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Columns whose first alias, what a "missing column" message calls them, is their own OneRoster spelling."""
    return {name: (name, *aliases) for name, aliases in columns.items()}


ORG_COLUMNS = own(
    {
        "sourcedId": ("sourced id", "id"),
        "status": (),
        "name": (),
        "type": (),
        "identifier": ("code",),
        "parentSourcedId": (),
    }
)
ORG_REQUIRED = ("sourcedId", "type", "identifier")
ENROLLMENT_COLUMNS = own(
    {
        "status": (),
        "userSourcedId": ("user sourced id",),
        "schoolSourcedId": ("school sourced id",),
    }
)
ENROLLMENT_REQUIRED = ("userSourcedId", "schoolSourcedId")

# Orgs above the school level: their people belong to no campus (district-wide admins see them).
DISTRICT_TYPES = {"district", "local", "state", "national"}


@dataclass
class Org:
    line: int
    kind: str
    identifier: str
    name: str


def _table(data: bytes | IO[bytes], columns: dict, required: tuple, label: str, report: ImportReport) -> list[Row]:
    """A small side file's rows (orgs.csv, enrollments.csv), or none with its fault in the report."""
    try:
        return list(read_table(stream(data), columns, required).rows)
    except HeaderError as exc:
        report.errors.append(RowError(1, f"{label}: {exc}"))
        return []


def read_orgs(data: bytes | IO[bytes], report: ImportReport) -> dict[str, Org]:
    orgs: dict[str, Org] = {}
    for row in _table(data, ORG_COLUMNS, ORG_REQUIRED, "orgs.csv", report):
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
        orgs[sid] = Org(row.line, row.get("type").lower(), row.get("identifier"), row.get("name"))
    return orgs


def read_enrollments(data: bytes | IO[bytes], report: ImportReport) -> dict[str, set[str]]:
    """The schools each user is enrolled at (teaching or learning), by user sourcedId."""
    schools: dict[str, set[str]] = {}
    for row in _table(data, ENROLLMENT_COLUMNS, ENROLLMENT_REQUIRED, "enrollments.csv", report):
        if row.get("status").lower() != "tobedeleted" and row.get("userSourcedId") and row.get("schoolSourcedId"):
            schools.setdefault(row.get("userSourcedId"), set()).add(row.get("schoolSourcedId"))
    return schools


class Resolver:
    """Maps a user's orgs (orgSourcedIds, and the schools enrollments.csv puts them in) to campuses."""

    def __init__(
        self,
        orgs: dict[str, Org] | None,
        campuses: dict[str, Campus],
        only: Campus | None,
        enrolled: dict[str, set[str]],
    ):
        self.orgs = orgs
        self.campuses = campuses
        self.only = only
        self.enrolled = enrolled

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
        ids += sorted(self.enrolled.get(row.get("sourcedId"), set()) - set(ids))
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
