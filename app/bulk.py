"""Writing hundreds of rows in one go: the driver's executemany, with SQLAlchemy's own conversion of each value.

SQLAlchemy's executemany builds a parameter dictionary per row and runs every value through the column's type,
constants included; for the sync hot path (500 scans a request) that bookkeeping cost more than SQLite's writes.
Here each column's bind processor is looked up once per statement and only the varying columns are converted
per row, so the stored values are exactly those the ORM would store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models.types import UTCDateTime


def _placeholder(dialect: sa.Dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _unchanged(value: Any) -> Any:
    return value


@lru_cache(maxsize=4096)
def _sqlite_utc(value: datetime | None) -> str | None:
    """UTCDateTime's stored form on SQLite (SQLAlchemy's DATETIME format, always with microseconds), in one step.

    Remembered: a scan's time is written to its event, its observation and its device's projection.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given for a UTC column")
    # isoformat pads the year to four digits, as SQLAlchemy does; strftime's %Y writes 999, which no reader takes.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def converter(column: sa.Column) -> Callable[[Any], Any]:
    """The function turning a Python value for `column` into what the driver takes."""
    dialect = db.session.get_bind().dialect
    if dialect.name == "sqlite" and isinstance(column.type, UTCDateTime):
        return _sqlite_utc
    return column.type.dialect_impl(dialect).bind_processor(dialect) or _unchanged


def convert(column: sa.Column, value: Any) -> Any:
    """One value for `column`, as the driver takes it."""
    return converter(column)(value)


def insert_many(
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    *,
    same: dict[str, Any] | None = None,
    skip_conflicts_on: str | None = None,
) -> int:
    """INSERT `rows` (dicts with the same keys) plus the `same` values on every row; the number of rows stored."""
    if not rows:
        return 0
    columns = list(rows[0])
    values = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    return insert_rows(table, columns, [values(row) for row in rows], same=same, skip_conflicts_on=skip_conflicts_on)


def insert_rows(
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    same: dict[str, Any] | None = None,
    skip_conflicts_on: str | None = None,
) -> int:
    """INSERT `rows` (tuples of Python values in `columns` order) plus the `same` values on every row; the number
    of rows stored.

    `skip_conflicts_on` names the unique column for ON CONFLICT DO NOTHING: rows that collide are not stored and
    not counted.
    """
    if not rows:
        return 0
    connection = db.session.connection()
    dialect = connection.dialect
    constant = list(same or {})
    names = [*columns, *constant]
    quote = dialect.identifier_preparer.quote
    mark = _placeholder(dialect)
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in names)}) "
        f"VALUES ({', '.join([mark] * len(names))})"
    )
    if skip_conflicts_on:
        sql += f" ON CONFLICT ({quote(skip_conflicts_on)}) DO NOTHING"
    tail = tuple(convert(table.c[name], (same or {})[name]) for name in constant)
    conversions = [
        (i, process) for i, name in enumerate(columns) if (process := converter(table.c[name])) is not _unchanged
    ]
    params = []
    for row in rows:
        out = list(row)
        for i, process in conversions:
            out[i] = process(out[i])
        params.append((*out, *tail))
    return connection.exec_driver_sql(sql, params).rowcount


def execute_many(sql: str, params: list[tuple[Any, ...]]) -> int:
    """Run one statement written with `?` placeholders for each parameter tuple; the rows it changed in all.

    Values must already be in the driver's form (see `convert`).
    """
    if not params:
        return 0
    connection = db.session.connection()
    if _placeholder(connection.dialect) != "?":
        sql = sql.replace("?", "%s")
    return connection.exec_driver_sql(sql, params).rowcount


def fetch_all(sql: str, **lists: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows, as the driver returns them, of a query in which each `{name}` is filled with placeholders for the
    values of the list of that name (written with `?` placeholders like execute_many).

    Lists are sent whole: keep them to a few thousand values (SQLite takes up to 32,766 parameters).
    """
    connection = db.session.connection()
    mark = _placeholder(connection.dialect)
    text = sql.replace("?", mark)
    params: list[Any] = []
    # Placeholders go in the order the names appear in the statement.
    for name in sorted(lists, key=lambda n: text.index("{" + n + "}")):
        values = list(lists[name]) or [None]  # IN (NULL) matches nothing
        text = text.replace("{" + name + "}", ", ".join([mark] * len(values)))
        params.extend(values)
    return [tuple(row) for row in connection.exec_driver_sql(text, tuple(params)).fetchall()]
