"""The one place Google's facts about Chrome devices reach the inventory.

The Google Admin CSV import and the live Directory API sync both hand their devices here as ChromeOsDevice
records (app.services.google.facts reads them), so both follow every rule: devices are matched by serial (trimmed,
any case); a device Google has and Rollcall lacks is created where the org-unit mapping puts it, tagged by its
Annotated Asset ID or its campus's rule (or listed, with why not); Google's facts are mirrored onto the device and
its Google panel; a sync counts as seen (never in a room, never moving last seen back); each changed device gets
one activity entry in words ("Google: AUE 2027-06 → 2028-06"); and a full run lists the devices Google no longer
has. Everything is planned first and written only at the end, in the caller's transaction (flushed, never
committed), with bulk statements: a district's 100,000 devices take seconds, not minutes.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app import bulk
from app.extensions import db
from app.models import Activity, Asset, AssetStatus, Condition, DeviceModel, Person, User, Via, utcnow
from app.models.google import GoogleDevice
from app.models.types import UTCDateTime
from app.services import activity
from app.services.assets import refresh_search_text
from app.services.csvio import Plan, RowError
from app.services.google import facts

# The mismatch list's query lives with its actions; imported here for the callers that know it by this name.
from app.services.google.mismatches import NO_MISMATCH_STATUSES
from app.services.google.mismatches import mismatches as mismatches
from app.services.google.placement import SERIAL_MAX, Place, Placement, unsafe
from app.services.google.report import KEEP, GoogleReport
from app.tagcodes import ALPHABET, LENGTH

# Asset column ← the fact it mirrors.
ASSET_FIELDS = {
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
# Google panel column (GoogleDevice) ← the fact it mirrors.
PANEL_FIELDS = {"os_version": "os_version", "notes": "notes"}
# Facts that move with every sync: written, but neither logged in a device's history nor held against an apply
# (a newer sync between a dry run and its apply changes nothing the dry run promised).
VOLATILE = frozenset({"last_sync_at", "last_seen_at", "os_version"})
# How each logged fact reads in a device's history.
WORDS = {
    "google_aue_date": "AUE",
    "org_unit": "org unit",
    "google_status": "status in Google",
    "google_recent_user": "recent user",
    "google_device_id": "device ID",
    "annotated_user": "annotated user",
    "annotated_asset_id": "annotated asset ID",
    "annotated_location": "annotated location",
    "enrolled_at": "enrolled",
    "model": "model",
    "google_notes": "Google notes",
}
# SQLite page cache (KiB) while a run writes.
IMPORT_CACHE_KB = 131072
BATCH = 5000


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


def _existing() -> dict[str, Any]:
    """Every device by its folded serial: the columns a record is compared with, and its assignee's email and name."""
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
        *[_fast(getattr(Asset, attr)) for attr in ASSET_FIELDS],
    ]
    return {
        r.serial.strip().upper(): r
        for r in db.session.execute(sa.select(*cols).outerjoin(Person, Asset.assigned_to_id == Person.id))
    }


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
    return value.isoformat() if isinstance(value, datetime | date) else value


def _word(key: str, value: Any) -> str:
    """A logged value as a device's history says it: AUE as its month, times as their day, nothing as a dash."""
    if value is None or value == "":
        return "—"
    if key == "google_aue_date":
        return str(value)[:7]
    if key == "enrolled_at":
        return str(value)[:10]
    return str(value)


def change_words(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """A device's changed facts in words: `Google: AUE 2027-06 → 2028-06, org unit — → /Students/LHS`."""
    said = ", ".join(
        f"{WORDS.get(k, k.replace('_', ' '))} {_word(k, before.get(k))} → {_word(k, v)}" for k, v in after.items()
    )
    return f"Google: {said}"[:300]


# A device to update: the asset columns to set (with its id), its panel columns, its row as it was, and
# (before, after) of its logged facts for its history.
Update = tuple[dict[str, Any], dict[str, Any], Any, tuple[dict[str, Any], dict[str, Any]]]
# A device to create: its facts, asset tag, place and model.
Create = tuple[dict[str, Any], str, Place, DeviceModel]


class _Fleet:
    """Google's records against the district's devices: one method per outcome or group of facts, each noting in
    the report what it finds, and the writes an apply makes."""

    def __init__(
        self, report: GoogleReport, plan: Plan, *, present: Collection[str] | None, campus_ids: set[int] | None
    ) -> None:
        self.report, self.plan, self.campus_ids = report, plan, campus_ids
        self.fields = {a: k for a, k in ASSET_FIELDS.items() if present is None or k in present}
        self.panel_fields = {a: k for a, k in PANEL_FIELDS.items() if present is None or k in present}
        self.existing = _existing()
        self.tags = {r.asset_tag.upper() for r in self.existing.values()}
        self.panel = (
            {r.asset_id: r for r in db.session.execute(sa.select(GoogleDevice.__table__))} if self.panel_fields else {}
        )
        self.models = _model_lookup()
        self.model_names = {m.id: str(m) for m in self.models.values()}
        self.placement = Placement()
        self.new_models: dict[str, DeviceModel] = {}
        self.model_aue: dict[int, date] = {}
        self.seen: dict[str, int] = {}
        self.new_tags: dict[str, int] = {}
        self.unmapped: Counter[str] = Counter()
        self.updates: list[Update] = []
        self.creates: list[Create] = []
        self.matched: set[str] = set()

    def record(self, line: int, record: Mapping[str, Any]) -> None:
        """Read one record, match it by serial and reconcile it with the device it names (or would create)."""
        self.report.rows += 1
        try:
            values = facts.values_of(record)
        except facts.BadRecord as bad:
            self.bad(line, str(record.get("serialNumber") or "").strip(), bad.problems)
            return
        key = values["key"]
        if key in self.seen:
            problem = (facts.LABELS["serial"], f"Serial {values['serial']} is also on line {self.seen[key]}.")
            self.bad(line, values["serial"], [problem])
            return
        self.seen[key] = line
        current = self.existing.get(key)
        if current is None:
            self.new_device(line, values)
            return
        if self.campus_ids is not None and current.campus_id not in self.campus_ids:
            self.other_campus(line, values, current.id)
            return
        self.matched.add(key)
        change = {a: values[k] for a, k in self.fields.items() if getattr(current, a) != values[k]}
        was = self.panel.get(current.id)
        panel = {a: values[k] for a, k in self.panel_fields.items() if (getattr(was, a) if was else None) != values[k]}
        if values["model"]:
            model = self.model_for(values)
            if model.id is None or model.id != current.model_id:
                change["model"] = model
        self.last_sync(values, current, change)
        self.recent_user(values, current)
        self.tally(line, values, current, change, panel)

    def bad(self, line: int, serial: str, problems: list[tuple[str, str]]) -> None:
        text = " ".join(message for _, message in problems)
        self.report.errors.extend(RowError(line, message, label) for label, message in problems)
        if (was := self.plan.add(line, "error", text)) is not None:
            self.report.differs(line, serial, was, f"it is a bad row: {text}")

    def other_campus(self, line: int, values: dict[str, Any], *details: Any) -> None:
        """A device on (or for) a campus the run may not touch: counted, never changed."""
        self.report.other_campus += 1
        if (was := self.plan.add(line, "other_campus", *details)) is not None:
            self.report.differs(line, values["serial"], was, "the device is on a campus that is not yours")

    def model_for(self, values: dict[str, Any]) -> DeviceModel:
        """The catalog's model Google names (created when new; "Unknown Chromebook" when it names none); a model
        without an AUE learns it from Google."""
        text = values["model"] or "Chromebook"
        folded = text.lower()
        model = self.models.get(folded) or self.new_models.get(folded)
        if model is None:
            maker, name = _split_model(text)
            model = DeviceModel(manufacturer=maker[:80], name=name[:120], category="Chromebook")
            self.new_models[folded] = model
            self.report.new_models.append(text)
        aue = values["aue"] if values["model"] else None
        if aue and model.aue_date is None:
            if model.id is None:
                model.aue_date = aue
            elif model.id not in self.model_aue:
                self.model_aue[model.id] = aue
        return model

    def new_device(self, line: int, values: dict[str, Any]) -> None:
        """A serial no device in Rollcall has: created where the mapping puts it, or listed with why not."""
        place = self.placement.place(values["org_unit"], values["annotated_location"])
        if place is None:
            self.unmapped[values["org_unit"] or ""] += 1
            self.absent(line, values, "its org unit is not mapped to a campus")
            return
        if self.campus_ids is not None and place.campus_id not in self.campus_ids:
            self.other_campus(line, values, "new", place.campus_id)
            return
        serial = values["serial"]
        tag, why = self.placement.tag_for(place.campus_id, serial, values["annotated_asset_id"])
        if len(serial) > SERIAL_MAX or unsafe(serial):
            why = f"serial {serial!r} is not one Rollcall can keep"
        elif tag is not None and tag.upper() in self.tags:
            why = f"asset tag {tag} is already another device's"
        elif tag is not None and tag.upper() in self.new_tags:
            why = f"asset tag {tag} is also on line {self.new_tags[tag.upper()]}"
        if tag is None or why:
            self.absent(line, values, why)
            return
        self.new_tags[tag.upper()] = line
        model = self.model_for(values)
        if (was := self.plan.add(line, "create", tag, place, model.id or str(model).lower())) is not None:
            self.report.differs(line, serial, was, f"it would create {tag}")
        self.report.created += 1
        if len(self.report.changes) < KEEP:
            where = {
                "campus": [None, self.placement.campus_codes.get(place.campus_id)],
                "home_room": [None, self.placement.room_codes.get(place.room_id)],
                "model": [None, str(model)],
                "org_unit": [None, values["org_unit"]],
            }
            self.report.changes.append({"line": line, "asset_tag": tag, "new": True, "fields": where})
        if not self.report.dry_run:
            self.creates.append((values, tag, place, model))

    def absent(self, line: int, values: dict[str, Any], reason: str) -> None:
        """A device Google has that this run does not create, and why."""
        report = self.report
        report.not_in_rollcall_count += 1
        if len(report.not_in_rollcall) < KEEP:
            keep = ("serial", "model", "annotated_asset_id", "org_unit", "recent_user")
            report.not_in_rollcall.append({"line": line, **{k: values[k] for k in keep}, "reason": reason})
        if (was := self.plan.add(line, "absent", reason)) is not None:
            report.differs(line, values["serial"], was, f"it would not be created: {reason}")

    def last_sync(self, values: dict[str, Any], current: Any, change: dict[str, Any]) -> None:
        """Last Sync: a sync means the device was switched on somewhere, so it counts as seen (in no room),
        never moving the time back."""
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

    def tally(
        self, line: int, values: dict[str, Any], current: Any, change: dict[str, Any], panel: dict[str, Any]
    ) -> None:
        """Plan and count what a matched record does, keep its example, and queue its update for an apply."""
        report = self.report
        before, after = self.before_after(current, change, panel)
        facts_ = tuple(
            (k, current.model_id, change["model"].id or values["model"].lower()) if k == "model" else (k, before[k], v)
            for k, v in after.items()
        )
        if (was := self.plan.add(line, "update" if facts_ else "unchanged", current.id, *facts_)) is not None:
            now = (
                f"it would change {', '.join(WORDS.get(f[0], f[0]) for f in facts_)} of {current.asset_tag}"
                if facts_
                else f"{current.asset_tag} would not change"
            )
            report.differs(line, values["serial"], was, now)
        if after:
            report.updated += 1
            if len(report.changes) < KEEP:
                shown = {k: [before[k], after[k]] for k in after}
                report.changes.append({"line": line, "asset_tag": current.asset_tag, "fields": shown})
        else:
            report.unchanged += 1
            if change or panel:
                report.synced += 1
        if not report.dry_run and (change or panel):
            self.updates.append(({**change, "id": current.id}, panel, current, (before, after)))

    def before_after(
        self, current: Any, change: dict[str, Any], panel: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The logged facts that change, as they were and as they will be, in the plain values a report shows."""
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for k, v in change.items():
            if k in VOLATILE:
                continue
            if k == "model":
                before[k], after[k] = self.model_names.get(current.model_id), str(v)
            else:
                before[k], after[k] = _plain(getattr(current, k)), _plain(v)
        if "notes" in panel:
            was = self.panel.get(current.id)
            before["google_notes"], after["google_notes"] = (was.notes if was else None), panel["notes"]
        return before, after

    def not_in_google(self) -> None:
        """Devices on the run's campuses that no record named (retired ones are not expected in Google)."""
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

    def unmapped_org_units(self) -> None:
        """The org units that kept new devices out, busiest first, and a note that says so."""
        found = sorted(self.unmapped.items(), key=lambda kv: (-kv[1], kv[0]))
        self.report.unmapped_org_units = [{"org_unit": ou or "(none)", "devices": n} for ou, n in found]
        if found:
            listed = ", ".join(f"{ou or '(none)'} ({n:,})" for ou, n in found[:10])
            more = f" and {len(found) - 10:,} more" if len(found) > 10 else ""
            total = sum(self.unmapped.values())
            self.report.notes.append(
                f"{total:,} device(s) in Google are in org units no mapping covers, so they are not created: "
                f"{listed}{more}. Map them on the Google org units page."
            )


def apply(
    records: Iterable[Mapping[str, Any]],
    *,
    by: User | None,
    source: str = "Google",
    dry_run: bool = True,
    full: bool = False,
    campus_ids: set[int] | None = None,
    present: Collection[str] | None = None,
    skip_bad_rows: bool = False,
    approved: bytes | None = None,
    progress: Callable[[int], None] | None = None,
    via: Via = Via.sync,
    action: str = "google.sync",
) -> GoogleReport:
    """Apply Google's ChromeOsDevice records (the Directory API's JSON: serialNumber, model, status, orgUnitPath,
    annotatedAssetId, annotatedUser, annotatedLocation, notes, lastSync, lastEnrollmentTime, autoUpdateThrough or
    else autoUpdateExpiration (epoch ms), osVersion, recentUsers [{email, type}], deviceId) to the inventory.

    Creates the devices that are new (where the org-unit mapping puts them), updates the facts of the others,
    writes one activity entry per changed or created device and one for the run (`action`, `via`, `by`), and
    returns the report: counts, example changes, bad records by their position (1-based), devices not created and
    why, unmapped org units with how many devices each, mismatched recent users and, for a `full` run (every
    device Google has), the devices Rollcall has that Google did not name. A `dry_run` writes nothing.

    `campus_ids` limits the run to those campuses (None: the whole district). `present` names the facts the
    source carries (facts.SOURCES' keys; None: all of them, a missing key meaning Google has no value); a fact not
    present is left alone. Any bad record stops the whole apply unless `skip_bad_rows`. `approved` is the plan of
    the dry run the person read: if a record would now do something else, nothing is written and
    report.differences says which. `progress` is called with the number of records read so far. Writes are
    flushed in the caller's transaction, never committed: commit or roll back the whole run.
    """
    report = GoogleReport(source=source, dry_run=dry_run)
    return apply_numbered(
        enumerate(records, 1),
        report,
        by=by,
        full=full,
        campus_ids=campus_ids,
        present=present,
        skip_bad_rows=skip_bad_rows,
        approved=approved,
        progress=progress,
        via=via,
        action=action,
    )


def apply_numbered(
    records: Iterable[tuple[int, Mapping[str, Any]]],
    report: GoogleReport,
    *,
    by: User | None,
    full: bool,
    campus_ids: set[int] | None,
    present: Collection[str] | None,
    skip_bad_rows: bool,
    approved: bytes | None,
    progress: Callable[[int], None] | None,
    via: Via,
    action: str,
) -> GoogleReport:
    """`apply` over (line, record) pairs, filling the given report (a file's reader numbers records by line)."""
    plan = report.plan = Plan(approved)
    fleet = _Fleet(report, plan, present=present, campus_ids=campus_ids)
    for line, record in records:
        fleet.record(line, record)
        if progress is not None:
            progress(report.rows)
    if progress is not None:
        progress(report.rows)
    if (left := plan.left_over()) and approved is not None:
        report.different += left
    if full:
        fleet.not_in_google()
    fleet.unmapped_org_units()
    if report.dry_run or report.different or (report.errors and not skip_bad_rows):
        return report
    _Writer(fleet, by=by, via=via, campus_ids=campus_ids).write(action)
    return report


class _Writer:
    """An apply's writes, in bulk: new models, new devices, updated facts, Google panels and the history."""

    def __init__(self, fleet: _Fleet, *, by: User | None, via: Via, campus_ids: set[int] | None) -> None:
        self.fleet, self.by, self.via, self.campus_ids = fleet, by, via, campus_ids
        self.sqlite = db.session.get_bind().dialect.name == "sqlite"

    def write(self, action: str) -> None:
        fleet = self.fleet
        db.session.add_all(fleet.new_models.values())
        db.session.flush()
        if fleet.model_aue:
            for model in db.session.scalars(sa.select(DeviceModel).where(DeviceModel.id.in_(fleet.model_aue))):
                model.aue_date = fleet.model_aue[model.id]
        if self.sqlite:
            # Each sync moves the device in three last-seen indexes; a roomier page cache for this connection
            # halves the time of 100,000 such updates. Put back afterwards.
            db.session.execute(sa.text(f"PRAGMA cache_size=-{IMPORT_CACHE_KB}"))
        created = self.insert_devices()
        self.update_devices()
        self.write_panels(created)
        self.history(action, created)
        if self.sqlite:
            db.session.execute(sa.text(f"PRAGMA cache_size=-{int(current_app.config['SQLITE_CACHE_KB'])}"))

    def insert_devices(self) -> list[tuple[int, Create]]:
        """The new devices, inserted through the driver's executemany: (id, what made it) for each."""
        fleet, now, table = self.fleet, utcnow(), Asset.__table__
        if not fleet.creates:
            return []
        columns = (
            *ASSET_FIELDS,
            "asset_tag",
            "serial",
            "tag_code",
            "model_id",
            "campus_id",
            "home_room_id",
            "status",
            "condition",
            "last_seen_at",
            "search_text",
        )
        rows = []
        for (values, tag, place, model), code in zip(fleet.creates, _tag_codes(len(fleet.creates)), strict=True):
            status = AssetStatus.retired if values["status"] == "deprovisioned" else AssetStatus.in_stock
            words = (tag, values["serial"], code, model.manufacturer, model.name)
            rows.append(
                (
                    *(values[k] for k in ASSET_FIELDS.values()),
                    tag,
                    values["serial"],
                    code,
                    model.id,
                    place.campus_id,
                    place.room_id,
                    status,
                    Condition.good,
                    values["last_sync"],
                    " ".join(w for w in words if w).lower(),
                )
            )
        before = db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0
        bulk.insert_rows(table, columns, rows, same={"created_at": now, "updated_at": now})
        # The run's transaction holds the devices it inserted; their ids are the new ones with these serials.
        ids: dict[str, int] = dict(
            db.session.execute(sa.select(table.c.serial, table.c.id).where(table.c.id > before)).all()
        )
        return [(ids[c[0]["serial"]], c) for c in fleet.creates]

    def update_devices(self) -> None:
        rows = []
        for change, _, _, _ in self.fleet.updates:
            row = {k: v for k, v in change.items() if k != "model"}
            if "model" in change:
                row["model_id"] = change["model"].id
            if "last_seen_at" in row:
                row["last_seen_by_id"] = None
            if len(row) > 1:
                rows.append(row)
        # Google's facts are not an edit by a person: updated_at keeps its value (and skips its onupdate).
        _update_many(Asset.__table__, "id", rows, keep=("updated_at",))
        if moved := [r["id"] for r in rows if "model_id" in r]:
            refresh_search_text(moved)

    def write_panels(self, created: list[tuple[int, Create]]) -> None:
        """Each device's Google panel: new rows for devices without one, changed columns for the rest."""
        fleet = self.fleet
        if not fleet.panel_fields:
            return
        new, changed = [], []
        for asset_id, (values, _, _, _) in created:
            new.append({"asset_id": asset_id, **{a: values[k] for a, k in fleet.panel_fields.items()}})
        for change, panel, _, _ in fleet.updates:
            if not panel:
                continue
            if change["id"] in fleet.panel:
                changed.append({"asset_id": change["id"], **panel})
            else:
                new.append({"asset_id": change["id"], **{a: panel.get(a) for a in fleet.panel_fields}})
        new = [row for row in new if any(v is not None for k, v in row.items() if k != "asset_id")]
        table = GoogleDevice.__table__
        for start in range(0, len(new), BATCH):
            db.session.execute(sa.insert(table), new[start : start + BATCH])
        _update_many(table, "asset_id", changed)

    def history(self, action: str, created: list[tuple[int, Create]]) -> None:
        """The run's own entry, then one entry per device it created or whose facts it changed."""
        fleet, campus_ids = self.fleet, self.campus_ids
        summary = activity.record(
            action,
            fleet.report.summary(),
            by=self.by,
            via=self.via,
            campus_id=next(iter(campus_ids)) if campus_ids and len(campus_ids) == 1 else None,
            after=fleet.report.totals(),
        )
        codes, rooms = fleet.placement.campus_codes, fleet.placement.room_codes
        rows: list[tuple[Any, ...]] = []
        for asset_id, (values, tag, place, model) in created:
            where = " ".join(filter(None, (codes.get(place.campus_id), rooms.get(place.room_id))))
            after = {"asset_tag": tag, "serial": values["serial"], "model": str(model), "org_unit": values["org_unit"]}
            said = f"Google: new device on {where}" + (f" from {values['org_unit']}" if values["org_unit"] else "")
            rows.append((asset_id, place.campus_id, "asset.create", said[:300], None, after))
        for _, _, current, (before, after) in fleet.updates:
            if after:
                rows.append((current.id, current.campus_id, "asset.update", change_words(before, after), before, after))
        bulk.insert_rows(
            Activity.__table__,
            ("asset_id", "campus_id", "action", "summary", "before", "after"),
            rows,
            same={
                "at": summary.at,
                "via": self.via,
                "user_id": self.by.id if self.by is not None else None,
                # The run's own entry: which file or sync did this.
                "subject_type": Activity.__tablename__,
                "subject_id": summary.id,
            },
        )


def _tag_codes(n: int) -> list[str]:
    """n fresh tag codes like app.tagcodes.new_tag_code's, drawn in one go (a byte's low five bits pick a letter
    of the 32 without bias)."""
    raw = secrets.token_bytes(n * LENGTH)
    return ["".join(ALPHABET[b & 31] for b in raw[i : i + LENGTH]) for i in range(0, len(raw), LENGTH)]


def _update_many(table: sa.Table, key: str, rows: list[dict[str, Any]], keep: tuple[str, ...] = ()) -> None:
    """UPDATE rows by their `key` column, grouped by the columns they set: one executemany per shape keeps
    100,000 updates quick. Columns in `keep` keep their value (and skip their onupdate)."""
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        shapes.setdefault(tuple(sorted(row)), []).append(row)
    for keys, batch in shapes.items():
        values: dict[Any, Any] = {table.c[k]: sa.bindparam(f"b_{k}", type_=table.c[k].type) for k in keys if k != key}
        values.update({table.c[k]: table.c[k] for k in keep})
        stmt = sa.update(table).where(table.c[key] == sa.bindparam(f"b_{key}")).values(values)
        params = [{f"b_{k}": v for k, v in row.items()} for row in batch]
        for start in range(0, len(params), BATCH):
            db.session.execute(stmt, params[start : start + BATCH])
