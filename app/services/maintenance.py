"""Database upkeep after bulk loads."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db


def refresh_statistics() -> None:
    """ANALYZE, so the query planner knows the tables' new shape after a bulk load.

    Without statistics SQLite prefers a campus index over the search index and reads every device on the
    campus for a search that matches a handful. Runs in its own transaction and commits it.
    """
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
