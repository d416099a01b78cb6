"""The desk's decisions from the server's facts: every case of tests/cases/desk_decisions.json (the phone runs
the same cases in tests/browser/test_desk_decisions_browser.py), and the rule table's own rules."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Campus
from app.services import desk
from tests import desk_world

CASES = desk_world.CASES["cases"]


@pytest.fixture
def world(app):
    with app.app_context():
        desk_world.seed()
        db.session.commit()
    return app


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(world, case):
    with world.app_context():
        campus = db.session.scalar(sa.select(Campus).where(Campus.code == desk_world.CASES["state"]["campus"]))
        scan = desk.Scan(
            campus=campus,
            code=case["code"],
            picked=case.get("picked", False),
            selected=desk_world.person(case.get("selected")),
        )
        outcome = desk.decide_scan(scan)
        assert {"kind": outcome.kind, "message": outcome.message} == case["expect"]


def test_every_rule_is_reached(world):
    """A rule no case reaches is a rule nobody checked on both sides."""
    with world.app_context():
        campus = db.session.scalar(sa.select(Campus).where(Campus.code == desk_world.CASES["state"]["campus"]))
        reached = {
            desk.decide_scan(
                desk.Scan(campus, c["code"], c.get("picked", False), desk_world.person(c.get("selected")))
            ).rule
            for c in CASES
        }
    assert reached == {r["id"] for r in desk.rules()}


def test_the_table_ends_in_a_catch_all_and_reads_its_conditions():
    assert desk.rules()[-1]["when"] == {}
    assert desk.holds(["a", "b"], "b") and not desk.holds(["a"], "c")
    assert desk.holds({"not": "none"}, "here") and not desk.holds({"not": "none"}, "none")
    assert desk.fill("{asset_tag} to {nobody}.", {"asset_tag": "LHS-L01"}) == "LHS-L01 to ."
