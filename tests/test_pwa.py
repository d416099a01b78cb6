"""The installable app: service worker, manifest, offline page, icons, the scan page and the unknown-tag review."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Role, Room, UnknownScan
from app.views import pwa
from tests.conftest import hx


def test_service_worker_is_served_at_root_never_http_cached(client):
    resp = client.get("/sw.js")
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    assert resp.headers["Cache-Control"] == "no-cache"
    assert resp.headers["Service-Worker-Allowed"] == "/"
    text = resp.get_data(as_text=True)
    assert "__VERSION__" not in text and "__SHELL__" not in text
    version = re.search(r'const VERSION = "([0-9a-f]{12})";', text).group(1)
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", text).group(1))
    for url in ("/static/css/app.css", "/static/js/app.js", "/static/js/outbox.js", "/static/js/scan.js", "/offline"):
        assert url in shell
    assert any("htmx" in u for u in shell)
    assert "/static/icons/icon-192.png" in shell
    assert not any(u.endswith(("LICENSE", "NOTICE")) for u in shell)
    # No inline script needed: the CSP allows only 'self'.
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert client.get("/sw.js").get_data(as_text=True).count(version) == 1


def test_cache_version_follows_static_files(app, client, tmp_path, monkeypatch):
    with app.test_request_context():
        before, _ = pwa.static_version()
    static = tmp_path / "static"
    static.mkdir()
    (static / "sw.js").write_text('const VERSION = "__VERSION__"; const SHELL = ["__SHELL__"];')
    (static / "a.js").write_text("one")
    monkeypatch.setattr(app, "static_folder", str(static))
    with app.test_request_context():
        v1, files = pwa.static_version()
        (static / "a.js").write_text("two!")
        v2, _ = pwa.static_version()
    assert files == ["a.js"]
    assert len({before, v1, v2}) == 3


def test_manifest_is_installable(client):
    resp = client.get("/manifest.webmanifest")
    assert resp.status_code == 200 and resp.mimetype == "application/manifest+json"
    body = json.loads(resp.get_data())
    assert body["display"] == "standalone" and body["start_url"] == "/" and body["theme_color"]
    sizes = {(i["sizes"], i.get("purpose", "any")) for i in body["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in body["icons"]:
        png = client.get(icon["src"])
        assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(png.data[16:20], "big")
        assert f"{width}x{width}" == icon["sizes"]


def test_offline_page_is_public_and_carries_no_personal_data(client, district, login_as):
    anonymous = client.get("/offline")
    assert anonymous.status_code == 200 and "No connection" in anonymous.get_data(as_text=True)
    user = login_as(Role.aide, "LHS")
    signed_in = client.get("/offline").get_data(as_text=True)
    assert user.email not in signed_in and user.name not in signed_in
    assert "<script>" not in signed_in


def test_pages_link_manifest_icon_and_scan(client, district, login_as):
    login_as(Role.aide, "LHS")
    html = client.get("/assets").get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.webmanifest"' in html
    assert 'rel="icon"' in html
    assert 'href="/scan"' in html


def test_viewer_has_no_scan_link_or_page(client, district, login_as):
    login_as(Role.viewer, "LHS")
    assert 'href="/scan"' not in client.get("/assets").get_data(as_text=True)
    assert client.get("/scan").status_code == 403


def test_scan_page_needs_sign_in(client, district):
    resp = client.get("/scan")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("headers", [{}, hx()])
def test_scan_page_lists_only_own_rooms(client, district, login_as, headers):
    login_as(Role.aide, "LHS")
    resp = client.get("/scan", headers=headers)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'value="LHS-101"' in html and 'value="LHS-IT"' in html
    assert "JMS-201" not in html
    assert 'id="scan-code"' in html and "data-camera" in html
    assert 'data-pack-fetch="LHS"' in html and 'data-pack-fetch="JMS"' not in html
    assert "js/scan.js" in html


def test_offline_pack_has_no_personal_data_and_answers_304(app, client, district, login_as):
    login_as(Role.aide, "LHS")
    resp = client.get("/api/v1/offline-pack?campus=LHS")
    assert resp.status_code == 200 and resp.headers["ETag"]
    pack = resp.get_json()
    assert pack["campus"] == {"code": "LHS", "name": "Lincoln High"}
    assert {r["code"] for r in pack["rooms"]} == {"LHS-101", "LHS-IT"}
    assert {a["asset_tag"] for a in pack["assets"]} == {"LHS-1000", "LHS-1001"}
    assert set(pack["assets"][0]) == {"tag_code", "asset_tag", "serial", "model", "home_room", "status"}
    text = resp.get_data(as_text=True)
    assert "Zoe" not in text and "@" not in text and "LHS100001" not in text
    again = client.get("/api/v1/offline-pack?campus=LHS", headers={"If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == resp.headers["ETag"]
    with app.app_context():
        room = db.session.scalar(sa.select(Room).where(Room.code == "LHS-101"))
        room.name = "Chemistry lab"
        db.session.commit()
    changed = client.get("/api/v1/offline-pack?campus=LHS", headers={"If-None-Match": resp.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != resp.headers["ETag"]
    zipped = client.get("/api/v1/offline-pack?campus=LHS", headers={"Accept-Encoding": "gzip"})
    assert zipped.status_code == 200


def test_offline_pack_scoping(client, district, login_as):
    login_as(Role.aide, "LHS")
    assert client.get("/api/v1/offline-pack?campus=JMS").status_code == 404
    assert client.get("/api/v1/offline-pack").status_code == 200  # one campus: that one
    client.post("/logout")
    assert client.get("/api/v1/offline-pack?campus=LHS").status_code == 401


def test_offline_pack_needs_a_campus_for_several(client, district, login_as):
    login_as(Role.tech, "LHS", "JMS")
    assert client.get("/api/v1/offline-pack").status_code == 422


@pytest.fixture
def unknown_scans(app, district):
    with app.app_context():
        rooms = {r.code: r for r in db.session.scalars(sa.select(Room))}
        now = datetime.now(UTC)
        db.session.add_all(
            [
                UnknownScan(code="NEW-STICKER-1", room_id=rooms["LHS-101"].id, at=now, note="yellow"),
                UnknownScan(code="JMS-STRAY-9", room_id=rooms["JMS-201"].id, at=now),
            ]
        )
        db.session.commit()
        return {s.code: s.id for s in db.session.scalars(sa.select(UnknownScan))}


@pytest.mark.parametrize("headers", [{}, hx()])
def test_unknown_review_list_is_campus_scoped(client, login_as, unknown_scans, headers):
    login_as(Role.tech, "LHS")
    resp = client.get("/scan/unknown", headers=headers)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "NEW-STICKER-1" in html and "JMS-STRAY-9" not in html
    assert ("<html" in html) is (not headers)


def test_unknown_review_needs_admin_or_tech(client, login_as, unknown_scans):
    login_as(Role.aide, "LHS")
    assert client.get("/scan/unknown").status_code == 403
    assert client.post(f"/scan/unknown/{unknown_scans['NEW-STICKER-1']}/resolve").status_code == 403


def test_resolve_unknown_with_and_without_htmx(app, client, login_as, unknown_scans):
    login_as(Role.tech, "LHS", "JMS")
    plain = client.post(f"/scan/unknown/{unknown_scans['NEW-STICKER-1']}/resolve")
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/scan/unknown")
    frag = client.post(f"/scan/unknown/{unknown_scans['JMS-STRAY-9']}/resolve", headers=hx())
    assert frag.status_code == 200
    html = frag.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="unknown-rows">') and "No unknown tags waiting" in html
    with app.app_context():
        assert all(s.resolved_at for s in db.session.scalars(sa.select(UnknownScan)))
    reviewed = client.get("/scan/unknown?resolved=1").get_data(as_text=True)
    assert "NEW-STICKER-1" in reviewed and "JMS-STRAY-9" in reviewed


def test_resolve_other_campus_is_404(client, login_as, unknown_scans):
    login_as(Role.tech, "LHS")
    assert client.post(f"/scan/unknown/{unknown_scans['JMS-STRAY-9']}/resolve").status_code == 404
    assert client.post("/scan/unknown/999999/resolve").status_code == 404
