"""End to end with a fake camera: a device's QR label and another's Code 128 serial sticker, scanned in an audit
opened offline; after the signal returns the server holds each observation once.

The QR is the app's own: BASE_URL/t/<tag code> drawn as SVG by the `qrcode` library the label sheets use,
rendered by Chromium and screenshotted, then written with a Code 128 image of a serial into a .y4m video.
"""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import Asset, Audit, Observation
from tests import factories
from tests.browser import camera_video as cv
from tests.browser.conftest import PHONE, launch, sign_in


def test_camera_scans_label_and_serial_in_an_offline_audit(app, live_server, playwright_instance, tmp_path, staff_user):
    with app.app_context():
        w = factories.make_district()
        factories.make_asset(w["lhs"], w["lhs_room"], asset_tag="LHS-1002", serial="5CD1234XYZ")
        db.session.commit()
        label_code = w["lhs_asset"].tag_code
    email, password = staff_user("aide", "LHS")

    # The label as the app draws it, photographed by "the camera".
    plain = launch(playwright_instance)
    shot = plain.new_page()
    shot.set_content(f"<body style='margin:0;background:#fff'>{cv.qr_svg(f'{live_server}/t/{label_code}')}</body>")
    qr = cv.from_png(shot.locator("svg").screenshot())
    plain.close()
    video = cv.write_y4m(
        tmp_path / "audit.y4m",
        # Label, pause, serial sticker, then a long pause so the loop does not come round during the test.
        [(cv.blank(), 5), (qr, 20), (cv.blank(), 10), (cv.code128("5CD1234XYZ"), 20), (cv.blank(), 600)],
    )
    browser = launch(
        playwright_instance,
        [
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    context = browser.new_context(base_url=live_server, **PHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, email, password, "/audits/live")
        expect(page.locator("#audit-app")).to_have_attribute("data-ready", "1")
        context.set_offline(True)
        page.get_by_label("Room", exact=True).select_option("LHS-101")
        page.get_by_role("button", name="Start audit").click()
        expect(page.locator("#n-expected")).to_have_text("2")
        page.get_by_role("button", name="Start camera").click()
        expect(page.locator("#audit-camera")).to_have_attribute("data-state", "running")
        expect(page.locator("#n-found")).to_have_text("2", timeout=30_000)
        expect(page.locator("#list-found li", has_text=w_tag(app, label_code))).to_have_count(1)
        expect(page.locator("#list-found li", has_text="LHS-1002")).to_have_count(1)
        expect(page.locator("#list-missing li")).to_have_count(0)
        page.get_by_role("button", name="Stop camera").click()
        scans = page.evaluate("performance.getEntriesByName('scan-feedback').map(e => e.duration)")
        assert len(scans) == 2 and max(scans) < 1000
        with app.app_context():
            assert db.session.scalar(sa.select(sa.func.count()).select_from(Observation)) == 0

        context.set_offline(False)
        page.evaluate("window.dispatchEvent(new Event('online'))")
        expect(page.locator("#audit-net")).to_have_text("All synced.")
        expect(page.locator("#audit-app")).to_have_attribute("data-source", "server")
        with app.app_context():
            audit = db.session.scalar(sa.select(Audit))
            rows = db.session.execute(
                sa.select(Asset.asset_tag, sa.func.count())
                .join(Observation, Observation.asset_id == Asset.id)
                .where(Observation.audit_id == audit.uuid)
                .group_by(Asset.asset_tag)
            ).all()
            assert dict(rows) == {"LHS-1000": 1, "LHS-1002": 1}
    finally:
        context.close()
        browser.close()


def w_tag(app, tag_code: str) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Asset.asset_tag).where(Asset.tag_code == tag_code))
