"""Google Admin Chrome device import: the console's CSV download and `gam print cros` output.

Rows are matched to assets by serial number (trimmed, any case). The import mirrors what Google knows (model,
AUE, OU, status, last sync, enrollment, annotated fields, most recent user) onto the asset, moves the asset's
last-seen time forward to Google's last sync, and reports the reconciliation: devices Google has that Rollcall
lacks, devices Rollcall has that Google lacks, and devices whose most recent user is not their assignee.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from app import bulk
from app.extensions import db
from app.models import Activity, Asset, AssetStatus, DeviceModel, Person, User, Via
from app.models.types import UTCDateTime
from app.services import activity
from app.services.assets import refresh_search_text, visible_to
from app.services.csvio import (
    HeaderError,
    ImportReport,
    Plan,
    RowError,
    Table,
    parse_date,
    parse_datetime,
    read_table,
)

ALIASES: dict[str, tuple[str, ...]] = {
    "serial": ("Serial Number", "serialNumber", "Serial", "SN"),
    "device_id": ("deviceId", "Device ID", "Directory API ID", "Directory ID"),
    "status": ("Status", "Device Status"),
    "model": ("Model", "Device Model"),
    "org_unit": ("Org Unit Path", "orgUnitPath", "Org Unit", "Organizational Unit", "OU"),
    "annotated_user": ("Annotated User", "annotatedUser", "User"),
    "annotated_asset_id": ("Annotated Asset ID", "annotatedAssetId", "Asset ID"),
    "annotated_location": ("Annotated Location", "annotatedLocation", "Location"),
    "last_sync": ("Last Sync", "lastSync", "Last Policy Sync", "Last Sync Time", "Last Synced"),
    "enrolled": ("Enrollment Time", "lastEnrollmentTime", "Last Enrollment Time", "Enrollment Date", "Enrolled"),
    "aue": (
        "Auto Update Expiration",
        "autoUpdateThrough",
        "autoUpdateExpiration",
        "Auto Update Expiration Date",
        "AUE",
        "AUE Date",
    ),
    "recent_user": ("Most Recent User", "recentUsers.0.email", "Recent User", "recentUsers", "Last User"),
    # Known columns Rollcall does not keep: listed here so they are not reported as unknown.
    "_ignored": (
        "Notes",
        "OS Version",
        "osVersion",
        "macAddress",
        "MAC Address",
        "recentUsers.0.type",
        "Platform Version",
        "Firmware Version",
        "Ethernet MAC Address",
        "Boot Mode",
        "Last Known Network",
    ),
}
LABELS = {
    "serial": "Serial Number",
    "last_sync": "Last Sync",
    "enrolled": "Enrollment Time",
    "aue": "Auto Update Expiration",
}
# Asset column ← canonical file column; a column absent from the file leaves its field alone.
FIELDS = {
    "google_device_id": "device_id",
    "google_status": "status",
    "org_unit": "org_unit",
    "annotated_user": "annotated_user",
    "annotated_asset_id": "annotated_asset_id",
    "annotated_location": "annotated_location",
    "last_sync_at": "last_sync",
    "enrolled_at": "enrolled",
    "google_aue_date": "aue",
    "google_recent_user": "recent_user",
}
STATUS_WORDS = {"provisioned": "active", "active": "active"}
_US_DATETIMES = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p")
# SQLite page cache (KiB) while an import writes.
IMPORT_CACHE_KB = 131072
# Reports keep this many example rows per list; the counts are always complete.
KEEP = 2000
# Statuses whose most recent user is expected to differ from any assignee.
NO_MISMATCH_STATUSES = (AssetStatus.loaner, AssetStatus.retired)


@dataclass
class GoogleReport(ImportReport):
    """An import report plus the reconciliation between Google and Rollcall."""

    rows: int = 0
    other_campus: int = 0
    new_models: list[str] = field(default_factory=list)
    not_in_rollcall: list[dict[str, Any]] = field(default_factory=list)
    not_in_google: list[dict[str, Any]] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    not_in_rollcall_count: int = 0
    not_in_google_count: int = 0
    mismatch_count: int = 0
    seen_moved: int = 0

    def to_json(self) -> dict[str, Any]:
        """What an import run keeps for its report page."""
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "counts": self.counts(),
            "other_campus": self.other_campus,
            "seen_moved": self.seen_moved,
            "new_models": self.new_models,
            "notes": self.notes,
            "errors": [{"line": e.line, "column": e.column, "message": e.message} for e in self.errors[:KEEP]],
            "changes": self.changes[:KEEP],
            "not_in_rollcall": self.not_in_rollcall[:KEEP],
            "not_in_google": self.not_in_google[:KEEP],
            "mismatches": self.mismatches[:KEEP],
            "not_in_rollcall_count": self.not_in_rollcall_count,
            "not_in_google_count": self.not_in_google_count,
            "mismatch_count": self.mismatch_count,
            "different": self.different,
            "differences": self.differences,
        }


def parse_when(text: str) -> datetime | None:
    """A timestamp from either export: ISO 8601 (`Z`, offset or none), a bare date, or a US date and time.

    Times without a zone are taken as UTC, which is what both exports write.
    """
    value = (text or "").strip()
    if not value:
        return None
    try:
        when = parse_datetime(value)
    except ValueError:
        when = None
        for fmt in _US_DATETIMES:
            try:
                when = datetime.strptime(value, fmt)
                break
            except ValueError:
                continue
        if when is None:
            day = parse_date(value)  # raises ValueError when unreadable
            when = datetime(day.year, day.month, day.day)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


class _FastUTC(sa.types.TypeDecorator):
    """Timestamps read for comparison only: SQLite returns text, which fromisoformat reads far faster than the
    generic DateTime parsing (it matters at 200,000 rows); other drivers return datetimes."""

    impl = sa.String
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _FastDate(sa.types.TypeDecorator):
    impl = sa.String
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> date | None:
        return date.fromisoformat(value) if isinstance(value, str) else value


def _fast(column: Any) -> Any:
    """The column with a fast result type when it holds a timestamp or a date; unchanged otherwise."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return sa.type_coerce(column, _FastUTC()).label(column.key)
    if isinstance(kind, sa.Date):
        return sa.type_coerce(column, _FastDate()).label(column.key)
    return column


def _norm_status(text: str) -> str | None:
    word = text.strip().lower()
    return STATUS_WORDS.get(word, word) or None


def _parse_rows(table: Table, report: GoogleReport, plan: Plan) -> Iterator[dict[str, Any]]:
    """The file's good rows, one at a time, as typed values keyed by canonical column; bad cells become row
    errors (and the plan's records of those rows)."""
    seen: dict[str, int] = {}
    cache: dict[str, Any] = {}

    def bad(line: int, message: str, column: str) -> None:
        report.errors.append(RowError(line, message, column))
        if (was := plan.add(line, "error", message)) is not None:
            report.differs(line, "", was, f"it is a bad row: {message}")

    for row in table.rows:
        report.rows += 1
        serial = row.get("serial").strip()
        if not serial:
            bad(row.line, "No serial number.", LABELS["serial"])
            continue
        key = serial.upper()
        if key in seen:
            bad(row.line, f"Serial {serial} is also on line {seen[key]}.", LABELS["serial"])
            continue
        seen[key] = row.line
        values: dict[str, Any] = {"line": row.line, "serial": serial, "key": key, "model": row.get("model").strip()}
        problem = None
        for name, parser in (("last_sync", parse_when), ("enrolled", parse_when), ("aue", parse_date)):
            text = row.get(name)
            try:
                # Exports repeat the same few dates thousands of times: parse each spelling once.
                values[name] = cache[text] if text in cache else cache.setdefault(text, parser(text))
            except ValueError:
                report.errors.append(RowError(row.line, f"Unreadable date {text!r}.", LABELS[name]))
                problem = (problem or "") + f"{LABELS[name]} {text!r}; "
        if problem:
            if (was := plan.add(row.line, "error", problem)) is not None:
                report.differs(row.line, serial, was, f"it is a bad row: unreadable {problem.rstrip('; ')}")
            continue
        values["status"] = _norm_status(row.get("status"))
        values["device_id"] = row.get("device_id") or None
        values["org_unit"] = row.get("org_unit") or None
        values["annotated_asset_id"] = row.get("annotated_asset_id") or None
        values["annotated_location"] = row.get("annotated_location") or None
        values["annotated_user"] = row.get("annotated_user").lower() or None
        values["recent_user"] = row.get("recent_user").lower() or None
        yield values


def _model_lookup() -> dict[str, DeviceModel]:
    """Device models by their folded full name and by their bare name (Google writes "Acer Chromebook 311")."""
    lookup: dict[str, DeviceModel] = {}
    for model in db.session.scalars(sa.select(DeviceModel).order_by(DeviceModel.id)):
        lookup.setdefault(f"{model.manufacturer} {model.name}".lower(), model)
        lookup.setdefault(model.name.lower(), model)
    return lookup


def _split_model(text: str) -> tuple[str, str]:
    maker, _, name = text.strip().partition(" ")
    return (maker, name) if name else ("Unknown", maker)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (datetime, date)) else value


def _label(field: str) -> str:
    return field.replace("_id", "").replace("_", " ")


@lru_cache(maxsize=1024)
def _labels(fields: tuple[str, ...]) -> str:
    """The changed fields in words; files change the same few sets of them row after row."""
    return ", ".join(_label(f) for f in fields)


# A device to update: the columns to set (with its id), its row as it was, and (before, after) for its history.
Update = tuple[dict[str, Any], Any, tuple[dict[str, Any], dict[str, Any]]]


def _existing() -> dict[str, Any]:
    """Every device by its folded serial: the columns a row is compared with, and its assignee's email and name."""
    cols = [
        Asset.id,
        Asset.serial,
        Asset.asset_tag,
        Asset.campus_id,
        Asset.status,
        Asset.model_id,
        _fast(Asset.last_seen_at),
        Person.email.label("assignee_email"),
        Person.name.label("assignee_name"),
        *[_fast(getattr(Asset, attr)) for attr in FIELDS],
    ]
    return {
        r.serial.strip().upper(): r
        for r in db.session.execute(sa.select(*cols).outerjoin(Person, Asset.assigned_to_id == Person.id))
    }


class _Reconciler:
    """Google's rows against the district's devices: one method per outcome or group of columns, each noting
    in the report what it finds, and the updates an apply writes."""

    def __init__(
        self, report: GoogleReport, plan: Plan, fields: dict[str, str], *, campus_ids: set[int] | None, dry_run: bool
    ) -> None:
        self.report, self.plan, self.fields = report, plan, fields
        self.campus_ids, self.dry_run = campus_ids, dry_run
        self.existing = _existing()
        self.models = _model_lookup()
        self.model_names = {m.id: str(m) for m in self.models.values()}
        self.new_models: dict[str, DeviceModel] = {}
        self.model_aue: dict[int, date] = {}
        self.updates: list[Update] = []
        self.matched: set[str] = set()

    def row(self, values: dict[str, Any]) -> None:
        """Match one good row by serial and reconcile it with the device it names."""
        current = self.existing.get(values["key"])
        if current is None:
            self.absent(values)
            return
        if self.campus_ids is not None and current.campus_id not in self.campus_ids:
            self.other_campus(values, current)
            return
        self.matched.add(values["key"])
        change = {attr: values[col] for attr, col in self.fields.items() if getattr(current, attr) != values[col]}
        self.model(values, current, change)
        self.last_sync(values, current, change)
        self.recent_user(values, current)
        self.tally(values, current, change)

    def absent(self, values: dict[str, Any]) -> None:
        """A serial no device in Rollcall has."""
        report, line = self.report, values["line"]
        report.not_in_rollcall_count += 1
        if len(report.not_in_rollcall) < KEEP:
            report.not_in_rollcall.append(
                {
                    "line": line,
                    "serial": values["serial"],
                    "model": values["model"],
                    "annotated_asset_id": values["annotated_asset_id"],
                    "org_unit": values["org_unit"],
                    "recent_user": values["recent_user"],
                }
            )
        if (was := self.plan.add(line, "absent")) is not None:
            report.differs(line, values["serial"], was, "no device in Rollcall has this serial")

    def other_campus(self, values: dict[str, Any], current: Any) -> None:
        """A device on a campus the import may not touch: counted, never changed."""
        self.report.other_campus += 1
        if (was := self.plan.add(values["line"], "other_campus", current.id)) is not None:
            self.report.differs(values["line"], values["serial"], was, "the device is on a campus that is not yours")

    def model(self, values: dict[str, Any], current: Any, change: dict[str, Any]) -> None:
        """Model (and AUE, for a model that lacks one): the device model by name, created when it is new."""
        if not values["model"]:
            return
        folded = values["model"].lower()
        model = self.models.get(folded) or self.new_models.get(folded)
        if model is None:
            maker, name = _split_model(values["model"])
            model = DeviceModel(manufacturer=maker[:80], name=name[:120], category="Chromebook")
            self.new_models[folded] = model
            self.report.new_models.append(values["model"])
        if model.id is None or model.id != current.model_id:
            change["model"] = model
        aue = values["aue"]
        if model.id is not None and model.aue_date is None and aue and model.id not in self.model_aue:
            self.model_aue[model.id] = aue
        if model.id is None and model.aue_date is None and aue:
            model.aue_date = aue

    def last_sync(self, values: dict[str, Any], current: Any, change: dict[str, Any]) -> None:
        """Last Sync: a sync means the device was switched on somewhere, so it counts as seen, never moving the
        time back."""
        sync = values["last_sync"]
        if sync is not None and (current.last_seen_at is None or sync > current.last_seen_at):
            change["last_seen_at"] = sync
            self.report.seen_moved += 1

    def recent_user(self, values: dict[str, Any], current: Any) -> None:
        """Most Recent User: a device used by someone other than its assignee is a mismatch."""
        recent = values["recent_user"] if "google_recent_user" in self.fields else current.google_recent_user
        assignee = (current.assignee_email or "").lower() or None
        if not recent or recent == assignee or current.status in NO_MISMATCH_STATUSES:
            return
        report = self.report
        report.mismatch_count += 1
        if len(report.mismatches) < KEEP:
            report.mismatches.append(
                {
                    "asset_tag": current.asset_tag,
                    "serial": current.serial,
                    "recent_user": recent,
                    "assigned_to": current.assignee_name,
                    "assigned_email": assignee,
                }
            )

    def tally(self, values: dict[str, Any], current: Any, change: dict[str, Any]) -> None:
        """Plan and count what a matched row does, keep its example, and queue its update for an apply."""
        report, line = self.report, values["line"]
        # Last seen only ever moves forward, so it overwrites nothing: a scan since the dry run that makes the
        # sync old news is no reason to stop the apply.
        facts = tuple(
            (k, current.model_id, v.id or values["model"].lower()) if k == "model" else (k, getattr(current, k), v)
            for k, v in change.items()
            if k != "last_seen_at"
        )
        if (was := self.plan.add(line, "update" if facts else "unchanged", current.id, *facts)) is not None:
            now = (
                f"it would change {_labels(tuple(f[0] for f in facts))} of {current.asset_tag}"
                if facts
                else f"{current.asset_tag} would not change"
            )
            report.differs(line, values["serial"], was, now)
        if not change:
            report.unchanged += 1
            return
        report.updated += 1
        keep = len(report.changes) < KEEP
        if self.dry_run and not keep:
            return
        before, after = self.before_after(current, change)
        if keep:
            fields_shown = {k: [before[k], after[k]] for k in change}
            report.changes.append({"line": line, "asset_tag": current.asset_tag, "fields": fields_shown})
        if not self.dry_run:
            change["id"] = current.id
            self.updates.append((change, current, (before, after)))

    def before_after(self, current: Any, change: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The changed fields as they were and as they will be, in the plain values a report shows."""
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for k, v in change.items():
            if k == "model":
                before[k], after[k] = self.model_names.get(current.model_id), str(v)
            else:
                before[k], after[k] = _plain(getattr(current, k)), _plain(v)
        return before, after

    def not_in_google(self) -> None:
        """Devices on the import's campuses that no row named (retired ones are not expected in Google)."""
        report = self.report
        for key, current in sorted(self.existing.items(), key=lambda kv: kv[1].asset_tag):
            if key in self.matched or current.status is AssetStatus.retired:
                continue
            if self.campus_ids is not None and current.campus_id not in self.campus_ids:
                continue
            report.not_in_google_count += 1
            if len(report.not_in_google) < KEEP:
                report.not_in_google.append(
                    {"asset_tag": current.asset_tag, "serial": current.serial, "status": current.status.value}
                )


def run(
    data: bytes | str | IO[bytes],
    *,
    by: User | None,
    campus_ids: set[int] | None = None,
    dry_run: bool = True,
    filename: str = "",
    approved: bytes | None = None,
    progress: Callable[[int], None] | None = None,
) -> GoogleReport:
    """Check (dry run) or apply a Google Admin export; nothing is written unless every row is good.

    `data` may be a binary stream, read row by row. `campus_ids` limits the import to devices on those campuses
    (None: the whole district); serials that belong to other campuses are counted, never touched. The report's
    plan says what each row would do; given the plan a dry run approved (`approved`), an apply whose rows would
    now do anything else writes nothing and lists those rows (report.differences). Raises HeaderError when the
    serial column is missing. `progress`, when given, is called with the rows read so far as they are read.
    """
    report = GoogleReport(source=f"Google Admin{' ' + filename if filename else ''}", dry_run=dry_run)
    table = read_table(data, ALIASES, required=["serial"])
    plan = report.plan = Plan(approved)
    present = set(table.columns)
    if table.unknown_headers:
        report.notes.append("Ignored unknown column(s): " + ", ".join(table.unknown_headers) + ".")
    fields = {attr: col for attr, col in FIELDS.items() if col in present}
    reconciler = _Reconciler(report, plan, fields, campus_ids=campus_ids, dry_run=dry_run)
    for values in _parse_rows(table, report, plan):
        reconciler.row(values)
        if progress is not None:
            progress(report.rows)
    if progress is not None:
        progress(report.rows)
    if (left := plan.left_over()) and approved is not None:
        report.different += left
    reconciler.not_in_google()
    if dry_run or report.errors or report.different:
        return report
    _apply(report, reconciler.updates, reconciler.new_models, reconciler.model_aue, by=by, campus_ids=campus_ids)
    return report


def _apply(
    report: GoogleReport,
    updates: list[Update],
    new_models: dict[str, DeviceModel],
    model_aue: dict[int, date],
    *,
    by: User | None,
    campus_ids: set[int] | None,
) -> None:
    db.session.add_all(new_models.values())
    db.session.flush()
    for model_id, aue in model_aue.items():
        db.session.get(DeviceModel, model_id).aue_date = aue
    rows = []
    for change, _, _ in updates:
        model = change.pop("model", None)
        if model is not None:
            change["model_id"] = model.id
        if "last_seen_at" in change:
            change["last_seen_by_id"] = None
        rows.append(change)
    # Group rows by the columns they set: one Core executemany per shape keeps 100,000 updates quick.
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    table = Asset.__table__
    sqlite = db.session.get_bind().dialect.name == "sqlite"
    if sqlite:
        # Each sync moves the device in three last-seen indexes; an even roomier page cache for this connection
        # halves the time of 100,000 such updates. Put back afterwards.
        db.session.execute(sa.text(f"PRAGMA cache_size=-{IMPORT_CACHE_KB}"))
    for keys, batch in shapes.items():
        values: dict[Any, Any] = {table.c[k]: sa.bindparam(f"b_{k}", type_=table.c[k].type) for k in keys if k != "id"}
        # Google's facts are not an edit by a person: updated_at keeps its value (and skips its onupdate).
        values[table.c.updated_at] = table.c.updated_at
        stmt = sa.update(table).where(table.c.id == sa.bindparam("b_id")).values(values)
        params = [{f"b_{k}": v for k, v in row.items()} for row in batch]
        for start in range(0, len(params), 5000):
            db.session.execute(stmt, params[start : start + 5000])
    if any("model_id" in r for r in rows):
        refresh_search_text([r["id"] for r in rows if "model_id" in r])
    summary = activity.record(
        "import.google_admin",
        report.summary(),
        by=by,
        via=Via.import_,
        campus_id=next(iter(campus_ids)) if campus_ids and len(campus_ids) == 1 else None,
        after={
            **report.counts(),
            "rows": report.rows,
            "new_models": len(report.new_models),
            "not_in_rollcall": report.not_in_rollcall_count,
            "not_in_google": report.not_in_google_count,
            "mismatches": report.mismatch_count,
            "other_campus": report.other_campus,
        },
    )
    # Each device's own history says what the import changed on it, before and after.
    bulk.insert_rows(
        Activity.__table__,
        ("asset_id", "campus_id", "summary", "before", "after"),
        [
            (
                current.id,
                current.campus_id,
                f"Google Admin import changed {_labels(tuple(after))} of {current.asset_tag}"[:300],
                before,
                after,
            )
            for _, current, (before, after) in updates
        ],
        same={
            "at": summary.at,
            "action": "asset.update",
            "via": Via.import_,
            "user_id": by.id if by is not None else None,
            # The import's own entry: which file did this.
            "subject_type": Activity.__tablename__,
            "subject_id": summary.id,
        },
    )
    if sqlite:
        db.session.execute(sa.text(f"PRAGMA cache_size=-{int(current_app.config['SQLITE_CACHE_KB'])}"))


def mismatches(user: User) -> sa.Select:
    """Devices on the user's campuses whose most recent Google user is not the person they are assigned to."""

    return (
        sa.select(Asset)
        .outerjoin(Person, Asset.assigned_to_id == Person.id)
        .options(selectinload(Asset.assigned_to))
        .where(
            visible_to(user),
            Asset.google_recent_user.is_not(None),
            Asset.status.not_in(NO_MISMATCH_STATUSES),
            sa.or_(Person.id.is_(None), sa.func.lower(sa.func.coalesce(Person.email, "")) != Asset.google_recent_user),
        )
        .order_by(Asset.asset_tag)
    )


__all__ = ["ALIASES", "GoogleReport", "HeaderError", "mismatches", "parse_when", "run"]
