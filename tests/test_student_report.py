"""The student's report pages: the error summary, the status page's facts and next step in the campus's zone and
the reader's language, HEIC photos from phones, and no staff app (nor its service worker) on public pages."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime

import pillow_heif
import pytest
import sqlalchemy as sa
from PIL import Image

from app.extensions import db
from app.models import Asset, Ticket, TicketPhoto, TicketStatus
from app.services import photos
from tests.test_reports import STATUS_LINK_RE, report, world  # noqa: F401 (the fixture)


def heic_photo(size=(1600, 1200), with_gps: bool = True) -> bytes:
    """A real HEIC, as an iPhone sends it, written by libheif through pillow-heif; with GPS in its EXIF."""
    im = Image.new("RGB", size, (30, 90, 200))
    exif = Image.Exif()
    exif[0x010F] = "RollcallPhone"  # Make
    if with_gps:
        exif[0x8825] = {1: "N", 2: (37.0, 46.0, 30.0), 3: "W", 4: (122.0, 25.0, 10.0)}  # GPSInfo
    out = io.BytesIO()
    # x265's fastest preset: encoding a flat picture the default way takes seconds per megapixel.
    pillow_heif.from_pillow(im).save(out, quality=80, exif=exif.tobytes(), enc_params={"preset": "ultrafast"})
    data = out.getvalue()
    assert data[4:12] == b"ftypheic"
    assert pillow_heif.open_heif(io.BytesIO(data)).info.get("exif"), "the fixture must carry EXIF"
    return data


def status_path(client) -> str:
    page = client.get("/reports/done").get_data(as_text=True)
    return re.sub(r"^https?://[^/]+", "", STATUS_LINK_RE.search(page).group(1))


# The error summary -----------------------------------------------------------------------------------------


def test_a_failed_submit_opens_with_a_summary_linking_each_field(client, world):  # noqa: F811
    resp = report(client, world["code"], category="", description=" ", reporter_email="nope")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    summary = re.search(r'<div class="error-summary" id="error-summary"(.*?)</div>', page, re.S)
    assert summary, "no error summary"
    assert 'role="alert"' in summary.group(1) and 'tabindex="-1"' in summary.group(1)
    links = re.findall(r'<a href="#([\w-]+)">([^<]+)</a>', summary.group(1))
    # In the form's order, each to a field that exists, with the field's own message.
    assert [target for target, _ in links] == ["category-cracked_screen", "description"]
    for target, _message in links:
        assert f'id="{target}"' in page
    assert dict(links)["description"] == "Describe what is wrong."
    # Each field's message is tied to its field.
    assert re.search(r'<textarea id="description"[^>]*aria-describedby="description-hint description-error"', page)
    assert re.search(r'<textarea id="description"[^>]*aria-invalid="true"', page)
    assert re.search(r'<fieldset[^>]*id="category"[^>]*aria-describedby="category-error"', page)
    assert re.search(r'<input type="radio" id="category-cracked_screen"[^>]*aria-invalid="true"', page)
    assert 'id="category-error">Choose what is wrong.<' in page
    # The email was fine as far as the form could tell; the service's refusal comes only with a valid form.
    assert "reporter_email-error" not in page


def test_a_refused_field_from_the_service_is_summarised_too(client, world):  # noqa: F811
    client.get(f"/t/{world['code']}?lang=es")
    page = report(client, world["code"], reporter_email="not-an-email").get_data(as_text=True)
    assert re.search(r'<a href="#reporter_email">Ese correo electrónico no parece correcto.</a>', page)
    field = r'<input id="reporter_email"[^>]*aria-invalid="true" aria-describedby="reporter_email-error"'
    assert re.search(field, page)
    assert "Corrige esto y vuelve a enviar el reporte" in page


def test_a_good_form_has_no_summary(client, world):  # noqa: F811
    page = client.get(f"/t/{world['code']}").get_data(as_text=True)
    assert "error-summary" not in page and 'aria-invalid="true"' not in page


# The done page ----------------------------------------------------------------------------------------------


def test_the_done_page_offers_copy_and_share_of_the_status_link(client, world):  # noqa: F811
    assert report(client, world["code"]).status_code == 303
    page = client.get("/reports/done").get_data(as_text=True)
    link = STATUS_LINK_RE.search(page).group(1)
    box = re.search(r'<div class="share-link" id="share-link" hidden data-url="([^"]+)"', page)
    assert box and box.group(1) == link
    assert 'id="copy-link"' in page and 'id="share-button"' in page
    assert '<script src="/static/js/report.js" type="module">' in page


# The status page ---------------------------------------------------------------------------------------------


@pytest.fixture
def filed(app, client, world):  # noqa: F811
    """A report filed at 05:30 UTC on 2 March 2026: still 1 March in Honolulu, where the device's campus is."""
    assert report(client, world["code"]).status_code == 303
    path = status_path(client)
    with app.app_context():
        ticket = db.session.scalar(sa.select(Ticket))
        ticket.created_at = datetime(2026, 3, 2, 5, 30, tzinfo=UTC)
        ticket.asset.campus.timezone = "Pacific/Honolulu"
        db.session.commit()
        return {"path": path, "number": ticket.number, "ticket_id": ticket.id}


def set_status(app, ticket_id: int, status: TicketStatus) -> None:
    with app.app_context():
        db.session.get(Ticket, ticket_id).status = status
        db.session.commit()


def test_the_status_page_shows_number_tag_day_status_and_next_step(app, client, filed):
    page = client.get(filed["path"], headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f'id="ticket-number">{filed["number"]}<' in page
    assert 'id="ticket-asset-tag">LHS-1000<' in page
    assert '<time id="ticket-reported" datetime="2026-03-01">March 1, 2026</time>' in page
    assert 'data-status="new">Received: waiting for a technician<' in page
    assert "bring it to the library for a loaner." in page
    set_status(app, filed["ticket_id"], TicketStatus.resolved)
    page = client.get(filed["path"]).get_data(as_text=True)
    assert 'data-status="resolved">Fixed<' in page and "Pick it up at the library" in page


def test_the_status_page_in_spanish(app, client, filed):
    page = client.get(filed["path"] + "?lang=es").get_data(as_text=True)
    assert '<html lang="es">' in page
    assert '<time id="ticket-reported" datetime="2026-03-01">1 de marzo de 2026</time>' in page
    assert "Recibido: esperando a un técnico" in page and "llévalo a la biblioteca" in page
    set_status(app, filed["ticket_id"], TicketStatus.triaged)
    page = client.get(filed["path"]).get_data(as_text=True)
    assert "Revisado: un técnico ya vio el reporte" in page
    assert "Lleva el dispositivo a la biblioteca y te prestarán otro mientras lo reparan." in page


@pytest.mark.parametrize("status", list(TicketStatus))
def test_each_status_says_what_to_do_next_in_both_languages(app, client, filed, status):
    from app.views.reports import NEXT_STEPS

    set_status(app, filed["ticket_id"], status)
    with app.test_request_context("/reports/status/x"):
        english = str(NEXT_STEPS[status])
    en = client.get(filed["path"] + "?lang=en").get_data(as_text=True)
    es = client.get(filed["path"] + "?lang=es").get_data(as_text=True)
    step = re.compile(r'<p class="next-step" id="ticket-next-step">([^<]+)</p>')
    assert html.unescape(step.search(en).group(1)) == english
    assert html.unescape(step.search(es).group(1)) not in ("", english)


# HEIC photos ------------------------------------------------------------------------------------------------


def test_a_heic_photo_from_a_phone_is_accepted_and_stored_as_a_clean_jpeg(app, client, world):  # noqa: F811
    assert photos.HEIC_READABLE
    resp = report(client, world["code"], photo=heic_photo(), filename="IMG_0042.HEIC")
    assert resp.status_code == 303, resp.get_data(as_text=True)
    with app.app_context():
        photo = db.session.scalar(sa.select(TicketPhoto))
        stored = Image.open(io.BytesIO(photo.content))
        assert stored.format == "JPEG" and stored.size == (1600, 1200)
        assert not stored.getexif() and b"RollcallPhone" not in photo.content
        r, g, b = stored.getpixel((800, 600))
        assert b > 150 and r < 80, "the picture itself came through"


def test_a_heic_photo_passes_the_same_size_checks(client, world):  # noqa: F811
    # 13 MP of RGB is over what a worker may decode (photos.MAX_DECODE_BYTES): refused by its header, like a PNG.
    big = heic_photo(size=(4096, 3200), with_gps=False)
    assert photos.decode_cost("RGB", (4096, 3200)) > photos.MAX_DECODE_BYTES
    resp = report(client, world["code"], photo=big, filename="IMG_0043.HEIC")
    assert resp.status_code == 422 and "That picture is too big for us to open" in resp.get_data(as_text=True)


def test_an_unreadable_file_names_heic_only_because_it_is_read(client, world):  # noqa: F811
    resp = report(client, world["code"], photo=b"GIF89a not really", filename="x.gif")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Use a JPEG, PNG, WebP or HEIC picture." in page
    assert 'accept="image/*,.heic,.heif"' in client.get(f"/t/{world['code']}").get_data(as_text=True)
    assert "HEIF" in Image.OPEN and photos.readable_formats().endswith("HEIC")


# No staff app on public pages ----------------------------------------------------------------------------------


def test_public_pages_leave_out_the_staff_app_and_its_manifest(app, client, world, login_as):  # noqa: F811
    with app.app_context():
        code = db.session.scalar(sa.select(Asset.tag_code).where(Asset.id == world["asset_id"]))
    for path in (f"/t/{code}", "/r", "/r?code=nope", "/t/ZZZZZZZZZZ", "/reports/status/nope"):
        page = client.get(path).get_data(as_text=True)
        assert "/static/js/app.js" not in page, path
        assert 'rel="manifest"' not in page, path
    login_as("tech", "LHS")
    page = client.get("/assets").get_data(as_text=True)
    assert "/static/js/app.js" in page and 'rel="manifest"' in page
