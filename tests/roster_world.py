"""What the roster tests share: the sample OneRoster files and the three campuses their schools map to."""

from __future__ import annotations

from pathlib import Path

from app.extensions import db
from tests import factories

FIXTURES = Path("/work/shared/fixtures/oneroster")
USERS = (FIXTURES / "users.csv").read_text(encoding="utf-8")
ORGS = (FIXTURES / "orgs.csv").read_text(encoding="utf-8")
HEADER = USERS.splitlines()[0]


def make_campuses(app) -> None:
    """Lincoln High, Jefferson Middle and Roosevelt Elementary: the campuses orgs.csv's schools name."""
    with app.app_context():
        for code in ("LHS", "JMS", "RES"):
            factories.make_campus(code)
        db.session.commit()
