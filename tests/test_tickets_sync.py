"""`report.damage` through POST /api/v1/sync: a student report filed offline on a staff phone, applied once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, Role, SyncEvent, Ticket, Via
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


def _user_token(app, role: Role, *campuses: str) -> tuple[int, str]:
    with app.app_context():
        user = factories.make_user(role, *campuses)
        raw = issue_token(user, by=None, via=Via.cli)
        db.session.commit()
        return user.id, raw


@pytest.mark.parametrize("field", ["asset_tag", "serial", "tag_code"])
def test_another_campus_device_answers_as_an_unknown_tag(app, client, token, field):
    with app.app_context():
        jms = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "JMS-2000"))
        tag = getattr(jms, field)
    other = post(client, token, [event(tag=tag, category="other", description="Broken")]).get_json()["results"][0]
    unknown = post(client, token, [event(tag="ZZZ-404", category="other", description="x")]).get_json()["results"][0]
    assert other["status"] == unknown["status"] == "rejected"
    assert other["reason"] == unknown["reason"].replace(repr("ZZZ-404"), repr(tag))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0


def test_district_wide_admin_may_report_any_campus(app, client, district):
    _id, raw = _user_token(app, Role.admin)
    result = post(client, raw, [event(tag="JMS-2000", category="other", description="Broken")]).get_json()
    assert result["results"][0]["status"] == "applied"


@pytest.mark.parametrize("role,allowed", [("aide", True), ("librarian", True), ("tech", True), ("viewer", False)])
def test_roles_that_handle_devices_may_file_reports(app, client, district, role, allowed):
    user_id, raw = _user_token(app, Role(role), "LHS")
    result = post(client, raw, [event(tag="LHS-1000", category="other", description="Broken")]).get_json()
    result = result["results"][0]
    if allowed:
        assert result["status"] == "applied"
        with app.app_context():
            ticket = db.session.scalar(sa.select(Ticket))
            # Who filed it for the student is on record.
            assert ticket.opened_by_id == user_id and ticket.source.value == "student_report"
            entry = db.session.scalar(sa.select(Activity).where(Activity.action == "ticket.report"))
            assert entry.user_id == user_id
    else:
        assert result["status"] == "rejected" and f"Your role ({role})" in result["reason"]
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0


def test_reports_through_sync_are_limited_per_user(app, client, district, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_SYNC_LIMIT", "3 per hour;50 per day")
    _a, first = _user_token(app, Role.aide, "LHS")
    _b, second = _user_token(app, Role.aide, "LHS")
    events = [event(tag="LHS-1000", category="other", description=f"Report {i}") for i in range(5)]
    results = post(client, first, events).get_json()["results"]
    assert [r["status"] for r in results] == ["applied"] * 3 + ["rejected"] * 2
    assert results[3]["reason"] == (
        "You have filed 3 damage reports in the last hour, the most allowed; keep this one and send it again later."
    )
    # A replay answers the same, and another aide is not held back by the first one's reports.
    assert post(client, first, events[3:4]).get_json()["results"][0]["reason"] == results[3]["reason"]
    assert (
        post(client, second, [event(tag="LHS-1000", category="other", description="Mine")]).get_json()["results"][0][
            "status"
        ]
        == "applied"
    )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 4
        # The refused events keep what they said, so the report is not lost.
        kept = db.session.scalar(sa.select(SyncEvent).where(SyncEvent.id == events[4]["id"]))
        assert kept.data["description"] == "Report 4"


def test_the_limit_is_a_moving_window_over_the_tickets(app, client, district, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_SYNC_LIMIT", "2 per hour")
    user_id, raw = _user_token(app, Role.aide, "LHS")
    events = [event(tag="LHS-1000", category="other", description=f"Report {i}") for i in range(3)]
    assert [r["status"] for r in post(client, raw, events[:2]).get_json()["results"]] == ["applied"] * 2
    with app.app_context():
        for ticket in db.session.scalars(sa.select(Ticket).where(Ticket.opened_by_id == user_id)):
            ticket.created_at -= timedelta(minutes=61)
        db.session.commit()
    assert post(client, raw, events[2:]).get_json()["results"][0]["status"] == "applied"
