"""Operations: /healthz, /readyz and each of its failures, request ids and JSON request logs, /metrics and who may
read it, and ProxyFix from ROLLCALL_PROXY_HOPS."""

from __future__ import annotations

import json
import logging
import socket
import uuid
from datetime import UTC, datetime

import pytest
from flask import request, url_for
from prometheus_client import REGISTRY

from app import config as config_module
from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Job, JobStatus, Role, utcnow
from tests import factories
from tests.conftest import CsrfClient


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def make_app(database_url):
    """An app on the suite's database with some settings of its own."""

    def build(**settings):
        config = type("Config", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url, **settings})
        made = create_app(config)
        made.test_client_class = CsrfClient
        return made

    return build


@pytest.fixture
def restore_logging():
    """JSON logging adds a handler to the root logger; take it away again so later tests log as before."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis(socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


# --- /healthz and /readyz -------------------------------------------------------------------------------------


def test_healthz_and_readyz_answer_without_signing_in(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    resp = client.get("/readyz")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["status"] == "ok" and "failed" not in body
    assert set(body["checks"]) == {"database", "queue"}  # in-memory rate limits have nothing to reach
    assert body["checks"]["database"]["ok"] is True and body["checks"]["queue"]["ok"] is True
    assert body["checks"]["queue"]["pending"] == 0
    assert resp.headers["Cache-Control"] == "no-store"


def test_readyz_names_a_queue_it_cannot_reach(make_app):
    port = closed_port()
    app = make_app(QUEUE_IMMEDIATE=False, QUEUE_URL=f"redis://127.0.0.1:{port}/0", QUEUE_NAME=uuid.uuid4().hex)
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["status"] == "error" and body["failed"] == ["queue"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["queue"] == {"ok": False, "ms": body["checks"]["queue"]["ms"], "error": "ConnectionError"}
    assert str(port) not in resp.get_data(as_text=True)  # names what failed, not where it lives


def test_readyz_names_a_missing_sqlite_queue_directory(make_app, tmp_path):
    # huey's SQLite storage in a folder that is a file: the queue cannot be opened.
    (tmp_path / "not-a-dir").write_text("")
    app = make_app(QUEUE_IMMEDIATE=False, QUEUE_URL=f"sqlite:///{tmp_path / 'not-a-dir' / 'queue.db'}")
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503 and resp.get_json()["failed"] == ["queue"]


def test_readyz_names_rate_limit_storage_it_cannot_reach(make_app, monkeypatch):
    app = make_app()
    # The limiter is one object for the whole process, so its storage stays in memory here; the readiness check
    # reads the setting, as a server configured with it would.
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", f"redis://127.0.0.1:{closed_port()}")
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["failed"] == ["rate_limits"]
    assert body["checks"]["rate_limits"]["ok"] is False and body["checks"]["queue"]["ok"] is True


def test_readyz_reaches_a_real_redis_for_both(make_app, monkeypatch):
    if not _redis_up():
        pytest.skip("Redis is not answering on 127.0.0.1:6379")
    app = make_app(QUEUE_IMMEDIATE=False, QUEUE_URL="redis://127.0.0.1:6379/0", QUEUE_NAME=uuid.uuid4().hex)
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    resp = app.test_client().get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert set(body["checks"]) == {"database", "rate_limits", "queue"}
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_names_a_database_it_cannot_open(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}")
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["failed"] == ["database"]
    assert app.test_client().get("/healthz").status_code == 503


# --- request ids and logs -------------------------------------------------------------------------------------


def test_every_answer_carries_a_request_id(client):
    given = client.get("/healthz", headers={"X-Request-ID": "0123456789abcdef0123456789abcdef"})
    assert given.headers["X-Request-ID"] == "0123456789abcdef0123456789abcdef"
    made = client.get("/healthz").headers["X-Request-ID"]
    bad = client.get("/healthz", headers={"X-Request-ID": 'x" injected=1'}).headers["X-Request-ID"]
    assert len(made) == len(bad) == 32 and made != bad and '"' not in bad


def test_default_logs_write_no_json_request_lines(client, capsys):
    client.get("/healthz")
    assert '"route"' not in capsys.readouterr().err


def test_json_logs_one_line_per_request(make_app, capsys, restore_logging, client, login_as):
    with client.application.app_context():
        factories.make_asset(factories.make_campus("LHS"), asset_tag="LHS-7777")
        db.session.commit()
    user_id = login_as(Role.tech, "LHS").id
    app = make_app(LOG_FORMAT="json")
    signed_in, client = client, app.test_client()
    # The same key signs both apps' cookies: the session made on the suite's app is good on this one.
    client.set_cookie("session", signed_in.get_cookie("session").value)
    capsys.readouterr()
    resp = client.get("/assets/LHS-7777", headers={"X-Request-ID": "req-0001-from-nginx"})
    assert resp.status_code == 200
    app.test_client().get("/healthz")  # nobody signed in
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    requests_logged = [line for line in lines if line["logger"] == "rollcall.request"]
    assert len(requests_logged) == 2
    page, health = requests_logged
    assert page["request_id"] == "req-0001-from-nginx" == resp.headers["X-Request-ID"]
    assert page["route"] == "/assets/<asset_tag>"  # the rule, never the path with its tag
    assert (page["method"], page["status"], page["user_id"]) == ("GET", 200, user_id)
    assert isinstance(page["duration_ms"], float) and page["duration_ms"] > 0
    assert page["level"] == "INFO" and page["time"].endswith("Z")
    assert health["route"] == "/healthz" and health["user_id"] is None
    # Other records go out as JSON too.
    logging.getLogger("app.test").warning("a warning")
    assert json.loads(capsys.readouterr().err.strip().splitlines()[-1])["message"] == "a warning"


def test_settings_refuse_unknown_values():
    with pytest.raises(ValueError, match="ROLLCALL_LOG_FORMAT"):
        config_module.from_env({"ROLLCALL_LOG_FORMAT": "xml", "ROLLCALL_ENV": "test"})
    with pytest.raises(ValueError, match="ROLLCALL_PROXY_HOPS"):
        config_module.from_env({"ROLLCALL_PROXY_HOPS": "one", "ROLLCALL_ENV": "test"})
    settings = config_module.from_env({"ROLLCALL_PROXY_HOPS": "1", "ROLLCALL_LOG_FORMAT": "JSON"})
    assert (settings["PROXY_HOPS"], settings["LOG_FORMAT"]) == (1, "json")


# --- /metrics -------------------------------------------------------------------------------------------------


def test_metrics_are_off_unless_configured(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_for_allowed_networks_only(make_app):
    app = make_app(METRICS_ALLOW="10.0.0.0/8, 192.0.2.7")
    client = app.test_client()
    assert client.get("/metrics").status_code == 403  # 127.0.0.1 is not on the list
    client.get("/healthz")
    resp = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"})
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    text = resp.get_data(as_text=True)
    assert 'rollcall_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'rollcall_http_requests_total{method="GET",route="/metrics",status="403"}' in text
    assert "rollcall_http_request_duration_seconds_bucket" in text
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.8"}).status_code == 403


def test_metrics_with_a_token(make_app):
    client = make_app(METRICS_TOKEN="scrape-" + uuid.uuid4().hex).test_client()
    token = client.application.config["METRICS_TOKEN"]
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_a_mistyped_network_stops_the_start(make_app):
    with pytest.raises(ValueError, match="ROLLCALL_METRICS_ALLOW"):
        make_app(METRICS_ALLOW="10.0.0.0/33")


def test_metrics_count_sync_events_and_read_jobs_and_the_queue(make_app, aide_token):
    app = make_app(METRICS_ALLOW="127.0.0.1")
    client = app.test_client()

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = sample("rollcall_sync_events_total", type="scan", status="applied")
    unknown_before = sample("rollcall_sync_events_total", type="unknown", status="rejected")
    now = datetime.now(UTC).isoformat()
    events = [
        {"id": str(uuid.uuid4()), "type": "scan", "at": now, "data": {"tag": "LHS-1000", "room": "LHS-101"}},
        {"id": str(uuid.uuid4()), "type": "made.up", "at": now, "data": {}},
    ]
    resp = client.post(
        "/api/v1/sync", json={"client_id": "t", "events": events}, headers={"Authorization": f"Bearer {aide_token}"}
    )
    assert [r["status"] for r in resp.get_json()["results"]] == ["applied", "rejected"]
    assert sample("rollcall_sync_events_total", type="scan", status="applied") == before + 1
    assert sample("rollcall_sync_events_total", type="unknown", status="rejected") == unknown_before + 1

    with app.app_context():
        for status in (JobStatus.done, JobStatus.done, JobStatus.failed):
            db.session.add(Job(kind="import.check", status=status, params={}, created_at=utcnow()))
        db.session.commit()
    text = client.get("/metrics").get_data(as_text=True)
    assert 'rollcall_jobs{kind="import.check",status="done"} 2.0' in text
    assert 'rollcall_jobs{kind="import.check",status="failed"} 1.0' in text
    assert "rollcall_queue_pending 0.0" in text
    assert 'rollcall_sync_events_total{status="applied",type="scan"}' in text


# --- ProxyFix -------------------------------------------------------------------------------------------------

FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "rollcall.example.org"}


def test_proxy_hops_trust_the_proxys_headers(make_app):
    client = make_app(PROXY_HOPS=1).test_client()
    with client:
        client.get("/healthz", headers=FORWARDED)
        assert request.remote_addr == "203.0.113.7"
        assert url_for("ops.readyz", _external=True) == "https://rollcall.example.org/readyz"


def test_without_proxy_hops_forwarded_headers_are_ignored(client):
    with client:
        client.get("/healthz", headers=FORWARDED)
        assert request.remote_addr == "127.0.0.1"
        assert url_for("ops.readyz", _external=True) == "http://localhost/readyz"
