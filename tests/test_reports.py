"""The public damage report: privacy, photos re-encoded without metadata, bad input, rate limits, languages."""

from __future__ import annotations

import io
import re
import struct
import zlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from PIL import Image

from app.extensions import db
from app.models import Activity, Asset, ReportRefusal, Role, Ticket, TicketPhoto, TicketStatus, Via, utcnow
from app.services import assets as asset_service
from app.services import tickets as ticket_service
from tests import factories
from tests.photo_samples import flat_png

NUMBER_RE = re.compile(r"T-\d{6}")
STATUS_LINK_RE = re.compile(r'id="status-link" href="([^"]+)"')


def jpeg_with_gps(size=(640, 480), color=(200, 40, 40)) -> bytes:
    """A JPEG carrying camera EXIF with GPS coordinates, as a phone would send."""
    im = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "RollcallPhone"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x8825] = {1: "N", 2: (37.0, 46.0, 30.0), 3: "W", 4: (122.0, 25.0, 10.0)}  # GPSInfo
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif, quality=90)
    data = out.getvalue()
    # The fixture itself must carry GPS, or the stripping test would prove nothing.
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)
    return data


def png_bytes(size=(300, 200), mode="RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 120, 200, 128) if mode == "RGBA" else 90).save(out, "PNG")
    return out.getvalue()


def pixel_flood_png(width=60_000, height=60_000) -> bytes:
    """A tiny PNG whose header claims a gigantic canvas (decoding it would take gigabytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def world(app, district):
    """The district, with LHS-1000 assigned to Zoe Martinez and a named tech on LHS."""
    with app.app_context():
        asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == "LHS-1000"))
        tech = factories.make_user(Role.tech, "LHS", email="ted.tech@staff.example.org")
        tech.name = "Ted Technician"
        student = db.session.get(factories.Person, district["student"])
        asset_service.assign(asset, student, by=tech, via=Via.web)
        db.session.commit()
        return {
            "code": asset.tag_code,
            "asset_id": asset.id,
            "student": (student.name, student.external_id, student.email),
            "tech": (tech.name, tech.email),
        }


def report(client, code, *, photo=None, filename="photo.jpg", **fields):
    data = {"category": "cracked_screen", "description": "The screen is cracked in the corner.", **fields}
    if photo is not None:
        data["photo"] = (io.BytesIO(photo), filename)
    return client.post(f"/t/{code}/report", data=data, content_type="multipart/form-data")


def assert_no_personal_data(text: str, world) -> None:
    for secret in (*world["student"], *world["tech"]):
        assert secret.lower() not in text.lower(), f"{secret!r} leaked onto a public page"


def test_public_page_shows_tag_and_model_and_nobody(client, world):
    resp = client.get(f"/t/{world['code']}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "LHS-1000" in html and "Acer Chromebook 311" in html
    assert 'accept="image/*,.heic,.heif"' in html and "capture=" in html
    assert_no_personal_data(html + str(resp.headers), world)
    assert resp.headers["Cache-Control"] == "no-store"
    assert 'name="website"' in html, "the honeypot field is on the form"


def test_report_with_photo_gets_number_and_private_status_link(app, client, world):
    resp = report(
        client,
        world["code"],
        photo=jpeg_with_gps(size=(3000, 1500)),
        reporter_name="Zoe Martinez",
        reporter_student_id="LHS100001",
        reporter_email="ZOE@students.example.org",
    )
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/reports/done")
    done = client.get("/reports/done")
    html = done.get_data(as_text=True)
    number = NUMBER_RE.search(html).group(0)
    status_url = STATUS_LINK_RE.search(html).group(1)
    base = app.config["BASE_URL"]
    assert status_url.startswith(f"{base}/reports/status/")
    assert_no_personal_data(html, world)

    with app.app_context():
        ticket = db.session.scalar(sa.select(Ticket))
        assert ticket.number == number and ticket.status is TicketStatus.new
        assert ticket.source.value == "student_report" and ticket.category.value == "cracked_screen"
        assert (ticket.reporter_name, ticket.reporter_student_id, ticket.reporter_email) == (
            "Zoe Martinez",
            "LHS100001",
            "zoe@students.example.org",
        )
        # The token is not stored as such: only its digest is.
        token = status_url.rsplit("/", 1)[1]
        assert token not in ticket.status_token_hash and len(token) >= 32
        photo = db.session.scalar(sa.select(TicketPhoto))
        stored = Image.open(io.BytesIO(photo.content))
        assert stored.format == "JPEG" and max(stored.size) == 2048 and stored.size == (2048, 1024)
        assert not stored.getexif() and "exif" not in stored.info and b"Exif" not in photo.content
        assert b"RollcallPhone" not in photo.content and "icc_profile" not in stored.info
        entry = db.session.scalar(sa.select(Activity).where(Activity.action == "ticket.report"))
        assert entry.via is Via.public and entry.user_id is None and "Zoe" not in entry.summary

    # The status link shows the ticket's number, the device's tag, the day and the status; nothing about anyone.
    path = status_url.removeprefix(base)
    page = client.get(path).get_data(as_text=True)
    assert 'data-status="new"' in page
    assert f'id="ticket-number">{number}<' in page and 'id="ticket-asset-tag">LHS-1000<' in page
    for leak in ("Chromebook", "cracked", "Zoe", "LHS100001", "zoe@", "corner"):
        assert leak not in page, f"{leak!r} on the status page"
    with app.app_context():
        ticket = db.session.scalar(sa.select(Ticket))
        tech = db.session.scalar(sa.select(factories.User).where(factories.User.email == "ted.tech@staff.example.org"))
        ticket_service.change_status(ticket, TicketStatus.in_repair, by=tech, via=Via.web)
        db.session.commit()
    assert 'data-status="in_repair"' in client.get(path).get_data(as_text=True)
    assert client.get("/reports/status/not-a-real-token").status_code == 404


def test_spanish_by_accept_language_and_switch(client, world):
    html = client.get(f"/t/{world['code']}", headers={"Accept-Language": "es-MX,es;q=0.9"}).get_data(as_text=True)
    assert '<html lang="es">' in html and "Reportar un problema" in html and "Pantalla rota" in html
    html = client.get(f"/t/{world['code']}?lang=en", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="en">' in html and "Report a problem" in html
    # The choice sticks for the rest of the visit, including the error messages.
    resp = report(client, world["code"], description="  ")
    assert resp.status_code == 422 and "Describe what is wrong." in resp.get_data(as_text=True)
    client.get(f"/t/{world['code']}?lang=es")
    resp = report(client, world["code"], description="")
    assert "Describe qué pasa." in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    "fields,field",
    [
        ({"description": ""}, "description"),
        ({"description": "   \n "}, "description"),
        ({"category": ""}, "category"),
        ({"category": "exploded"}, "category"),
        ({"reporter_email": "not-an-email"}, "reporter_email"),
    ],
)
def test_bad_fields_are_422_on_the_field(app, client, world, fields, field):
    resp = report(client, world["code"], **fields)
    assert resp.status_code == 422
    assert f'id="{field}-error"' in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0


@pytest.mark.parametrize(
    "payload,filename",
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>', "x.svg"),
        (b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>", "photo.jpg"),
        (b"GIF89a" + b"\x00" * 100, "photo.jpg"),
        (b"\xff\xd8\xff\xe0 truncated jpeg", "photo.jpg"),
        (pixel_flood_png(), "flood.png"),
    ],
    ids=["svg", "html-named-jpg", "garbage", "truncated-jpeg", "pixel-flood"],
)
def test_non_images_and_pixel_floods_are_rejected(app, client, world, payload, filename):
    resp = report(client, world["code"], photo=payload, filename=filename)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="photo-error"' in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0


@pytest.mark.parametrize("kind", ["png", "webp"])
def test_png_and_webp_are_accepted_and_become_jpeg(app, client, world, kind):
    if kind == "png":
        data = png_bytes()
    else:
        out = io.BytesIO()
        Image.new("RGB", (320, 240), (1, 2, 3)).save(out, "WEBP")
        data = out.getvalue()
    assert report(client, world["code"], photo=data, filename=f"p.{kind}").status_code == 303
    with app.app_context():
        photo = db.session.scalar(sa.select(TicketPhoto))
        assert Image.open(io.BytesIO(photo.content)).format == "JPEG"


def test_photo_over_10_mb_is_413_with_a_clear_message(app, client, world):
    big = b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024)
    resp = report(client, world["code"], photo=big)
    assert resp.status_code == 413
    assert "the limit is 10 MB" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0


def test_request_over_the_body_limit_is_413(client, world):
    huge = b"\x00" * (12 * 1024 * 1024 + 10)
    resp = report(client, world["code"], photo=huge)
    assert resp.status_code == 413
    assert "10 MB" in resp.get_data(as_text=True)


def test_honeypot_keeps_nothing(app, client, world):
    resp = report(client, world["code"], website="http://spam.example")
    assert resp.status_code == 200
    assert NUMBER_RE.search(resp.get_data(as_text=True)) is None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0


def test_report_storm_per_device_is_429(app, client, world):
    statuses = [report(client, world["code"]).status_code for _ in range(7)]
    assert statuses[:5] == [303] * 5
    assert statuses[5:] == [429, 429]
    last = report(client, world["code"])
    assert last.status_code == 429 and "Retry-After" in last.headers
    assert "Too many reports" in last.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 5


def test_report_storm_per_ip_spans_devices(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_RATE_LIMIT_IP", "3 per minute")
    with app.app_context():
        lhs = factories.make_campus("LHS")
        codes = [factories.make_asset(lhs).tag_code for _ in range(4)]
        db.session.commit()
    statuses = [report(client, code).status_code for code in codes]
    assert statuses == [303, 303, 303, 429]


def test_unknown_code_report_post_goes_back_to_the_friendly_page(client, world):
    resp = report(client, "ZZZZZZZZZZ")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/t/ZZZZZZZZZZ")


def test_done_page_without_a_report_sends_to_r(client):
    resp = client.get("/reports/done")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/r")


def test_a_photo_too_big_to_decode_is_422_with_the_friendly_message(app, client, world):
    # 7060×7060 RGBA: ~190 KB on the wire, 200 MB to decode.
    flood = flat_png(7060, 7060)
    resp = report(client, world["code"], photo=flood, filename="screen.png")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "That picture is too big for us to open." in html and 'id="photo-error"' in html
    assert "not a photo we can read" not in html
    # What the student typed is kept for the next try.
    assert "The screen is cracked in the corner." in html
    client.get(f"/t/{world['code']}?lang=es")
    resp = report(client, world["code"], photo=flood, filename="screen.png")
    assert resp.status_code == 422 and "Esa imagen es demasiado grande" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 0


def test_public_pages_send_no_referrer(client, world):
    form = client.get(f"/t/{world['code']}")
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert report(client, world["code"]).status_code == 303
    done = client.get("/reports/done")
    assert done.headers["Referrer-Policy"] == "no-referrer"
    status_path = STATUS_LINK_RE.search(done.get_data(as_text=True)).group(1).removeprefix("http://rollcall.test")
    assert client.get(status_path).headers["Referrer-Policy"] == "no-referrer"
    # Pages that are not about one device or ticket keep the app's policy.
    assert client.get("/login").headers["Referrer-Policy"] == "same-origin"


def _from(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


def report_from(client, code, address, **fields):
    data = {"category": "cracked_screen", "description": "It is broken.", **fields}
    return client.post(f"/t/{code}/report", data=data, **_from(address))


def test_one_reporter_using_up_the_limit_does_not_block_others(app, client, world):
    code = world["code"]
    mine = [report_from(client, code, "203.0.113.5").status_code for _ in range(7)]
    assert mine == [303] * 5 + [429] * 2
    # The same person giving a student ID is another reporter; someone else at another address is too.
    assert report_from(client, code, "203.0.113.5", reporter_student_id="LHS100001").status_code == 303
    assert report_from(client, code, "198.51.100.7").status_code == 303
    assert report_from(client, code, "198.51.100.8", reporter_email="zoe@students.example.org").status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 8


def test_device_ceiling_counts_reports_not_refusals(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_RATE_LIMIT_DEVICE", "6 per hour")
    code = world["code"]
    # Five reports, then refusals by the reporter's own limit: those must not use up the device's ceiling.
    statuses = [report_from(client, code, "203.0.113.5").status_code for _ in range(9)]
    assert statuses == [303] * 5 + [429] * 4
    assert report_from(client, code, "198.51.100.7").status_code == 303
    ceiling = report_from(client, code, "198.51.100.8")
    assert ceiling.status_code == 429 and "Too many reports" in ceiling.get_data(as_text=True)
    assert 0 < int(ceiling.headers["Retry-After"]) <= 3600
    # An invalid form is not a report: it never reaches the ceiling.
    assert report_from(client, code, "198.51.100.9", description="").status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Ticket.id))) == 6


def test_refused_reports_are_counted_for_staff_to_see(app, client, world, login_as):
    code = world["code"]
    for _ in range(8):
        report_from(client, code, "203.0.113.5")
    with app.app_context():
        counted = db.session.scalars(sa.select(ReportRefusal)).all()
        assert [(r.asset_id, r.count) for r in counted] == [(world["asset_id"], 3)]
    login_as("aide", "LHS")
    page = client.get("/tickets").get_data(as_text=True)
    assert 'id="report-refusals"' in page
    assert "LHS-1000</a>: 3 reports refused in the last 24 hours" in page
    # Another campus's staff see nothing of it.
    login_as("tech", "JMS")
    assert 'id="report-refusals"' not in client.get("/tickets").get_data(as_text=True)


def test_refusals_older_than_a_day_are_not_shown(app, client, world, login_as):
    with app.app_context():
        asset = db.session.get(Asset, world["asset_id"])
        ticket_service.note_refused_report(asset)
        ticket_service.note_refused_report(asset)
        db.session.add(
            ReportRefusal(
                asset_id=asset.id, hour=utcnow().replace(minute=0) - timedelta(hours=30), count=7, last_at=utcnow()
            )
        )
        db.session.commit()
        user = factories.make_user(Role.tech, "LHS")
        assert [(r.asset.asset_tag, r.count) for r in ticket_service.refused_reports(user)] == [("LHS-1000", 2)]
