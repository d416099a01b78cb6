"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import search
from tests.servers import fresh_database


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_upgrade_matches_models(tmp_path):
    with fresh_database(tmp_path, "migrated") as target:

        class Config(TestConfig):
            SQLALCHEMY_DATABASE_URI = target

        app = create_app(Config)
        with app.app_context():
            upgrade()
            with db.engine.connect() as conn:
                ctx = MigrationContext.configure(
                    conn, opts={"compare_type": True, "include_object": search.include_object}
                )
                diff = [
                    d
                    for d in compare_metadata(ctx, db.metadata)
                    # Expression indexes are written by hand; autogenerate cannot compare them.
                    if not (d[0] in ("add_index", "remove_index") and d[1].name == "ix_people_name_lower")
                ]
            db.engine.dispose()
        assert diff == []
