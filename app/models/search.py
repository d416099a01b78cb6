"""The inventory's text index: FTS5 trigrams on SQLite, pg_trgm on PostgreSQL, over assets.search_text.

Both answer "does search_text contain this substring" from an index instead of reading every row, which keeps
live search instant at hundreds of thousands of devices. The same DDL runs from create_all (tests) and from
the foundation migration.
"""

from __future__ import annotations

import sqlalchemy as sa

SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS assets_fts USING fts5("
    "search_text, content='assets', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS assets_fts_insert AFTER INSERT ON assets BEGIN "
    "INSERT INTO assets_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS assets_fts_delete AFTER DELETE ON assets BEGIN "
    "INSERT INTO assets_fts(assets_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS assets_fts_update AFTER UPDATE OF search_text ON assets BEGIN "
    "INSERT INTO assets_fts(assets_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO assets_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS assets_fts_update",
    "DROP TRIGGER IF EXISTS assets_fts_delete",
    "DROP TRIGGER IF EXISTS assets_fts_insert",
    "DROP TABLE IF EXISTS assets_fts",
]
POSTGRES_DDL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_assets_search_trgm ON assets USING gin (search_text gin_trgm_ops)",
]
POSTGRES_DROP = ["DROP INDEX IF EXISTS ix_assets_search_trgm"]
# Objects this module creates beside the models' own; schema comparisons leave them out.
INDEX_OBJECTS = {"assets_fts", "ix_assets_search_trgm"}
# A trigram index needs at least three characters to narrow anything down.
MIN_INDEXED = 3


def create(connection: sa.Connection) -> None:
    """Create the text index for this connection's database (idempotent)."""
    statements = SQLITE_DDL if connection.dialect.name == "sqlite" else POSTGRES_DDL
    for statement in statements:
        connection.exec_driver_sql(statement)


def drop(connection: sa.Connection) -> None:
    statements = SQLITE_DROP if connection.dialect.name == "sqlite" else POSTGRES_DROP
    for statement in statements:
        connection.exec_driver_sql(statement)


def contains_all(words: list[str], dialect: str, id_column, text_column):
    """A WHERE clause: search_text contains every word (each already lower-cased)."""
    escaped = [w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in words]
    if dialect == "sqlite":
        indexed = [w for w in words if len(w) >= MIN_INDEXED]
        clauses = []
        if indexed:
            # FTS5 phrase syntax: each word quoted (quotes doubled) so it is matched as a literal substring.
            match = " AND ".join('"' + w.replace('"', '""') + '"' for w in indexed)
            matching = (
                sa.select(sa.column("rowid"))
                .select_from(sa.table("assets_fts"))
                .where(sa.text("assets_fts MATCH :match").bindparams(match=match))
            )
            clauses.append(id_column.in_(matching))
        short = [e for e, raw in zip(escaped, words, strict=True) if len(raw) < MIN_INDEXED]
        clauses += [text_column.like(f"%{w}%", escape="\\") for w in short]
        return sa.and_(*clauses)
    return sa.and_(*[text_column.like(f"%{w}%", escape="\\") for w in escaped])


def install_listeners(table: sa.Table) -> None:
    """Create and drop the text index with the assets table (create_all / drop_all)."""
    sa.event.listen(table, "after_create", lambda target, connection, **kw: create(connection))
    sa.event.listen(table, "before_drop", lambda target, connection, **kw: drop(connection))


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic filter: leave the text index (and FTS5's shadow tables) out of autogenerate comparisons."""
    if type_ == "table" and name and name.startswith("assets_fts"):
        return False
    return not (type_ == "index" and name in INDEX_OBJECTS)
