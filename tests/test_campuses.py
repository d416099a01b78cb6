"""Admins set up campuses (school-day settings) and their rooms from the browser."""

from __future__ import annotations

from datetime import date, time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, Campus, Room, RoomKind, Via
from app.services import loans, places
from app.services.errors import Invalid, unique_fields
from tests import hostile as h
from tests.conftest import hx

CAMPUS_FORM = {
    "code": "elm-k8",
    "name": "Elm K-8",
    "timezone": "America/Chicago",
    "day_ends_at": "14:45",
    "loan_days": "1",
    "audit_interval_days": "60",
}


def _campus(app, code):
    with app.app_context():
        campus = db.session.scalar(sa.select(Campus).where(Campus.code == code))
        if campus is None:
            return None
        return {f: getattr(campus, f) for f in ("id", "name", "timezone", "day_ends_at", "loan_days")}


def _rooms(app, campus_code):
    with app.app_context():
        return {
            r.code: (r.name, r.kind, r.active, r.tag_code)
            for r in db.session.scalars(sa.select(Room).join(Campus).where(Campus.code == campus_code))
        }


def _entries(app, action):
    with app.app_context():
        return [
            (a.user.email if a.user else None, a.campus_id, a.before, a.after)
            for a in db.session.scalars(sa.select(Activity).where(Activity.action == action).order_by(Activity.id))
        ]


def test_district_admin_adds_a_campus(app, client, district, login_as):
    admin = login_as("admin")
    resp = client.post("/campuses/new", data=CAMPUS_FORM)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/campuses/ELM-K8")
    campus = _campus(app, "ELM-K8")
    assert campus is not None
    assert (campus["timezone"], campus["day_ends_at"], campus["loan_days"]) == ("America/Chicago", time(14, 45), 1)
    ((by, campus_id, _before, after),) = _entries(app, "campus.create")
    assert by == admin.email and campus_id == campus["id"]
    assert after["code"] == "ELM-K8" and after["timezone"] == "America/Chicago"
    listing = client.get("/campuses").get_data(as_text=True)
    assert "ELM-K8" in listing and "Elm K-8" in listing and "LHS" in listing
    page = client.get("/campuses/elm-k8")
    assert page.status_code == 200 and "No rooms yet" in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("code", "lhs", "Another campus already has this code."),
        ("code", "", "Enter a code, such as LHS."),
        ("code", "L H S!", "letters, digits and inner dashes"),
        ("name", "", "Enter the campus&#39;s name."),
        ("timezone", "Mars/Olympus_Mons", "Choose a time zone from the list"),
        ("day_ends_at", "", "Enter a time, such as 15:30."),
        ("loan_days", "-1", "Enter 0 to 365 days."),
        ("audit_interval_days", "0", "Enter 1 to 3650 days."),
    ],
)
def test_a_bad_campus_field_is_422_on_that_field(app, client, district, login_as, field, value, message):
    login_as("admin")
    resp = client.post("/campuses/new", data={**CAMPUS_FORM, field: value})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert message in body and f'id="{field}-error"' in body
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Campus)) == 2


def test_campus_admin_edits_own_campus_and_nothing_else(app, client, district, login_as):
    admin = login_as("admin", "LHS")
    listing = client.get("/campuses").get_data(as_text=True)
    assert "Lincoln High" in listing and "Jefferson Middle" not in listing
    assert "Add a campus" not in listing
    assert client.get("/campuses/new").status_code == 403
    assert client.post("/campuses/new", data=CAMPUS_FORM).status_code == 403
    assert client.get("/campuses/JMS").status_code == 404
    assert client.post("/campuses/JMS", data=CAMPUS_FORM).status_code == 404

    form = {**CAMPUS_FORM, "name": "Lincoln High School", "day_ends_at": "14:10"}
    resp = client.post("/campuses/LHS", data=form)
    assert resp.status_code == 303
    campus = _campus(app, "LHS")
    assert campus["name"] == "Lincoln High School" and campus["day_ends_at"] == time(14, 10)
    ((by, campus_id, before, after),) = _entries(app, "campus.update")
    assert by == admin.email and campus_id == campus["id"]
    assert before["day_ends_at"] == "15:30:00" and after["day_ends_at"] == "14:10:00"
    assert before["name"] == "Lincoln High" and "code" not in after
    # The settings are what loans go by: a day loan falls due at the new end of day, Chicago time.
    with app.app_context():
        lhs = db.session.get(Campus, campus["id"])
        due = loans.due_on(lhs, date(2026, 12, 1))
        assert (due.hour, due.minute) == (20, 10)  # 14:10 CST is 20:10 UTC

    # Saving the same values again changes nothing and logs nothing.
    assert client.post("/campuses/LHS", data=form).status_code == 303
    assert len(_entries(app, "campus.update")) == 1


def test_adding_a_room_by_htmx_and_by_plain_form(app, client, district, login_as, aide_token):
    login_as("admin", "LHS")
    resp = client.post(
        "/campuses/LHS/rooms", data={"code": "117", "name": "Science lab", "kind": "classroom"}, headers=hx()
    )
    assert resp.status_code == 200
    fragment = resp.get_data(as_text=True)
    assert fragment.lstrip().startswith('<section class="card" id="rooms"') and "<html" not in fragment
    assert "Added LHS-117." in fragment and "Science lab" in fragment

    resp = client.post("/campuses/LHS/rooms", data={"code": "lhs-cart 2", "name": "", "kind": "cart"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/campuses/LHS#rooms")
    rooms = _rooms(app, "LHS")
    assert rooms["LHS-117"][:3] == ("Science lab", RoomKind.classroom, True)
    assert rooms["LHS-CART-2"][:3] == ("CART-2", RoomKind.cart, True)
    assert len(rooms["LHS-117"][3]) == 10  # a tag code for its label, like every room
    assert [e[3]["code"] for e in _entries(app, "room.create")] == ["LHS-117", "LHS-CART-2"]

    # The new room is where aides pick it: the scan page and the offline pack.
    pack = client.get("/api/v1/offline-pack?campus=LHS", headers={"Authorization": f"Bearer {aide_token}"}).get_json()
    assert "LHS-117" in {r["code"] for r in pack["rooms"]}
    login_as("aide", "LHS")
    assert "LHS-117" in client.get("/scan").get_data(as_text=True)


def test_a_taken_or_bad_room_code_is_422_and_text_stays_text(app, client, district, login_as):
    login_as("admin", "LHS")
    resp = client.post("/campuses/LHS/rooms", data={"code": "101", "name": "x", "kind": "classroom"}, headers=hx())
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "a room with the code LHS-101 already exists." in body and 'id="code-error"' in body
    resp = client.post("/campuses/LHS/rooms", data={"code": "", "kind": "classroom"}, headers=hx())
    assert resp.status_code == 422 and "Enter the room&#39;s code" in resp.get_data(as_text=True)
    resp = client.post("/campuses/LHS/rooms", data={"code": "1/2", "kind": "classroom"})
    assert resp.status_code == 422 and "<html" in resp.get_data(as_text=True)

    resp = client.post(
        "/campuses/LHS/rooms", data={"code": "118", "name": '<script>x()</script>" hx-get="/', "kind": "office"}
    )
    assert resp.status_code == 303
    page = client.get("/campuses/LHS").get_data(as_text=True)
    assert "<script>x()" not in page and "&lt;script&gt;x()&lt;/script&gt;&#34; hx-get=&#34;/" in page


def test_many_rooms_at_once_all_or_nothing(app, client, district, login_as):
    login_as("admin", "LHS")
    before = set(_rooms(app, "LHS"))
    bad = "301\n302, Gym, gymnasium\n"
    resp = client.post("/campuses/LHS/rooms", data={"lines": bad}, headers=hx())
    assert resp.status_code == 422
    assert "Line 2: &#39;gymnasium&#39; is not a kind of room" in resp.get_data(as_text=True)
    for lines, message in [
        ("401\n402\n401, Again", "Line 3: LHS-401 is also on line 1."),
        ("501\nIT, Storage, storage", "Line 2: a room with the code LHS-IT already exists."),
        ("\n \n", "Enter at least one room, one per line."),
        ("601, a, classroom, extra", "Line 1: write code, name, kind"),
    ]:
        resp = client.post("/campuses/LHS/rooms", data={"lines": lines}, headers=hx())
        assert resp.status_code == 422 and message in resp.get_data(as_text=True), lines
    assert set(_rooms(app, "LHS")) == before

    good = "201, Art\n202\tMusic room, with piano\tclassroom\nLIB, Library, Library\n\n203"
    resp = client.post("/campuses/LHS/rooms", data={"lines": good}, headers=hx())
    assert resp.status_code == 200 and "Added 4 rooms." in resp.get_data(as_text=True)
    rooms = _rooms(app, "LHS")
    assert rooms["LHS-201"][:2] == ("Art", RoomKind.classroom)
    assert rooms["LHS-202"][:2] == ("Music room, with piano", RoomKind.classroom)
    assert rooms["LHS-LIB"][:2] == ("Library", RoomKind.library)
    assert rooms["LHS-203"][:2] == ("203", RoomKind.classroom)


@pytest.mark.parametrize(
    "lines, message",
    [("101", "a room with the code LHS-101 already exists."), ("1/2", "Use letters, digits"), ("", "Enter at least")],
)
def test_one_pasted_line_refused_says_why_on_the_pasted_lines(app, client, district, login_as, lines, message):
    """One pasted line is refused as the one-room form's code would be; the reason shows on the lines it came from."""
    login_as("admin", "LHS")
    before = set(_rooms(app, "LHS"))
    for headers in (hx(), {}):
        resp = client.post("/campuses/LHS/rooms", data={"lines": lines}, headers=headers)
        assert resp.status_code == 422
        page = h.parse("/campuses/LHS", resp.get_data(as_text=True))
        assert any(message in m for m in page.messages), page.messages
        body = resp.get_data(as_text=True)
        assert 'id="lines-error"' in body and 'id="code-error"' not in body
    assert set(_rooms(app, "LHS")) == before


def test_a_room_taken_out_of_use_leaves_the_scan_page(app, client, district, login_as):
    admin = login_as("admin", "LHS")
    page = client.get("/campuses/LHS/rooms/LHS-101")
    assert page.status_code == 200 and 'name="active" type="checkbox" value="y"' in page.get_data(as_text=True)
    name = _rooms(app, "LHS")["LHS-101"][0]
    resp = client.post("/campuses/LHS/rooms/LHS-101", data={"name": name, "kind": "classroom"})
    assert resp.status_code == 303
    assert _rooms(app, "LHS")["LHS-101"][2] is False
    ((by, _campus_id, before, after),) = _entries(app, "room.update")
    assert by == admin.email and before == {"active": True} and after == {"active": False}
    assert 'value="LHS-101"' not in client.get("/scan").get_data(as_text=True)
    assert "not in use" in client.get("/campuses/LHS").get_data(as_text=True)

    resp = client.post("/campuses/LHS/rooms/LHS-101", data={"name": " ", "kind": "classroom", "active": "y"})
    assert resp.status_code == 422 and "Enter the room&#39;s name." in resp.get_data(as_text=True)
    resp = client.post("/campuses/LHS/rooms/LHS-101", data={"name": "Gym", "kind": "gymnasium"})
    assert resp.status_code == 422 and "Not a valid choice" in resp.get_data(as_text=True)
    # Another campus's room, or a room named under the wrong campus, is not there.
    assert client.get("/campuses/LHS/rooms/JMS-201").status_code == 404
    assert client.get("/campuses/JMS/rooms/JMS-201").status_code == 404


def test_unique_fields_turns_a_race_into_the_fields_message(app, ctx, district):
    """Two admins pass the pre-check at once: the constraint decides, the loser gets a field error, and the
    transaction goes on (SQLite and PostgreSQL word the violation differently)."""
    lhs = db.session.get(Campus, district["lhs"])
    with pytest.raises(Invalid) as exc, unique_fields({"code": "Taken meanwhile."}):
        db.session.add(Room(campus_id=lhs.id, code="LHS-101", name="Clash"))
    assert (exc.value.field, exc.value.message) == ("code", "Taken meanwhile.")
    with pytest.raises(Invalid) as exc, unique_fields({"code": "Taken meanwhile."}):
        db.session.add(Campus(code="JMS", name="Clash"))
    assert exc.value.field == "code"
    added = places.add_rooms(lhs, [places.RoomLine("120", "", RoomKind.office)], by=None, via=Via.cli)
    db.session.commit()
    assert added[0].code == "LHS-120" and db.session.get(Room, added[0].id) is not None


def test_time_zones_offered_are_real_zones():
    zones = places.time_zones()
    assert "America/Los_Angeles" in zones and "America/Puerto_Rico" in zones
    assert not any(z.startswith(("Etc/", "SystemV/")) or "/" not in z for z in zones)


def test_a_device_keeps_a_home_room_taken_out_of_use(app, client, district, login_as):
    """Editing a device whose home room is out of use keeps that room; no device can be newly placed there."""
    from tests.test_assets import asset_form

    login_as("admin", "LHS")
    name = _rooms(app, "LHS")["LHS-101"][0]
    client.post("/campuses/LHS/rooms/LHS-101", data={"name": name, "kind": "classroom"})
    form_page = client.get("/assets/LHS-1000/edit").get_data(as_text=True)
    assert f'<option selected value="{district["lhs_room"]}">LHS-101 {name} (not in use)</option>' in form_page
    with app.app_context():
        model_id = db.session.scalar(sa.select(Asset.model_id).where(Asset.asset_tag == "LHS-1000"))
    keep = asset_form(district, asset_tag="LHS-1000", serial="MKQQA7MSUA", model_id=model_id, notes="Sticky key")
    resp = client.post("/assets/LHS-1000/edit", data={**keep, "status": "deployed"})
    assert resp.status_code == 303
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        assert (asset.home_room_id, asset.notes) == (district["lhs_room"], "Sticky key")

    move = asset_form(district, asset_tag="LHS-1001", serial="SPARE00001", model_id=model_id)
    resp = client.post("/assets/LHS-1001/edit", data=move)
    assert resp.status_code == 422
    assert "LHS-101 is no longer in use; choose another room." in resp.get_data(as_text=True)
    resp = client.post("/assets/new", data=asset_form(district, model_id=model_id))
    assert resp.status_code == 422 and "LHS-101 is no longer in use" in resp.get_data(as_text=True)
