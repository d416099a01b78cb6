"""Label options: start at a later position of a part-used sheet, "Select none", a Code 128 of the asset tag,
and the Dymo 30252 stock."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from app.extensions import db
from app.models import Activity, Asset, LabelFormat, LabelPrint, Room
from app.services import labels as label_service
from tests.conftest import hx


def _ids(app, *tags: str) -> list[str]:
    with app.app_context():
        return [str(db.session.scalar(sa.select(Asset.id).where(Asset.asset_tag == t))) for t in tags]


def _rasterize(svg: str, module_px: int = 3, height_px: int = 60) -> Image.Image:
    """The Code 128 SVG's bars drawn into an image, each module module_px wide, as a printer would."""
    width = int(re.search(r'viewBox="0 0 (\d+) 1"', svg).group(1))
    image = Image.new("L", (width * module_px, height_px), 255)
    for x, w in re.findall(r"M(\d+) 0h(\d+)v1h-\d+z", svg):
        image.paste(0, (int(x) * module_px, 0, (int(x) + int(w)) * module_px, height_px))
    return image


@pytest.mark.parametrize("value", ["LHS-1000", "00012345", "JMS 2000/b", "a"])
def test_code128_svg_scans_back_as_the_value(value):
    svg = label_service.code128_svg(value)
    assert svg.startswith('<svg class="code128"') and svg.count("<path") == 1
    results = zxingcpp.read_barcodes(_rasterize(svg))
    assert [(r.format, r.text) for r in results] == [(zxingcpp.BarcodeFormat.Code128, value)]


def test_only_printable_ascii_becomes_a_code128():
    assert label_service.code128_encodable("LHS-1000")
    assert not label_service.code128_encodable("ÉCOLE-1") and not label_service.code128_encodable("")


def test_start_at_label_leaves_the_used_positions_blank(app, client, district, login_as):
    login_as("tech", "LHS")
    resp = client.post(
        "/labels/print", data={"ids": _ids(app, "LHS-1000", "LHS-1001"), "format": "avery5160", "start": "29"}
    )
    assert resp.status_code == 303
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    sheets = html.split('<section class="sheet"')[1:]
    # 28 used positions, then the two labels: the first sheet is full, nothing spills onto a second.
    assert len(sheets) == 1 and sheets[0].count('class="label blank"') == 28
    assert sheets[0].index('class="label blank"') < sheets[0].index("LHS-1000") < sheets[0].index("LHS-1001")
    assert sheets[0].count('<div class="label">') == 2 and "Starts at label 29" in html
    with app.app_context():
        job = db.session.scalar(sa.select(LabelPrint))
        assert job.first_position == 29 and job.code128 is False
        entry = db.session.scalar(sa.select(Activity).where(Activity.action == "labels.print"))
        assert entry.after["first_position"] == 29


def test_sheets_spill_onto_a_second_page_after_the_start():
    labels = [label_service.Label(str(i), "", "ABCDE12345", "http://x/t/ABCDE12345") for i in range(5)]
    pages = label_service.sheets(labels, LabelFormat.avery22806, 10)
    assert [len(p) for p in pages] == [12, 2]
    assert pages[0][:9] == [None] * 9 and [label.title for label in pages[0][9:] + pages[1]] == list("01234")


@pytest.mark.parametrize(
    ("fmt", "start", "message"),
    [
        ("avery5160", "31", "has 30 labels a sheet: start at a label from 1 to 30"),
        ("avery5160", "0", "start at a label from 1 to 30"),
        ("avery22806", "13", "has 12 labels a sheet"),
        ("thermal", "2", "one label at a time: start at label 1"),
        ("dymo30252", "2", "one label at a time"),
        ("avery5160", "five", "Start at must be a label number"),
        ("avery5160", "-3", "Start at must be a label number"),
    ],
)
def test_a_start_the_stock_does_not_have_is_422_on_the_field(app, client, district, login_as, fmt, start, message):
    login_as("tech", "LHS")
    data = {"ids": _ids(app, "LHS-1000"), "format": fmt, "start": start}
    for headers in ({}, hx()):
        resp = client.post("/labels/print", data=data, headers=headers)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422 and message in html
        assert 'id="label-start-error"' in html and 'aria-invalid="true"' in html
        assert f'value="{start}"' in html, "the field keeps what was typed"
    assert html.lstrip().startswith('<form id="label-choices"')
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LabelPrint)) == 0


def test_code128_of_each_asset_tag_beside_the_qr(app, client, district, login_as):
    login_as("tech", "LHS")
    resp = client.post(
        "/labels/print",
        data={"ids": _ids(app, "LHS-1000"), "format": "avery5160", "code128": "1"},
        follow_redirects=True,
    )
    html = resp.get_data(as_text=True)
    assert html.count('<div class="label has-code128">') == 1
    svg = re.search(r'<svg class="code128".*?</svg>', html).group(0)
    assert svg == label_service.code128_svg("LHS-1000")
    with app.app_context():
        assert db.session.scalar(sa.select(LabelPrint.code128)) is True


def test_rooms_never_get_a_code128(app, client, district, login_as):
    login_as("admin")
    assert "Add a Code 128" not in client.get("/labels?kind=rooms").get_data(as_text=True)
    with app.app_context():
        room_id = str(db.session.scalar(sa.select(Room.id).where(Room.code == "LHS-101")))
    resp = client.post(
        "/labels/print",
        data={"kind": "rooms", "ids": room_id, "format": "thermal", "code128": "1"},
        follow_redirects=True,
    )
    html = resp.get_data(as_text=True)
    assert "LHS-101" in html and "code128" not in html.split("<body", 1)[1]


def test_dymo30252_prints_one_address_label_a_page(app, client, district, login_as):
    login_as("tech", "LHS")
    resp = client.post(
        "/labels/print", data={"ids": _ids(app, "LHS-1000", "LHS-1001"), "format": "dymo30252"}, follow_redirects=True
    )
    html = resp.get_data(as_text=True)
    assert 'class="label-doc fmt-dymo30252"' in html and html.count('<section class="sheet"') == 2
    assert "Dymo 30252" in html
    css = client.get("/static/css/labels.css").get_data(as_text=True)
    assert re.search(r"@page dymo30252 \{ size: 3\.5in 1\.125in; margin: 0; \}", css)
    assert re.search(r"\.fmt-dymo30252 \.sheet \{[^}]*page: dymo30252", css)


def test_select_none_unticks_every_device_and_select_all_ticks_them(client, district, login_as):
    login_as("tech", "LHS")
    html = client.get("/labels").get_data(as_text=True)
    assert html.count('name="ids"') == html.count('name="ids" value=') and re.search(
        r'name="ids" value="\d+" checked', html
    )
    assert "Select none" in html
    html = client.get("/labels?ticked=none&format=thermal", headers=hx()).get_data(as_text=True)
    assert html.lstrip().startswith('<form id="label-choices"')
    assert html.count('name="ids"') >= 2 and " checked>" not in html.split('name="ids"', 1)[1]
    assert "Select all" in html and "Select none" not in html
    assert '<option value="thermal" selected>' in html, "the chosen stock stays chosen"
