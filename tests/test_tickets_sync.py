"""`report.damage` through POST /api/v1/sync: a student report filed offline on a staff phone, applied once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, Role, Ticket, Via
from app.services.users import issue_token
from tests import factories


@pytest.fixture
def token(app, district):
    with app.app_context():
        user = factories.make_user(Role.aide, "LHS")
        raw = issue_token(user, by=None, via=Via.cli)
        db.session.commit()
    return raw


def event(**data) -> dict:
    at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return {"id": str(uuid.uuid4()), "type": "report.damage", "at": at, "data": data}


def post(client, token, events):
    return client.post(
        "/api/v1/sync", json={"client_id": "phone", "events": events}, headers={"Authorization": f"Bearer {token}"}
    )


def test_report_damage_applies_once(app, client, token):
    with app.app_context():
        code = db.session.scalar(sa.select(Asset.tag_code).where(Asset.asset_tag == "LHS-1000"))
    ev = event(
        tag=f"http://rollcall.test/t/{code}",
        category="liquid",
        description="Juice in the keyboard",
        reporter={"name": "Zoe Martinez", "student_id": "LHS100001"},
    )
    first = post(client, token, [ev]).get_json()["results"][0]
    assert first["status"] == "applied" and first["info"]["ticket"].startswith("T-")
    assert post(client, token, [ev]).get_json()["results"][0]["status"] == "duplicate"
    with app.app_context():
        tickets = db.session.scalars(sa.select(Ticket)).all()
        assert len(tickets) == 1
        t = tickets[0]
        assert t.asset.asset_tag == "LHS-1000" and t.category.value == "liquid" and t.source.value == "student_report"
        assert (t.reporter_name, t.reporter_student_id) == ("Zoe Martinez", "LHS100001")
        entry = db.session.scalar(sa.select(Activity).where(Activity.action == "ticket.report"))
        assert entry.via is Via.sync


@pytest.mark.parametrize(
    "data,reason",
    [
        ({"tag": "NOPE-0000", "category": "other", "description": "x"}, "No device has the tag"),
        ({"tag": "LHS-1000", "category": "exploded", "description": "x"}, "Unknown category"),
        ({"tag": "LHS-1000", "description": "x"}, "no category"),
        ({"tag": "LHS-1000", "category": "other", "description": "  "}, "no description"),
        ({"tag": "LHS-1000", "category": "other", "description": "x", "reporter": 5}, "reporter must be"),
        ({"tag": "LHS-1000", "category": "other", "description": "x", "reporter": {"email": "nope"}}, "email"),
    ],
)
def test_bad_report_events_are_rejected_with_a_reason(app, client, token, data, reason):
    result = post(client, token, [event(**data)]).get_json()["results"][0]
    assert result["status"] == "rejected" and reason in result["reason"]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0
