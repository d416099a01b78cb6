"""Offline desk events through POST /api/v1/sync: loan.checkout and loan.checkin, exactly once, reasons on refusal."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, AssetStatus, Campus, Loan, Role, Via
from app.services.users import issue_token
from tests import factories


@pytest.fixture
def desk_token(app, district):
    with app.app_context():
        lhs = db.session.get(Campus, district["lhs"])
        factories.make_asset(lhs, asset_tag="LHS-L01", serial="LOANER0001", status=AssetStatus.loaner)
        factories.make_person(lhs, "Ada Byron", external_id="LHS100009")
        user = factories.make_user(Role.librarian, "LHS", email="desk@example.org")
        raw = issue_token(user, by=None, via=Via.cli)
        db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def event(kind: str, at: str = "2026-09-01T15:00:00Z", **data) -> dict:
    return {"id": str(uuid.uuid4()), "type": kind, "at": at, "data": data}


def sync(client, headers, *events):
    resp = client.post("/api/v1/sync", json={"client_id": "desk-phone", "events": list(events)}, headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["results"]


def test_checkout_and_checkin_exactly_once(app, client, desk_token):
    out = event("loan.checkout", asset="loaner0001", person="LHS100001", due="2026-09-02")
    results = sync(client, desk_token, out)
    assert results[0]["status"] == "applied" and results[0]["info"]["asset_tag"] == "LHS-L01"
    # The same event again (a replay after a lost answer) changes nothing.
    assert sync(client, desk_token, out)[0]["status"] == "duplicate"
    second = event("loan.checkout", at="2026-09-01T15:01:00Z", asset="LHS-L01", person="LHS100009")
    back = event("loan.checkin", at="2026-09-01T18:00:00Z", asset="LHS-L01", condition="fair", note="sticky key")
    results = sync(client, desk_token, second, back)
    assert results[0] == {
        "id": second["id"],
        "status": "rejected",
        "reason": "LHS-L01 is already on loan to Zoe Martinez; check it in first.",
    }
    assert results[1]["status"] == "applied"
    assert sync(client, desk_token, back)[0]["status"] == "duplicate"
    with app.app_context():
        loans = db.session.scalars(sa.select(Loan)).all()
        assert len(loans) == 1
        loan = loans[0]
        assert loan.source_event_id == out["id"] and loan.return_condition.value == "fair"
        assert loan.checked_out_at.isoformat() == "2026-09-01T15:00:00+00:00"
        assert loan.returned_at.isoformat() == "2026-09-01T18:00:00+00:00"
        vias = db.session.scalars(sa.select(Activity.via).where(Activity.action.like("loan.%"))).all()
        assert vias == [Via.sync, Via.sync]


@pytest.mark.parametrize(
    "data,reason",
    [
        ({"asset": "nope", "person": "LHS100001"}, "No device on your campuses matches 'nope'."),
        ({"asset": "JMS-2000", "person": "LHS100001"}, "No device on your campuses matches 'JMS-2000'."),
        ({"asset": "LHS-L01", "person": "JMS200001"}, "No one on your campuses has the ID 'JMS200001'."),
        ({"asset": "LHS-1000", "person": "LHS100001"}, "LHS-1000 is not in the loaner pool (it is deployed)."),
        ({"asset": "LHS-L01"}, "The event has no person."),
        (
            {"asset": "LHS-L01", "person": "LHS100001", "due": "tuesday"},
            "The due date 'tuesday' is not an ISO 8601 date.",
        ),
    ],
)
def test_checkout_refusals(client, desk_token, data, reason):
    results = sync(client, desk_token, event("loan.checkout", **data))
    assert results[0]["status"] == "rejected" and results[0]["reason"] == reason


def test_checkin_refusals_and_roles(app, client, desk_token):
    results = sync(client, desk_token, event("loan.checkin", asset="LHS-L01"))
    assert results[0]["reason"] == "LHS-L01 is not on loan."
    results = sync(client, desk_token, event("loan.checkin", asset="LHS-L01", condition="shiny"))
    assert results[0]["reason"].startswith("Unknown condition 'shiny'")
    with app.app_context():
        aide = factories.make_user(Role.aide, "LHS")
        raw = issue_token(aide, by=None, via=Via.cli)
        db.session.commit()
    results = sync(
        client, {"Authorization": f"Bearer {raw}"}, event("loan.checkout", asset="LHS-L01", person="LHS100001")
    )
    assert results[0]["status"] == "rejected" and "role" in results[0]["reason"].lower()
