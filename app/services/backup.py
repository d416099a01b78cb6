"""Backups in a portable form: every table's rows as gzip-compressed JSON lines, read from one consistent
snapshot, restorable into an empty database of the same schema on SQLite or PostgreSQL (so a backup is also the
way from one to the other).

The file holds a header (format, schema revision, when), then per table a line naming its columns followed by one
line per row, then a trailer with each table's row count, which a restore checks, so a cut-off file is refused.
"""

from __future__ import annotations

import base64
import enum
import gzip
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app import bulk
from app.extensions import db
from app.models import utcnow
from app.services.errors import Invalid

FORMAT = "rollcall-backup"
VERSION = 1
BATCH = 1000
Codec = tuple[Callable[[Any], Any], Callable[[Any], Any]]


def _same(value: Any) -> Any:
    return value


def _codec(column: sa.Column) -> Codec:
    """How a column's Python values are written to JSON and read back."""
    kind_of = column.type
    while isinstance(kind_of, sa.types.TypeDecorator):  # such as UTCDateTime: its stored type tells
        kind_of = kind_of.impl_instance
    if isinstance(kind_of, sa.JSON):
        return _same, _same
    try:
        kind = kind_of.python_type
    except NotImplementedError:
        return _same, _same
    if issubclass(kind, datetime):
        return datetime.isoformat, datetime.fromisoformat
    if issubclass(kind, date):
        return date.isoformat, date.fromisoformat
    if issubclass(kind, time):
        return time.isoformat, time.fromisoformat
    if issubclass(kind, Decimal):
        return str, Decimal
    if issubclass(kind, bytes):
        return (lambda v: base64.b64encode(v).decode("ascii")), base64.b64decode
    if issubclass(kind, enum.Enum):
        return (lambda v: v.value), kind
    return _same, _same


def _revision(connection: sa.Connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None  # a database built from the models, never migrated
    return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


@dataclass
class Summary:
    revision: str | None
    rows: dict[str, int]

    def __str__(self) -> str:
        total = sum(self.rows.values())
        return f"{total:,} rows in {len(self.rows)} tables (schema revision {self.revision})"


@contextmanager
def snapshot() -> Iterator[sa.Connection]:
    """A connection that reads the database as it was at its first query, holding no lock that writers wait for
    (a deferred read transaction on SQLite's WAL, REPEATABLE READ on PostgreSQL)."""
    options: dict[str, Any] = {"snapshot": True}
    if db.engine.dialect.name == "postgresql":
        options["isolation_level"] = "REPEATABLE READ"
    with db.engine.connect().execution_options(**options) as connection:
        connection.begin()
        try:
            yield connection
        finally:
            connection.rollback()


def backup(path: Path) -> Summary:
    """Write every table to `path` from one snapshot; writers are not held up meanwhile."""
    counts: dict[str, int] = {}
    with snapshot() as connection, gzip.open(path, "wt", encoding="utf-8") as out:
        revision = _revision(connection)
        header = {"format": FORMAT, "version": VERSION, "revision": revision, "created_at": utcnow().isoformat()}
        out.write(json.dumps(header) + "\n")
        for table in db.metadata.sorted_tables:
            encoders = [_codec(c)[0] for c in table.columns]
            out.write(json.dumps({"table": table.name, "columns": [c.name for c in table.columns]}) + "\n")
            rows = connection.execute(
                sa.select(table).order_by(*table.primary_key.columns).execution_options(yield_per=BATCH)
            )
            count = 0
            for row in rows:
                out.write(
                    json.dumps([None if v is None else enc(v) for enc, v in zip(encoders, row, strict=True)]) + "\n"
                )
                count += 1
            counts[table.name] = count
        out.write(json.dumps({"end": counts}) + "\n")
    return Summary(revision, counts)


def _lines(path: Path) -> Iterator[Any]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as source:
            for number, line in enumerate(source, 1):
                try:
                    yield json.loads(line)
                except ValueError:
                    raise Invalid(f"Line {number} of the backup is damaged; nothing was restored.") from None
    except (OSError, EOFError) as exc:
        raise Invalid(f"This is not a complete Rollcall backup ({exc}); nothing was restored.") from None


def _holds_data() -> list[str]:
    return [
        t.name
        for t in db.metadata.sorted_tables
        if db.session.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first()
    ]


def _check_header(header: Any) -> dict[str, Any]:
    """The backup's header; refused when the file is not a backup, or is in a format this Rollcall cannot read."""
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise Invalid("This is not a Rollcall backup; nothing was restored.")
    if header.get("version") != VERSION:
        raise Invalid(f"This backup is in format version {header.get('version')}, which this Rollcall cannot read.")
    return header


def _same_revision(header: dict[str, Any]) -> str | None:
    """This database's schema revision, which must be the backup's."""
    revision = _revision(db.session.connection())
    if header.get("revision") != revision:
        raise Invalid(
            f"The backup is of schema revision {header.get('revision')} and this database is at {revision}: restore"
            " into a database upgraded with the Rollcall version that made the backup."
        )
    return revision


def _empty(replace: bool) -> None:
    """Make sure the database holds nothing: refused when it does, unless `replace` says to delete it all."""
    occupied = _holds_data()
    if occupied and not replace:
        raise Invalid(
            f"This database already holds data ({', '.join(occupied[:5])}…); restore into an empty one, or replace"
            " what it holds with --replace."
        )
    for table in reversed(db.metadata.sorted_tables):
        if table.name in occupied:
            db.session.execute(table.delete())


class _Loader:
    """Rows of a backup into their tables, a batch at a time, counted per table."""

    def __init__(self) -> None:
        self.tables = {t.name: t for t in db.metadata.sorted_tables}
        self.counts: dict[str, int] = {}
        self.table: sa.Table | None = None
        self.columns: list[str] = []
        self.decoders: list[Callable[[Any], Any]] = []
        self.pending: list[tuple[Any, ...]] = []

    def start(self, item: dict[str, Any]) -> None:
        """A table's line: which table the rows after it belong to, and their columns."""
        self.flush()
        table = self.tables.get(item.get("table", ""))
        if table is None:
            raise Invalid(f"The backup holds a table this database lacks ({item.get('table')}); nothing was restored.")
        columns = list(item["columns"])
        missing = [c for c in columns if c not in table.c]
        if missing:
            raise Invalid(f"The backup's {table.name} has columns this database lacks ({', '.join(missing)}).")
        self.table, self.columns = table, columns
        self.decoders = [_codec(table.c[c])[1] for c in columns]
        self.counts[table.name] = 0

    def add(self, item: list[Any]) -> None:
        """One row of the current table."""
        if self.table is None or len(item) != len(self.columns):
            raise Invalid("The backup's rows do not match their table; nothing was restored.")
        self.pending.append(tuple(None if v is None else dec(v) for dec, v in zip(self.decoders, item, strict=True)))
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Store the rows read since the last flush."""
        if self.table is None or not self.pending:
            return
        try:
            bulk.insert_rows(self.table, self.columns, self.pending)
        except sa.exc.DBAPIError as exc:
            raise Invalid(
                f"The backup's {self.table.name} rows could not be stored ({exc.orig}); nothing was restored."
            ) from None
        self.counts[self.table.name] += len(self.pending)
        self.pending.clear()


def restore(path: Path, *, replace: bool = False) -> Summary:
    """Load a backup into this database, which must be at the backup's schema revision and empty (or, with
    `replace`, is emptied first). All or nothing; flushes, the caller commits."""
    lines = _lines(path)
    header = _check_header(next(lines, None))
    revision = _same_revision(header)
    _empty(replace)
    loader = _Loader()
    for item in lines:
        if isinstance(item, list):
            loader.add(item)
            continue
        if not isinstance(item, dict):
            raise Invalid("The backup's lines are not rows or tables; nothing was restored.")
        if "end" not in item:
            loader.start(item)
            continue
        loader.flush()
        if item["end"] != loader.counts:
            break
        _reset_sequences()
        return Summary(revision, loader.counts)
    raise Invalid("The backup ends early or its row counts do not add up; nothing was restored.")


def _reset_sequences() -> None:
    """PostgreSQL's id sequences continue after the restored ids (SQLite needs nothing)."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        key = list(table.primary_key.columns)
        if len(key) == 1 and isinstance(key[0].type, sa.Integer) and key[0].autoincrement in (True, "auto"):
            db.session.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key[0].name}'),"
                    f" COALESCE(MAX({key[0].name}), 1), MAX({key[0].name}) IS NOT NULL) FROM {table.name}"
                )
            )
