"""CSV in and out: header aliases, per-row errors with line numbers, forgiving dates, formula-safe export.

Importers (OneRoster, Google Admin, Snipe-IT) share this so every file is read the same way: UTF-8 with or
without a byte-order mark (Windows-1252 as a fallback), headers matched by alias ignoring case, spaces and
punctuation, blank lines skipped but counted, and every problem reported with the line it is on.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from app.services.errors import Invalid

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
    """The file's header row lacks required columns (nothing can be imported)."""


@dataclass
class Row:
    """One data row: its line number in the file and its cells by canonical column name."""

    line: int
    cells: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.cells.get(name, default) or default


@dataclass
class Table:
    rows: list[Row]
    columns: list[str]
    unknown_headers: list[str] = field(default_factory=list)


def decode(data: bytes | str) -> str:
    """Text of an uploaded file: UTF-8 (BOM or not), falling back to Windows-1252."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_table(
    source: bytes | str | IO[bytes] | IO[str],
    aliases: Mapping[str, Sequence[str]],
    required: Iterable[str] = (),
) -> Table:
    """Parse a CSV, mapping each header to the canonical name whose aliases include it.

    `aliases` maps canonical names to the header spellings that mean it; matching ignores case, spaces and
    punctuation. Raises HeaderError listing every required column that no header matched.
    """
    if hasattr(source, "read"):
        source = source.read()
    text = decode(source)  # type: ignore[arg-type]
    lookup = {header_key(alias): name for name, spellings in aliases.items() for alias in (name, *spellings)}
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    rows: list[Row] = []
    columns: list[str | None] = []
    unknown: list[str] = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header = cells
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
            continue
        mapped: dict[str, str] = {}
        for name, value in zip(columns, cells, strict=False):
            if name is not None and name not in mapped:
                mapped[name] = value.strip()
        rows.append(Row(line=line, cells=mapped))
    if header is None:
        raise HeaderError("The file is empty.")
    return Table(rows=rows, columns=[c for c in columns if c], unknown_headers=unknown)


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

    @property
    def ok(self) -> bool:
        return not self.errors

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
