"""People pages: the list, a person's page with 1:1 devices and loans, and the OneRoster upload (check, then import)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, Person, Via
from tests import factories
from tests.conftest import hx

FIXTURES = Path("/work/shared/fixtures/oneroster")


@pytest.mark.parametrize("headers", [hx(), {}], ids=["htmx", "plain"])
def test_list_is_campus_scoped_and_searchable(client, district, login_as, headers):
    login_as("librarian", "LHS")
    body = client.get("/people", headers=headers).get_data(as_text=True)
    assert "Zoe Martinez" in body and "Liam Chen" not in body
    assert ("<html" in body) is (not headers) and 'id="people-results"' in body
    body = client.get("/people?q=zoe", headers=headers).get_data(as_text=True)
    assert "1 person" in body
    assert "0 people" in client.get("/people?q=liam", headers=headers).get_data(as_text=True)


def test_inactive_people_are_hidden_unless_asked(app, client, district, login_as):
    with app.app_context():
        db.session.get(Person, district["student"]).active = False
        db.session.commit()
    login_as("admin")
    assert "Zoe Martinez" not in client.get("/people").get_data(as_text=True)
    assert "Zoe Martinez" in client.get("/people?inactive=1").get_data(as_text=True)


def test_person_page_and_other_campus(client, district, login_as):
    login_as("viewer", "LHS")
    body = client.get("/people/LHS100001").get_data(as_text=True)
    assert "Zoe Martinez" in body and "No device assigned." in body and "No loaners borrowed." in body
    assert "Assign a device" not in body, "viewers only look"
    assert client.get("/people/JMS200001").status_code == 404
    assert client.get("/people/NOPE").status_code == 404


@pytest.mark.parametrize("headers", [hx(), {}], ids=["htmx", "plain"])
def test_assign_and_take_back_from_the_person_page(app, client, district, login_as, headers):
    login_as("librarian", "LHS")
    resp = client.post("/people/LHS100001/assign", data={"device": "nothing"}, headers=headers)
    assert resp.status_code == 422 and "No device on your campuses matches" in resp.get_data(as_text=True)
    resp = client.post("/people/LHS100001/assign", data={"device": "JMS-2000"}, headers=headers)
    assert resp.status_code == 422
    resp = client.post("/people/LHS100001/assign", data={"device": "spare00001"}, headers=headers)
    assert resp.status_code == (204 if headers else 303)
    body = client.get("/people/LHS100001").get_data(as_text=True)
    assert "LHS-1001" in body and "Take back" in body and "Assigned LHS-1001 to Zoe Martinez" in body
    resp = client.post("/people/LHS100001/return/LHS-1001", data={"condition": "fair"}, headers=headers)
    assert resp.status_code == (204 if headers else 303)
    body = client.get("/people/LHS100001").get_data(as_text=True)
    assert "Earlier" in body and "(fair)" in body and "Zoe Martinez returned LHS-1001 (fair)" in body
    assert client.post("/people/LHS100001/return/LHS-1001", data={}, headers=headers).status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1001")).assigned_to is None


def test_person_page_roles(client, district, login_as):
    login_as("aide", "LHS")
    assert client.get("/people").status_code == 403
    assert client.get("/people/LHS100001").status_code == 403
    login_as("viewer", "LHS")
    assert client.post("/people/LHS100001/assign", data={"device": "LHS-1001"}).status_code == 403
    login_as("tech", "JMS")
    assert client.post("/people/LHS100001/assign", data={"device": "LHS-1001"}).status_code == 404


def _upload(client, headers, **extra):
    data = {
        "users": ((FIXTURES / "users.csv").open("rb"), "users.csv"),
        "orgs": ((FIXTURES / "orgs.csv").open("rb"), "orgs.csv"),
        **extra,
    }
    return client.post("/people/import", data=data, content_type="multipart/form-data", headers=headers)


@pytest.fixture
def campuses(app):
    with app.app_context():
        for code in ("LHS", "JMS", "RES"):
            factories.make_campus(code)
        db.session.commit()


@pytest.mark.parametrize("headers", [hx(), {}], ids=["htmx", "plain"])
def test_upload_check_then_import(app, client, campuses, login_as, headers):
    login_as("admin")
    assert "users.csv or OneRoster zip" in client.get("/people/import").get_data(as_text=True)
    resp = _upload(client, headers)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "52 new, 0 updated, 0 deactivated, 1 unchanged. Nothing is saved yet." in body
    assert "Zoe Martinez" in body and "Import 52 changes" in body
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0
    key = re.search(r'name="key" value="([^"]+)"', body).group(1)
    with app.app_context():
        # Parked in the database, not on this server's disk, so any app server can apply it.
        from app.models import ImportRun

        parked = db.session.scalar(sa.select(ImportRun).where(ImportRun.token == key))
        assert parked.kind.value == "oneroster" and parked.content
    resp = client.post("/people/import", data={"key": key, "action": "apply"}, headers=headers)
    assert resp.status_code == 200 and "Imported: 52 new" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 52
        entry = db.session.scalar(sa.select(Activity).where(Activity.action == "people.import"))
        assert entry.via.value == "web" and entry.after["created"] == 52
    # The parked upload is gone once used.
    again = client.post("/people/import", data={"key": key, "action": "apply"}, headers=headers)
    assert again.status_code == 422 and "expired" in again.get_data(as_text=True)


def test_upload_errors(app, client, campuses, login_as, tmp_path):
    login_as("admin")
    resp = client.post("/people/import", data={}, content_type="multipart/form-data", headers=hx())
    assert resp.status_code == 422 and "Choose users.csv or a OneRoster zip." in resp.get_data(as_text=True)
    bad = (FIXTURES / "users.csv").read_text().replace("org-hs,student,zoe", "org-zz,student,zoe")
    path = tmp_path / "users.csv"
    path.write_text(bad)
    data = {"users": (path.open("rb"), "users.csv"), "orgs": ((FIXTURES / "orgs.csv").open("rb"), "orgs.csv")}
    resp = client.post("/people/import", data=data, content_type="multipart/form-data", headers=hx())
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "line 2, orgSourcedIds: unknown org &#39;org-zz&#39;" in body
    assert "Nothing was imported." in body and 'name="key"' not in body
    resp = _upload(client, hx(), campus="NOPE")
    assert resp.status_code == 422 and "There is no campus" in resp.get_data(as_text=True)
    # Someone else's parked upload cannot be applied.
    key = re.search(r'name="key" value="([^"]+)"', _upload(client, hx()).get_data(as_text=True)).group(1)
    login_as("admin")
    resp = client.post("/people/import", data={"key": key, "action": "apply"}, headers=hx())
    assert resp.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0


def test_only_admins_upload(client, campuses, login_as):
    for role in ("tech", "librarian", "viewer", "aide"):
        login_as(role, "LHS")
        assert client.get("/people/import").status_code == 403
        assert _upload(client, hx()).status_code == 403


def test_person_page_lists_tickets_on_their_devices(app, client, district, login_as):
    from app.models import Asset, Person, TicketCategory, User
    from app.services import assets as asset_service
    from app.services import tickets

    user = login_as("tech", "LHS")
    with app.app_context():
        by = db.session.get(User, user.id)
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1001"))
        zoe = db.session.scalar(sa.select(Person).where(Person.external_id == "LHS100001"))
        asset_service.assign(asset, zoe, by=by, via=Via.web)
        ticket = tickets.open_ticket(
            asset, category=TicketCategory.other, description="Loose hinge", by=by, via=Via.web
        )
        db.session.commit()
        number = ticket.number
    body = client.get("/people/LHS100001").get_data(as_text=True)
    assert 'id="person-tickets"' in body and number in body and "LHS-1001" in body
