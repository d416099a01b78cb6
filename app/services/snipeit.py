"""Snipe-IT migration: its asset CSV in (statuses mapped, warranty months to an end date, checked-out people
matched by employee number, email or username, unknown models created) and an asset CSV out that Snipe-IT's
importer accepts and that Rollcall reads back exactly: importing its own export changes nothing."""

from __future__ import annotations

import calendar
import datetime
import difflib
import functools
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app import bulk
from app.extensions import db
from app.models import (
    Activity,
    Asset,
    AssetStatus,
    Assignment,
    Campus,
    Condition,
    DeviceModel,
    Person,
    Room,
    User,
    Via,
    utcnow,
)
from app.services import activity
from app.services.csvio import (
    ImportReport,
    Plan,
    Row,
    RowError,
    looks_like_formula,
    parse_date,
    read_table,
    write_csv,
)
from app.services.google.fleet import _tag_codes

ALIASES: dict[str, tuple[str, ...]] = {
    "asset_tag": ("Asset Tag", "Tag"),
    "serial": ("Serial Number", "Serial"),
    "model": ("Model Name", "Model"),
    "category": ("Category",),
    "manufacturer": ("Manufacturer",),
    "status": ("Status", "Status Label"),
    "location": ("Location", "Default Location", "Campus"),
    "purchase_date": ("Purchase Date",),
    "purchase_cost": ("Purchase Cost", "Cost"),
    "order_number": ("Order Number", "PO Number", "Purchase Order"),
    "warranty": ("Warranty", "Warranty Months", "warranty_months"),
    "warranty_start": ("Warranty Start", "Warranty Start Date"),
    "warranty_end": ("Warranty Expires", "Warranty End", "Warranty Expiration", "Warranty End Date"),
    "notes": ("Notes",),
    "full_name": ("Full Name", "Checked Out To", "Assigned To"),
    "email": ("Email", "Checked Out Email"),
    "username": ("Username",),
    "employee_number": ("Employee Number", "Employee Num", "Employee ID", "Student ID"),
    # Snipe-IT columns Rollcall has no place for: known, so not reported as unknown.
    "_ignored": ("Item Name", "Asset Name", "Model Number", "Supplier", "Company"),
}
HEADER = [
    "Asset Tag",
    "Item Name",
    "Serial Number",
    "Model Name",
    "Model Number",
    "Category",
    "Manufacturer",
    "Status",
    "Location",
    "Purchase Date",
    "Purchase Cost",
    "Order Number",
    "Warranty",
    "Warranty Start",
    "Warranty Expires",
    "Notes",
    "Full Name",
    "Email",
    "Username",
    "Employee Number",
]
# Our status → the Snipe-IT status label written on export (and read back by the import).
EXPORT_LABELS = {
    AssetStatus.deployed: "Deployed",
    AssetStatus.in_stock: "Ready to Deploy",
    AssetStatus.loaner: "Loaner",
    AssetStatus.in_repair: "Out for Repair",
    AssetStatus.missing: "Lost/Stolen",
    AssetStatus.retired: "Archived",
}
# Snipe-IT labels are free text: the first rule whose words appear in the label wins.
STATUS_RULES: tuple[tuple[tuple[str, ...], AssetStatus], ...] = (
    (("repair", "rma", "warranty"), AssetStatus.in_repair),
    (("lost", "stolen", "missing"), AssetStatus.missing),
    (
        ("broken", "not fixable", "undeployable", "archiv", "retire", "dispos", "recycl", "scrap", "e-waste", "ewaste"),
        AssetStatus.retired,
    ),
    (("loan", "spare pool"), AssetStatus.loaner),
    (("ready", "pending", "stock", "available", "deployable", "spare", "new"), AssetStatus.in_stock),
    (("deployed", "checked out", "assigned", "in use"), AssetStatus.deployed),
)
FIELDS = (
    "asset_tag",
    "serial",
    "model_id",
    "campus_id",
    "home_room_id",
    "status",
    "purchase_date",
    "purchase_cost",
    "order_number",
    "warranty_start",
    "warranty_end",
    "notes",
    "assigned_to_id",
)
KEEP = 2000
# Rows a bulk statement sends at once.
BATCH = 5000
# Rows read ahead so the devices they match load together.
AHEAD = 1000
# Columns that say whom a device is checked out to: with any of them in the file, a blank one means nobody.
PEOPLE_COLUMNS = {"full_name", "email", "username", "employee_number"}
# Free text kept exactly as written (white space too), so an export reads back unchanged.
VERBATIM = ("notes",)
# Bad rows that get a "did you mean" (each looks through every person or room once).
SUGGESTED = 200


@functools.lru_cache(maxsize=1024)
def map_status(label: str) -> AssetStatus | None:
    """Our status for a Snipe-IT status label, or None when the label means nothing we know."""
    text = (label or "").strip().lower()
    if not text:
        return None
    for value in AssetStatus:
        if text == value.value or text == value.label:
            return value
    for words, status in STATUS_RULES:
        if any(w in text for w in words):
            return status
    return None


def add_months(start: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def months_between(start: date, end: date) -> int:
    """Whole months from start to end, rounded to the nearest month (what a warranty length is quoted in)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months + (1 if end.day - start.day >= 15 else -1 if start.day - end.day > 15 else 0)


def parse_cost(text: str) -> Decimal | None:
    """A cost as exports write it: `289.00`, `$1,249.99`; empty is None; raises ValueError otherwise."""
    value = re.sub(r"[\s$€£,]", "", text or "")
    if not value:
        return None
    try:
        cost = Decimal(value).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise ValueError(value) from exc
    if cost < 0 or cost >= Decimal("100000000"):
        raise ValueError(value)
    return cost


@dataclass
class SnipeReport(ImportReport):
    rows: int = 0
    new_models: list[str] = field(default_factory=list)
    assigned: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "counts": self.counts(),
            "assigned": self.assigned,
            "new_models": self.new_models,
            "notes": self.notes,
            "errors": [{"line": e.line, "column": e.column, "message": e.message} for e in self.errors[:KEEP]],
            "changes": self.changes[:KEEP],
            "different": self.different,
            "differences": self.differences,
        }


def _close(text: str, candidates: list[str]) -> str | None:
    """The candidate most like `text` (difflib), when one is close enough to be a likely typo."""
    found = difflib.get_close_matches(text, candidates, n=1, cutoff=0.8)
    return found[0] if found else None


class _Places:
    """Campuses and rooms by code or name, for the Location column."""

    def __init__(self) -> None:
        self.campuses: dict[str, Campus] = {}
        for c in db.session.scalars(sa.select(Campus)):
            self.campuses[c.code.lower()] = c
            self.campuses.setdefault(c.name.lower(), c)
        self.rooms: dict[str, Room] = {r.code.lower(): r for r in db.session.scalars(sa.select(Room))}

    def find(self, text: str) -> tuple[Campus | None, Room | None]:
        key = text.strip().lower()
        if key in self.campuses:
            return self.campuses[key], None
        room = self.rooms.get(key)
        if room is not None:
            return self.campuses[room.campus.code.lower()], room
        return None, None

    def like(self, text: str) -> str | None:
        """The room or campus code a mistyped Location most likely meant."""
        rooms = {r.code.lower(): r.code for r in self.rooms.values()}
        campuses = {c.code.lower(): c.code for c in self.campuses.values()}
        key = _close(text.strip().lower(), [*rooms, *campuses])
        return rooms.get(key or "") or campuses.get(key or "")


class _People:
    """People by lower-cased student or staff ID, email and username."""

    def __init__(self) -> None:
        self.by_id: dict[str, Person] = {}
        self.by_email: dict[str, Person] = {}
        self.by_username: dict[str, Person] = {}
        for p in db.session.scalars(sa.select(Person)):
            self.by_id.setdefault(p.external_id.lower(), p)
            if p.email:
                self.by_email.setdefault(p.email.lower(), p)
            if p.username:
                self.by_username.setdefault(p.username.lower(), p)

    def find(self, number: str, email: str, username: str) -> Person | None:
        return (
            self.by_id.get(number.strip().lower())
            or self.by_email.get(email.strip().lower())
            or self.by_username.get(username.strip().lower())
        )

    def missing(self, number: str, email: str, username: str, who: str) -> str:
        """Why no one was found, naming what was looked for and the closest match there is."""
        for value, index, words in (
            (email, self.by_email, "email"),
            (username, self.by_username, "username"),
            (number, self.by_id, "employee number"),
        ):
            if value.strip():
                near = _close(value.strip().lower(), list(index))
                hint = f"; did you mean {near!r}?" if near else "."
                return f"No person with {words} {value.strip()!r}{hint}"
        return f"No one in the roster has the email, username or employee number of {who!r}."


# What a good row leads to: the device it matches (None: a new one), the values to set, the person it is
# checked out to, and each changed field as (before, after).
Planned = tuple[Asset | None, dict[str, Any], Person | None, dict[str, tuple[Any, Any]]]
# Reports a problem with the row being read: (message, the column it is in).
Bad = Callable[[str, str], None]


@dataclass
class _Purchase:
    """The purchase columns of a row: date (None when unreadable, see `date_read`), cost, warranty months."""

    date: date | None = None
    date_read: bool = True
    cost: Decimal | None = None
    months: int | None = None
    warranty_start: datetime.date | None = None
    warranty_end: datetime.date | None = None


@dataclass
class _Found:
    """What a row's columns name, once every column of it is good."""

    line: int
    tag: str
    serial: str
    asset: Asset | None
    status: AssetStatus | None
    campus: Campus | None
    room: Room | None
    purchase: _Purchase
    person: Person | None
    model: DeviceModel | None
    notes: str
    order_number: str


class _Matcher:
    """What rows are matched against: the district's devices, places, people and models, and the tags and
    serials earlier rows of the file used. One method per group of columns; each reports its cells' problems."""

    def __init__(
        self, report: SnipeReport, plan: Plan, campus_ids: set[int] | None, default_campus: Campus | None
    ) -> None:
        self.report, self.plan = report, plan
        self.campus_ids = campus_ids
        self.default_campus = default_campus
        self.places, self.people = _Places(), _People()
        self.models = {(m.manufacturer.lower(), m.name.lower()): m for m in db.session.scalars(sa.select(DeviceModel))}
        self.new_models: dict[tuple[str, str], DeviceModel] = {}
        self.by_tag = {t.upper(): asset_id for asset_id, t in db.session.execute(sa.select(Asset.id, Asset.asset_tag))}
        self.by_serial = {
            s.strip().upper(): asset_id for asset_id, s in db.session.execute(sa.select(Asset.id, Asset.serial))
        }
        self.seen_tags: dict[str, int] = {}
        self.seen_serials: dict[str, int] = {}
        self.suggested = 0
        self.explicit_warranty = False

    def device(self, row: Row, bad: Bad) -> tuple[str, str, Asset | None]:
        """Asset Tag and Serial Number: (tag, serial, the device they match by tag, then by serial, in any case).
        A device's tag and serial keep the case they have; a new one's are upper case, as scans look them up."""
        written_tag, written_serial = row.get("asset_tag").strip(), row.get("serial").strip()
        tag, serial = tag_key, serial_key = written_tag.upper(), written_serial.upper()
        _identifier(written_tag, "asset tag", 32, self.seen_tags.get(tag_key), "Asset Tag", bad)
        _identifier(written_serial, "serial number", 64, self.seen_serials.get(serial_key), "Serial Number", bad)
        self.seen_tags.setdefault(tag_key, row.line)
        self.seen_serials.setdefault(serial_key, row.line)
        asset_id = self.by_tag.get(tag_key)
        serial_id = self.by_serial.get(serial_key)
        if asset_id and serial_id and asset_id != serial_id:
            bad(f"Asset tag {tag!r} and serial {serial!r} belong to two different devices.", "Serial Number")
        asset_id = asset_id or serial_id
        asset = db.session.get(Asset, asset_id) if asset_id else None
        if asset is not None:
            tag = asset.asset_tag if asset.asset_tag.upper() == tag_key else tag
            serial = asset.serial if asset.serial.strip().upper() == serial_key else serial
        return tag, serial, asset

    def ahead(self, rows: Iterator[Row]) -> Iterator[Row]:
        """The rows, read AHEAD at a time with the devices they name loaded in one query (and held while those
        rows are matched), so matching a row that updates a device asks the database nothing."""
        while chunk := list(itertools.islice(rows, AHEAD)):
            ids: set[int | None] = set()
            for row in chunk:
                ids.add(self.by_tag.get(row.get("asset_tag").strip().upper()))
                ids.add(self.by_serial.get(row.get("serial").strip().upper()))
            ids.discard(None)
            held = list(db.session.scalars(sa.select(Asset).where(Asset.id.in_(ids)))) if ids else []
            yield from chunk
            del held

    def suggest(self) -> bool:
        """Whether this bad row still gets a close match looked up (the first SUGGESTED do)."""
        self.suggested += 1
        return self.suggested <= SUGGESTED

    def place(self, row: Row, asset: Asset | None, bad: Bad) -> tuple[Campus | None, Room | None]:
        """Location: a campus or room by code or name (blank: the import's campus), within the user's campuses."""
        location = row.get("location")
        campus, room = self.places.find(location) if location else (self.default_campus, None)
        if campus is None and location:
            near = self.places.like(location) if self.suggest() else None
            hint = f"; did you mean {near!r}?" if near else "."
            bad(f"No campus or room called {location!r}{hint}", "Location")
        elif campus is None and asset is None:
            bad("No location: give a Location or choose a campus for the import.", "Location")
        if campus is not None and self.campus_ids is not None and campus.id not in self.campus_ids:
            bad(f"{campus.code!r} is not one of your campuses.", "Location")
        if asset is not None and self.campus_ids is not None and asset.campus_id not in self.campus_ids:
            bad(f"{asset.asset_tag!r} belongs to a campus that is not yours.", "Asset Tag")
        return campus, room

    def person(self, row: Row, bad: Bad) -> Person | None:
        """Full Name, Email, Username, Employee Number: whom the device is checked out to, found by employee
        number (the person's student or staff ID), then email, then username."""
        number, email, username = row.get("employee_number"), row.get("email"), row.get("username")
        who = row.get("full_name") or email or username or number
        if not who:
            return None
        person = self.people.find(number, email, username)
        if person is None:
            if self.suggest():
                bad(self.people.missing(number, email, username, who), "Email")
            else:
                bad(f"No one in the roster has the email, username or employee number of {who!r}.", "Email")
        elif self.campus_ids is not None and person.campus_id not in self.campus_ids:
            bad(f"{person.name!r} is not on one of your campuses.", "Email")
        return person

    def model(self, row: Row, asset: Asset | None, bad: Bad) -> DeviceModel | None:
        """Manufacturer, Model Name, Category: the device model, created (once per file) when it is new."""
        maker = row.get("manufacturer").strip() or "Unknown"
        model_name = row.get("model").strip()
        if not model_name:
            if asset is None:
                bad("No model name.", "Model Name")
            return None
        key = (maker.lower(), model_name.lower())
        model = self.models.get(key) or self.new_models.get(key)
        if model is None:
            model = DeviceModel(
                manufacturer=maker[:80], name=model_name[:120], category=(row.get("category") or "Chromebook")[:40]
            )
            self.new_models[key] = model
            self.report.new_models.append(f"{maker} {model_name}")
        return model

    def read(self, row: Row) -> _Found | None:
        """The row's findings, or None when any of its cells is bad (each problem is in the report)."""
        report = self.report
        errors_before = len(report.errors)

        def bad(message: str, column: str) -> None:
            report.errors.append(RowError(row.line, message, column))

        tag, serial, asset = self.device(row, bad)
        status = _status(row, bad)
        campus, room = self.place(row, asset, bad)
        purchase = _purchase(row, bad, self.explicit_warranty)
        person = self.person(row, bad)
        model = self.model(row, asset, bad)
        if len(report.errors) == errors_before:
            order = row.get("order_number")[:64]
            return _Found(
                row.line, tag, serial, asset, status, campus, room, purchase, person, model, row.get("notes"), order
            )
        messages = "; ".join(e.message for e in report.errors[errors_before:])
        if (was := self.plan.add(row.line, "error", messages)) is not None:
            report.differs(row.line, tag, was, f"it is a bad row: {messages}")
        return None


def _identifier(value: str, words: str, longest: int, seen: int | None, column: str, bad: Bad) -> None:
    """An asset tag or serial must be there, fit, not run as a spreadsheet formula, and be the file's only one."""
    if not value:
        bad(f"No {words}.", column)
    elif len(value) > longest:
        bad(f"The {words} {value!r} is longer than {longest} characters.", column)
    elif looks_like_formula(value):
        bad(
            f"The {words} {value!r} starts like a spreadsheet formula (=, +, - or @); it cannot be an identifier.",
            column,
        )
    elif seen is not None:
        bad(f"The {words} {value!r} is also on line {seen}.", column)


def _status(row: Row, bad: Bad) -> AssetStatus | None:
    """Status: our status for the Snipe-IT label (None when blank)."""
    status = map_status(row.get("status"))
    if row.get("status") and status is None:
        bad(f"Unknown status label {row.get('status')!r}.", "Status")
    return status


def _purchase(row: Row, bad: Bad, explicit: bool) -> _Purchase:
    """Purchase Date, Purchase Cost and the warranty: its start and end dates when the file has those columns
    (`explicit`, as Rollcall's export does), else Warranty (months from the purchase date)."""
    found = _Purchase()
    try:
        found.date = parse_date(row.get("purchase_date"))
    except ValueError:
        found.date_read = False
        bad(f"Unreadable date {row.get('purchase_date')!r}.", "Purchase Date")
    try:
        found.cost = parse_cost(row.get("purchase_cost"))
    except ValueError:
        bad(f"Unreadable cost {row.get('purchase_cost')!r}.", "Purchase Cost")
    for name, column in (("warranty_start", "Warranty Start"), ("warranty_end", "Warranty Expires")):
        try:
            setattr(found, name, parse_date(row.get(name)))
        except ValueError:
            bad(f"Unreadable date {row.get(name)!r}.", column)
    if found.warranty_start and found.warranty_end and found.warranty_end < found.warranty_start:
        bad(f"The warranty ends ({row.get('warranty_end')!r}) before it starts.", "Warranty Expires")
    months = row.get("warranty").strip()
    if not months:
        return found
    if explicit:
        return found  # the dates themselves say when the warranty runs; the months are only for Snipe-IT
    if not months.isdigit() or int(months) > 240:
        bad(f"Warranty should be a number of months, not {months!r}.", "Warranty")
    elif not found.date_read:
        pass  # the unreadable purchase date is already reported
    elif not found.date:
        bad("A warranty in months needs a purchase date to count from.", "Warranty")
    else:
        found.months = int(months)
    return found


def _placement(found: _Found) -> dict[str, Any]:
    """The campus and home room a row puts the device in: a home room on another campus is cleared."""
    asset, campus = found.asset, found.campus
    if campus is None:
        return {}
    if found.room is not None:
        return {"campus_id": campus.id, "home_room_id": found.room.id}
    if asset is not None and asset.home_room is not None and asset.home_room.campus_id != campus.id:
        return {"campus_id": campus.id, "home_room_id": None}
    return {"campus_id": campus.id}


def _values(found: _Found, columns: set[str]) -> dict[str, Any]:
    """The asset fields a good row sets; a column the file lacks leaves its field alone."""
    purchase = found.purchase
    values: dict[str, Any] = {"asset_tag": found.tag, "serial": found.serial}
    if found.model is not None:
        values["model"] = found.model
    values.update(_placement(found))
    if found.status is not None:
        # A device checked out to someone is deployed, though Snipe-IT keeps its "Ready to Deploy" label.
        shelved = found.status is AssetStatus.in_stock and found.person is not None
        values["status"] = AssetStatus.deployed if shelved else found.status
    if "purchase_date" in columns:
        values["purchase_date"] = purchase.date
    if "purchase_cost" in columns:
        values["purchase_cost"] = purchase.cost
    if "order_number" in columns:
        values["order_number"] = found.order_number or None
    if "warranty_start" in columns:
        values["warranty_start"] = purchase.warranty_start
    if "warranty_end" in columns:
        values["warranty_end"] = purchase.warranty_end
    if purchase.months is not None and purchase.date is not None:
        values["warranty_start"] = purchase.date
        values["warranty_end"] = add_months(purchase.date, purchase.months)
    if "notes" in columns:
        values["notes"] = found.notes
    if columns & PEOPLE_COLUMNS:
        values["assigned_to_id"] = found.person.id if found.person else None
    return values


def _tally(report: SnipeReport, plan: Plan, found: _Found, values: dict[str, Any]) -> Planned | None:
    """Count and plan what a good row does; what to write for it (None: nothing changes)."""
    asset, tag = found.asset, found.tag
    change = _diff(asset, values)
    kind = "create" if asset is None else "update" if change else "unchanged"
    if (was := plan.add(found.line, kind, asset.id if asset else None, *change.items())) is not None:
        report.differs(found.line, tag, was, _outcome(kind, tag, asset, change))
    if kind == "unchanged":
        report.unchanged += 1
        return None
    if kind == "create":
        report.created += 1
    else:
        report.updated += 1
    person = found.person
    if person is not None and (asset is None or asset.assigned_to_id != person.id):
        report.assigned += 1
    if len(report.changes) < KEEP:
        report.changes.append(
            {
                "line": found.line,
                "asset_tag": tag,
                "new": asset is None,
                "fields": {k: list(v) for k, v in change.items()},
            }
        )
    return asset, values, person, change


def run(
    data: bytes | str | IO[bytes],
    *,
    by: User | None,
    campus_ids: set[int] | None = None,
    default_campus: Campus | None = None,
    dry_run: bool = True,
    filename: str = "",
    approved: bytes | None = None,
    progress: Callable[[int], None] | None = None,
) -> SnipeReport:
    """Check (dry run) or apply a Snipe-IT asset export; nothing is written unless every row is good.

    `data` may be a binary stream, read row by row. Assets are matched by asset tag, then by serial (any case).
    `campus_ids` limits which campuses the file may touch (None: the whole district); `default_campus` places
    rows whose Location is blank. Given the plan a dry run approved (`approved`), an apply whose rows would now
    do anything else (a device added or changed in between) writes nothing and lists those rows
    (report.differences). Raises HeaderError when the asset tag or serial column is missing. `progress`, when
    given, is called with the rows read so far as they are read.
    """
    report = SnipeReport(source=f"Snipe-IT{' ' + filename if filename else ''}", dry_run=dry_run)
    table = read_table(data, ALIASES, required=["asset_tag", "serial"], verbatim=VERBATIM)
    plan = report.plan = Plan(approved)
    if table.unknown_headers:
        report.notes.append("Ignored unknown column(s): " + ", ".join(table.unknown_headers) + ".")
    columns = set(table.columns)
    matcher = _Matcher(report, plan, campus_ids, default_campus)
    matcher.explicit_warranty = bool(columns & {"warranty_start", "warranty_end"})
    planned: list[Planned] = []
    for row in matcher.ahead(table.rows):
        report.rows += 1
        if progress is not None:
            progress(report.rows)
        found = matcher.read(row)
        if found is None:
            continue
        write = _tally(report, plan, found, _values(found, columns))
        if write is not None and not dry_run:
            planned.append(write)
    if (left := plan.left_over()) and approved is not None:
        report.different += left
    if dry_run or report.errors or report.different:
        return report
    _apply(report, planned, list(matcher.new_models.values()), by=by, campus_ids=campus_ids)
    return report


def _outcome(kind: str, tag: str, asset: Asset | None, change: dict[str, tuple[Any, Any]]) -> str:
    """What a row would now do, in words."""
    if kind == "create":
        return f"it would add {tag}"
    if kind == "unchanged":
        return f"{asset.asset_tag if asset else tag} would not change"
    return f"it would change {_labels(change)} of {asset.asset_tag if asset else tag}"


def _labels(change: dict[str, Any]) -> str:
    return ", ".join(k.replace("_id", "").replace("_", " ") for k in change)


def _shown(value: Any) -> Any:
    plain = activity.plain(value)
    return None if plain in ("", None) else plain


def _diff(asset: Asset | None, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Field → (before, after) for every value that would change (all of them for a new asset)."""
    out: dict[str, tuple[Any, Any]] = {}
    for key, new in values.items():
        if key == "model":
            old_value = asset.model if asset is not None else None
            if old_value is None or new.id is None or old_value.id != new.id:
                out["model"] = (str(old_value) if old_value else None, str(new))
            continue
        old = getattr(asset, key) if asset is not None else None
        if key == "notes" and asset is not None:
            old = old or ""
        if old != new:
            out[key] = (_shown(old), _shown(new))
    return out


def _search_text(tag: str, serial: str, code: str, model: DeviceModel, person: Person | None) -> str:
    """What the inventory search matches for a device, as Asset.refresh_search_text writes it."""
    parts = [tag, serial, code, model.manufacturer, model.name]
    if person is not None:
        parts += [person.name, person.external_id]
    return " ".join(p for p in parts if p).lower()


class _Writer:
    """An apply's writes, in bulk statements inside the caller's transaction: the new devices, the changed ones,
    their assignments and their history, as writing the rows one by one in file order would leave them."""

    def __init__(self, by: User | None) -> None:
        self.now, self.by_id = utcnow(), by.id if by is not None else None

    def insert(self, plans: list[Planned]) -> dict[str, int]:
        """The new devices (with their tag codes and search text; the search index's triggers see each row): the
        id of each by its serial."""
        if not plans:
            return {}
        table = Asset.__table__
        columns = (*FIELDS, "tag_code", "condition", "search_text")
        rows = []
        for (_, values, person, _), code in zip(plans, _tag_codes(len(plans)), strict=True):
            model = values["model"]
            row = {"status": AssetStatus.in_stock, "notes": "", **values, "model_id": model.id, "tag_code": code}
            row["condition"] = Condition.good
            row["search_text"] = _search_text(row["asset_tag"], row["serial"], code, model, person)
            rows.append(tuple(row.get(c) for c in columns))
        before = db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0
        bulk.insert_rows(table, columns, rows, same={"created_at": self.now, "updated_at": self.now})
        # The transaction holds the devices it inserted: their ids are new ones with these serials.
        return dict(db.session.execute(sa.select(table.c.serial, table.c.id).where(table.c.id > before)).all())

    def update(self, plans: list[Planned]) -> None:
        """The changed devices' changed columns, grouped by the columns a row sets (one executemany per group).
        A device two rows name gets the later row's values, as it would one row at a time."""
        rows: dict[int, dict[str, Any]] = {}
        for asset, values, person, change in plans:
            assert asset is not None
            again = asset.id in rows
            row = rows.setdefault(asset.id, {"id": asset.id})
            for key in values if again else change:
                if key == "model":
                    row["model_id"] = values["model"].id
                else:
                    row[key] = values[key]
            holder = person if "assigned_to_id" in values else asset.assigned_to
            model = values.get("model", asset.model)
            text = _search_text(values["asset_tag"], values["serial"], asset.tag_code, model, holder)
            if again or text != asset.search_text:
                row["search_text"] = text
        table = Asset.__table__
        shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in rows.values():
            shapes.setdefault(tuple(sorted(row)), []).append({f"b_{k}": v for k, v in row.items()})
        for keys, params in shapes.items():
            # updated_at takes its onupdate: an import is an edit.
            stmt = (
                sa.update(table)
                .where(table.c.id == sa.bindparam("b_id"))
                .values({table.c[k]: sa.bindparam(f"b_{k}", type_=table.c[k].type) for k in keys if k != "id"})
            )
            for begin in range(0, len(params), BATCH):
                db.session.execute(stmt, params[begin : begin + BATCH])

    def assign(self, handed: list[tuple[int, bool, int | None, Person | None]]) -> None:
        """Each (device, whether it existed, its assignee before, the person a row gives it), in file order:
        the open assignment closed and a new one opened whenever the device goes to someone else."""
        table = Assignment.__table__
        closed: set[int] = set()
        holders: dict[int, int | None] = {}
        opened: dict[int, list[Any]] = {}
        done: list[list[Any]] = []
        for asset_id, existed, was, person in handed:
            new_id = person.id if person is not None else None
            if holders.get(asset_id, was) == new_id:
                continue
            holders[asset_id] = new_id
            if asset_id in opened:
                done.append([*opened.pop(asset_id)[:2], self.now, self.by_id])
            elif existed:
                closed.add(asset_id)
            if person is not None:
                opened[asset_id] = [asset_id, person.id, None, None]
        returned = bulk.convert(table.c.returned_at, self.now)
        bulk.execute_many(
            "UPDATE assignments SET returned_at = ?, returned_by_id = ? WHERE asset_id = ? AND returned_at IS NULL",
            [(returned, self.by_id, asset_id) for asset_id in sorted(closed)],
        )
        bulk.insert_rows(
            table,
            ("asset_id", "person_id", "returned_at", "returned_by_id"),
            [*done, *opened.values()],
            same={"assigned_at": self.now, "assigned_by_id": self.by_id},
        )


def _apply(
    report: SnipeReport,
    plans: list[Planned],
    new_models: list[DeviceModel],
    *,
    by: User | None,
    campus_ids: set[int] | None,
) -> None:
    db.session.add_all(new_models)
    db.session.flush()
    writer = _Writer(by)
    ids = writer.insert([p for p in plans if p[0] is None])
    writer.update([p for p in plans if p[0] is not None])
    entries: list[dict[str, Any]] = []
    handed: list[tuple[int, bool, int | None, Person | None]] = []
    for asset, values, person, change in plans:
        if asset is None:
            asset_id, campus_id, was = ids[values["serial"]], values["campus_id"], None
            summary = f"Added {values['asset_tag']} ({values['model']}) from Snipe-IT"
        else:
            asset_id, campus_id, was = asset.id, values.get("campus_id", asset.campus_id), asset.assigned_to_id
            summary = f"Snipe-IT import changed {_labels(change)} of {values['asset_tag']}"
        if "assigned_to_id" in values:
            handed.append((asset_id, asset is not None, was, person))
        entries.append(
            {
                "asset_id": asset_id,
                "campus_id": campus_id,
                "action": "asset.update" if asset else "asset.create",
                "summary": summary[:300],
                "before": {k: v[0] for k, v in change.items()} if asset else None,
                "after": {k: v[1] for k, v in change.items()},
            }
        )
        if asset is not None:
            # The loaded device no longer says what the database holds.
            db.session.expire(asset)
    writer.assign(handed)
    summary = activity.record(
        "import.snipeit",
        report.summary(),
        by=by,
        via=Via.import_,
        campus_id=next(iter(campus_ids)) if campus_ids and len(campus_ids) == 1 else None,
        after={
            **report.counts(),
            "rows": report.rows,
            "new_models": len(report.new_models),
            "assigned": report.assigned,
        },
    )
    # Each device's own history says what the import did to it, before and after.
    bulk.insert_many(
        Activity.__table__,
        entries,
        same={
            "at": summary.at,
            "via": Via.import_,
            "user_id": by.id if by is not None else None,
            # The import's own entry: which file did this.
            "subject_type": Activity.__tablename__,
            "subject_id": summary.id,
        },
    )


def export_rows(campus_ids: set[int] | None = None, only: Any = None) -> Iterator[list[Any]]:
    """Every asset (on these campuses; None: all) as a Snipe-IT import row, by asset tag; `only`, a WHERE clause
    on assets, narrows it to a chosen few (the device list's bulk export)."""
    home = aliased(Room)
    stmt = (
        sa.select(
            Asset.asset_tag,
            Asset.serial,
            DeviceModel.name,
            DeviceModel.category,
            DeviceModel.manufacturer,
            Asset.status,
            home.code,
            Campus.code,
            Asset.purchase_date,
            Asset.purchase_cost,
            Asset.order_number,
            Asset.warranty_start,
            Asset.warranty_end,
            Asset.notes,
            Person.name,
            Person.email,
            Person.username,
            Person.external_id,
        )
        .join(DeviceModel, Asset.model_id == DeviceModel.id)
        .join(Campus, Asset.campus_id == Campus.id)
        .outerjoin(home, Asset.home_room_id == home.id)
        .outerjoin(Person, Asset.assigned_to_id == Person.id)
        .order_by(Asset.asset_tag)
        .execution_options(yield_per=2000)
    )
    if campus_ids is not None:
        stmt = stmt.where(Asset.campus_id.in_(campus_ids))
    if only is not None:
        stmt = stmt.where(only)
    for r in db.session.execute(stmt):
        (
            tag,
            serial,
            model,
            category,
            maker,
            status,
            room,
            campus,
            bought,
            cost,
            order,
            w_start,
            w_end,
            notes,
            *who,
        ) = r
        start = w_start or bought
        months = months_between(start, w_end) if start and w_end else ""
        yield [
            tag,
            "",
            serial,
            model,
            "",
            category,
            maker,
            EXPORT_LABELS[status],
            room or campus,
            _day(bought),
            f"{cost:.2f}" if cost is not None else "",
            order or "",
            months,
            _day(w_start),
            _day(w_end),
            notes or "",
            who[0] or "",
            who[1] or "",
            who[2] or "",
            who[3] or "",
        ]


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def export_csv(campus_ids: set[int] | None = None, only: Any = None) -> Iterator[str]:
    """The Snipe-IT asset CSV as streamed text, every cell formula-safe."""
    return write_csv(HEADER, export_rows(campus_ids, only))
