"""OneRoster people in several schools: they belong to each, every campus of theirs sees them, no other does; and a
full roster deactivates the people it no longer has, only where it speaks, naming the devices they hold."""

from __future__ import annotations

import io
import zipfile

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, AssetStatus, Assignment, Campus, Person, PersonCampus, Role, Via
from app.services import assets as asset_service
from app.services import desk, roster
from tests import factories
from tests.conftest import hx
from tests.roster_world import HEADER, ORGS, USERS, make_campuses


@pytest.fixture
def campuses(app):
    make_campuses(app)


# José Núñez-Renée teaches at Lincoln High and Jefferson Middle.
JOSE = "T52"


def run(users: str, orgs: str | None = ORGS, **kw) -> roster.RosterReport:
    files = roster.RosterFiles(users.encode(), orgs.encode() if orgs is not None else None)
    return roster.import_roster(files, by=kw.pop("by", None), via=Via.cli, **kw)


def person(external_id: str) -> Person:
    return db.session.scalar(sa.select(Person).where(Person.external_id == external_id))


def campus_codes(p: Person) -> list[str]:
    """Every campus the person belongs to, by code."""
    db.session.expire(p)
    return sorted(db.session.scalars(sa.select(Campus.code).where(Campus.id.in_(p.campus_ids))))


@pytest.fixture
def imported(app, campuses):
    with app.app_context():
        assert run(USERS).ok
        db.session.commit()


def test_a_teacher_in_two_schools_belongs_to_both(app, ctx, campuses):
    report = run(USERS, dry_run=True)
    change = next(c for c in report.changes if c["external_id"] == JOSE)
    assert change["fields"]["schools"] == [None, "JMS, LHS"]
    run(USERS)
    db.session.commit()
    jose = person(JOSE)
    assert jose.campus.code == "LHS", "the primary campus stays the first school"
    assert campus_codes(jose) == ["JMS", "LHS"]
    # One-school people keep only their primary campus: nothing more is stored for them.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PersonCampus)) == 2

    # The next roster has him at Lincoln High only: he leaves Jefferson Middle.
    moved = USERS.replace('"org-hs,org-ms",teacher', "org-hs,teacher")
    report = run(moved, dry_run=True)
    change = next(c for c in report.changes if c["external_id"] == JOSE)
    assert (change["action"], change["fields"]) == ("update", {"schools": ["JMS, LHS", "LHS"]})
    assert report.updated == 1
    run(moved)
    db.session.commit()
    assert campus_codes(person(JOSE)) == ["LHS"]
    assert "0 new, 0 updated" in run(moved, dry_run=True).summary()


def test_enrollments_add_the_schools_a_person_teaches_at(app, ctx, campuses):
    enrollments = (
        "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary\r\n"
        "e-1,active,,c-1,org-es,u-00015,teacher,false\r\n"
        "e-2,tobedeleted,,c-2,org-ms,u-00015,teacher,false\r\n"
    )
    files = roster.RosterFiles(USERS.encode(), ORGS.encode(), enrollments=enrollments.encode())
    assert roster.import_roster(files, by=None, via=Via.cli).ok
    db.session.commit()
    assert campus_codes(person("T15")) == ["LHS", "RES"]


def test_enrollments_come_from_a_zip_too(tmp_path):
    bundle = tmp_path / "oneroster.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("users.csv", USERS)
        z.writestr("orgs.csv", ORGS)
        z.writestr("enrollments.csv", "userSourcedId,schoolSourcedId\r\nu-1,org-hs\r\n")
    files = roster.files_from_path(bundle)
    assert files.enrollments is not None and files.orgs is not None
    assert b"u-1,org-hs" in roster.files.stream(files.enrollments).read()
    assert zipfile.ZipFile(io.BytesIO(roster.pack(files))).namelist() == [
        "users.csv",
        "orgs.csv",
        "enrollments.csv",
    ]


@pytest.mark.parametrize("headers", [hx(), {}], ids=["htmx", "plain"])
def test_each_school_of_theirs_sees_them_and_no_other(app, client, imported, login_as, headers):
    for code in ("LHS", "JMS"):
        login_as(Role.tech, code)
        body = client.get("/people?q=T52", headers=headers).get_data(as_text=True)
        assert "Núñez-Renée" in body and "1 person" in body, code
        assert client.get(f"/people/{JOSE}").status_code == 200, code
        api = client.get("/api/v1/people?q=T52").get_json()
        assert [p["external_id"] for p in api["items"]] == [JOSE], code
        assert client.get(f"/api/v1/people/{JOSE}").status_code == 200, code
    # Filtering the list by either campus finds him.
    login_as(Role.admin)
    with app.app_context():
        jms = db.session.scalar(sa.select(Campus.id).where(Campus.code == "JMS"))
    assert "Núñez-Renée" in client.get(f"/people?campus={jms}").get_data(as_text=True)
    page = client.get(f"/people/{JOSE}").get_data(as_text=True)
    assert 'id="person-schools"' in page and "JMS campus" in page

    login_as(Role.tech, "RES")
    body = client.get("/people?q=T52", headers=headers).get_data(as_text=True)
    assert "Núñez-Renée" not in body and "0 people" in body
    assert client.get(f"/people/{JOSE}").status_code == 404
    assert client.get("/api/v1/people?q=T52").get_json()["items"] == []
    assert client.get(f"/api/v1/people/{JOSE}").status_code == 404


def test_a_device_can_be_assigned_to_them_at_either_school(app, client, imported, login_as):
    with app.app_context():
        jms = factories.make_campus("JMS")
        factories.make_asset(jms, asset_tag="JMS-7001", status=AssetStatus.in_stock)
        db.session.commit()
    login_as(Role.librarian, "JMS")
    resp = client.post(f"/people/{JOSE}/assign", data={"device": "JMS-7001"})
    assert resp.status_code == 303
    with app.app_context():
        held = db.session.scalar(sa.select(Assignment).join(Asset).where(Asset.asset_tag == "JMS-7001"))
        assert held.person.external_id == JOSE


# --- a full roster deactivates the people it no longer has ---------------------------------------------------


def _without(users: str, *sourced_ids: str) -> str:
    return "\r\n".join(line for line in users.splitlines() if line.split(",")[0] not in sourced_ids) + "\r\n"


def _lhs_only(users: str) -> str:
    """Lincoln High's rows only (José, at two schools, left out too)."""
    return "\r\n".join([HEADER, *(line for line in users.splitlines()[1:] if ",org-hs," in line)]) + "\r\n"


@pytest.fixture
def with_device(app, imported):
    """Zoe Martinez (Lincoln High, from the roster) holds LHS-8001; Hand Made was typed in at Lincoln High."""
    with app.app_context():
        lhs = factories.make_campus("LHS")
        asset = factories.make_asset(lhs, asset_tag="LHS-8001", status=AssetStatus.in_stock)
        asset_service.assign(asset, person("LHS100001"), by=factories.make_user(Role.admin), via=Via.web)
        factories.make_person(lhs, "Hand Made", external_id="LHS777777")
        db.session.commit()


def test_deactivate_missing_only_where_the_file_speaks(app, ctx, with_device):
    users = _without(_lhs_only(USERS), "u-00001")
    assert run(users, dry_run=True).deactivated == 0, "without the option a roster is a delta"

    report = run(users, dry_run=True, deactivate_missing=True)
    assert report.ok and (report.deactivated, report.missing) == (1, 1)
    [change] = [c for c in report.changes if c["action"] == "deactivate"]
    assert (change["name"], change["missing"]) == ("Zoe Martinez", True)
    assert report.leaving == [{"asset_tag": "LHS-8001", "name": "Zoe Martinez", "external_id": "LHS100001"}]
    assert any("1 person(s) not in this roster would be deactivated" in n and "LHS" in n for n in report.notes)
    assert person("LHS100001").active, "a dry run changes no one"

    run(users, deactivate_missing=True)
    db.session.commit()
    zoe = person("LHS100001")
    assert zoe.active is False
    held = db.session.scalar(sa.select(Assignment).where(Assignment.person_id == zoe.id))
    assert held is not None and held.returned_at is None, "they keep their history (and the device is still theirs)"
    # Hand-entered people, the other schools' people and José (also at a school the file left out) stay.
    assert person("LHS777777").active and person("JMS100018").active and person(JOSE).active


def test_deactivate_missing_follows_the_campus_option_and_the_admins_campuses(app, ctx, with_device):
    users = _without(USERS, "u-00001", "u-00018")
    report = run(users, dry_run=True, deactivate_missing=True, campus_code="JMS")
    assert [c["external_id"] for c in report.changes if c["action"] == "deactivate"] == ["JMS100018"]
    admin = factories.make_user(Role.admin, "LHS")
    report = run(users, dry_run=True, deactivate_missing=True, by=admin)
    assert [c["external_id"] for c in report.changes if c["action"] == "deactivate"] == ["LHS100001"]


def test_a_person_deactivated_comes_back_when_the_roster_has_them_again(app, ctx, with_device):
    run(_without(USERS, "u-00001"), deactivate_missing=True)
    db.session.commit()
    assert person("LHS100001").active is False
    report = run(USERS, deactivate_missing=True)
    db.session.commit()
    assert report.updated == 1 and report.deactivated == 0 and person("LHS100001").active


def test_cli_deactivate_missing_names_who_leaves_and_what_they_hold(app, with_device, tmp_path):
    (tmp_path / "users.csv").write_text(_without(USERS, "u-00001"), encoding="utf-8")
    (tmp_path / "orgs.csv").write_text(ORGS, encoding="utf-8")
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["import", "oneroster", str(tmp_path), "--dry-run", "--deactivate-missing"])
    assert dry.exit_code == 0, dry.output
    assert "not in the file: deactivate Zoe Martinez (LHS100001) active: True → False" in dry.output
    assert "assigned to someone leaving: LHS-8001 (Zoe Martinez, LHS100001)" in dry.output
    assert "1 deactivated would be imported" in dry.output
    done = runner.invoke(args=["import", "oneroster", str(tmp_path), "--deactivate-missing"])
    assert done.exit_code == 0, done.output
    with app.app_context():
        assert person("LHS100001").active is False
    plain = runner.invoke(args=["import", "oneroster", str(tmp_path), "--dry-run"])
    assert "0 deactivated would be imported" in plain.output


def test_the_desk_of_either_school_lends_to_them(app, ctx, imported):
    by_code = {c.code: c for c in db.session.scalars(sa.select(Campus))}
    for code in ("LHS", "JMS"):
        assert desk.desk_person(by_code[code], JOSE).external_id == JOSE, code
        assert JOSE in db.session.scalars(desk.desk_people(by_code[code]).with_only_columns(Person.external_id)).all()
    assert desk.desk_person(by_code["RES"], JOSE) is None
    assert JOSE not in db.session.scalars(desk.desk_people(by_code["RES"]).with_only_columns(Person.external_id)).all()
