"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from app import create_app
from app.config import TestConfig, normalise_database_url
from app.extensions import db
from app.models import search


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_upgrade_matches_models(tmp_path):
    server = os.environ.get("TEST_DATABASE_URL")
    admin = None
    if server:
        url = sa.make_url(normalise_database_url(server))
        name = f"rollcall_mig_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        target = url.set(database=name).render_as_string(hide_password=False)
    else:
        target = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = target

    app = create_app(Config)
    try:
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
            assert diff == []
            db.engine.dispose()
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
