"""Fault test: gunicorn with 2 workers on SQLite, clients replaying batches, one worker SIGKILLed mid-run.

At the end every distinct event is stored exactly once, and so is its observation.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask_migrate import upgrade

from app import create_app
from app.config import TestConfig
from app.extensions import db
from app.models import Role, Via
from app.services.users import issue_token
from tests import factories
from tests.servers import rollcall_server

pytestmark = pytest.mark.slow

CLIENTS = 4
EVENTS_PER_CLIENT = 150
BATCH = 25
DEADLINE_S = 120


def children_of(pid: int) -> set[int]:
    """Process ids whose parent is pid (gunicorn's workers under the master)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces; fields after the closing parenthesis are fixed.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.add(int(entry))
    return found


def post(url: str, token: str, body: dict) -> list[dict] | None:
    """POST a batch; None when the connection broke or the server failed (the client will replay)."""
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return json.loads(resp.read())["results"]
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError):
        return None


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc to find gunicorn's workers")
def test_sigkill_a_worker_mid_run_every_event_stored_exactly_once(tmp_path):
    db_file = tmp_path / "fault.sqlite3"
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{db_file}",
        SECRET_KEY=secrets.token_hex(32),
        ROLLCALL_ENV="production",
    )
    env.pop("TEST_DATABASE_URL", None)

    # The schema comes from the migrations, as on a real server; the data from the factories (in-process: fast).
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{db_file}"

    app = create_app(Config)
    with app.app_context():
        upgrade()
        lhs = factories.make_campus("LHS", "Lincoln High")
        rooms = [factories.make_room(lhs, f"LHS-{100 + n}").code for n in range(6)]
        tags = [factories.make_asset(lhs, asset_tag=f"LHS-{5000 + n}").asset_tag for n in range(40)]
        token = issue_token(factories.make_user(Role.tech, "LHS"), by=None, via=Via.cli)
        db.session.commit()
        db.engine.dispose()
    with rollcall_server(env, tmp_path / "serve.log") as (base, server):
        deadline = time.monotonic() + 30
        while len(children_of(server.pid)) < 2:
            assert time.monotonic() < deadline, "gunicorn did not start 2 workers"
            time.sleep(0.1)
        workers_before = children_of(server.pid)

        now = datetime.now(UTC).isoformat()
        plans = [
            [
                {
                    "id": str(uuid.uuid4()),
                    "type": "scan",
                    "at": now,
                    "data": {"tag": tags[(c * 37 + i) % len(tags)], "room": rooms[i % len(rooms)]},
                }
                for i in range(EVENTS_PER_CLIENT)
            ]
            for c in range(CLIENTS)
        ]
        acknowledged = [0] * CLIENTS
        failures = [0] * CLIENTS
        errors: list[str] = []
        stop_at = time.monotonic() + DEADLINE_S

        def client(n: int) -> None:
            events = plans[n]
            position = 0
            previous: list[dict] = []
            while position < len(events) and time.monotonic() < stop_at:
                fresh = events[position : position + BATCH]
                # Replays: the tail of the last batch rides along again, as a phone does after a lost answer.
                batch = previous[-5:] + fresh
                results = post(base + "/api/v1/sync", token, {"client_id": f"fault-{n}", "events": batch})
                if results is None:
                    failures[n] += 1
                    time.sleep(0.05)
                    continue  # same batch again: its events may or may not have been stored
                statuses = {r["id"]: r["status"] for r in results}
                if any(statuses.get(e["id"]) not in ("applied", "duplicate") for e in batch):
                    errors.append(f"client {n}: {results}")
                    return
                previous = fresh
                position += len(fresh)
                acknowledged[n] = position

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        total = CLIENTS * EVENTS_PER_CLIENT
        deadline = time.monotonic() + 60
        while sum(acknowledged) < total // 3:
            assert time.monotonic() < deadline, "clients made no progress"
            time.sleep(0.01)
        victim = sorted(workers_before)[0]
        acked_at_kill = sum(acknowledged)
        os.kill(victim, signal.SIGKILL)
        for t in threads:
            t.join(timeout=DEADLINE_S + 10)
        assert not any(t.is_alive() for t in threads)
        assert not errors, errors[:2]
        assert acknowledged == [EVENTS_PER_CLIENT] * CLIENTS
        assert acked_at_kill < total, "the worker died mid-run, not after it"
        # The master replaced the killed worker.
        deadline = time.monotonic() + 30
        while not (len(children_of(server.pid)) >= 2 and victim not in children_of(server.pid)):
            assert time.monotonic() < deadline, "gunicorn did not replace the killed worker"
            time.sleep(0.1)

    ids = {e["id"] for plan in plans for e in plan}
    with sqlite3.connect(db_file) as conn:
        stored = [i for (i,) in conn.execute("SELECT id FROM sync_events")]
        observed = [
            e for (e,) in conn.execute("SELECT event_id FROM observations WHERE event_id IS NOT NULL ORDER BY id")
        ]
        total_obs = conn.execute("SELECT count(*) FROM observations").fetchone()[0]
    assert len(stored) == len(set(stored)) == len(ids) and set(stored) == ids
    assert len(observed) == len(set(observed)) == len(ids) and set(observed) == ids
    assert total_obs == len(ids)
