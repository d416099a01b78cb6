"""The device list's bulk actions as pages: the bar, the confirmation, the change, bad input and who may act."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, AssetStatus, Campus, LabelPrint, Role, Room, Ticket
from tests import factories
from tests.conftest import hx


@pytest.fixture
def many(app, district):
    """Sixty LHS devices in LHS-101 (more than a page of the list), tagged BULK-…."""
    with app.app_context():
        lhs = db.session.get(Campus, district["lhs"])
        room = db.session.get(Room, district["lhs_room"])
        for i in range(60):
            factories.make_asset(lhs, room, asset_tag=f"BULK-{i:03d}", serial=f"BULKSN{i:04d}")
        db.session.commit()
        return list(db.session.scalars(sa.select(Asset.id).where(Asset.asset_tag.startswith("BULK-"))))


def status_of(app, tag: str) -> AssetStatus:
    with app.app_context():
        return db.session.scalar(sa.select(Asset.status).where(Asset.asset_tag == tag))


def test_list_offers_the_bar_to_editors_only(client, district, login_as):
    login_as("tech", "LHS")
    html = client.get("/assets").get_data(as_text=True)
    assert 'id="bulk-form"' in html and 'name="ids"' in html and "Select all 2 matching this filter" in html
    assert 'name="action" value="status"' in html
    assert 'name="action" value="export"' not in html  # the CSV is an admin's
    frag = client.get("/assets?q=lhs", headers=hx()).get_data(as_text=True)
    assert frag.strip().startswith("<section") and 'id="bulk-bar"' in frag and 'name="q" value="lhs"' in frag


def test_viewer_sees_no_selection(client, district, login_as):
    login_as("viewer", "LHS")
    html = client.get("/assets").get_data(as_text=True)
    assert "LHS-1000" in html and 'id="bulk-form"' not in html and 'name="ids"' not in html


def test_aide_may_only_open_tickets(client, district, login_as):
    login_as("aide", "LHS")
    html = client.get("/assets").get_data(as_text=True)
    assert 'name="action" value="ticket"' in html
    assert 'name="action" value="status"' not in html and 'name="action" value="room"' not in html


def test_count_follows_the_ticks_and_all_matching(client, many, login_as):
    login_as("tech", "LHS")
    resp = client.post("/assets/bulk/count", data={"ids": many[:3]}, headers=hx())
    assert resp.status_code == 200 and ">3 selected<" in resp.get_data(as_text=True)
    resp = client.post("/assets/bulk/count", data={"all": "1", "q": "bulk"}, headers=hx())
    assert "All 60 matching devices selected" in resp.get_data(as_text=True)


def test_all_matching_confirms_the_count_then_changes_each(app, client, many, login_as):
    login_as("tech", "LHS")
    form = {"action": "status", "to_status": "in_repair", "all": "1", "q": "bulk", "ids": many[:2]}
    confirm = client.post("/assets/bulk", data=form)
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Change 60 devices to in repair?" in html
    assert 'name="confirm" value="1"' in html and status_of(app, "BULK-000") is AssetStatus.deployed
    done = client.post("/assets/bulk", data={**form, "confirm": "1"})
    assert done.status_code == 303 and done.headers["Location"] == "/assets?q=bulk"
    with app.app_context():
        changed = db.session.scalar(
            sa.select(sa.func.count()).where(Asset.id.in_(many), Asset.status == AssetStatus.in_repair)
        )
        entries = db.session.scalar(sa.select(sa.func.count(Activity.id)).where(Activity.asset_id.in_(many)))
    assert changed == 60 and entries == 60
    assert "Changed 60 devices to in repair." in client.get("/assets?q=bulk").get_data(as_text=True)


def test_a_refused_device_is_named_and_nothing_changes(app, client, many, district, login_as):
    login_as("tech", "LHS")
    client.post("/assets/LHS-1001/assign", data={"person": "LHS100001"})
    with app.app_context():
        spare = db.session.scalar(sa.select(Asset.id).where(Asset.asset_tag == "LHS-1001"))
    form = {"action": "status", "to_status": "retired", "ids": [*many[:5], spare], "confirm": "1"}
    resp = client.post("/assets/bulk", data=form)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "1 of 6 devices cannot be changed" in html
    assert "LHS-1001" in html and "take it back" in html and "Nothing has been changed" in html
    assert status_of(app, "BULK-000") is AssetStatus.deployed


def test_the_single_device_change_keeps_the_same_rule(app, client, district, login_as):
    login_as("tech", "LHS")
    client.post("/assets/LHS-1001/assign", data={"person": "LHS100001"})
    resp = client.post("/assets/LHS-1001/status", data={"status": "in_stock"}, headers=hx())
    assert resp.status_code == 422 and "take it back" in resp.get_data(as_text=True)
    assert status_of(app, "LHS-1001") is AssetStatus.deployed


def test_move_to_a_room(app, client, many, district, login_as):
    login_as("tech", "LHS")
    form = {"action": "room", "to_room": district["lhs_store"], "ids": many[:4]}
    assert "Move 4 devices to LHS-IT?" in client.post("/assets/bulk", data=form).get_data(as_text=True)
    assert client.post("/assets/bulk", data={**form, "confirm": "1"}).status_code == 303
    with app.app_context():
        rooms = set(db.session.scalars(sa.select(Asset.home_room_id).where(Asset.id.in_(many[:4]))))
    assert rooms == {district["lhs_store"]}


@pytest.mark.parametrize(
    "form,field,message",
    [
        ({"action": "status", "to_status": "exploded"}, "to_status", "Choose a status from the list."),
        ({"action": "room", "to_room": "JMS_ROOM"}, "to_room", "Choose a room on your campuses."),
        ({"action": "room", "to_room": "abc"}, "to_room", "Choose a room on your campuses."),
        ({"action": "status", "to_status": "missing", "ids": []}, "ids", "Choose at least one device."),
        ({"action": "status", "to_status": "missing", "ids": ["x1"]}, "ids", "Choose devices from the list."),
        ({"action": "status", "to_status": "missing", "all": "1", "q": "nomatch"}, "ids", "No devices match"),
        ({"action": "ticket", "category": "cracked_screen", "description": " "}, "description", "Describe"),
        ({"action": "ticket", "category": "bent", "description": "x"}, "category", "Choose a category."),
        ({"action": "labels", "format": "napkin"}, "format", "Choose the label stock."),
        ({"action": "dance"}, "action", "Choose an action"),
    ],
)
def test_malformed_input_is_422_on_its_field(app, client, many, district, login_as, form, field, message):
    login_as("admin", "LHS")
    form = dict(form)
    if form.get("to_room") == "JMS_ROOM":
        form["to_room"] = district["jms_room"]
    form.setdefault("ids", many[:2])
    resp = client.post("/assets/bulk", data={**form, "confirm": "1"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and f'data-field="{field}"' in html and message in html
    assert status_of(app, "BULK-000") is AssetStatus.deployed


@pytest.mark.parametrize(
    "role,action,allowed",
    [
        ("viewer", "status", False),
        ("viewer", "ticket", False),
        ("aide", "status", False),
        ("aide", "room", False),
        ("aide", "ticket", True),
        ("librarian", "labels", False),
        ("tech", "labels", True),
        ("tech", "export", False),
        ("admin", "export", True),
    ],
)
def test_each_action_checks_its_capability(client, many, district, login_as, role, action, allowed):
    login_as(role, "LHS")
    form = {
        "action": action,
        "ids": many[:2],
        "to_status": "missing",
        "to_room": district["lhs_store"],
        "category": "other",
        "description": "Sticky keys",
        "format": "avery5160",
    }
    resp = client.post("/assets/bulk", data=form)
    assert (resp.status_code != 403) is allowed, (role, action, resp.status_code)


def test_anonymous_is_sent_to_sign_in(client, many):
    resp = client.post("/assets/bulk", data={"action": "status", "ids": many[:1]})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_other_campus_ids_are_refused_without_their_tags(client, many, district, login_as):
    login_as("tech", "JMS")
    resp = client.post("/assets/bulk", data={"action": "status", "to_status": "missing", "ids": many[:3]})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and f"#{many[0]}" in html and "BULK-000" not in html


def test_tickets_for_each_then_labels_and_export(app, client, many, login_as):
    login_as("admin", "LHS")
    form = {"action": "ticket", "category": "wont_charge", "description": "Cart 3", "ids": many[:3]}
    assert "for each of 3 devices?" in client.post("/assets/bulk", data=form).get_data(as_text=True)
    assert client.post("/assets/bulk", data={**form, "confirm": "1"}).status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id)).where(Ticket.asset_id.in_(many[:3]))) == 3
    labels = client.post("/assets/bulk", data={"action": "labels", "format": "avery5160", "all": "1", "q": "bulk"})
    assert labels.status_code == 303 and "/labels/prints/" in labels.headers["Location"]
    with app.app_context():
        assert db.session.scalar(sa.select(LabelPrint.count)) == 60
    export = client.post("/assets/bulk", data={"action": "export", "ids": many[:2]})
    text = export.get_data(as_text=True)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "BULK-000" in text and "BULK-001" in text and "BULK-002" not in text and "LHS-1000" not in text


def test_district_admin_moves_across_campuses_is_refused_by_name(app, client, many, district, login_as):
    login_as(Role.admin)
    with app.app_context():
        jms_asset = district["jms_asset"]
    form = {"action": "room", "to_room": district["lhs_room"], "ids": [many[0], jms_asset], "confirm": "1"}
    html = client.post("/assets/bulk", data=form).get_data(as_text=True)
    assert "JMS-2000" in html and "belongs to JMS" in html
