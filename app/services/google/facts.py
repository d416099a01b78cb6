"""Google's facts about one Chrome device, read from a ChromeOsDevice record in the Directory API's own JSON shape.

Both ways in speak this shape: the live sync passes the API's records as they come, and the CSV import maps its
columns onto the same keys. Text is trimmed, emails folded to lower case, times read as UTC, and Google's many
spellings of an Auto Update Expiration month (`Jun 2027`, `06/2027`, epoch milliseconds …) read as a date.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

from app.services.csvio import parse_date, parse_datetime

# Each value Rollcall keeps, and the record keys it is read from (the first that has a value wins).
SOURCES: dict[str, tuple[str, ...]] = {
    "serial": ("serialNumber",),
    "device_id": ("deviceId",),
    "status": ("status",),
    "model": ("model",),
    "org_unit": ("orgUnitPath",),
    "annotated_user": ("annotatedUser",),
    "annotated_asset_id": ("annotatedAssetId",),
    "annotated_location": ("annotatedLocation",),
    "notes": ("notes",),
    "last_sync": ("lastSync",),
    "enrolled": ("lastEnrollmentTime",),
    "aue": ("autoUpdateThrough", "autoUpdateExpiration"),
    "os_version": ("osVersion",),
    "recent_user": ("recentUsers",),
}
# The names people know these values by, for the messages about them.
LABELS = {
    "serial": "Serial Number",
    "last_sync": "Last Sync",
    "enrolled": "Enrollment Time",
    "aue": "Auto Update Expiration",
}
STATUS_WORDS = {"provisioned": "active", "active": "active"}
_US_DATETIMES = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p")
_MONTH_YEAR = re.compile(r"(\d{1,2})/(\d{4})")
_EPOCH_MS = re.compile(r"\d{11,14}")


class BadRecord(ValueError):
    """A record Rollcall cannot read: (label, message) for each value that is wrong."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


@lru_cache(maxsize=8192)
def parse_when(text: str) -> datetime | None:
    """A timestamp from either export or the API: ISO 8601 (`Z`, offset or none), a bare date, or a US date and
    time. Times without a zone are taken as UTC, which is what Google writes."""
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
            assert day is not None
            when = datetime(day.year, day.month, day.day)
    assert when is not None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@lru_cache(maxsize=8192)
def aue_date(text: str) -> date | None:
    """An Auto Update Expiration as Google writes it anywhere: what csvio.parse_date reads, plus `6/2027` and
    the API's epoch milliseconds (`autoUpdateExpiration`)."""
    value = (text or "").strip()
    try:
        return parse_date(value)
    except ValueError:
        if match := _MONTH_YEAR.fullmatch(value):
            return date(int(match.group(2)), int(match.group(1)), 1)
        if _EPOCH_MS.fullmatch(value):
            return datetime.fromtimestamp(int(value) / 1000, UTC).date()
        raise


def _text(record: Mapping[str, Any], key: str) -> str:
    for source in SOURCES[key]:
        value = record.get(source)
        if value is not None and str(value).strip():
            return str(value).strip()
    return ""


def _recent_user(record: Mapping[str, Any]) -> str | None:
    """The most recent user: the API lists recent users newest first; a file gives one email."""
    users = record.get("recentUsers")
    if isinstance(users, list):
        for user in users:
            email = (user.get("email") if isinstance(user, Mapping) else str(user or "")) or ""
            if email.strip():
                return email.strip().lower()
        return None
    return str(users or "").strip().lower() or None


def _status(text: str) -> str | None:
    word = text.lower()
    return STATUS_WORDS.get(word, word) or None


def values_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """The values Rollcall keeps from one record, typed; BadRecord names every value that cannot be read."""
    serial = _text(record, "serial")
    if not serial:
        raise BadRecord([(LABELS["serial"], "No serial number.")])
    values: dict[str, Any] = {"serial": serial, "key": serial.upper(), "model": _text(record, "model")}
    problems = []
    for name, parser in (("last_sync", parse_when), ("enrolled", parse_when), ("aue", aue_date)):
        text = _text(record, name)
        try:
            values[name] = parser(text)
        except ValueError:
            problems.append((LABELS[name], f"Unreadable date {text!r}."))
    if problems:
        raise BadRecord(problems)
    values["status"] = _status(_text(record, "status"))
    for name in ("device_id", "org_unit", "annotated_asset_id", "annotated_location", "notes", "os_version"):
        values[name] = _text(record, name) or None
    values["annotated_user"] = _text(record, "annotated_user").lower() or None
    values["recent_user"] = _recent_user(record)
    return values
