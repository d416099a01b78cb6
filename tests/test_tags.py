"""Tag codes: /t/<code> for staff and for everyone else, typed codes at /r, unknown codes, reissuing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, Room
from app.services import tags as tag_service
from tests.conftest import hx


@pytest.fixture
def codes(app, district):
    with app.app_context():
        asset = db.session.get(Asset, district["lhs_asset"])
        room = db.session.get(Room, district["lhs_room"])
        return {
            "asset": asset.tag_code,
            "room": room.tag_code,
            "jms": db.session.get(Asset, district["jms_asset"]).tag_code,
        }


def sloppy(code: str) -> str:
    """How a person might type a code: lower case, a dash, look-alike letters for 0 and 1."""
    typed = code.lower().replace("0", "o").replace("1", "l")
    return f"{typed[:5]}-{typed[5:]}"


def test_lookup_folds_typed_codes_and_reads_urls(app, codes):
    with app.app_context():
        assert tag_service.lookup(sloppy(codes["asset"])).asset.asset_tag == "LHS-1000"
        assert tag_service.lookup(f"https://anything.example/t/{codes['asset']}?x=1").asset.asset_tag == "LHS-1000"
        assert tag_service.lookup(codes["room"]).room.code == "LHS-101"
        assert tag_service.lookup("not a code") is None
        assert tag_service.lookup("ZZZZZZZZZZ") is None


def test_r_takes_a_typed_code(client, codes):
    assert client.get("/r").status_code == 200
    resp = client.get("/r", query_string={"code": sloppy(codes["asset"])})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/t/{codes['asset']}")


def test_r_rejects_what_cannot_be_a_code(client, codes):
    resp = client.get("/r", query_string={"code": "hello"})
    assert resp.status_code == 422 and 'id="code-error"' in resp.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/t/ZZZZZZZZZZ", "/t/nonsense", "/r?code=ZZZZZ-ZZZZZ"])
def test_unknown_code_is_a_friendly_404_offering_r(client, codes, path):
    resp = client.get(path)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 404
    assert "know that code" in html and 'action="/r"' in html


def test_other_spellings_redirect_to_the_canonical_code(client, codes):
    resp = client.get(f"/t/{sloppy(codes['asset'])}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/t/{codes['asset']}")


def test_staff_land_on_the_asset_or_room(client, codes, login_as):
    login_as("aide", "LHS")
    resp = client.get(f"/t/{codes['asset']}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/assets/LHS-1000")
    resp = client.get(f"/t/{codes['room']}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/assets/room/LHS-101")


def test_staff_from_another_campus_get_only_the_public_view(client, codes, login_as):
    login_as("tech", "JMS")
    resp = client.get(f"/t/{codes['asset']}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "This device belongs to Lincoln High." in html
    assert "Zoe" not in html and "MKQQA7MSUA" not in html, "no serial, no person from another campus"


def test_anyone_scanning_a_room_gets_a_friendly_page_without_a_report(client, codes):
    resp = client.get(f"/t/{codes['room']}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "room" in html.lower() and "<form" not in html.split('id="room-tag"')[1]


def test_reissue_retires_the_old_code(app, client, codes, login_as):
    login_as("tech", "LHS")
    resp = client.post("/tags/assets/LHS-1000/reissue")
    assert resp.status_code == 303
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        new = asset.tag_code
        entry = db.session.scalar(sa.select(Activity).where(Activity.action == "asset.tag_reissue"))
        assert entry.before == {"tag_code": codes["asset"]} and entry.after == {"tag_code": new}
        assert new.lower() in asset.search_text
    assert new != codes["asset"]
    assert client.get(f"/t/{codes['asset']}").status_code == 404
    assert client.get(f"/t/{new}").status_code == 302


def test_reissue_with_htmx_redirects_the_whole_page(client, codes, login_as):
    login_as("admin")
    resp = client.post("/tags/assets/LHS-1000/reissue", headers=hx())
    assert resp.status_code == 204 and resp.headers["HX-Redirect"].endswith("/assets/LHS-1000")


def test_reissue_room(app, client, codes, login_as):
    login_as("tech", "LHS")
    assert client.post("/tags/rooms/LHS-101/reissue").status_code == 303
    assert client.get(f"/t/{codes['room']}").status_code == 404


@pytest.mark.parametrize("role,campus,status", [("aide", "LHS", 403), ("viewer", "LHS", 403), ("tech", "JMS", 404)])
def test_reissue_permissions(client, codes, login_as, role, campus, status):
    login_as(role, campus)
    assert client.post("/tags/assets/LHS-1000/reissue").status_code == status
    assert client.get(f"/t/{codes['asset']}").status_code in (200, 302), "the code still works"


def test_reissue_anonymous_is_sent_to_sign_in(client, codes):
    resp = client.post("/tags/assets/LHS-1000/reissue")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
