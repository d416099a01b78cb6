"""People pages: the list, a person's page with 1:1 devices and loans, and the OneRoster upload (check, then import)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, AssetStatus, ImportRun, Job, JobStatus, Person, User, Via
from app.services import assets as asset_service
from app.services import roster
from tests import factories
from tests.conftest import hx
from tests.roster_world import FIXTURES, make_campuses


@pytest.fixture
def campuses(app):
    make_campuses(app)


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


def _run_url(resp) -> str:
    """Where an upload (or an apply) sends the browser: the run's page (HX-Redirect for htmx, 303 otherwise)."""
    url = resp.headers.get("HX-Redirect") or resp.headers["Location"]
    assert resp.status_code in (204, 303) and re.search(r"/people/import/[0-9a-f]{32}$", url), resp.status_code
    return url


@pytest.mark.parametrize("headers", [hx(), {}], ids=["htmx", "plain"])
def test_upload_check_then_import(app, client, campuses, login_as, headers):
    login_as("admin")
    assert "users.csv or OneRoster zip" in client.get("/people/import").get_data(as_text=True)
    url = _run_url(_upload(client, headers))
    body = client.get(url).get_data(as_text=True)
    assert "52 new, 0 updated, 0 deactivated, 1 unchanged. Nothing is saved yet." in body
    assert "Zoe Martinez" in body and "Import 52 changes" in body and 'data-job-status="done"' in body
    assert "Checking the roster" in body
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0
        # Parked in the database, not on this server's disk, so any app server (and the worker) can read it.
        parked = db.session.scalar(sa.select(ImportRun).where(ImportRun.token == url.rsplit("/", 1)[1]))
        assert parked.kind.value == "oneroster" and parked.content
        job = db.session.scalar(sa.select(Job).where(Job.kind == "roster.check"))
        assert job.status is JobStatus.done and (job.done, job.total) == (53, 53)
    assert _run_url(client.post(f"{url}/apply", headers=headers)) == url
    body = client.get(url).get_data(as_text=True)
    assert "Imported: 52 new" in body and "Importing the roster" in body
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 52
        entry = db.session.scalar(sa.select(Activity).where(Activity.action == "people.import"))
        assert entry.via.value == "web" and entry.after["created"] == 52
        assert db.session.scalar(sa.select(ImportRun.content).where(ImportRun.token == url.rsplit("/", 1)[1])) is None
    # Applied once: applying again starts no job.
    client.post(f"{url}/apply", headers=headers)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.kind == "roster.apply")) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 52


def test_upload_errors(app, client, campuses, login_as, tmp_path):
    login_as("admin")
    resp = client.post("/people/import", data={}, content_type="multipart/form-data", headers=hx())
    assert resp.status_code == 422 and "Choose users.csv or a OneRoster zip." in resp.get_data(as_text=True)
    # A file missing required columns is told on the form at once.
    path = tmp_path / "users.csv"
    path.write_text("sourcedId,role\nu-1,student\n")
    resp = client.post("/people/import", data={"users": (path.open("rb"), "users.csv")}, headers=hx())
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'id="roster-users-error"' in body and "orgSourcedIds" in body
    # Bad rows are found by the dry run's job: listed on the run's page, nothing to import.
    bad = (FIXTURES / "users.csv").read_text().replace("org-hs,student,zoe", "org-zz,student,zoe")
    path.write_text(bad)
    data = {"users": (path.open("rb"), "users.csv"), "orgs": ((FIXTURES / "orgs.csv").open("rb"), "orgs.csv")}
    url = _run_url(client.post("/people/import", data=data, content_type="multipart/form-data", headers=hx()))
    body = client.get(url).get_data(as_text=True)
    assert "line 2, orgSourcedIds: unknown org &#39;org-zz&#39;" in body
    assert "Nothing was imported." in body and "/apply" not in body
    client.post(f"{url}/apply")
    resp = _upload(client, hx(), campus="NOPE")
    assert resp.status_code == 422 and "There is no campus" in resp.get_data(as_text=True)
    # Someone else's upload is not even there.
    url = _run_url(_upload(client, hx()))
    login_as("admin", "LHS")
    assert client.get(url).status_code == 404
    assert client.post(f"{url}/apply", headers=hx()).status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.kind == "roster.apply")) == 0


def test_deactivate_missing_is_a_checkbox_and_the_check_names_who_leaves(app, client, campuses, login_as, tmp_path):
    admin = login_as("admin")
    with app.app_context():
        assert roster.import_roster(roster.files_from_path(FIXTURES), by=db.session.get(User, admin.id), via=Via.web).ok
        zoe = db.session.scalar(sa.select(Person).where(Person.external_id == "LHS100001"))
        asset = factories.make_asset(zoe.campus, asset_tag="LHS-9001", status=AssetStatus.in_stock)
        asset_service.assign(asset, zoe, by=db.session.get(User, admin.id), via=Via.web)
        db.session.commit()
    users = tmp_path / "users.csv"
    lines = (FIXTURES / "users.csv").read_text().splitlines()
    users.write_text("\n".join(line for line in lines if not line.startswith("u-00001,")))

    def upload(**extra):
        data = {"users": (users.open("rb"), "users.csv"), "orgs": ((FIXTURES / "orgs.csv").open("rb"), "orgs.csv")}
        return _run_url(client.post("/people/import", data={**data, **extra}, content_type="multipart/form-data"))

    assert 'name="deactivate_missing"' in client.get("/people/import").get_data(as_text=True)
    body = client.get(upload()).get_data(as_text=True)
    assert "0 deactivated" in body and 'id="roster-leaving"' not in body
    url = upload(deactivate_missing="1")
    body = client.get(url).get_data(as_text=True)
    assert "1 deactivated" in body and "not in the file" in body and "Zoe Martinez" in body
    assert 'id="roster-leaving"' in body and "1 device assigned to someone leaving" in body and "LHS-9001" in body
    client.post(f"{url}/apply")
    with app.app_context():
        assert db.session.scalar(sa.select(Person.active).where(Person.external_id == "LHS100001")) is False


def test_only_admins_upload(client, campuses, login_as):
    login_as("admin")
    url = _run_url(_upload(client, {}))
    for role in ("tech", "librarian", "viewer", "aide"):
        login_as(role, "LHS")
        assert client.get("/people/import").status_code == 403
        assert _upload(client, hx()).status_code == 403
        assert client.get(url).status_code == 403
        assert client.post(f"{url}/apply").status_code == 403


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
