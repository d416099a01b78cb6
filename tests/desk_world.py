"""The world of tests/cases/desk_decisions.json, put in the database: shared by the Python and browser desk tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, AssetStatus, Assignment, Person, Role, Via
from app.services import loans
from tests import factories

CASES = json.loads((Path(__file__).parent / "cases" / "desk_decisions.json").read_text(encoding="utf-8"))


def seed(state: dict[str, Any] = CASES["state"]) -> None:
    """Campuses, people, devices, open loans and 1:1 holders as the cases' state says (flushed, not committed)."""
    campuses = {code: factories.make_campus(code) for code in {p["campus"] for p in state["people"]} | {"LHS"}}
    people = {
        p["id"]: factories.make_person(
            campuses[p["campus"]], p["name"], external_id=p["id"], active=p.get("active", True), email=None
        )
        for p in state["people"]
    }
    devices = {
        d["asset_tag"]: factories.make_asset(
            campuses.setdefault(d["campus"], factories.make_campus(d["campus"])),
            asset_tag=d["asset_tag"],
            serial=d["serial"],
            tag_code=d["tag_code"],
            status=AssetStatus(d["status"]),
        )
        for d in state["devices"]
    }
    desk = factories.make_user(Role.librarian, state["campus"])
    for loan in state["loans"]:
        loans.check_out(devices[loan["asset"]], people[loan["person"]], by=desk, due=None, via=Via.web)
    for held in state["assigned"]:
        db.session.add(Assignment(asset=devices[held["asset"]], person=people[held["person"]]))
    db.session.flush()


def person(external_id: str | None) -> Person | None:
    if not external_id:
        return None
    return db.session.scalar(sa.select(Person).where(Person.external_id == external_id))


def asset(asset_tag: str) -> Asset:
    return db.session.scalar(sa.select(Asset).where(Asset.asset_tag == asset_tag))
