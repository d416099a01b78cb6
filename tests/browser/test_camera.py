"""The camera module on its own: fake-camera footage of a QR tag and a Code 128 serial, read in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from app.security import CSP
from tests.browser import camera_video as cv
from tests.browser.conftest import PHONE, launch

HARNESS_HTML = """<!doctype html><html><head><meta charset="utf-8"><title>camera</title>
<script type="module" src="/__camera-harness.js"></script></head>
<body><div data-camera data-camera-input="#code"></div>
<form id="f"><label for="code">Code</label><input id="code" name="code"></form><ol id="log"></ol></body></html>"""
HARNESS_JS = """import { mountCameras } from "/static/js/camera.js";
const log = document.getElementById("log");
window.scanners = mountCameras({ onScan: (value, scan) => {
  const li = document.createElement("li");
  li.textContent = value;
  li.dataset.format = scan.format;
  log.append(li);
} });"""
WASM_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'")


def open_harness(page: Page, csp: str = WASM_CSP) -> None:
    """A bare page on the live server's origin that mounts the camera and logs each scan."""
    page.route(
        "**/__camera-harness",
        lambda route: route.fulfill(
            status=200, body=HARNESS_HTML, headers={"Content-Type": "text/html", "Content-Security-Policy": csp}
        ),
    )
    page.route(
        "**/__camera-harness.js",
        lambda route: route.fulfill(status=200, body=HARNESS_JS, headers={"Content-Type": "text/javascript"}),
    )
    page.goto("/__camera-harness")


@pytest.fixture(scope="module")
def camera_browser(playwright_instance, tmp_path_factory, live_server) -> Iterator[Browser]:
    """Chromium with a fake camera that plays the footage (QR of BASE_URL/t/<code>, then a Code 128 serial)."""
    plain = launch(playwright_instance)
    page = plain.new_page()
    page.set_content(f"<body style='margin:0;background:#fff'>{cv.qr_svg(live_server + '/t/7QK2M9XHBT')}</body>")
    qr = cv.from_png(page.locator("svg").screenshot())
    plain.close()
    footage = tmp_path_factory.mktemp("camera") / "tag-and-serial.y4m"
    cv.write_y4m(footage, [(qr, 20), (cv.blank(), 25), (cv.code128("5CD1234XYZ"), 20), (cv.blank(), 25)])
    browser = launch(
        playwright_instance,
        [
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={footage}",
        ],
    )
    yield browser
    browser.close()


def test_reads_our_qr_tag_and_a_code128_serial_once_each(camera_browser, live_server):
    context = camera_browser.new_context(base_url=live_server, **PHONE)
    page = context.new_page()
    open_harness(page)
    page.get_by_role("button", name="Start camera").click()
    log = page.locator("#log li")
    expect(page.locator("[data-camera]")).to_have_attribute("data-state", "running", timeout=15_000)
    expect(page.locator("#log li", has_text="7QK2M9XHBT")).to_have_count(1, timeout=20_000)
    expect(page.locator("#log li", has_text="5CD1234XYZ")).to_have_count(1, timeout=20_000)
    # A QR tag carries the whole URL; the scanner hands on only the code.
    assert page.locator("#log li", has_text="7QK2M9XHBT").get_attribute("data-format") == "qr_code"
    assert page.locator("#log li", has_text="5CD1234XYZ").get_attribute("data-format") == "code_128"
    assert all("/t/" not in text for text in log.all_inner_texts())
    # Linux Chromium has no native detector, so this is the vendored ZXing wasm, loaded from our origin.
    assert page.locator("[data-camera]").get_attribute("data-detector") == "zxing-wasm"
    # Each code stayed in view for two seconds of frames: one scan each, not one per frame.
    assert log.count() <= 4
    first_decode = page.evaluate(
        "performance.getEntriesByName('camera-start-to-decode').map(e => e.duration)[0] ?? null"
    )
    assert first_decode is not None and first_decode > 0
    context.close()


def test_wasm_comes_from_our_origin_and_no_cdn(camera_browser, live_server):
    context = camera_browser.new_context(base_url=live_server, **PHONE)
    page = context.new_page()
    urls: list[str] = []
    page.on("request", lambda req: urls.append(req.url))
    open_harness(page)
    page.get_by_role("button", name="Start camera").click()
    expect(page.locator("[data-camera]")).to_have_attribute("data-detector", "zxing-wasm", timeout=15_000)
    wasm = [u for u in urls if u.endswith(".wasm")]
    assert wasm == [f"{live_server}/static/js/vendor/zxing-wasm-3.1.3/zxing_reader.wasm"]
    assert all(u.startswith(live_server) for u in urls)
    context.close()


def test_without_wasm_in_the_csp_the_camera_says_so(camera_browser, live_server):
    """A page that forgot allow_wasm fails visibly (not silently): the message shows, the field stays."""
    context = camera_browser.new_context(base_url=live_server, **PHONE)
    page = context.new_page()
    open_harness(page, csp=CSP)
    page.get_by_role("button", name="Start camera").click()
    expect(page.locator("[data-camera]")).to_have_attribute("data-state", "error", timeout=15_000)
    expect(page.locator(".camera-message")).to_contain_text("cannot run the barcode reader")
    expect(page.get_by_label("Code")).to_be_editable()
    context.close()


def test_refused_permission_shows_a_message_and_keeps_the_field(playwright_instance, live_server):
    # A camera exists but nobody grants it: the permission prompt is answered "no".
    browser = launch(playwright_instance, ["--use-fake-device-for-media-stream"])
    context = browser.new_context(base_url=live_server, **PHONE)
    page = context.new_page()
    open_harness(page)
    page.get_by_role("button", name="Start camera").click()
    expect(page.locator(".camera-message")).to_contain_text("Camera permission was refused", timeout=10_000)
    expect(page.locator("[data-camera]")).to_have_attribute("data-state", "error")
    expect(page.get_by_role("button", name="Start camera")).to_be_visible()
    field = page.get_by_label("Code")
    field.fill("7QK2M9XHBT")
    expect(field).to_have_value("7QK2M9XHBT")
    context.close()
    browser.close()


def test_scan_page_mounts_the_camera(phone, staff_user):
    from tests.browser.conftest import sign_in

    email, password = staff_user("aide", "LHS")
    sign_in(phone, email, password, "/scan")
    expect(phone.get_by_role("button", name="Start camera")).to_be_visible()
    expect(phone.get_by_label("Tag, asset tag or serial")).to_be_editable()
