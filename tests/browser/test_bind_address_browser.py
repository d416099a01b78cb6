"""`BIND=… make run` in demo mode: with no ROLLCALL_BASE_URL, the printed QR carries the address the server binds.

A real `rollcall serve` (gunicorn, demo environment) on a free port; Chromium prints a thermal label from it and an
independent decoder (ZXing) reads the QR back.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys

import pytest
import zxingcpp
from flask_migrate import upgrade
from PIL import Image
from playwright.sync_api import expect

from app import create_app
from app.config import TestConfig, normalise_database_url
from app.extensions import db
from app.models import Role
from tests import factories
from tests.browser.conftest import sign_in
from tests.servers import ROOT, free_port, fresh_database, wait_until_healthy

pytestmark = [
    pytest.mark.slow,
    # The migrations rebuild tables on SQLite, reflecting the expression index they cannot read back.
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
]


def test_the_bind_address_is_what_a_demo_label_encodes(tmp_path, browser):
    with fresh_database(tmp_path, "bind") as url:

        class Config(TestConfig):
            SQLALCHEMY_DATABASE_URI = normalise_database_url(url)

        app = create_app(Config)
        with app.app_context():
            upgrade()
            lhs = factories.make_campus("LHS", "Lincoln High")
            code = factories.make_asset(lhs, asset_tag="LHS-7001").tag_code
            email = factories.make_user(Role.tech, "LHS").email
            db.session.commit()
            db.engine.dispose()

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "ROLLCALL_", "TEST_DATABASE"))}
        env.update({"ROLLCALL_ENV": "demo", "DATABASE_URL": url, "HOME": str(tmp_path)})
        stderr = tmp_path / "serve.stderr"
        with open(stderr, "wb") as err:
            # What `BIND=127.0.0.1:<port> make run` runs: the Makefile passes BIND to --bind.
            server = subprocess.Popen(
                [sys.executable, "-c", "from app.cli import main; main()", "serve", "--bind", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        context = None
        try:
            wait_until_healthy(base, server, 60, stderr.read_text)
            assert f"QR codes and links carry {base}\n" in stderr.read_text(), "serve says the address it uses"

            context = browser.new_context(
                base_url=base, viewport={"width": 1000, "height": 1200}, device_scale_factor=2
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            sign_in(page, email, next_path="/labels")
            expect(page.locator("#labels-address")).to_contain_text(f"QR codes encode {base}/t/")
            page.get_by_label("Label stock").select_option("thermal")
            page.get_by_role("button", name="Print all 1").click()
            label = page.locator(".sheet .label")
            expect(label).to_have_count(1)
            results = zxingcpp.read_barcodes(Image.open(io.BytesIO(label.screenshot())))
            assert [r.text for r in results if r.format == zxingcpp.BarcodeFormat.QRCode] == [f"{base}/t/{code}"]
        finally:
            if context is not None:
                context.close()
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(5)
