"""The address QR codes and links carry: ROLLCALL_BASE_URL, required in production; in development and demo, the
address `rollcall serve` binds."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from app import InsecureConfiguration, create_app
from app.config import BASE_URL_MISSING, base_url_for_bind, from_env
from tests.servers import ROOT, free_port

ROLLCALL = [sys.executable, "-c", "from app.cli import main; main()"]


@pytest.mark.parametrize(
    ("bind", "url"),
    [
        (None, "http://127.0.0.1:8000"),
        ("127.0.0.1:8102", "http://127.0.0.1:8102"),
        ("rollcall.local:9000", "http://rollcall.local:9000"),
        ("localhost", "http://localhost:8000"),
        ("[::1]:8443", "http://[::1]:8443"),
        ("unix:/run/rollcall.sock", "http://127.0.0.1:8000"),
    ],
)
def test_a_local_server_carries_the_address_it_binds(bind, url):
    assert base_url_for_bind(bind) == url
    env = {"ROLLCALL_ENV": "demo", **({"ROLLCALL_BIND": bind} if bind else {})}
    assert from_env(env)["BASE_URL"] == url


@pytest.mark.parametrize("bind", ["0.0.0.0:8102", "[::]:8102"])
def test_every_interface_means_an_address_a_phone_can_open(bind):
    url = base_url_for_bind(bind)
    assert url.startswith("http://") and url.endswith(":8102")
    assert "0.0.0.0" not in url and "[::]" not in url


def test_a_configured_address_wins_and_loses_its_trailing_slash():
    env = {"ROLLCALL_ENV": "development", "ROLLCALL_BIND": "127.0.0.1:8102", "ROLLCALL_BASE_URL": "https://rc.org/"}
    assert from_env(env)["BASE_URL"] == "https://rc.org"


def test_production_never_guesses():
    assert from_env({"ROLLCALL_BIND": "127.0.0.1:8102"})["BASE_URL"] == ""
    key = secrets.token_hex(32)
    with pytest.raises(InsecureConfiguration, match="^ROLLCALL_BASE_URL is not set"):
        create_app({"ENV_NAME": "production", "SECRET_KEY": key, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with pytest.raises(InsecureConfiguration, match="must be an http:// or https:// address"):
        create_app(
            {"ENV_NAME": "production", "SECRET_KEY": key, "SQLALCHEMY_DATABASE_URI": "sqlite://", "BASE_URL": "rc.org"}
        )
    app = create_app({"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["BASE_URL"] == "http://127.0.0.1:8000"


def _env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "ROLLCALL_", "TEST_DATABASE"))}
    env.update(
        {
            "ROLLCALL_ENV": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
            **extra,
        }
    )
    return env


def test_a_production_start_without_the_address_stops_with_one_line(tmp_path):
    command = [*ROLLCALL, "serve", "--bind", f"127.0.0.1:{free_port()}"]
    # A server that did start is stopped by the timeout, which fails the test.
    result = subprocess.run(command, cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr == f"Error: {BASE_URL_MISSING}\n"
    upgrade = subprocess.run(
        [*ROLLCALL, "db", "upgrade"],
        cwd=ROOT,
        env=_env(tmp_path, ROLLCALL_BASE_URL="rollcall.example.org"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert upgrade.returncode != 0 and upgrade.stderr.count("\n") == 1
    assert upgrade.stderr.startswith("Error: ROLLCALL_BASE_URL must be an http:// or https:// address")
    assert not (tmp_path / "prod.sqlite3").exists() or (tmp_path / "prod.sqlite3").stat().st_size == 0


def test_the_labels_page_says_what_its_codes_encode(app, client, district, login_as):
    login_as("tech", "LHS")
    html = client.get("/labels").get_data(as_text=True)
    assert f'QR codes encode <span class="mono">{app.config["BASE_URL"]}/t/…</span>' in html
