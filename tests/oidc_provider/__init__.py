"""The real OpenID provider the single sign-on tests sign in against: oidc-provider under Node.js (provider.mjs,
pinned in package.json here, installed by `make test`'s dependency step), on a free loopback port, and a small
driver that walks its sign-in form the way a browser would."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from tests.servers import free_port

HERE = Path(__file__).resolve().parent
FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


@contextmanager
def oidc_provider(clients: list[dict], accounts: dict[str, dict], log_path: Path) -> Iterator[str]:
    """oidc-provider serving these clients and accounts; yields its issuer once its discovery document answers."""
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed: the single sign-on tests need it for their OpenID provider")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        if shutil.which("npm") is None:
            pytest.skip(
                "npm is not installed: single sign-on tests need oidc-provider (npm ci --prefix tests/oidc_provider)"
            )
        pytest.fail("oidc-provider is not installed: run `make test-deps` (npm ci --prefix tests/oidc_provider)")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_CLIENTS": json.dumps(clients),
        "OIDC_ACCOUNTS": json.dumps(accounts),
        "NODE_ENV": "test",
    }
    log = open(log_path, "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(["node", "provider.mjs"], cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"oidc-provider did not come up: {log_path.read_text(errors='replace')}")
            time.sleep(0.1)  # the poll interval; the loop ends on the discovery document's answer
        yield issuer
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


SETTINGS = {
    "oidc": ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"),
    "google": ("OIDC_GOOGLE_ISSUER", "OIDC_GOOGLE_CLIENT_ID", "OIDC_GOOGLE_CLIENT_SECRET"),
}


def configure(monkeypatch, config, name: str, issuer: str, client: dict, domains: str) -> None:
    """Point Rollcall's provider `name` ("oidc", or "google" standing in for Google) at this provider's client."""
    issuer_key, id_key, secret_key = SETTINGS[name]
    for key, value in {
        issuer_key: issuer,
        id_key: client["client_id"],
        secret_key: client["client_secret"],
        "OIDC_DOMAINS": domains,
    }.items():
        monkeypatch.setitem(config, key, value)


def walk_provider(authorize_url: str, login: str, until: str) -> str:
    """Follow the provider from its authorization URL, signing in as login on its form, until it redirects to a URL
    starting with `until` (our callback); returns that URL."""
    browser = requests.Session()
    url, method, data = authorize_url, "GET", None
    for _ in range(12):
        resp = browser.request(method, url, data=data, allow_redirects=False, timeout=10)
        location = resp.headers.get("Location")
        if location:
            url = urljoin(url, location)
            if url.startswith(until):
                return url
            method, data = "GET", None
            continue
        match = FORM_ACTION.search(resp.text)
        assert resp.status_code == 200 and match, f"the provider answered {resp.status_code}: {resp.text[:500]}"
        url = urljoin(url, unescape(match.group(1)))
        method, data = "POST", {"prompt": "login", "login": login, "password": "any"}
    raise AssertionError("the provider never sent the browser back")


def sign_in(
    client, name: str, login: str, *, callback_base: str, tamper: Callable[[str], str] | None = None
) -> tuple[object, str]:
    """Start single sign-on with provider `name` on the Flask test client, sign in as login at the provider and
    come back to our callback; returns the callback's response and the callback URL (to replay it)."""
    start = client.get(f"/login/oidc/{name}")
    assert start.status_code == 302, start.get_data(as_text=True)
    authorize = start.headers["Location"]
    if tamper is not None:
        authorize = tamper(authorize)
    back = walk_provider(authorize, login, f"{callback_base}/login/oidc/{name}/callback")
    parts = urlsplit(back)
    return client.get(f"{parts.path}?{parts.query}"), back
