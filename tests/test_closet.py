"""The closet finder: unseen devices grouped by last room, missing devices, stalled repairs, CSV exports."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import AssetStatus, Role, utcnow
from app.services import closet
from tests import factories
from tests.conftest import hx


@pytest.fixture
def closet_world(app):
    with app.app_context():
        lhs, jms = factories.make_campus("LHS"), factories.make_campus("JMS")
        room, store = factories.make_room(lhs, "LHS-101"), factories.make_room(lhs, "LHS-IT")
        aide = factories.make_user(Role.aide, "LHS")
        now = utcnow()
        make = factories.make_asset
        make(lhs, room, asset_tag="LHS-FRESH", current_room=room, last_seen_at=now - timedelta(days=2))
        make(
            lhs,
            room,
            asset_tag="LHS-OLD1",
            current_room=store,
            last_seen_at=now - timedelta(days=45),
            last_seen_by=aide,
        )
        make(lhs, room, asset_tag="LHS-OLD2", current_room=store, last_seen_at=now - timedelta(days=90))
        make(lhs, room, asset_tag="LHS-NEVER")
        sync = now - timedelta(days=40)
        make(lhs, room, asset_tag="LHS-SYNC", last_seen_at=sync, last_sync_at=sync, google_recent_user="kid@x.org")
        make(lhs, asset_tag="LHS-RET", status=AssetStatus.retired)
        make(lhs, asset_tag="LHS-MISS", status=AssetStatus.missing, last_seen_at=now - timedelta(days=200))
        make(
            lhs,
            asset_tag="LHS-FIX-OLD",
            status=AssetStatus.in_repair,
            updated_at=now - timedelta(days=60),
            last_seen_at=now,
        )
        make(lhs, asset_tag="LHS-FIX-NEW", status=AssetStatus.in_repair, last_seen_at=now)
        make(jms, asset_tag="JMS-NEVER")
        db.session.commit()
        return {"lhs": lhs.id, "store": store.id, "aide": aide.email}


def test_unseen_groups_by_campus_and_last_room(app, closet_world):
    with app.app_context():
        admin = factories.make_user()
        groups = closet.unseen_groups(admin, 30)
        summary = [(g.campus.code, g.room.code if g.room else None, g.count) for g in groups]
        assert summary == [("JMS", None, 1), ("LHS", "LHS-IT", 2), ("LHS", None, 2)]
        assert closet.unseen_count(admin, 30) == 5
        assert closet.unseen_count(admin, 60) == 3  # LHS-OLD2 (90 days) and the two never seen
        scoped = factories.make_user(Role.viewer, "JMS")
        assert closet.unseen_count(scoped, 30) == 1


def test_seen_by_names_a_person_or_google(app, closet_world):
    with app.app_context():
        admin = factories.make_user()
        rows = {a.asset_tag: closet.seen_by(a) for a in db.session.scalars(closet.unseen_query(admin, 30))}
        assert rows["LHS-OLD1"].startswith("Aide")
        assert rows["LHS-SYNC"] == "Google sync (kid@x.org)"
        assert rows["LHS-NEVER"] == ""


def test_missing_and_stalled_repairs(app, closet_world):
    with app.app_context():
        admin = factories.make_user()
        assert [a.asset_tag for a in db.session.scalars(closet.missing_query(admin))] == ["LHS-MISS"]
        assert [a.asset_tag for a in db.session.scalars(closet.stale_repairs_query(admin, 30))] == ["LHS-FIX-OLD"]


def test_pages_with_and_without_htmx(client, login_as, closet_world):
    login_as(Role.viewer, "LHS")
    page = client.get("/closet?days=30")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    html = page.get_data(as_text=True)
    assert "LHS-IT" in html and "JMS" not in html and "LHS-MISS" in html and "LHS-FIX-OLD" in html
    fragment = client.get("/closet?days=60", headers=hx())
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text and 'id="closet-summary"' in text
    listing = client.get(f"/closet/unseen?days=30&campus={closet_world['lhs']}&room={closet_world['store']}")
    assert "LHS-OLD1" in listing.get_data(as_text=True) and "LHS-NEVER" not in listing.get_data(as_text=True)
    part = client.get("/closet/unseen?days=30&room=none", headers=hx()).get_data(as_text=True)
    assert "<html" not in part and "LHS-NEVER" in part and "LHS-OLD1" not in part


def test_other_campus_filter_is_404_and_unknown_list_too(client, login_as, closet_world, app):
    login_as(Role.viewer, "JMS")
    assert client.get(f"/closet/unseen?campus={closet_world['lhs']}").status_code == 404
    assert client.get("/closet/nothing").status_code == 404
    assert client.get("/closet/nothing.csv").status_code == 404


def test_csv_exports(client, login_as, closet_world):
    login_as(Role.tech, "LHS")
    for name, tags in (
        ("unseen", {"LHS-OLD1", "LHS-OLD2", "LHS-NEVER", "LHS-SYNC"}),
        ("missing", {"LHS-MISS"}),
        ("repairs", {"LHS-FIX-OLD"}),
    ):
        resp = client.get(f"/closet/{name}.csv?days=30")
        assert resp.status_code == 200 and resp.mimetype == "text/csv"
        assert "attachment" in resp.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO(resp.data.decode("utf-8-sig"))))
        assert {r["Asset Tag"] for r in rows} == tags
    rows = list(csv.DictReader(io.StringIO(client.get("/closet/unseen.csv").data.decode("utf-8-sig"))))
    assert next(r for r in rows if r["Asset Tag"] == "LHS-OLD1")["Last Room"] == "LHS-IT"


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get("/closet").status_code in (302, 401)


def test_missing_in_audit_is_listed_until_seen_again(app):
    from app.models.audits import Audit, AuditItem, AuditOutcome, AuditStatus

    with app.app_context():
        lhs = factories.make_campus("LHS")
        room = factories.make_room(lhs)
        asset = factories.make_asset(lhs, room, asset_tag="LHS-GONE")
        now = utcnow()
        audit = Audit(
            uuid="a-1", room_id=room.id, campus_id=lhs.id, status=AuditStatus.closed, started_at=now, closed_at=now
        )
        db.session.add(audit)
        db.session.flush()
        db.session.add(AuditItem(audit_id=audit.id, asset_id=asset.id, outcome=AuditOutcome.missing))
        db.session.flush()
        admin = factories.make_user()
        assert [a.asset_tag for a in db.session.scalars(closet.missing_query(admin))] == ["LHS-GONE"]
        assert asset.status is AssetStatus.deployed
