"""Student and staff IDs are read in any case: the desk, the people pages and API, and the roster import."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import Campus, Person
from app.services.people import find_person, find_person_by_id
from tests import factories
from tests.test_roster import ORGS, USERS, run


def test_find_person_in_any_case(app, ctx, district):
    assert find_person("lhs100001").external_id == "LHS100001"
    assert find_person_by_id(" Lhs100001 ").external_id == "LHS100001"
    assert find_person_by_id("zoe") is None
    lhs = db.session.get(Campus, district["lhs"])
    # Hand-typed IDs keep their spelling; the exact one wins when two differ only in case.
    lower = factories.make_person(lhs, "Lower Case", external_id="abc-1")
    upper = factories.make_person(lhs, "Upper Case", external_id="ABC-1")
    assert find_person_by_id("abc-1") == lower and find_person_by_id("ABC-1") == upper


def test_people_page_and_api_take_a_lower_case_id(client, district, login_as):
    login_as("librarian", "LHS")
    assert "Zoe Martinez" in client.get("/people/lhs100001").get_data(as_text=True)
    body = client.get("/api/v1/people/lhs100001").get_json()
    assert body["external_id"] == "LHS100001"
    assert client.get("/people/jms100001").status_code == 404


def test_desk_scan_takes_a_lower_case_id(client, district, login_as):
    login_as("librarian", "LHS")
    resp = client.post("/loans/scan", data={"code": "lhs100001", "campus": "LHS"})
    assert resp.status_code == 200 and 'id="desk-person" value="LHS100001"' in resp.get_data(as_text=True)


def test_roster_ids_differing_only_in_case_are_one_id(app, ctx):
    for code in ("LHS", "JMS", "RES"):
        factories.make_campus(code)
    lhs = db.session.scalar(sa.select(Campus).where(Campus.code == "LHS"))
    # Typed by hand in lower case before the roster came: the import adopts it rather than adding a second person.
    hand = factories.make_person(lhs, "Zoe M.", external_id="lhs100001")
    db.session.commit()
    report = run(USERS, ORGS)
    db.session.commit()
    assert report.ok, report.errors
    db.session.refresh(hand)
    assert hand.sourced_id == "u-00001"
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(Person).where(sa.func.lower(Person.external_id) == "lhs100001")
    )
    assert count == 1
    twice = USERS + "\n" + USERS.splitlines()[1].replace("u-00001", "u-99999").replace("LHS100001", "lhs100001")
    report = run(twice, ORGS, dry_run=True)
    assert any("identifier 'lhs100001' is also on line" in e.message for e in report.errors)
