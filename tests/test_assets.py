"""The inventory: list, search, filters, the asset page, editing, assignment, and the activity it writes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, AssetStatus, Assignment, DeviceModel
from tests import hostile as h
from tests.conftest import hx


def asset_form(district, **overrides):
    with_model = overrides.pop("model_id", None)
    data = {
        "asset_tag": "LHS-3000",
        "serial": "NEWSERIAL1",
        "model_id": with_model,
        "campus_id": district["lhs"],
        "home_room_id": district["lhs_room"],
        "status": "in_stock",
        "condition": "good",
        "notes": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def model_id(app, district):
    with app.app_context():
        return db.session.scalar(sa.select(DeviceModel.id))


def test_list_shows_only_own_campus(client, district, login_as):
    login_as("viewer", "LHS")
    html = client.get("/assets").get_data(as_text=True)
    assert "LHS-1000" in html and "JMS-2000" not in html


def test_district_admin_sees_every_campus(client, district, login_as):
    login_as("admin")
    html = client.get("/assets").get_data(as_text=True)
    assert "LHS-1000" in html and "JMS-2000" in html


@pytest.mark.parametrize(
    "query,expected",
    [
        ("lhs-1000", "LHS-1000"),
        ("mkqqa7", "LHS-1000"),
        ("zoe mart", None),
        ("acer", "LHS-1000"),
    ],
)
def test_search_matches_tag_serial_model_person(app, client, district, login_as, query, expected):
    login_as("tech", "LHS")
    if query == "zoe mart":
        client.post("/assets/LHS-1000/assign", data={"person": "LHS100001"})
        expected = "LHS-1000"
    html = client.get("/assets", query_string={"q": query}, headers=hx()).get_data(as_text=True)
    assert expected in html


def test_search_fragment_vs_page(client, district, login_as):
    login_as("viewer", "LHS")
    frag = client.get("/assets?q=LHS-1001", headers=hx())
    assert frag.status_code == 200
    assert frag.get_data(as_text=True).lstrip().startswith('<section id="asset-results"')
    assert "HX-Request" in frag.headers["Vary"]
    page = client.get("/assets?q=LHS-1001")
    assert "<html" in page.get_data(as_text=True)
    restore = client.get("/assets?q=LHS-1001", headers=hx(**{"HX-History-Restore-Request": "true"}))
    assert "<html" in restore.get_data(as_text=True)


def test_filters_by_status_and_room(client, district, login_as):
    login_as("viewer", "LHS")
    html = client.get(f"/assets?status=in_stock&campus={district['lhs']}").get_data(as_text=True)
    assert "LHS-1001" in html and "LHS-1000" not in html
    html = client.get(f"/assets?room={district['lhs_room']}").get_data(as_text=True)
    assert "LHS-1000" in html and "LHS-1001" not in html


def test_sort_orders(client, district, login_as):
    login_as("admin")
    html = client.get("/assets?sort=-tag").get_data(as_text=True)
    assert html.index("LHS-1001") < html.index("LHS-1000") < html.index("JMS-2000")


def test_asset_page_and_404s(client, district, login_as):
    login_as("aide", "LHS")
    resp = client.get("/assets/LHS-1000")
    assert resp.status_code == 200 and "MKQQA7MSUA" in resp.get_data(as_text=True)
    assert client.get("/assets/JMS-2000").status_code == 404, "other campuses look like they do not exist"
    missing = client.get("/assets/NOPE-1")
    assert missing.status_code == 404 and "could not find" in missing.get_data(as_text=True)


def test_create_asset_logs_activity(app, client, district, login_as, model_id):
    login_as("tech", "LHS")
    resp = client.post("/assets/new", data=asset_form(district, model_id=model_id))
    assert resp.status_code == 303 and resp.headers["Location"] == "/assets/LHS-3000"
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-3000"))
        assert asset.status is AssetStatus.in_stock
        entry = db.session.scalar(sa.select(Activity).where(Activity.asset_id == asset.id))
        assert entry.action == "asset.create" and entry.via.value == "web" and entry.user.role.value == "tech"


def test_create_via_htmx_redirects_with_header(client, district, login_as, model_id):
    login_as("tech", "LHS")
    resp = client.post("/assets/new", data=asset_form(district, model_id=model_id), headers=hx())
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == "/assets/LHS-3000"


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("asset_tag", "LHS-1000", "Another device already has this asset tag."),
        ("serial", "mkqqa7msua", "Another device already has this serial number."),
        ("asset_tag", "", "Enter the asset tag."),
        ("purchase_cost", "-5", "Number must be at least 0"),
        ("purchase_date", "31/31/2020", "Not a valid date value."),
    ],
)
def test_bad_input_is_422_on_the_field(client, district, login_as, model_id, field, value, message):
    login_as("tech", "LHS")
    resp = client.post("/assets/new", data=asset_form(district, model_id=model_id, **{field: value}), headers=hx())
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert html.lstrip().startswith('<form id="asset-form"')
    assert message in html
    assert 'aria-invalid="true"' in html


def test_room_must_belong_to_campus(client, district, login_as, model_id):
    login_as("admin")
    resp = client.post("/assets/new", data=asset_form(district, model_id=model_id, home_room_id=district["jms_room"]))
    assert resp.status_code == 422
    assert "not on the chosen campus" in resp.get_data(as_text=True)


def test_cannot_create_on_other_campus(client, district, login_as, model_id):
    login_as("tech", "LHS")
    resp = client.post(
        "/assets/new", data=asset_form(district, model_id=model_id, campus_id=district["jms"], home_room_id="")
    )
    assert resp.status_code == 422


def test_unique_race_becomes_field_error(app, ctx, district):
    """Two writers pass the pre-check; the database constraint decides and the loser gets a field error."""
    from app.models import Via
    from app.services import assets as svc
    from app.services.errors import Invalid

    user = db.session.scalar(sa.select(Asset)).campus  # any object to reach the session
    assert user is not None
    tech = __import__("tests.factories", fromlist=["make_user"]).make_user(
        __import__("app.models", fromlist=["Role"]).Role.admin
    )
    original = svc._check_unique
    svc._check_unique = lambda values, asset_id: None  # the other request has not committed yet
    try:
        with pytest.raises(Invalid) as exc:
            svc.create_asset(
                {
                    "asset_tag": "LHS-1000",
                    "serial": "X1",
                    "model_id": db.session.scalar(sa.select(DeviceModel.id)),
                    "campus_id": district["lhs"],
                },
                by=tech,
                via=Via.web,
            )
    finally:
        svc._check_unique = original
    assert exc.value.field == "asset_tag"


def test_edit_records_before_and_after(app, client, district, login_as):
    login_as("tech", "LHS")
    resp = client.get("/assets/LHS-1000/edit")
    assert resp.status_code == 200
    form = {
        "asset_tag": "LHS-1000",
        "serial": "MKQQA7MSUA",
        "model_id": "",
        "campus_id": district["lhs"],
        "home_room_id": district["lhs_store"],
        "status": "in_repair",
        "condition": "damaged",
        "notes": '<script>alert(1)</script>" hx-get="/evil"',
    }
    with app.app_context():
        form["model_id"] = db.session.scalar(sa.select(DeviceModel.id))
    assert client.post("/assets/LHS-1000/edit", data=form).status_code == 303
    page = client.get("/assets/LHS-1000").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34; hx-get=&#34;/evil&#34;" in page
    with app.app_context():
        entry = db.session.scalar(sa.select(Activity).where(Activity.action == "asset.update"))
        assert entry.before["status"] == "deployed" and entry.after["status"] == "in_repair"
        assert entry.after["condition"] == "damaged"
        assert "asset_tag" not in entry.after, "unchanged fields are not logged"


def test_viewer_and_aide_cannot_edit(client, district, login_as):
    login_as("viewer", "LHS")
    assert client.get("/assets/LHS-1000/edit").status_code == 403
    assert client.post("/assets/LHS-1000/status", data={"status": "missing"}).status_code == 403


def test_status_change_fragment_and_page(client, district, login_as):
    login_as("tech", "LHS")
    resp = client.post("/assets/LHS-1000/status", data={"status": "missing"}, headers=hx())
    assert resp.status_code == 200
    assert 'id="asset-actions"' in resp.get_data(as_text=True)
    resp = client.post("/assets/LHS-1000/status", data={"status": "deployed"})
    assert resp.status_code == 303
    bad = client.post("/assets/LHS-1000/status", data={"status": "exploded"}, headers=hx())
    assert bad.status_code == 422 and "Choose a status" in bad.get_data(as_text=True)


def test_assign_and_return(app, client, district, login_as):
    login_as("tech", "LHS")
    resp = client.post("/assets/LHS-1001/assign", data={"person": "LHS100001"}, headers=hx())
    assert resp.status_code == 200
    assert "Zoe Martinez" in resp.get_data(as_text=True)
    again = client.post("/assets/LHS-1001/assign", data={"person": "LHS100001"}, headers=hx())
    assert again.status_code == 422 and "already assigned" in again.get_data(as_text=True)
    other_campus = client.post("/assets/LHS-1000/assign", data={"person": "JMS200001"}, headers=hx())
    assert other_campus.status_code == 422
    back = client.post("/assets/LHS-1001/return", data={"condition": "damaged"})
    assert back.status_code == 303
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1001"))
        assert asset.assigned_to is None and asset.status is AssetStatus.in_stock
        assert asset.condition.value == "damaged"
        rows = db.session.scalars(sa.select(Assignment).where(Assignment.asset_id == asset.id)).all()
        assert len(rows) == 1 and rows[0].returned_at is not None
        actions = db.session.scalars(sa.select(Activity.action).where(Activity.asset_id == asset.id)).all()
        assert actions.count("asset.assign") == 1 and actions.count("asset.return") == 1


def test_taking_back_a_device_nobody_holds_says_why(app, client, district, login_as):
    """A take-back form left open after someone else took the device back: the page now offers to assign it, and
    the reason the take-back was refused shows there."""
    login_as("tech", "LHS")
    for headers in (hx(), {}):
        resp = client.post("/assets/LHS-1001/return", data={"condition": "good"}, headers=headers)
        assert resp.status_code == 422
        page = h.parse("/assets/LHS-1001", resp.get_data(as_text=True))
        assert "LHS-1001 is not assigned to anyone." in page.messages, page.messages
    with app.app_context():
        assert db.session.scalar(sa.select(Asset.status).where(Asset.asset_tag == "LHS-1001")) is AssetStatus.in_stock
        assert not db.session.scalars(sa.select(Activity).where(Activity.action == "asset.return")).all()


def test_open_assignment_unique_in_database(ctx, district):
    from sqlalchemy.exc import IntegrityError

    asset_id, person_id = district["spare"], district["student"]
    db.session.add_all(
        [Assignment(asset_id=asset_id, person_id=person_id), Assignment(asset_id=asset_id, person_id=person_id)]
    )
    with pytest.raises(IntegrityError):
        db.session.flush()


def test_status_check_constraint_in_database(ctx, district):
    from sqlalchemy.exc import IntegrityError, StatementError

    with pytest.raises((IntegrityError, StatementError)):
        db.session.execute(sa.text("UPDATE assets SET status = 'lost_at_sea'"))
        db.session.flush()


def test_activity_page_filters(client, district, login_as):
    user = login_as("tech", "LHS")
    client.post("/assets/LHS-1000/status", data={"status": "missing"})
    html = client.get("/activity?asset=LHS-1000").get_data(as_text=True)
    assert "Changed status of LHS-1000" in html
    html = client.get("/activity", query_string={"user": user.email}, headers=hx()).get_data(as_text=True)
    assert html.lstrip().startswith('<section id="activity-rows"') and "LHS-1000" in html
    assert "LHS-1000" not in client.get("/activity?from=2999-01-01").get_data(as_text=True)


def test_room_options_fragment(client, district, login_as):
    login_as("tech", "LHS")
    html = client.get(f"/assets/rooms?campus_id={district['lhs']}", headers=hx()).get_data(as_text=True)
    assert "LHS-101" in html and "JMS-201" not in html
    assert client.get(f"/assets/rooms?campus_id={district['jms']}").status_code == 404


def test_dashboard_counts(client, district, login_as):
    login_as("viewer", "LHS")
    html = client.get("/").get_data(as_text=True)
    assert "Lincoln High" not in html or "LHS" in html
    assert "JMS" not in html
    assert "/assets?status=in_stock" in html


@pytest.mark.parametrize(
    "query,found",
    [
        ("1000", {"LHS-1000"}),  # indexed substring in the middle of a tag
        ("lhs 100", {"LHS-1000", "LHS-1001"}),  # every word must match
        ("acer spare", {"LHS-1001"}),  # model and serial together
        ("ou", set()),  # short words fall back to a plain scan (tag codes never contain O, I, L or U)
        ("-1", {"LHS-1000", "LHS-1001"}),
        ('"', set()),  # FTS syntax characters are literal text
        ("50%", set()),
        ("a_b", set()),
        ("zzzzzz", set()),
    ],
)
def test_search_words_and_odd_characters(client, district, login_as, query, found):
    login_as("tech", "LHS")
    body = client.get("/api/v1/assets", query_string={"q": query}).get_json()
    assert {a["asset_tag"] for a in body["items"]} == found
    assert body["total"] == len(found)


def test_search_index_follows_edits(client, district, login_as):
    login_as("tech", "LHS")
    assert client.get("/api/v1/assets?q=zoe").get_json()["total"] == 0
    client.post("/assets/LHS-1001/assign", data={"person": "LHS100001"})
    assert [a["asset_tag"] for a in client.get("/api/v1/assets?q=zoe mart").get_json()["items"]] == ["LHS-1001"]
    client.post("/assets/LHS-1001/return", data={"condition": "good"})
    assert client.get("/api/v1/assets?q=zoe").get_json()["total"] == 0


def test_asset_timeline_shows_changes_and_scans(app, client, district, login_as):
    import uuid

    user = login_as("tech", "LHS")
    client.post("/assets/LHS-1000/status", data={"status": "missing"})
    event = {
        "id": str(uuid.uuid4()),
        "type": "scan",
        "at": "2026-01-05T10:00:00Z",
        "data": {"tag": "LHS-1000", "room": "LHS-101", "condition": "damaged", "note": "cracked corner"},
    }
    resp = client.post("/api/v1/sync", json={"client_id": "t", "events": [event]})
    assert resp.get_json()["results"][0]["status"] == "applied"
    html = client.get("/assets/LHS-1000").get_data(as_text=True)
    timeline = html.split('id="timeline"', 1)[1]
    assert "Seen in LHS-101" in timeline and "cracked corner" in timeline and user.name in timeline
    # Newest first: the status change happened now, the scan in January.
    assert timeline.index("Changed status of LHS-1000") < timeline.index("Seen in LHS-101")


def test_asset_page_shows_missing_in_audit_until_seen(client, district, login_as):
    import uuid

    login_as("aide", "LHS")

    def send(kind, data, at):
        event = {"id": str(uuid.uuid4()), "type": kind, "at": at, "data": data}
        result = client.post("/api/v1/sync", json={"client_id": "t", "events": [event]}).get_json()["results"][0]
        assert result["status"] == "applied", result

    audit = str(uuid.uuid4())
    send("audit.start", {"audit": audit, "room": "LHS-101"}, "2026-03-01T09:00:00Z")
    send("audit.close", {"audit": audit}, "2026-03-01T09:10:00Z")
    assert "missing in audit" in client.get("/assets/LHS-1000").get_data(as_text=True)
    send("scan", {"tag": "LHS-1000", "room": "LHS-IT"}, "2026-03-02T08:00:00Z")
    assert "missing in audit" not in client.get("/assets/LHS-1000").get_data(as_text=True)


def test_quick_action_keeps_the_missing_in_audit_mark(client, district, login_as):
    import uuid

    login_as("aide", "LHS")
    audit = str(uuid.uuid4())
    for kind, data, at in (
        ("audit.start", {"audit": audit, "room": "LHS-101"}, "2026-03-01T09:00:00Z"),
        ("audit.close", {"audit": audit}, "2026-03-01T09:10:00Z"),
    ):
        event = {"id": str(uuid.uuid4()), "type": kind, "at": at, "data": data}
        assert client.post("/api/v1/sync", json={"events": [event]}).get_json()["results"][0]["status"] == "applied"
    login_as("tech", "LHS")
    resp = client.post("/assets/LHS-1000/status", data={"status": "in_repair"}, headers={"HX-Request": "true"})
    assert resp.status_code == 200
    assert "missing in audit" in resp.get_data(as_text=True)


def test_update_race_is_a_field_error_and_the_transaction_survives(ctx, district):
    """The losing edit gets a field error and the rest of the request can still use the database."""
    from app.models import Role, Via
    from app.services import assets as svc
    from app.services.errors import Invalid
    from tests.factories import make_user

    tech = make_user(Role.admin)
    asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1001"))
    original = svc._check_unique
    svc._check_unique = lambda values, asset_id: None  # the other request has not committed yet
    try:
        with pytest.raises(Invalid) as exc:
            svc.update_asset(asset, {"serial": "MKQQA7MSUA"}, by=tech, via=Via.web)
    finally:
        svc._check_unique = original
    assert exc.value.field == "serial"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 3


def test_librarian_hands_out_and_takes_back_from_the_asset_page(client, district, login_as):
    login_as("librarian", "LHS")
    page = client.get("/assets/LHS-1001").get_data(as_text=True)
    assert 'name="person"' in page and 'name="status"' not in page  # assign, but no status changes
    headers = {"HX-Request": "true"}
    resp = client.post("/assets/LHS-1001/assign", data={"person": "LHS100001"}, headers=headers)
    assert resp.status_code == 200 and "Take back" in resp.get_data(as_text=True)
    resp = client.post("/assets/LHS-1001/return", data={"condition": "fair"}, headers=headers)
    assert resp.status_code == 200 and 'name="person"' in resp.get_data(as_text=True)
    assert client.post("/assets/LHS-1001/status", data={"status": "retired"}).status_code == 403
