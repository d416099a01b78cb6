"""Labels: choosing devices or rooms, recording the print, the sheet's geometry and QR contents, permissions."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, LabelFormat, LabelPrint, LabelPrintItem, Role, Room, Via
from app.services import labels as label_service
from app.services import tags as tag_service
from tests import factories
from tests.conftest import hx


def _asset(tag):
    return db.session.scalar(sa.select(Asset).where(Asset.asset_tag == tag))


def test_qr_svg_is_one_path_in_a_square_viewbox():
    svg = label_service.qr_svg("http://rollcall.test/t/ABCDE12345")
    assert svg.startswith('<svg class="qr"') and svg.count("<path") == 1
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))
    assert size == 29 + 2 * label_service.QUIET_MODULES, "version 3 for a URL of this length"


def test_chooser_lists_devices_and_rooms(client, district, login_as):
    login_as("tech", "LHS")
    html = client.get("/labels").get_data(as_text=True)
    assert "LHS-1000" in html and "LHS-1001" in html and "JMS-2000" not in html
    html = client.get("/labels?kind=rooms").get_data(as_text=True)
    assert "LHS-101" in html and "JMS-201" not in html
    html = client.get("/labels?q=spare", headers=hx()).get_data(as_text=True)
    assert html.lstrip().startswith('<form id="label-choices"') and "<html" not in html
    assert "LHS-1001" in html and "LHS-1000" not in html


def test_print_selected_records_and_renders_the_sheet(app, client, district, login_as):
    user = login_as("tech", "LHS")
    with app.app_context():
        ids = [_asset("LHS-1001").id, _asset("LHS-1000").id]
        codes = [_asset("LHS-1001").tag_code, _asset("LHS-1000").tag_code]
    resp = client.post("/labels/print", data={"ids": [str(i) for i in ids], "format": "avery22806"})
    assert resp.status_code == 303
    sheet = client.get(resp.headers["Location"])
    html = sheet.get_data(as_text=True)
    assert sheet.status_code == 200
    assert html.index("LHS-1001") < html.index("LHS-1000"), "labels keep the chosen order"
    for code in codes:
        assert f"{code[:5]}-{code[5:]}" in html
    assert "Maple Valley Unified" in html or app.config["DISTRICT_NAME"] in html
    assert 'class="label-doc fmt-avery22806"' in html and "css/labels.css" in html
    with app.app_context():
        job = db.session.scalar(sa.select(LabelPrint))
        assert job.user_id == user.id and job.format is LabelFormat.avery22806 and job.count == 2
        assert [i.tag_code for i in job.items] == codes
        assert db.session.scalar(sa.select(Activity).where(Activity.action == "labels.print")).subject_id == job.id


def test_qr_encodes_base_url_never_the_host_header(app, client, district, login_as):
    login_as("tech", "LHS")
    with app.app_context():
        asset_id, code = _asset("LHS-1000").id, _asset("LHS-1000").tag_code
    # The test client talks to "localhost"; the QR must carry the configured base URL regardless.
    resp = client.post("/labels/print", data={"ids": str(asset_id), "format": "thermal"})
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    svg = re.search(r'<svg class="qr".*?</svg>', html).group(0)
    assert svg == label_service.qr_svg(f"{app.config['BASE_URL']}/t/{code}")
    assert "localhost" not in html


def test_print_all_matching_and_not_yet_printed(app, client, district, login_as):
    login_as("tech", "LHS")
    resp = client.post("/labels/print", data={"all": "1", "q": "LHS-1000", "format": "avery5160"})
    assert resp.status_code == 303
    html = client.get("/labels?not_printed=1").get_data(as_text=True)
    assert "LHS-1001" in html and "<strong>LHS-1000</strong>" not in html
    # A reissued code needs a new sticker: the device is "not yet printed" again.
    with app.app_context():
        admin = factories.make_user(Role.admin)
        tag_service.reissue(_asset("LHS-1000"), by=admin, via=Via.web)
        db.session.commit()
    assert "<strong>LHS-1000</strong>" in client.get("/labels?not_printed=1").get_data(as_text=True)


def test_print_rooms(app, client, district, login_as):
    login_as("admin")
    with app.app_context():
        room = db.session.scalar(sa.select(Room).where(Room.code == "LHS-101"))
        room_id, code = room.id, room.tag_code
    resp = client.post("/labels/print", data={"kind": "rooms", "ids": str(room_id), "format": "avery5160"})
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "LHS-101" in html and f"{code[:5]}-{code[5:]}" in html
    with app.app_context():
        assert db.session.scalar(sa.select(LabelPrintItem.room_id)) == room_id


def test_avery5160_has_30_labels_a_sheet(app, client, district, login_as):
    login_as("tech", "LHS")
    with app.app_context():
        lhs = factories.make_campus("LHS")
        for _ in range(32):
            factories.make_asset(lhs)
        db.session.commit()
    resp = client.post("/labels/print", data={"all": "1", "campus": "", "format": "avery5160"})
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    sheets = html.split('<section class="sheet"')[1:]
    assert [s.count('<div class="label">') for s in sheets] == [30, 4]


def test_nothing_chosen_is_422(client, district, login_as):
    login_as("tech", "LHS")
    resp = client.post("/labels/print", data={"format": "avery5160"})
    assert resp.status_code == 422 and "Choose at least one" in resp.get_data(as_text=True)
    resp = client.post("/labels/print", data={"format": "avery5160"}, headers=hx())
    assert resp.status_code == 422 and resp.get_data(as_text=True).lstrip().startswith('<form id="label-choices"')


def test_other_campus_devices_are_never_printed(app, client, district, login_as):
    login_as("tech", "LHS")
    with app.app_context():
        jms_id = _asset("JMS-2000").id
    resp = client.post("/labels/print", data={"ids": str(jms_id), "format": "avery5160"})
    assert resp.status_code == 422
    with app.app_context():
        admin = factories.make_user(Role.admin)
        job = label_service.record_print(LabelFormat.thermal, [_asset("JMS-2000")], by=admin, via=Via.web)
        db.session.commit()
        job_id = job.id
    assert client.get(f"/labels/prints/{job_id}").status_code == 404


@pytest.mark.parametrize("role", ["aide", "librarian", "viewer"])
def test_only_techs_and_admins_print(client, district, login_as, role):
    login_as(role, "LHS")
    assert client.get("/labels").status_code == 403
    assert client.post("/labels/print", data={"all": "1"}).status_code == 403


def test_anonymous_is_sent_to_sign_in(client, district):
    for resp in (client.get("/labels"), client.get("/labels/prints/1")):
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize(
    "url",
    [
        "http://x/t/A",
        "http://127.0.0.1:8000/t/ABCDE12345",
        "https://rollcall.maplevalley.k12.ca.us/t/7K3QDX9M2P",
        "HTTP://ROLLCALL.ORG/T/1234567890",
        "https://example.org/" + "a" * 300,
    ],
    ids=["v1", "v3", "v4", "alphanumeric", "v7-with-version-info"],
)
def test_fast_qr_matrix_is_exactly_what_qrcode_builds(url):
    import qrcode

    qr = qrcode.QRCode(
        version=label_service._version_for(len(url.encode())),
        error_correction=label_service.ERROR_CORRECTION,
        border=0,
        mask_pattern=label_service.MASK_PATTERN,
    )
    qr.add_data(url)
    qr.make(fit=False)
    assert label_service.qr_matrix(url) == qr.get_matrix()
