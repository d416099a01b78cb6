"""With Redis as the limiter's storage, the per-device report limit holds across gunicorn workers."""

from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.servers import rollcall_server

redis = pytest.importorskip("redis")

# A database number of our own; the test refuses to run if something else already keeps keys there.
REDIS_DB = 11
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
ROOT = Path(__file__).resolve().parent.parent
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')

pytestmark = pytest.mark.slow


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    if client.dbsize():
        pytest.skip(f"Redis database {REDIS_DB} is not empty; it is not ours to use")
    yield client
    keys = list(client.scan_iter(count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def _seed(db_url: str) -> str:
    """Tables and one device in a fresh SQLite file; returns the device's tag code."""
    script = (
        "from app import create_app\n"
        "from app.extensions import db\n"
        "from tests import factories\n"
        f"app = create_app({{'SQLALCHEMY_DATABASE_URI': {db_url!r}, 'ENV_NAME': 'test', 'SECRET_KEY': 'x' * 32}})\n"
        "with app.app_context():\n"
        "    db.create_all()\n"
        "    asset = factories.make_asset(factories.make_campus('LHS'))\n"
        "    db.session.commit()\n"
        "    print(asset.tag_code)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def _report(base: str, code: str, **fields: str) -> int:
    """One visitor: load the form (cookie + CSRF token), post a report; the HTTP status of the post."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    with opener.open(f"{base}/t/{code}", timeout=10) as resp:
        token = CSRF_RE.search(resp.read().decode()).group(1)
    form = {"csrf_token": token, "category": "other", "description": "Storm test", **fields}
    body = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(f"{base}/t/{code}/report", data=body, headers={"Referer": f"{base}/t/{code}"})
    try:
        with opener.open(request, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_device_limit_holds_across_two_workers(tmp_path, redis_db):
    db_url = f"sqlite:///{tmp_path / 'storm.sqlite3'}"
    code = _seed(db_url)
    env = {**os.environ, "ROLLCALL_ENV": "development", "DATABASE_URL": db_url, "RATELIMIT_STORAGE_URI": REDIS_URL}
    with rollcall_server(env, tmp_path / "serve.log", workers=2) as (base, _proc):
        statuses = [_report(base, code) for _ in range(9)]
        # Five reports from one reporter for a device an hour, whichever worker answers; then 429 from both.
        assert statuses == [303] * 5 + [429] * 4, statuses
        # Someone else reporting the same device still gets through.
        assert _report(base, code, reporter_student_id="LHS100042") == 303
        keys = list(redis_db.scan_iter(count=1000))
        assert any(b"report-device" in k for k in keys) and any(b"report-reporter" in k for k in keys), keys
        assert not any(b"LHS100042" in k for k in keys), "the limiter's keys name no student"
    # Both workers counted their refusals in the database.
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT sum(count) FROM report_refusals")) == 4
    engine.dispose()
