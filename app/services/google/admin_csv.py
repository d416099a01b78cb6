"""Google Admin Chrome device files: the console's CSV download and `gam print cros` output.

Each row is read into the Directory API's ChromeOsDevice shape and applied by app.services.google.fleet, the
same code the live sync runs, so a file and a sync follow the same rules: devices matched by serial, new ones
created through the org-unit mapping, one history entry per changed device. A file is a full export: the devices
Rollcall has and the file lacks are listed. A column the file lacks leaves its fact alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any

from app.models import User, Via
from app.services.csvio import Table, read_table
from app.services.google.fleet import apply_numbered
from app.services.google.report import GoogleReport

ALIASES: dict[str, tuple[str, ...]] = {
    "serial": ("Serial Number", "serialNumber", "Serial", "SN"),
    "device_id": ("deviceId", "Device ID", "Directory API ID", "Directory ID"),
    "status": ("Status", "Device Status"),
    "model": ("Model", "Device Model"),
    "org_unit": ("Org Unit Path", "orgUnitPath", "Org Unit", "Organizational Unit", "OU"),
    "annotated_user": ("Annotated User", "annotatedUser", "User"),
    "annotated_asset_id": ("Annotated Asset ID", "annotatedAssetId", "Asset ID"),
    "annotated_location": ("Annotated Location", "annotatedLocation", "Location"),
    "notes": ("Notes", "notes"),
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
    "os_version": ("OS Version", "osVersion", "Platform Version"),
    "recent_user": ("Most Recent User", "recentUsers.0.email", "Recent User", "recentUsers", "Last User"),
    # Known columns Rollcall does not keep: listed here so they are not reported as unknown.
    "_ignored": (
        "macAddress",
        "MAC Address",
        "recentUsers.0.type",
        "Firmware Version",
        "Ethernet MAC Address",
        "Boot Mode",
        "Last Known Network",
    ),
}
# The record key each column fills (facts.SOURCES reads them back).
RECORD_KEYS = {
    "serial": "serialNumber",
    "device_id": "deviceId",
    "status": "status",
    "model": "model",
    "org_unit": "orgUnitPath",
    "annotated_user": "annotatedUser",
    "annotated_asset_id": "annotatedAssetId",
    "annotated_location": "annotatedLocation",
    "notes": "notes",
    "last_sync": "lastSync",
    "enrolled": "lastEnrollmentTime",
    "aue": "autoUpdateThrough",
    "os_version": "osVersion",
    "recent_user": "recentUsers",
}


def _records(table: Table) -> Iterator[tuple[int, dict[str, Any]]]:
    """The file's rows as (line, ChromeOsDevice record)."""
    columns = [c for c in table.columns if c in RECORD_KEYS]
    for row in table.rows:
        record: dict[str, Any] = {RECORD_KEYS[c]: row.get(c) for c in columns}
        if "recentUsers" in record:
            record["recentUsers"] = [{"email": record["recentUsers"]}] if record["recentUsers"] else []
        yield row.line, record


def run(
    data: bytes | str | IO[bytes],
    *,
    by: User | None,
    campus_ids: set[int] | None = None,
    dry_run: bool = True,
    filename: str = "",
    approved: bytes | None = None,
    progress: Callable[[int], None] | None = None,
    skip_bad_rows: bool = False,
) -> GoogleReport:
    """Check (dry run) or apply a Google Admin export; nothing is written unless every row is good (or
    `skip_bad_rows`, when the good rows are applied and the bad ones reported).

    `data` may be a binary stream, read row by row. `campus_ids` limits the import to devices on those campuses
    (None: the whole district); serials that belong to other campuses are counted, never touched. The report's
    plan says what each row would do; given the plan a dry run approved (`approved`), an apply whose rows would
    now do anything else writes nothing and lists those rows (report.differences). Raises HeaderError when the
    serial column is missing. `progress`, when given, is called with the rows read so far as they are read.
    """
    report = GoogleReport(source=f"Google Admin{' ' + filename if filename else ''}", dry_run=dry_run)
    table = read_table(data, ALIASES, required=["serial"])
    if table.unknown_headers:
        report.notes.append("Ignored unknown column(s): " + ", ".join(table.unknown_headers) + ".")
    return apply_numbered(
        _records(table),
        report,
        by=by,
        full=True,
        campus_ids=campus_ids,
        present=set(table.columns),
        skip_bad_rows=skip_bad_rows,
        approved=approved,
        progress=progress,
        via=Via.import_,
        action="import.google_admin",
    )
