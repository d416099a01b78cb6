"""Camera audits in headless Chromium with a fake camera: start → first decode, scan → feedback, scanner bytes.

Figures, not asserts: a fake camera playing a .y4m of a QR label and a Code 128 serial; five fresh page loads.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server

from bench.common import bench_app, report

RUNS = 5
SCANNER = [
    "static/js/camera.js",
    "static/js/vendor/barcode-detector-3.2.2/ponyfill.js",
    "static/js/vendor/barcode-detector-3.2.2/zxing-exported.js",
    "static/js/vendor/zxing-wasm-3.1.3/zxing_reader.wasm",
]


def _summary(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {"median_ms": statistics.median(samples), "min_ms": samples[0], "max_ms": samples[-1], "n": len(samples)}


def run() -> None:
    from playwright.sync_api import sync_playwright

    from app import ROOT
    from app.extensions import db
    from app.models import Role
    from tests import factories
    from tests.browser import camera_video as cv
    from tests.browser.conftest import PHONE, launch

    total = sum((ROOT / p).stat().st_size for p in SCANNER)
    js = sum((ROOT / p).stat().st_size for p in SCANNER if p.endswith(".js"))
    report("scanner bytes (JS + wasm, uncompressed)", {"js_kB": js / 1024, "wasm_kB": (total - js) / 1024})

    app, _ = bench_app("audits")
    # Pages sign in through the real form here, which carries its CSRF token.
    app.config["WTF_CSRF_ENABLED"] = True
    with app.app_context():
        db.create_all()
        w = factories.make_district()
        factories.make_asset(w["lhs"], w["lhs_room"], asset_tag="LHS-1002", serial="5CD1234XYZ")
        user = factories.make_user(Role.aide, "LHS", email="bench-aide@staff.example.org")
        db.session.commit()
        code, email = w["lhs_asset"].tag_code, user.email
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    folder = Path(tempfile.mkdtemp(prefix="rollcall-bench-cam-"))
    first_decode, feedback = [], []
    try:
        with sync_playwright() as pw:
            plain = launch(pw)
            shot = plain.new_page()
            shot.set_content(f"<body style='margin:0;background:#fff'>{cv.qr_svg(f'{base}/t/{code}')}</body>")
            qr = cv.from_png(shot.locator("svg").screenshot())
            # Which pages load the scanner: it must be only the scanning ones.
            ctx = plain.new_context(base_url=base, **PHONE)
            page = ctx.new_page()
            _sign_in(page, email)
            for path in ("/", "/assets", "/audits", "/audits/live"):
                urls: list[str] = []

                def seen(req, urls=urls):
                    urls.append(req.url)

                page.on("request", seen)
                page.goto(path)
                page.wait_for_load_state("networkidle")
                page.remove_listener("request", seen)
                loaded = [p for p in SCANNER if any(u.endswith(p.removeprefix("static")) for u in urls)]
                print(f"  {path:<14} scanner files loaded: {len(loaded)}", flush=True)
            plain.close()
            video = cv.write_y4m(
                folder / "bench.y4m",
                [(cv.blank(), 5), (qr, 20), (cv.blank(), 10), (cv.code128("5CD1234XYZ"), 20), (cv.blank(), 600)],
            )
            browser = launch(
                pw,
                [
                    "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream",
                    f"--use-file-for-fake-video-capture={video}",
                ],
            )
            for _ in range(RUNS):
                ctx = browser.new_context(base_url=base, **PHONE)
                page = ctx.new_page()
                page.set_default_timeout(30_000)
                _sign_in(page, email, "/audits/live")
                page.wait_for_selector("#audit-app[data-ready='1']")
                # Offline, as in a classroom without signal (and so earlier runs' audits do not merge in).
                ctx.set_offline(True)
                page.select_option("#start-room", "LHS-101")
                page.click("#start-form button[type=submit]")
                page.click("button.camera-start")
                page.wait_for_selector("#audit-app[data-found='2']")
                first_decode += page.evaluate(
                    "performance.getEntriesByName('camera-start-to-decode').map(e => e.duration)"
                )
                feedback += page.evaluate("performance.getEntriesByName('scan-feedback').map(e => e.duration)")
                ctx.close()
            browser.close()
    finally:
        server.shutdown()
        thread.join(10)
    report("camera start → first decode (fake camera)", _summary(first_decode))
    report("scan decoded → feedback painted", _summary(feedback))


def _sign_in(page, email: str, next_path: str = "/") -> None:
    from tests.factories import PASSWORD

    page.goto(f"/login?next={next_path}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
