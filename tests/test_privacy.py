"""Student privacy: views of a person's record are logged, a person's data exports whole, and erasure takes their
name, IDs and contact details out of every record while the district's records stay."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, Person, RecordView, Role, SyncEvent, Ticket, TicketCategory, User, Via
from app.services import assets, sync, tickets
from app.services.tickets import Reporter
from tests import factories
from tests.conftest import hx

ZOE = "LHS100001"


@pytest.fixture
def history(app, district):
    """Zoe had LHS-1000 (returned), reported damage on it with her name and ID, and was charged nothing."""
    with app.app_context():
        tech = factories.make_user(Role.tech, "LHS", email="tech.privacy@example.org")
        zoe = db.session.get(Person, district["student"])
        asset = db.session.get(Asset, district["lhs_asset"])
        assets.assign(asset, zoe, by=tech, via=Via.web)
        tickets.file_student_report(
            asset,
            category=TicketCategory.cracked_screen,
            description="Zoe Martinez dropped it at lunch",
            reporter=Reporter(name="Zoe Martinez", student_id=ZOE, email="zoe@students.example.org"),
        )
        db.session.commit()
    return district


def _person(app, person_id):
    with app.app_context():
        p = db.session.get(Person, person_id)
        return {"name": p.name, "external_id": p.external_id, "email": p.email, "active": p.active}


def test_opening_a_record_is_logged_and_admins_see_who(app, client, history, login_as):
    viewer = login_as("viewer", "LHS")
    assert client.get(f"/people/{ZOE}").status_code == 200
    page = client.get(f"/people/{ZOE}").get_data(as_text=True)
    assert "Who opened this record" not in page  # only admins read the log
    with app.app_context():
        views = db.session.execute(sa.select(RecordView.user_id, RecordView.what)).all()
        assert [tuple(v) for v in views] == [(viewer.id, "page"), (viewer.id, "page")]
    login_as("admin", "LHS")
    page = client.get(f"/people/{ZOE}").get_data(as_text=True)
    log = page[page.index('id="record-views"') :]
    assert viewer.email in log and "2 views since" in log


def test_export_holds_everything_about_the_person_and_is_logged(app, client, history, login_as):
    admin = login_as("admin", "LHS")
    resp = client.get(f"/people/{ZOE}/export")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert "attachment" in resp.headers["Content-Disposition"] and resp.headers["Cache-Control"] == "no-store"
    doc = json.loads(resp.get_data(as_text=True))
    assert doc["person"]["external_id"] == ZOE and doc["person"]["campus"] == "LHS"
    assert [a["asset_tag"] for a in doc["assignments"]] == ["LHS-1000"]
    assert doc["tickets_reported"][0]["reporter_student_id"] == ZOE
    assert "status_token_hash" not in doc["tickets_reported"][0]
    assert any(a["action"] == "asset.assign" for a in doc["activity"])
    with app.app_context():
        assert db.session.scalar(sa.select(RecordView.what).where(RecordView.user_id == admin.id)) == "export"
    page = client.get(f"/people/{ZOE}").get_data(as_text=True)
    assert "exported" in page[page.index('id="record-views"') :]

    login_as("tech", "LHS")
    assert client.get(f"/people/{ZOE}/export").status_code == 403
    login_as("admin", "JMS")
    assert client.get(f"/people/{ZOE}/export").status_code == 404


def test_erasing_is_refused_while_they_hold_a_device_or_without_the_id(app, client, history, login_as):
    login_as("admin", "LHS")
    resp = client.post(f"/people/{ZOE}/erase", data={"confirm": ZOE}, headers=hx())
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "First take back the devices they hold (LHS-1000)." in body and 'id="person-privacy"' in body
    assert "<html" not in body
    resp = client.post(f"/people/{ZOE}/erase", data={"confirm": "LHS1"})
    assert resp.status_code == 422 and f"Type {ZOE} to confirm." in resp.get_data(as_text=True)
    assert _person(app, history["student"])["name"] == "Zoe Martinez"


def test_erasing_takes_the_person_out_of_every_record(app, client, history, login_as):
    admin = login_as("admin", "LHS")
    with app.app_context():
        asset = db.session.get(Asset, history["lhs_asset"])
        assets.unassign(asset, by=db.session.get(User, admin.id), via=Via.web)
        db.session.commit()
    with app.app_context():
        # A checkout sent from a phone that was refused keeps what was sent, her ID included.
        refused = {
            "id": "7d6f2a8e-2f41-4b7c-9a0e-3b1f5c2d4e01",
            "type": "loan.checkout",
            "at": "2026-11-20T09:00:00Z",
            "data": {"asset": "NO-SUCH-DEVICE", "person": ZOE},
        }
        answer = sync.apply_batch([refused], user=db.session.get(User, admin.id))
        assert answer[0].status == "rejected"
        db.session.commit()
    resp = client.post(f"/people/{ZOE}/erase", data={"confirm": f" {ZOE} "})
    person_id = history["student"]
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/people/erased-{person_id}")
    label = f"Erased person {person_id}"
    assert _person(app, person_id) == {
        "name": label,
        "external_id": f"erased-{person_id}",
        "email": None,
        "active": False,
    }
    with app.app_context():
        entries = list(
            db.session.scalars(sa.select(Activity).where(Activity.person_id == person_id).order_by(Activity.id))
        )
        text = json.dumps([(e.summary, e.before, e.after) for e in entries])
        assert "Zoe" not in text and ZOE not in text and "zoe@" not in text
        assert label in text and "LHS-1000" in text  # the device's history stays, under the new label
        assert entries[-1].action == "person.erase" and entries[-1].user_id == admin.id
        ticket = db.session.scalar(sa.select(Ticket))
        assert (ticket.reporter_name, ticket.reporter_student_id, ticket.reporter_email) == (None, None, None)
        assert ticket.description == f"{label} dropped it at lunch"
        kept = db.session.scalar(sa.select(SyncEvent.data).where(SyncEvent.id == refused["id"]))
        assert kept == {"asset": "NO-SUCH-DEVICE", "person": label}
    page = client.get(f"/people/erased-{person_id}").get_data(as_text=True)
    assert f"Erased. The record is now {label}." in page and "Zoe" not in page
    again = client.post(f"/people/erased-{person_id}/erase", data={"confirm": f"erased-{person_id}"})
    assert again.status_code == 422 and "already been erased" in again.get_data(as_text=True)


def test_the_desk_and_the_damage_history_count_as_opening_the_record(app, client, history, login_as):
    librarian = login_as("librarian", "LHS")
    panel = client.post("/loans/scan", data={"code": ZOE, "campus": "LHS"}, headers=hx())
    assert panel.status_code == 200 and "Zoe Martinez" in panel.get_data(as_text=True)
    assert client.post("/loans/assign", data={"code": ZOE}, headers=hx()).status_code == 200
    tech = login_as("tech", "LHS")
    assert client.get(f"/repairs/people/{ZOE}").status_code == 200
    with app.app_context():
        views = db.session.execute(sa.select(RecordView.user_id, RecordView.what).order_by(RecordView.id)).all()
    assert [tuple(v) for v in views] == [(librarian.id, "desk"), (librarian.id, "desk"), (tech.id, "repairs")]
