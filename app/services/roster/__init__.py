"""OneRoster 1.1 import: students and teachers from users.csv, their schools mapped to campuses through orgs.csv
(and enrollments.csv), their guardians; a full roster can also deactivate the people it no longer has.

Every bad row is reported with its line number and nothing is written until the whole file is clean. `files` reads
the export, `plan` is the dry run, `family` the guardians; `import_roster` here writes what the plan found.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from app.extensions import db
from app.models import Campus, Person, PersonCampus, User, Via
from app.services import activity
from app.services.csvio import ImportReport, read_table
from app.services.errors import Invalid
from app.services.roster import family
from app.services.roster.files import RosterFiles, files_from_path, files_from_upload, pack, stream
from app.services.roster.plan import USER_COLUMNS, USER_REQUIRED, RosterReport, Work, plan

__all__ = [
    "ImportReport",
    "RosterFiles",
    "RosterReport",
    "campus_for",
    "check_header",
    "files_from_path",
    "files_from_upload",
    "import_roster",
    "pack",
    "plan",
]

BATCH = 1000


def campus_for(code: str | None, by: User | None) -> Campus | None:
    """The campus a --campus option or the form names; refused when unknown or not the user's."""
    if not code:
        return None
    campus = db.session.scalar(sa.select(Campus).where(Campus.code == code.strip().upper()))
    if campus is None:
        raise Invalid(f"There is no campus {code!r}.", field="campus")
    if by is not None and not by.can_see_campus(campus.id):
        raise Invalid("You can only import people for your own campuses.", field="campus")
    return campus


def check_header(files: RosterFiles) -> None:
    """Read users.csv's header only: HeaderError names the columns it lacks (told on the form, not by a job)."""
    read_table(stream(files.users), USER_COLUMNS, USER_REQUIRED)
    stream(files.users)


def _write(work: Work) -> int:
    """Insert and update the people, set the schools of those whose schools changed, then their guardians;
    returns how many guardian links changed."""
    for start in range(0, len(work.inserts), BATCH):
        db.session.execute(sa.insert(Person), work.inserts[start : start + BATCH])
    for start in range(0, len(work.updates), BATCH):
        db.session.execute(sa.update(Person), work.updates[start : start + BATCH])
    wanted = set(work.schools) | set(work.family.links)
    ids: dict[str, int] = {}
    names = sorted(wanted)
    for start in range(0, len(names), BATCH):
        chunk = names[start : start + BATCH]
        found = db.session.execute(sa.select(Person.sourced_id, Person.id).where(Person.sourced_id.in_(chunk)))
        ids.update({sid: pid for sid, pid in found if sid is not None})
    changed = sorted(ids[sid] for sid in work.schools if sid in ids)
    for start in range(0, len(changed), BATCH):
        db.session.execute(sa.delete(PersonCampus).where(PersonCampus.person_id.in_(changed[start : start + BATCH])))
    rows = [
        {"person_id": ids[sid], "campus_id": c} for sid, schools in work.schools.items() if sid in ids for c in schools
    ]
    for start in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(PersonCampus), rows[start : start + BATCH])
    return family.apply(work.family, ids)


def import_roster(
    files: RosterFiles,
    *,
    by: User | None,
    via: Via,
    campus_code: str | None = None,
    dry_run: bool = False,
    deactivate_missing: bool = False,
    progress: Callable[[int], None] | None = None,
) -> RosterReport:
    """Check the roster and, unless this is a dry run or any row is bad, upsert every person in it.

    Campus-scoped users import only people of their own campuses; the rest are passed over and counted. With
    `deactivate_missing` (a full roster, not a delta), people the roster made who are not in it are deactivated,
    within the campuses the file covers.
    """
    campus = campus_for(campus_code, by)
    campus_ids = by.campus_ids if by is not None else None
    report, work = plan(
        files, campus=campus, campus_ids=campus_ids, deactivate_missing=deactivate_missing, progress=progress
    )
    report.dry_run = dry_run or not report.ok
    if report.dry_run:
        return report
    links = _write(work)
    db.session.expire_all()
    db.session.flush()
    activity.record(
        "people.import",
        f"OneRoster import: {report.created} new, {report.updated} updated, "
        f"{report.deactivated} deactivated, {report.unchanged} unchanged",
        by=by,
        via=via,
        campus_id=campus.id if campus else None,
        after={"file": files.name, **report.counts(), "guardian_links_changed": links},
    )
    return report
