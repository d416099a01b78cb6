"""The loaner desk over HTTP: scanning people and devices, errors on the panel, lists, receipts, the API, roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, AssetStatus, Campus, Condition, Loan, Person, Role, Via
from app.services import loans
from app.services.users import issue_token
from tests import factories
from tests.conftest import hx


@pytest.fixture
def pool(app, district):
    """The district plus two LHS loaners and a JMS loaner."""
    with app.app_context():
        lhs = db.session.get(Campus, district["lhs"])
        jms = db.session.get(Campus, district["jms"])
        factories.make_asset(lhs, asset_tag="LHS-L01", serial="LOANER0001", status=AssetStatus.loaner)
        factories.make_asset(lhs, asset_tag="LHS-L02", serial="LOANER0002", status=AssetStatus.loaner)
        factories.make_asset(jms, asset_tag="JMS-L01", serial="LOANER0003", status=AssetStatus.loaner)
        factories.make_person(lhs, "Zoe Marsh", external_id="LHS100002")
        db.session.commit()
    return district


def scan(client, code, headers=None, **form):
    return client.post("/loans/scan", data={"code": code, "campus": "LHS", **form}, headers=headers or {})


def open_loans(app):
    with app.app_context():
        return [
            (loan.asset.asset_tag, loan.person.external_id)
            for loan in db.session.scalars(sa.select(Loan).where(Loan.returned_at.is_(None)).order_by(Loan.id))
        ]


def test_desk_page(client, pool, login_as):
    login_as("librarian", "LHS")
    page = client.get("/loans").get_data(as_text=True)
    assert 'id="desk-code"' in page and "data-scan-field" in page and "Lincoln High" in page
    assert 'id="desk-panel"' in page and "No loaners are out." in page
    assert "/static/js/loans.js" in page


@pytest.mark.parametrize("headers", [hx(), {}], ids=["htmx", "plain"])
def test_scan_id_then_loaner_then_return(app, client, pool, login_as, headers):
    login_as("librarian", "LHS")
    resp = scan(client, "LHS100001", headers)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Zoe Martinez" in body and 'value="LHS100001"' in body
    assert ("<html" in body) is (not headers), "htmx gets the panel alone, a plain post the whole page"

    resp = scan(client, "loaner0001", headers, person="LHS100001", due="")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Lent <strong>LHS-L01</strong> to <strong>Zoe Martinez</strong>" in body
    assert resp.headers["HX-Trigger"] == "loans-changed"
    assert open_loans(app) == [("LHS-L01", "LHS100001")]

    resp = scan(client, "LHS-L01", headers, condition="damaged", note="cracked lid")
    body = resp.get_data(as_text=True)
    assert (
        resp.status_code == 200 and "<strong>Zoe Martinez</strong> returned <strong>LHS-L01</strong> (damaged)" in body
    )
    assert open_loans(app) == []
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-L01"))
        assert asset.condition is Condition.damaged
        entry = db.session.scalar(sa.select(Activity).where(Activity.action == "loan.checkin"))
        assert entry.via is Via.web and entry.after["note"] == "cracked lid"


@pytest.mark.parametrize("headers", [hx(), {}], ids=["htmx", "plain"])
def test_refusals_show_on_the_panel(app, client, pool, login_as, headers):
    login_as("librarian", "LHS")
    cases = [
        ("", {}, "Scan or type a student ID, a name, or a device."),
        ("LHS-1000", {"person": "LHS100001"}, "LHS-1000 is not in the loaner pool (it is deployed)."),
        ("LHS-L01", {}, "LHS-L01 is not on loan. To lend it, scan the ID first."),
        ("JMS-L01", {"person": "LHS100001"}, "JMS-L01 belongs to another campus."),
        ("zzzz", {}, "Nothing matches “zzzz”"),
        ("LHS-L01", {"person": "LHS100001", "due": "2001-01-01"}, "That due date has already passed"),
        ("LHS-L01", {"person": "LHS100001", "due": "soon"}, "Enter the due date as a date."),
    ]
    for code, form, message in cases:
        resp = scan(client, code, headers, **form)
        assert resp.status_code == 422, code
        assert message in resp.get_data(as_text=True), code
    # The picked person stays picked after a refusal, so the desk can scan another device.
    resp = scan(client, "LHS-1000", headers, person="LHS100001")
    assert 'name="person" id="desk-person" value="LHS100001"' in resp.get_data(as_text=True)
    with app.app_context():
        db.session.get(Asset, pool["lhs_asset"]).status = AssetStatus.in_repair
        db.session.commit()
    resp = scan(client, "LHS-1000", headers, person="LHS100001")
    assert "LHS-1000 is in repair; it cannot be lent." in resp.get_data(as_text=True)
    assert open_loans(app) == []


def test_second_checkout_is_told_who_has_it(app, client, pool, login_as):
    login_as("librarian", "LHS")
    assert scan(client, "LHS-L01", hx(), person="LHS100001").status_code == 200
    resp = scan(client, "LHS-L01", hx(), person="LHS100002")
    assert resp.status_code == 422
    assert "LHS-L01 is already on loan to Zoe Martinez; check it in first." in resp.get_data(as_text=True)


def test_name_search_and_pick(client, pool, login_as):
    login_as("librarian", "LHS")
    body = scan(client, "zoe", hx()).get_data(as_text=True)
    assert "Who is it?" in body and 'name="pick" value="LHS100001"' in body and 'value="LHS100002"' in body
    body = client.post("/loans/scan", data={"pick": "LHS100002", "campus": "LHS"}, headers=hx()).get_data(as_text=True)
    assert "Zoe Marsh" in body and 'id="desk-person" value="LHS100002"' in body
    body = scan(client, "martinez", hx()).get_data(as_text=True)
    assert "Now scan the loaner for Zoe" in body, "a single match is picked at once"
    body = client.post("/loans/scan", data={"action": "clear", "campus": "LHS"}, headers=hx()).get_data(as_text=True)
    assert 'id="desk-person" value=""' in body


def test_lists_receipt_and_campus_scope(app, client, pool, login_as):
    user = login_as("librarian", "LHS")
    with app.app_context():
        lhs_loaner = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-L01"))
        zoe = db.session.scalar(sa.select(Person).where(Person.external_id == "LHS100001"))
        by = db.session.get(type(user), user.id)
        late = loans.check_out(lhs_loaner, zoe, by=by, due=None, via=Via.web, at=datetime.now(UTC) - timedelta(days=5))
        db.session.commit()
        loan_id = late.id
    for headers in (hx(), {}):
        out = client.get("/loans/out", headers=headers).get_data(as_text=True)
        assert "LHS-L01" in out and "Zoe Martinez" in out and "overdue" in out
        assert ("<html" in out) is (not headers)
        overdue = client.get("/loans/overdue?campus=LHS", headers=headers).get_data(as_text=True)
        assert "LHS-L01" in overdue
    receipt = client.get(f"/loans/{loan_id}/receipt").get_data(as_text=True)
    assert "Loaner receipt" in receipt and "LOANER0001" in receipt and "data-print" in receipt
    assert client.get("/loans/out?campus=JMS").status_code == 404
    assert client.get("/loans?campus=JMS").status_code == 404
    login_as("librarian", "JMS")
    assert client.get(f"/loans/{loan_id}/receipt").status_code == 404
    assert "LHS-L01" not in client.get("/loans/out").get_data(as_text=True)


def test_desk_pack_for_offline_decisions(app, client, pool, login_as):
    user = login_as("librarian", "LHS")
    with app.app_context():
        loaner = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-L01"))
        zoe = db.session.scalar(sa.select(Person).where(Person.external_id == "LHS100001"))
        loans.check_out(loaner, zoe, by=db.session.get(type(user), user.id), due=None, via=Via.web)
        db.session.commit()
    resp = client.get("/loans/pack.json?campus=LHS")
    body = resp.get_json()
    assert body["campus"] == "LHS" and body["device_fields"] == ["tag_code", "asset_tag", "serial", "status"]
    devices = {row[1]: row for row in body["devices"]}
    assert devices["LHS-L02"][2:] == ["LOANER0002", "loaner"] and "JMS-L01" not in devices
    assert [(loan["asset"], loan["person"], loan["name"]) for loan in body["loans"]] == [
        ("LHS-L01", "LHS100001", "Zoe Martinez")
    ]
    assert {"id": "LHS100001", "name": "Zoe Martinez"} in body["people"]
    assert all(set(p) == {"id", "name"} for p in body["people"]), "only names and IDs leave the server"
    assert all(not p["id"].startswith("JMS") for p in body["people"])
    assert "private" in resp.headers["Cache-Control"]
    again = client.get("/loans/pack.json?campus=LHS", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304
    with app.app_context():
        loans.check_in(db.session.merge(loaner), by=db.session.get(type(user), user.id), condition=None, via=Via.web)
        db.session.commit()
    changed = client.get("/loans/pack.json?campus=LHS", headers={"If-None-Match": resp.headers["ETag"]})
    assert changed.status_code == 200 and changed.get_json()["loans"] == [], "a returned loaner changes the pack"
    assert client.get("/loans/pack.json?campus=JMS").status_code == 404


@pytest.mark.parametrize("headers", [hx(), {}], ids=["htmx", "plain"])
def test_assign_by_scanning(app, client, pool, login_as, headers):
    login_as("librarian", "LHS")
    assert client.get("/loans/assign").status_code == 200
    resp = client.post("/loans/assign", data={"code": "LHS-1001"}, headers=headers)
    assert resp.status_code == 422 and "Scan the student&#39;s ID before the device" in resp.get_data(as_text=True)
    resp = client.post("/loans/assign", data={"code": "LHS100001"}, headers=headers)
    assert resp.status_code == 200 and "Now scan the device for Zoe" in resp.get_data(as_text=True)
    resp = client.post("/loans/assign", data={"code": "spare00001", "person": "LHS100001"}, headers=headers)
    assert resp.status_code == 200 and "Assigned <strong>LHS-1001</strong> to <strong>Zoe Martinez</strong>" in (
        resp.get_data(as_text=True)
    )
    resp = client.post("/loans/assign", data={"code": "LHS-1001", "person": "LHS100002"}, headers=headers)
    assert resp.status_code == 422 and "assigned to someone else" in resp.get_data(as_text=True)
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1001"))
        assert asset.assigned_to.external_id == "LHS100001" and asset.status is AssetStatus.deployed


ROLES = ("admin", "tech", "librarian", "aide", "viewer")
DESK = {"admin", "tech", "librarian"}


@pytest.mark.parametrize("role", ROLES)
def test_roles(client, pool, login_as, role):
    login_as(role, "LHS")
    for method, path in [
        ("GET", "/loans"),
        ("GET", "/loans/out"),
        ("GET", "/loans/overdue"),
        ("GET", "/loans/assign"),
        ("GET", "/loans/pack.json"),
        ("POST", "/loans/scan"),
        ("POST", "/loans/assign"),
    ]:
        resp = client.get(path) if method == "GET" else client.post(path, data={"code": "LHS100001"})
        assert resp.status_code == (200 if role in DESK else 403), f"{role} {method} {path}"


def test_anonymous_goes_to_sign_in(client, pool):
    for path in ("/loans", "/loans/out", "/loans/1/receipt", "/loans/pack.json"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    assert client.get("/loans", headers=hx()).status_code == 401


@pytest.fixture
def token(app, pool):
    with app.app_context():
        user = factories.make_user(Role.librarian, "LHS", email="desk@example.org")
        raw = issue_token(user, by=None, via=Via.cli)
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_api_checkout_list_checkin(app, client, token):
    resp = client.post("/api/v1/loans", json={"asset": "LHS-L01", "person": "LHS100001"}, headers=token)
    assert resp.status_code == 201, resp.get_json()
    loan = resp.get_json()
    assert loan["asset_tag"] == "LHS-L01" and loan["person"]["external_id"] == "LHS100001"
    assert loan["checked_out_by"] == "desk@example.org" and loan["returned_at"] is None
    again = client.post("/api/v1/loans", json={"asset": "LHS-L01", "person": "LHS100002"}, headers=token)
    assert again.status_code == 422
    assert again.get_json()["error"] == {
        "code": "invalid",
        "message": "LHS-L01 is already on loan to Zoe Martinez; check it in first.",
        "field": "asset",
    }
    body = client.get("/api/v1/loans?open=1", headers=token).get_json()
    assert [item["asset_tag"] for item in body["items"]] == ["LHS-L01"] and body["total"] == 1
    assert client.get("/api/v1/loans?open=1&campus=JMS", headers=token).status_code == 404
    back = client.post("/api/v1/loans/checkin", json={"asset": "LHS-L01", "condition": "fair"}, headers=token)
    assert back.status_code == 200 and back.get_json()["return_condition"] == "fair"
    assert client.get("/api/v1/loans?open=1", headers=token).get_json()["items"] == []
    assert client.get("/api/v1/loans", headers=token).get_json()["total"] == 1
    bad = client.post("/api/v1/loans/checkin", json={"asset": "LHS-L01", "condition": "meh"}, headers=token)
    assert bad.status_code == 422
    assert client.post("/api/v1/loans", json=["x"], headers=token).status_code == 422
    assert (
        client.post("/api/v1/loans", json={"asset": "JMS-L01", "person": "LHS100001"}, headers=token).status_code == 422
    )


def test_api_roles(app, client, pool):
    with app.app_context():
        aide = factories.make_user(Role.aide, "LHS")
        raw = issue_token(aide, by=None, via=Via.cli)
        db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    # Who has which loaner names students: the desk's roles read it, as on /loans/out.
    assert client.get("/api/v1/loans?open=1", headers=headers).status_code == 403
    resp = client.post("/api/v1/loans", json={"asset": "LHS-L01", "person": "LHS100001"}, headers=headers)
    assert resp.status_code == 403
    assert client.get("/api/v1/loans").status_code == 401
