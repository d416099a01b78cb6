"""Ten desks lend one loaner at the same instant, twenty times over, through the sync API of gunicorn with two workers.

Exactly one checkout wins each round, the others are told who has the device, and nothing answers 500. The test
runs on SQLite, or on PostgreSQL when TEST_DATABASE_URL is set; the server is a real `rollcall serve`.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.servers import fresh_database, rollcall_server

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ROLLCALL = ROOT / ".venv" / "bin" / "rollcall"
DESKS = 10
ROUNDS = 20
EMAIL = "race-desk@example.org"


@pytest.fixture
def server_db(tmp_path):
    with fresh_database(tmp_path, "race") as url:
        yield url


def _env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ROLLCALL_ENV="development",
        DATABASE_URL=database_url,
        # The checkout under test, whichever directory it sits in.
        PYTHONPATH=str(ROOT),
        RATELIMIT_STORAGE_URI="memory://",
    )
    env.pop("TEST_DATABASE_URL", None)
    return env


def _seed(database_url: str) -> None:
    """A campus, one loaner, a person per desk and a librarian, written through the models."""
    from app import create_app
    from app.config import Config
    from app.extensions import db
    from app.models import AssetStatus, Role
    from tests import factories

    class Seed(Config):
        ENV_NAME = "development"
        SECRET_KEY = "race-test-secret-key-not-for-production"
        SQLALCHEMY_DATABASE_URI = database_url

    app = create_app(Seed)
    with app.app_context():
        lhs = factories.make_campus("LHS")
        factories.make_asset(lhs, asset_tag="LHS-L99", serial="RACE000001", status=AssetStatus.loaner)
        for n in range(DESKS):
            factories.make_person(lhs, f"Student {n}", external_id=f"LHS7000{n:02d}")
        factories.make_user(Role.librarian, "LHS", email=EMAIL)
        db.session.commit()
        db.engine.dispose()


def _call(port: int, token: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            method,
            path,
            body=json.dumps(body) if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def _sync(port: int, token: str, client_id: str, kind: str, data: dict) -> tuple[int, dict]:
    at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    event = {"id": str(uuid.uuid4()), "type": kind, "at": at, "data": data}
    return _call(port, token, "POST", "/api/v1/sync", {"client_id": client_id, "events": [event]})


def test_ten_concurrent_checkouts_one_winner(server_db, tmp_path):
    env = _env(server_db)
    subprocess.run([str(ROLLCALL), "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)
    _seed(server_db)
    token = (
        subprocess.run(
            [str(ROLLCALL), "tokens", "create", EMAIL], env=env, cwd=ROOT, check=True, capture_output=True, timeout=60
        )
        .stdout.decode()
        .strip()
    )
    assert token.startswith("rc_")
    with rollcall_server(env, tmp_path / "server.log") as (base, _proc):
        port = int(base.rsplit(":", 1)[1])
        for round_no in range(ROUNDS):
            barrier = threading.Barrier(DESKS)
            answers: list[tuple[int, dict]] = [(0, {})] * DESKS

            def desk(n: int, barrier: threading.Barrier = barrier, answers: list = answers) -> None:
                # Each desk is a phone flushing its outbox: one loan.checkout event through the sync door.
                body = {"asset": "LHS-L99", "person": f"LHS7000{n:02d}"}
                barrier.wait(timeout=30)
                answers[n] = _sync(port, token, f"desk-{n}", "loan.checkout", body)

            threads = [threading.Thread(target=desk, args=(n,)) for n in range(DESKS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            statuses = [status for status, _ in answers]
            assert statuses == [200] * DESKS, f"round {round_no}: HTTP {statuses}"
            results = [body["results"][0] for _, body in answers]
            applied = [r for r in results if r["status"] == "applied"]
            assert len(applied) == 1, f"round {round_no}: {[r['status'] for r in results]}"
            winner = applied[0]["info"]["person"]
            for r in results:
                if r is not applied[0]:
                    assert r == {
                        "id": r["id"],
                        "status": "rejected",
                        "reason": f"LHS-L99 is already on loan to {winner}; check it in first.",
                    }
            status, body = _call(port, token, "GET", "/api/v1/loans?open=1")
            assert status == 200 and [loan["person"]["name"] for loan in body["items"]] == [winner]
            status, body = _sync(port, token, "desk-0", "loan.checkin", {"asset": "LHS-L99"})
            assert status == 200 and body["results"][0]["status"] == "applied", f"round {round_no}: {body}"
        status, body = _call(port, token, "GET", "/api/v1/loans?per_page=200")
        assert status == 200 and body["total"] == ROUNDS
