"""CSV in and out: header aliases, per-row errors with line numbers, forgiving dates, formula-safe export.

Importers (OneRoster, Google Admin, Snipe-IT) share this so every file is read the same way: UTF-8 with or
without a byte-order mark (Windows-1252 as a fallback), cells separated by commas, semicolons or tabs (whichever
the header row uses), headers matched by alias ignoring case, spaces and punctuation (or by the admin's own
mapping), the export's formula guard taken off again, blank lines skipped but counted, and every problem
reported with the line it is on. Every CSV Rollcall writes starts with a UTF-8 byte-order mark, so Excel on
Windows reads accents right.
"""

from __future__ import annotations

import calendar
import codecs
import csv
import hashlib
import io
import itertools
import re
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import IO, Any

from app.services.errors import DomainError, Invalid

_KEY = re.compile(r"[^a-z0-9]+")
# Cells a spreadsheet would run as a formula (or that hide one behind a control character).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
# What every CSV Rollcall writes starts with, so Excel on Windows reads it as UTF-8.
BOM = "\ufeff"
# The separators a spreadsheet saves cells with: comma, or semicolon where the comma is the decimal mark, or tab.
DELIMITERS = (",", ";", "\t")
# Columns Rollcall itself adds to files it hands back (the rejected rows' reasons): never reported as unknown.
OWN_COLUMNS = ("error",)


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
    takes (a cell past the csv module's 128 KB limit, say). Nothing can be imported.

    For missing columns, `missing` maps each missing column's name to the label people know it by, and `headers`
    is the file's own header row, so the admin can say which of them is which (`Mapped`).
    """

    def __init__(self, message: str, *, missing: Mapping[str, str] | None = None, headers: Sequence[str] = ()):
        super().__init__(message)
        self.missing = dict(missing or {})
        self.headers = list(headers)


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


class Mapped(io.BufferedIOBase):
    """An uploaded file with the admin's own names for its columns: `columns` maps a column's canonical name
    (`asset_tag`) to the file's header for it (`Tag ID`). Every importer reads it like the file itself, and the
    shared reader takes those headers as that column."""

    def __init__(self, raw: IO[bytes], columns: Mapping[str, str]) -> None:
        super().__init__()
        self.raw, self.columns = raw, dict(columns)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self.raw.read(-1 if size is None else size)

    def read1(self, size: int = -1) -> bytes:
        return self.raw.read(size)

    def seekable(self) -> bool:
        return self.raw.seekable()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()


def mapped(source: Any, columns: Mapping[str, str] | None) -> Any:
    """`source` with the admin's column mapping attached (a binary stream or bytes; unchanged without one)."""
    if not columns:
        return source
    return Mapped(io.BytesIO(source) if isinstance(source, bytes) else source, columns)


def _text(source: bytes | str | IO[bytes] | IO[str]) -> IO[str]:
    if isinstance(source, str):
        return io.StringIO(source.lstrip("\ufeff"), newline="")
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    if isinstance(source, io.TextIOBase):
        return source  # type: ignore[return-value]
    return _Borrowed(source, encoding=encoding_of(source), errors="replace", newline="")  # type: ignore[arg-type]


def label_of(name: str, aliases: Mapping[str, Sequence[str]]) -> str:
    """What people call a column: its first alias (`Asset Tag` for `asset_tag`)."""
    spellings = aliases.get(name) or ()
    return spellings[0] if spellings else name


def sniff_delimiter(line: str) -> str:
    """The separator a header line uses: whichever of comma, semicolon and tab it holds most of outside quotes
    (comma on a tie)."""
    bare = re.sub(r'"[^"]*"', "", line)
    return max(DELIMITERS, key=lambda d: (bare.count(d), d == ","))


def _open(source: bytes | str | IO[bytes] | IO[str]) -> tuple[Any, list[str] | None]:
    """A csv reader over the source, in its encoding and with its separator, and its header row (None: empty)."""
    text = _text(source)
    peeked: list[str] = []
    for line in text:
        peeked.append(line)
        if line.strip():
            break
    reader = csv.reader(itertools.chain(peeked, text), delimiter=sniff_delimiter(peeked[-1] if peeked else ""))
    for cells in _guarded(reader):
        if any(c.strip() for c in cells):
            return reader, [c.strip() for c in cells]
    return reader, None


def read_table(
    source: bytes | str | IO[bytes] | IO[str],
    aliases: Mapping[str, Sequence[str]],
    required: Iterable[str] = (),
    verbatim: Iterable[str] = (),
) -> Table:
    """Parse a CSV, mapping each header to the canonical name whose aliases include it.

    `source` is the file's bytes or text, or a seekable binary stream (an upload spooled to disk), which is read
    as it goes: only the row being read is in memory, never the whole file. `aliases` maps canonical names to the
    header spellings that mean it (the first one is what people call it); matching ignores case, spaces and
    punctuation, and a `Mapped` source's own mapping comes first. Cells lose surrounding white space (except in
    `verbatim` columns, free text kept as written) and the leading apostrophe Rollcall's export guards formulas
    with. Raises HeaderError naming every required column no header matched, and the file's own headers.
    """
    own = getattr(source, "columns", None) or {}
    reader, header = _open(source)
    if header is None:
        raise HeaderError("The file is empty.")
    lookup = {header_key(alias): name for name, spellings in aliases.items() for alias in (name, *spellings)}
    lookup.update({header_key(h): name for name, h in own.items() if h})
    columns = [lookup.get(header_key(h)) for h in header]
    unknown = [h for h, c in zip(header, columns, strict=True) if c is None and h and header_key(h) not in OWN_COLUMNS]
    missing = {name: label_of(name, aliases) for name in required if name not in columns}
    if missing:
        labels = list(missing.values())
        raise HeaderError(
            f"This file has no {_words(labels)} column. Its columns are: {', '.join(h for h in header if h)}.",
            missing=missing,
            headers=[h for h in header if h],
        )
    keep = set(verbatim)
    return Table(rows=_rows(reader, columns, keep), columns=[c for c in columns if c], unknown_headers=unknown)


def _words(labels: Sequence[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


def unguard(text: str) -> str:
    """A cell without the apostrophe `safe_cell` put before it (anything else is left as it is)."""
    if text.startswith("'") and text.lstrip("'").startswith(_FORMULA_START):
        return text[1:]
    return text


def looks_like_formula(text: str) -> bool:
    """Whether a value (an identifier, say) would run as a formula in a spreadsheet."""
    return text.startswith(_FORMULA_START[:4])


def _guarded(reader: Any) -> Iterator[list[str]]:
    """The reader's rows; a line the csv module refuses becomes a HeaderError that names it."""
    try:
        yield from reader
    except csv.Error as exc:
        raise HeaderError(f"Line {reader.line_num} cannot be read ({exc}); nothing was imported.") from None


def _rows(reader: Any, columns: list[str | None], verbatim: set[str]) -> Iterator[Row]:
    for cells in _guarded(reader):
        if not any(c.strip() for c in cells):
            continue
        found: dict[str, str] = {}
        for name, value in zip(columns, cells, strict=False):
            if name is not None and name not in found:
                found[name] = unguard(value) if name in verbatim else unguard(value.strip()).strip()
        yield Row(line=reader.line_num, cells=found)


def raw_rows(source: bytes | str | IO[bytes] | IO[str]) -> tuple[list[str], int, Iterator[tuple[int, int, list[str]]]]:
    """A file's header, the line it ends on, and its records as they are, blank ones included: (first line, last
    line, cells), read as `read_table` reads it, so the lines are the ones its rows and errors carry."""
    reader, header = _open(source)
    if header is None:
        raise HeaderError("The file is empty.")
    header_line = reader.line_num

    def records() -> Iterator[tuple[int, int, list[str]]]:
        last = reader.line_num
        for cells in _guarded(reader):
            yield last + 1, reader.line_num, cells
            last = reader.line_num

    return header, header_line, records()


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

    Month-only values (`June 2029`, `Jun 2029`, `2029-06`, `06/2029`, `6/2029`) mean the first of that month.
    A timestamp is the date it names as written (no shift to another zone); a bare 12- or 13-digit number is
    epoch milliseconds (GAM writes them), read in UTC. Empty text is None; anything unreadable raises ValueError.
    """
    value = (text or "").strip()
    if not value:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}[T ].*", value):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    if re.fullmatch(r"\d{12,13}", value):
        return datetime.fromtimestamp(int(value) / 1000, UTC).date()
    match = re.fullmatch(r"(\d{1,2})/(\d{4})", value)
    if match and 1 <= int(match.group(1)) <= 12:
        return date(int(match.group(2)), int(match.group(1)), 1)
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
    """A cell that a spreadsheet shows as text, never runs: risky leading characters get an apostrophe (and so
    does a cell that already starts with apostrophes before one, so `unguard` gives every cell back exactly)."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.lstrip("'").startswith(_FORMULA_START) else text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """Stream CSV text (a byte-order mark and the header first), every cell formula-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    yield BOM + buffer.getvalue()
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

    @staticmethod
    def lines(records: bytes, kind: str) -> set[int]:
        """The lines of a kept plan whose rows would do `kind` ("error": the bad rows)."""
        index = PLAN_KINDS.index(kind)
        return {line for line, k, _ in _RECORD.iter_unpack(records) if k == index}

    @staticmethod
    def without(records: bytes, kind: str) -> bytes:
        """A kept plan less the records of `kind`: what it says of the file with those rows left out."""
        index = PLAN_KINDS.index(kind)
        return b"".join(_RECORD.pack(*r) for r in _RECORD.iter_unpack(records) if r[1] != index)


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

    @property
    def bad_rows(self) -> int:
        """Rows with at least one problem (a row can have several)."""
        return len({e.line for e in self.errors})

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
            "errors": self.bad_rows,
        }

    def summary(self) -> str:
        c = self.counts()
        verb = "would be" if self.dry_run else "were"
        return (
            f"{self.source}: {c['created']} new, {c['updated']} updated, {c['unchanged']} unchanged, "
            f"{c['deactivated']} deactivated {verb} imported; {c['errors']} bad row(s)"
        )
