"""CSV in and out: header aliases, per-row errors with line numbers, forgiving dates, formula-safe export.

Importers (OneRoster, Google Admin, Snipe-IT) share this so every file is read the same way: UTF-8 with or
without a byte-order mark (Windows-1252 as a fallback), headers matched by alias ignoring case, spaces and
punctuation, blank lines skipped but counted, and every problem reported with the line it is on.
"""

from __future__ import annotations

import calendar
import codecs
import csv
import hashlib
import io
import re
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from app.services.errors import DomainError, Invalid

_KEY = re.compile(r"[^a-z0-9]+")
# Cells a spreadsheet would run as a formula (or that hide one behind a control character).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})


def header_key(text: str) -> str:
    """A header folded for matching: lower case, letters and digits only."""
    return _KEY.sub("", (text or "").strip().lower())


@dataclass
class RowError:
    line: int
    message: str
    column: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class HeaderError(ValueError):
    """The file cannot be read as a table: its header row lacks required columns, or a line is one no CSV reader
    takes (a cell past the csv module's 128 KB limit, say). Nothing can be imported."""


@dataclass
class Row:
    """One data row: its line number in the file and its cells by canonical column name."""

    line: int
    cells: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.cells.get(name, default) or default


@dataclass
class Table:
    """A CSV's header, read at once, and its rows, read one at a time as they are iterated (once)."""

    rows: Iterator[Row]
    columns: list[str]
    unknown_headers: list[str] = field(default_factory=list)


# How much of an upload is decoded at a time while checking its encoding.
_CHUNK = 1 << 20
MB = 1024 * 1024


class FileTooLarge(DomainError):
    """An upload over the import limit (in bytes), refused before it is read."""

    status = 413
    code = "too_large"

    def __init__(self, limit: int, *, field: str | None = None):
        super().__init__(too_large_message(limit), field=field)


def size_words(n: int) -> str:
    """A size in bytes as a person reads it (rounded down): `64 MB`, `256 KB`."""
    return f"{n // MB} MB" if n >= MB else f"{n // 1024} KB"


def too_large_message(limit: int) -> str:
    """What an upload over the import limit (in bytes) is told."""
    return f"That file is larger than {size_words(limit)}, the most an import takes. Nothing was imported."


def encoding_of(stream: IO[bytes]) -> str:
    """The encoding to read an uploaded file in: UTF-8 (BOM or not) when every byte of it decodes, else
    Windows-1252. Reads the stream through in chunks and puts it back where it was."""
    start = stream.tell()
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := stream.read(_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        found = "utf-8-sig"
    except UnicodeDecodeError:
        found = "cp1252"
    stream.seek(start)
    return found


def has_text(stream: IO[bytes]) -> bool:
    """Whether an uploaded file holds anything but white space (read until it does; put back where it was)."""
    start = stream.tell()
    try:
        while chunk := stream.read(_CHUNK):
            if chunk.strip():
                return True
        return False
    finally:
        stream.seek(start)


class _Borrowed(io.TextIOWrapper):
    """Text read from a caller's binary stream, leaving that stream open: a TextIOWrapper closes the stream
    beneath it when it goes, and an upload is parked for the apply after its dry run has read it."""

    def close(self) -> None:
        pass


def _text(source: bytes | str | IO[bytes] | IO[str]) -> IO[str]:
    if isinstance(source, str):
        return io.StringIO(source.lstrip("\ufeff"), newline="")
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    if isinstance(source, io.TextIOBase):
        return source  # type: ignore[return-value]
    return _Borrowed(source, encoding=encoding_of(source), errors="replace", newline="")  # type: ignore[arg-type]


def read_table(
    source: bytes | str | IO[bytes] | IO[str],
    aliases: Mapping[str, Sequence[str]],
    required: Iterable[str] = (),
) -> Table:
    """Parse a CSV, mapping each header to the canonical name whose aliases include it.

    `source` is the file's bytes or text, or a seekable binary stream (an upload spooled to disk), which is read
    as it goes: only the row being read is in memory, never the whole file. `aliases` maps canonical names to the
    header spellings that mean it; matching ignores case, spaces and punctuation. Raises HeaderError listing
    every required column that no header matched.
    """
    text = _text(source)
    lookup = {header_key(alias): name for name, spellings in aliases.items() for alias in (name, *spellings)}
    reader = csv.reader(text)
    header: list[str] | None = None
    for cells in _guarded(reader):
        if any(c.strip() for c in cells):
            header = cells
            break
    if header is None:
        raise HeaderError("The file is empty.")
    columns = [lookup.get(header_key(h)) for h in header]
    unknown = [h.strip() for h, c in zip(header, columns, strict=True) if c is None and h.strip()]
    missing = [name for name in required if name not in columns]
    if missing:
        raise HeaderError(
            "Missing column"
            + ("s" if len(missing) > 1 else "")
            + ": "
            + ", ".join(missing)
            + f". Found: {', '.join(h.strip() for h in header)}."
        )
    return Table(rows=_rows(reader, columns), columns=[c for c in columns if c], unknown_headers=unknown)


def _guarded(reader: Any) -> Iterator[list[str]]:
    """The reader's rows; a line the csv module refuses becomes a HeaderError that names it."""
    try:
        yield from reader
    except csv.Error as exc:
        raise HeaderError(f"Line {reader.line_num} cannot be read ({exc}); nothing was imported.") from None


def _rows(reader: Any, columns: list[str | None]) -> Iterator[Row]:
    for cells in _guarded(reader):
        if not any(c.strip() for c in cells):
            continue
        mapped: dict[str, str] = {}
        for name, value in zip(columns, cells, strict=False):
            if name is not None and name not in mapped:
                mapped[name] = value.strip()
        yield Row(line=reader.line_num, cells=mapped)


_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m/%d/%y", "%Y/%m/%d", "%d.%m.%Y", "%b %d, %Y", "%B %d, %Y")


def pasted_lines(text: str, *, field: str, most: int, empty: str, too_many: str) -> list[tuple[int, str, str]]:
    """Lines typed or pasted into a text box: (line number, the line stripped, its cell separator), blank lines
    skipped but counted. A line with tabs came from a spreadsheet and splits at the tabs only, so its cells may
    hold commas; any other line splits at commas. Raises Invalid (on `field`) for none, or more than `most`."""
    lines = [(n, line.strip()) for n, line in enumerate((text or "").splitlines(), 1) if line.strip()]
    if not lines:
        raise Invalid(empty, field=field)
    if len(lines) > most:
        raise Invalid(too_many, field=field)
    return [(n, line, "\t" if "\t" in line else ",") for n, line in lines]


def parse_date(text: str) -> date | None:
    """A date from the spellings exports use: ISO dates and datetimes, US dates, `YYYY-MM`, `June 2029`.

    Month-only values mean the first of that month. Empty text is None; anything unreadable raises ValueError.
    """
    value = (text or "").strip()
    if not value:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ].*", value):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", value)
    if match:
        return date(int(match.group(1)), int(match.group(2)), 1)
    match = re.fullmatch(r"([A-Za-z]+)\.?\s+(\d{4})", value)
    if match and match.group(1).lower() in _MONTHS:
        return date(int(match.group(2)), _MONTHS[match.group(1).lower()], 1)
    raise ValueError(f"unreadable date {value!r}")


def parse_datetime(text: str) -> datetime | None:
    """An ISO 8601 timestamp (with `Z` or an offset); empty text is None."""
    value = (text or "").strip()
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def safe_cell(value: Any) -> str:
    """A cell that a spreadsheet shows as text, never runs: risky leading characters get a quote."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """Stream CSV text (header first), every cell formula-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([safe_cell(v) for v in row])
        yield buffer.getvalue()


# What a row of an import would do. The order is fixed: a stored plan keeps each kind as its index here.
PLAN_KINDS = ("error", "absent", "other_campus", "unchanged", "update", "create")
# What the dry run found, as the recheck message says it.
PLAN_WORDS = {
    "error": "a bad row",
    "absent": "a device not in Rollcall",
    "other_campus": "a device on a campus that is not yours",
    "unchanged": "a device with nothing to change",
    "update": "an update",
    "create": "a new device",
    "": "no such row",
}
_RECORD = struct.Struct("<IB8s")
DIFFERENCES_KEPT = 200
_NO_DETAILS = bytes(8)


class Plan:
    """What each row of a file would do, one small record a row: the dry run keeps it, and the apply, which
    plans again against the inventory as it is then, compares the two before it writes anything.

    A record is the row's line, what it would do (PLAN_KINDS) and a digest of the details (the device, the
    values before and after), so a file of 250,000 rows keeps a 3 MB plan.
    """

    def __init__(self, approved: bytes | None = None) -> None:
        self._records = bytearray()
        self._approved = approved

    def add(self, line: int, kind: str, *details: Any) -> str | None:
        """Note what a row would do. Against an approved plan: None when the row does what it did there, else
        what it did there (a PLAN_KINDS name, or "" when that plan had no such row)."""
        digest = hashlib.blake2b(repr(details).encode(), digest_size=8).digest() if details else _NO_DETAILS
        record = _RECORD.pack(line, PLAN_KINDS.index(kind), digest)
        at = len(self._records)
        self._records += record
        if self._approved is None:
            return None
        before = self._approved[at : at + _RECORD.size]
        if before == record:
            return None
        return PLAN_KINDS[_RECORD.unpack(before)[1]] if len(before) == _RECORD.size else ""

    def left_over(self) -> int:
        """Rows of the approved plan that this one never reached."""
        if self._approved is None:
            return 0
        return max(0, len(self._approved) - len(self._records)) // _RECORD.size

    def to_bytes(self) -> bytes:
        return bytes(self._records)


@dataclass
class ImportReport:
    """What an import did or, in a dry run, would do."""

    source: str
    dry_run: bool = True
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    errors: list[RowError] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plan: Plan | None = None
    # Rows that would now do something other than the approved dry run said (the first few, and how many).
    differences: list[dict[str, Any]] = field(default_factory=list)
    different: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def differs(self, line: int, what: str, was: str | None, now: str) -> None:
        """Note a row whose outcome changed since the approved dry run (`was` as Plan.add returned it)."""
        if was is None:
            return
        self.different += 1
        if len(self.differences) < DIFFERENCES_KEPT:
            self.differences.append({"line": line, "what": what, "was": PLAN_WORDS[was], "now": now})

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deactivated": self.deactivated,
            "errors": len(self.errors),
        }

    def summary(self) -> str:
        c = self.counts()
        verb = "would be" if self.dry_run else "were"
        return (
            f"{self.source}: {c['created']} new, {c['updated']} updated, {c['unchanged']} unchanged, "
            f"{c['deactivated']} deactivated {verb} imported; {c['errors']} bad row(s)"
        )
