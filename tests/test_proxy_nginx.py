"""Two app servers behind a real nginx on loopback, configured from deploy/nginx/rollcall.conf with its ports, paths
and certificate swapped for the test's own: a session, the report limit, an import and its jobs all cross from one
server to the other; static files, the service worker and /metrics answer as the config says; X-Forwarded-* holds.

The database is the suite's kind (a SQLite file, or PostgreSQL with TEST_DATABASE_URL); Redis carries the queue and
the rate limits under names of this run's own; `rollcall worker` runs the jobs.
"""

from __future__ import annotations

import getpass
import gzip
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import factories
from tests.servers import ROOT, free_port, fresh_database, rollcall_server

redis = pytest.importorskip("redis")

pytestmark = pytest.mark.slow

REDIS_URL = "redis://127.0.0.1:6379/0"
CONF = ROOT / "deploy" / "nginx" / "rollcall.conf"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REPORT_LIMIT = 3
ADMIN = "admin@proxy.example.org"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def site_config(ports: tuple[int, int], https: int, plain: int, cert: Path, key: Path) -> str:
    """deploy/nginx/rollcall.conf on the test's loopback ports, certificate and checkout; each swap must match."""
    text = CONF.read_text()
    swaps = [
        ("server 127.0.0.1:8001 ", f"server 127.0.0.1:{ports[0]} "),
        ("server 127.0.0.1:8002 ", f"server 127.0.0.1:{ports[1]} "),
        ("    listen 80;\n", f"    listen 127.0.0.1:{plain};\n"),
        ("    listen [::]:80;\n", ""),
        ("    listen 443 ssl http2;\n", f"    listen 127.0.0.1:{https} ssl http2;\n"),
        ("    listen [::]:443 ssl http2;\n", ""),
        ("/etc/letsencrypt/live/rollcall.district.org/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/rollcall.district.org/privkey.pem", str(key)),
    ]
    for old, new in swaps:
        assert text.count(old) == 1, f"deploy/nginx/rollcall.conf no longer has {old!r} once"
        text = text.replace(old, new)
    assert "/srv/rollcall/static/" in text
    return text.replace("/srv/rollcall/", f"{ROOT}/")


def main_config(tmp: Path, site: Path) -> str:
    """nginx.conf for an nginx of the test's own: its pid, logs and temporary files all under tmp."""
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""  # root's workers stay root, not nobody
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temps = "".join(f"    {kind}_temp_path {tmp / kind};\n" for kind in kinds)
    return (
        f"{user}worker_processes 1;\ndaemon off;\npid {tmp / 'nginx.pid'};\nerror_log {tmp / 'error.log'} warn;\n"
        "events { worker_connections 256; }\n"
        "http {\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        f"    access_log {tmp / 'access.log'};\n{temps}    include {site};\n}}\n"
    )


def self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        raw = gzip.decompress(self.body) if self.headers.get("Content-Encoding") == "gzip" else self.body
        return raw.decode("utf-8", "replace")


@dataclass
class Browser:
    """One visitor at one address (https through nginx, or http straight to an app server as nginx would speak to
    it): keeps its cookies, sends the page it came from as the Referer, never follows redirects."""

    host: str
    port: int
    tls: ssl.SSLContext | None = None
    source: str | None = None  # the loopback address to connect from (nginx sees it as the client's)
    forwarded: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        scheme = "https" if self.tls or self.forwarded.get("X-Forwarded-Proto") == "https" else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> Answer:
        source = (self.source, 0) if self.source else None
        if self.tls:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self.host, self.port, context=self.tls, timeout=30, source_address=source
            )
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=30, source_address=source)
        sent = {**self.forwarded, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=sent)
            resp = conn.getresponse()
            answer = Answer(resp.status, resp.headers, resp.read())
        finally:
            conn.close()
        for raw in answer.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(raw).items():
                self.cookies[name] = morsel.value
        return answer

    def get(self, path: str, **headers: str) -> Answer:
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, fields: dict[str, str], page: str) -> Answer:
        token = CSRF_RE.search(self.get(page).text)
        assert token, f"no CSRF token on {page}"
        body = urllib.parse.urlencode({"csrf_token": token.group(1), **fields}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": self.origin + page}
        return self.request("POST", path, body, headers)

    def post_file(self, path: str, name: str, filename: str, data: bytes, page: str) -> Answer:
        token = CSRF_RE.search(self.get(page).text)
        assert token, f"no CSRF token on {page}"
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token.group(1)}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n".encode()
            + data
            + b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Referer": self.origin + page}
        return self.request("POST", path, b"".join(parts), headers)


@dataclass
class Site:
    https: int
    plain: int
    servers: list[tuple[int, Path]]  # each app server's port and log file
    worker_pid: int
    db_url: str
    tag_code: str
    tls: ssl.SSLContext
    tmp: Path

    def through_nginx(self, source: str | None = None) -> Browser:
        return Browser("127.0.0.1", self.https, tls=self.tls, source=source)

    def direct(self, n: int, client: str = "127.0.0.1") -> Browser:
        """Straight to app server n, with the headers nginx would add for a client at `client`."""
        port = self.servers[n][0]
        return Browser("127.0.0.1", port, forwarded={"X-Forwarded-Proto": "https", "X-Forwarded-For": client})

    def sql(self, statement: str, **params) -> list[tuple]:
        engine = sa.create_engine(self.db_url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(sa.text(statement), params)]
        finally:
            engine.dispose()


def _seed(db_url: str) -> str:
    """Tables, a campus with a room and a device, and a district-wide admin; returns the device's tag code."""
    script = (
        "from app import create_app\nfrom app.extensions import db\nfrom app.models import Role\n"
        "from tests import factories\n"
        f"app = create_app({{'SQLALCHEMY_DATABASE_URI': {db_url!r}, 'ENV_NAME': 'test', 'SECRET_KEY': 'x' * 32}})\n"
        "with app.app_context():\n"
        "    db.create_all()\n"
        "    campus = factories.make_campus('LHS')\n"
        "    asset = factories.make_asset(campus, factories.make_room(campus, 'LHS-101'))\n"
        f"    factories.make_user(Role.admin, email={ADMIN!r})\n"
        "    db.session.commit()\n"
        "    print(asset.tag_code)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def _wait_for(probe, what: str, timeout: float = 60, logs: list[Path] = ()) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)  # the poll interval; the loop ends on the awaited answer
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in logs if p.exists())
    raise AssertionError(f"{what}\n{tails}")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    nginx = nginx_binary()
    if nginx is None:
        pytest.skip("nginx is not installed (make test-deps installs Debian's nginx when run as root)")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis is not answering on 127.0.0.1:6379")
    tmp = tmp_path_factory.mktemp("proxy")
    run = secrets.token_hex(6)
    with ExitStack() as stack:
        db_url = stack.enter_context(fresh_database(tmp, "proxy"))
        tag_code = _seed(db_url)
        https, plain = free_port(), free_port()
        env = {
            **os.environ,
            "ROLLCALL_ENV": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "ROLLCALL_BASE_URL": f"https://127.0.0.1:{https}",
            "DATABASE_URL": db_url,
            "ROLLCALL_QUEUE_URL": REDIS_URL,
            "ROLLCALL_QUEUE_NAME": f"rollcall-proxy-{run}",
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            "RATELIMIT_KEY_PREFIX": f"rollcall-proxy-{run}",
            "ROLLCALL_REPORT_LIMIT_IP": f"{REPORT_LIMIT} per hour",
            "ROLLCALL_PROXY_HOPS": "1",
            "ROLLCALL_LOG_FORMAT": "json",
            "ROLLCALL_METRICS_ALLOW": "127.0.0.1/32",
        }
        servers = []
        for n in range(2):
            server_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp / f"metrics-{n}")}
            log = tmp / f"server-{n}.log"
            base, _proc = stack.enter_context(rollcall_server(server_env, log, workers=1))
            servers.append((int(base.rsplit(":", 1)[1]), log))

        worker_log = tmp / "worker.log"
        with worker_log.open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-c", "from app.cli import main; main()", "worker", "--threads", "1"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        stack.callback(_stop, worker, signal.SIGINT)

        cert, key = self_signed(tmp)
        site_conf = tmp / "rollcall.conf"
        site_conf.write_text(site_config((servers[0][0], servers[1][0]), https, plain, cert, key))
        (tmp / "nginx.conf").write_text(main_config(tmp, site_conf))
        nginx_proc = subprocess.Popen(
            [nginx, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")],
            stdout=subprocess.DEVNULL, stderr=(tmp / "nginx.out").open("wb"),
        )  # fmt: skip
        stack.callback(_stop, nginx_proc, signal.SIGQUIT)
        tls = ssl.create_default_context(cafile=str(cert))
        logs = [tmp / "error.log", tmp / "nginx.out"]

        def nginx_answers() -> bool:
            if nginx_proc.poll() is not None:
                raise AssertionError("nginx stopped: " + "".join(p.read_text() for p in logs if p.exists()))
            try:
                return Browser("127.0.0.1", https, tls=tls).get("/healthz").status == 200
            except OSError:
                return False

        _wait_for(nginx_answers, "nginx did not answer /healthz", logs=logs)
        stack.callback(_forget_redis, run)
        yield Site(https, plain, servers, worker.pid, db_url, tag_code, tls, tmp)


def _stop(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _forget_redis(run: str) -> None:
    """Take this run's queue and rate-limit keys out of the shared Redis."""
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*rollcall-proxy-{run}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def _sign_in(browser: Browser) -> None:
    resp = browser.post_form("/login", {"email": ADMIN, "password": factories.PASSWORD}, "/login")
    assert resp.status in (302, 303), resp.text[:500]
    assert "/login" not in resp.headers["Location"]


def _signed_in(browser: Browser) -> bool:
    resp = browser.get("/assets")
    return resp.status == 200 and "LHS" in resp.text


# --- the tests -----------------------------------------------------------------------------------------------


def test_a_session_moves_between_the_servers(site):
    front = site.through_nginx()
    _sign_in(front)
    # Through nginx (round robin over both), and on each server directly with the same cookies.
    assert all(_signed_in(front) for _ in range(4))
    for n in (0, 1):
        there = site.direct(n)
        there.cookies = dict(front.cookies)
        assert _signed_in(there), f"server {n} did not know the session"
    # Signing out on one server ends the session on the other too: it is a row in the database, not a process's.
    out = site.direct(0)
    out.cookies = dict(front.cookies)
    assert out.post_form("/logout", {}, "/assets").status in (302, 303)
    other = site.direct(1)
    other.cookies = dict(front.cookies)
    assert not _signed_in(other)


def test_the_report_limit_is_shared_and_counts_per_client(site):
    code = site.tag_code
    fields = {"category": "other", "description": "The hinge cracked."}

    def report(browser: Browser) -> int:
        return browser.post_form(f"/t/{code}/report", fields, f"/t/{code}").status

    # One client address, its reports sent to the two servers in turn: the limit counts them together.
    statuses = [report(site.direct(n % 2, client="198.51.100.9")) for n in range(REPORT_LIMIT + 1)]
    assert statuses[:REPORT_LIMIT] == [303] * REPORT_LIMIT and statuses[-1] == 429, statuses
    # Through nginx, clients at two addresses: the proxy's own address is never what gets counted.
    first = [report(site.through_nginx(source="127.0.0.5")) for _ in range(REPORT_LIMIT + 1)]
    assert first == [303] * REPORT_LIMIT + [429], first
    assert report(site.through_nginx(source="127.0.0.6")) == 303


def test_an_import_parked_by_one_server_is_applied_by_the_other_on_the_worker(site):
    admin = site.direct(0)
    _sign_in(admin)
    rows = ["Asset Tag,Serial Number,Model Name,Manufacturer,Status,Location"]
    rows += [f"PXY-{100 + i},PXYSN{i:05d},Chromebook 3110,Dell,Ready to Deploy,LHS" for i in range(25)]
    resp = admin.post_file("/imports/snipeit", "file", "assets.csv", ("\n".join(rows) + "\n").encode(), "/imports")
    assert resp.status == 303, resp.text[:800]
    token = resp.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    (run_id,) = site.sql("SELECT id FROM import_runs WHERE token = :t", t=token)[0]
    subject = f"import_run:{run_id}"

    def jobs() -> list[tuple]:
        return site.sql("SELECT kind, status, worker FROM jobs WHERE subject = :s ORDER BY created_at, id", s=subject)

    logs = [site.tmp / "worker.log"]
    _wait_for(lambda: [j for j in jobs() if j[1] == "done"], "the dry run did not finish on the worker", logs=logs)

    other = site.direct(1)
    other.cookies = dict(admin.cookies)
    page = f"/imports/runs/{token}"
    assert other.get(page).status == 200
    resp = other.post_form(f"{page}/apply", {}, page)
    assert resp.status in (200, 303), resp.text[:800]
    _wait_for(lambda: len([j for j in jobs() if j[1] == "done"]) == 2, "the apply did not finish", logs=logs)
    assert site.sql("SELECT count(*) FROM assets WHERE asset_tag LIKE 'PXY-%'") == [(25,)]
    # Both jobs ran on `rollcall worker`, not in either web server.
    workers = {worker.split(":")[1] for _kind, _status, worker in jobs()}
    assert workers == {str(site.worker_pid)}


def test_static_files_and_the_service_worker_are_cached_as_the_config_says(site):
    front = site.through_nginx()
    vendor = front.get("/static/js/vendor/htmx-2.0.11.min.js", **{"Accept-Encoding": "gzip"})
    assert vendor.status == 200
    assert vendor.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert vendor.headers["Content-Encoding"] == "gzip" and "htmx" in vendor.text

    own = front.get("/static/js/app.js", **{"Accept-Encoding": "gzip"})
    assert own.status == 200 and own.headers["Cache-Control"] == "no-cache"
    etag = own.headers["ETag"]
    assert front.get("/static/js/app.js", **{"If-None-Match": etag}).status == 304

    sw = front.get("/sw.js", **{"Accept-Encoding": "gzip"})
    assert sw.status == 200 and sw.headers.get_all("Cache-Control") == ["no-cache, no-store, must-revalidate"]
    assert sw.headers["Service-Worker-Allowed"] == "/" and "Expires" not in sw.headers
    assert sw.headers["Content-Encoding"] == "gzip" and "__VERSION__" not in sw.text

    wasm = front.get("/static/js/vendor/zxing-wasm-3.1.3/zxing_reader.wasm")
    assert wasm.headers["Content-Type"] == "application/wasm"


def test_plain_http_goes_to_https_and_metrics_stay_inside(site):
    plain = Browser("127.0.0.1", site.plain).get("/assets?q=1")
    assert plain.status == 301 and plain.headers["Location"] == "https://127.0.0.1/assets?q=1"
    front = site.through_nginx()
    assert front.get("/metrics").status == 404
    front.get("/healthz")
    metrics = site.direct(0).get("/metrics")  # Prometheus reads each server on its own port
    assert metrics.status == 200
    assert 'rollcall_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics.text
    assert "rollcall_queue_pending" in metrics.text
    # The workers' counts live in the server's own multiprocess folder, which `rollcall serve` emptied at start.
    assert list((site.tmp / "metrics-0").glob("counter_*.db"))


def test_readyz_through_the_proxy_sees_redis_and_the_queue(site):
    resp = site.through_nginx().get("/readyz")
    body = json.loads(resp.text)
    assert resp.status == 200, body
    assert set(body["checks"]) == {"database", "rate_limits", "queue"}


def test_forwarded_headers_reach_the_app_and_its_logs(site):
    front = site.through_nginx(source="127.0.0.7")
    resp = front.get("/healthz")
    request_id = resp.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)  # nginx's $request_id, passed on and sent back

    def logged() -> dict | None:
        for _port, log in site.servers:
            for line in log.read_text(errors="replace").splitlines():
                if request_id in line and line.startswith("{"):
                    return json.loads(line)
        return None

    line = _wait_for(logged, "no JSON log line carries the request id")
    assert line["route"] == "/healthz" and line["status"] == 200
    assert line["remote_addr"] == "127.0.0.7"  # the client nginx saw, not nginx itself
    # With JSON logs, gunicorn's own access log is off: its lines would say the same again, unstructured.
    access_line = re.compile(r'"GET /\S* HTTP/1\.[01]" \d{3} ')
    assert not any(access_line.search(log.read_text(errors="replace")) for _port, log in site.servers)
    # The app sees https (X-Forwarded-Proto), so a form posted from a plain-http page is refused by CSRF's
    # referrer check, while the https page's own form passes (the session test signs in that way).
    token = CSRF_RE.search(front.get("/login").text).group(1)
    body = urllib.parse.urlencode({"csrf_token": token, "email": ADMIN, "password": "x"}).encode()
    refused = front.request(
        "POST", "/login", body,
        {"Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://127.0.0.1:{site.https}/login"},
    )  # fmt: skip
    assert refused.status == 400
