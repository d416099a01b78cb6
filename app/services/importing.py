"""What every import shares beyond reading a file: the admin's remembered names for a kind of file's columns, and
the way past bad rows (the good rows applied alone, the bad ones handed back as a CSV to fix and upload again).

Both work on the file and on the dry run's plan, not on any one importer's rows, so each importer that reads through
csvio and keeps a Plan gets them as it is.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

import sqlalchemy as sa

from app.extensions import db
from app.models import ImportKind, User
from app.models.imports import ImportMapping
from app.services.csvio import HeaderError, Plan, RowError, header_key, label_of, raw_rows, write_csv
from app.services.errors import Invalid

# A filtered copy of an upload stays in memory up to this size, then moves to a temporary file.
_SPOOL = 8 << 20


def mapping_for(kind: ImportKind) -> dict[str, str]:
    """The column names the admin gave this kind of file (canonical name → the file's header), if any."""
    found = db.session.scalar(sa.select(ImportMapping).where(ImportMapping.kind == kind))
    return dict(found.columns) if found is not None else {}


def remember_mapping(kind: ImportKind, columns: Mapping[str, str], *, by: User | None) -> dict[str, str]:
    """Add these column names to what is remembered for this kind of file; the whole mapping as it now is."""
    found = db.session.scalar(sa.select(ImportMapping).where(ImportMapping.kind == kind))
    if found is None:
        found = ImportMapping(kind=kind, columns={})
        db.session.add(found)
    found.columns = {**found.columns, **{k: v for k, v in columns.items() if v}}
    found.updated_by_id = by.id if by is not None else None
    db.session.flush()
    return dict(found.columns)


def chosen_columns(error: HeaderError, chosen: Mapping[str, str], *, field_prefix: str = "column-") -> dict[str, str]:
    """The admin's answers to a HeaderError's missing columns, each one of the file's own headers; Invalid (on
    the first unanswered column's field) otherwise."""
    headers = {header_key(h): h for h in error.headers}
    out: dict[str, str] = {}
    for name, label in error.missing.items():
        picked = (chosen.get(name) or "").strip()
        if header_key(picked) not in headers:
            raise Invalid(f"Choose which of the file's columns is {label}.", field=f"{field_prefix}{name}")
        out[name] = headers[header_key(picked)]
    return out


def parse_cli_mapping(pairs: Sequence[str], aliases: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """`--map "Asset Tag=Tag ID"` options as a mapping: the left side a column's label (or its name), the right
    the file's header. Invalid for a pair without `=` or a column the importer does not know."""
    by_label = {header_key(label_of(name, aliases)): name for name in aliases}
    by_label.update({header_key(name): name for name in aliases})
    out: dict[str, str] = {}
    for pair in pairs:
        left, sep, right = pair.partition("=")
        name = by_label.get(header_key(left))
        if not sep or not right.strip():
            raise Invalid(f"Write --map as COLUMN=YOUR HEADER, not {pair!r}.")
        if name is None:
            known = ", ".join(label_of(n, aliases) for n in aliases if not n.startswith("_"))
            raise Invalid(f"No column called {left.strip()!r}; the columns are: {known}.")
        out[name] = right.strip()
    return out


def bad_lines(report: Any) -> dict[int, str]:
    """Each bad row's line and what is wrong with it (every problem of the row, in one sentence)."""
    found: dict[int, list[str]] = {}
    for error in report.errors:
        found.setdefault(error.line, []).append(_said(error))
    return {line: " ".join(messages) for line, messages in found.items()}


def _said(error: RowError) -> str:
    return f"{error.column}: {error.message}" if error.column else error.message


def rejected_csv(source: bytes | IO[bytes], errors: Mapping[int, str]) -> Iterator[str]:
    """The bad rows of a file as CSV: its own header and cells, plus an `error` column saying what to fix."""
    if hasattr(source, "seek"):
        source.seek(0)
    header, _, records = raw_rows(source)

    def rows() -> Iterator[list[str]]:
        for _, last, cells in records:
            if last in errors:
                yield [*cells, *[""] * (len(header) - len(cells)), errors[last]]

    return write_csv([*header, "error"], rows())


def good_rows_only(source: bytes | IO[bytes], approved: bytes) -> tuple[IO[bytes], bytes]:
    """A checked file with its bad rows left out, and what its dry run said of the rows that stay.

    Each bad row becomes as many blank lines as it took, so every other row keeps its line number (the importer
    skips blank lines but counts them) and the dry run's plan, less its bad rows, still describes the file: an
    apply of the good rows stops, like any other, if one of them would now do something else.
    """
    if hasattr(source, "seek"):
        source.seek(0)
    skip = Plan.lines(approved, "error")
    header, header_line, records = raw_rows(source)
    out = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 - handed to the caller, open
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    text.write("\r\n" * (header_line - 1))
    writer.writerow(header)
    for first, last, cells in records:
        if last in skip:
            text.write("\r\n" * (last - first + 1))
        else:
            writer.writerow(cells)
    text.flush()
    text.detach()
    out.seek(0)
    return out, Plan.without(approved, "error")


def skipped_count(approved: bytes) -> int:
    """How many rows a kept plan says are bad."""
    return len(Plan.lines(approved, "error"))
