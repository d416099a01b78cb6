"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL, and every one of them can be
undone: down to an empty database and up again ends at that same schema."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import search
from tests.servers import fresh_database

pytestmark = [
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index"),
]


def _app(target: str) -> Flask:
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = target

    return create_app(Config)


def _differences() -> list:
    """What autogenerate would change to make the database match the models (nothing, when they agree)."""
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": search.include_object})
        return [
            d
            for d in compare_metadata(ctx, db.metadata)
            # Expression indexes are written by hand; autogenerate cannot compare them.
            if not (d[0] in ("add_index", "remove_index") and d[1].name == "ix_people_name_lower")
        ]


def _tables() -> set[str]:
    with db.engine.connect() as conn:
        return set(sa.inspect(conn).get_table_names())


def test_upgrade_matches_models(tmp_path):
    with fresh_database(tmp_path, "migrated") as target:
        app = _app(target)
        with app.app_context():
            upgrade()
            diff = _differences()
            db.engine.dispose()
        assert diff == []


def test_downgrade_to_base_and_upgrade_again(tmp_path):
    with fresh_database(tmp_path, "roundtrip") as target:
        app = _app(target)
        with app.app_context():
            upgrade()
            assert "assets" in _tables()
            downgrade(revision="base")
            # Every revision's downgrade ran: only Alembic's own bookkeeping table is left, and it names no revision.
            assert _tables() <= {"alembic_version"}
            with db.engine.connect() as conn:
                assert MigrationContext.configure(conn).get_current_revision() is None
            upgrade()
            diff = _differences()
            db.engine.dispose()
        assert diff == []
