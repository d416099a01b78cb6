"""Offline sync figures: ingest rate of scan events on SQLite beside raw sqlite3 executemany, page weight (JS + CSS,
gzip) of /scan and /assets, and the time of a navigation served by the service worker with no network."""

from __future__ import annotations

import gc
import gzip
import json
import re
import shutil
import sqlite3
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import bench_app, report

EVENTS = 10_000
BATCH = 500
RUNS = 3
DEMO_ASSETS = 3000


def _setup(app) -> tuple[str, list[tuple[str, str]], list[str]]:
    """The demo district with a bearer token for an aide of LHS; LHS's devices (tag, home room) and rooms."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Asset, Campus, Role, Room, User, Via
    from app.services import demo
    from app.services.users import issue_token

    with app.app_context():
        db.create_all()
        demo.seed(n_assets=DEMO_ASSETS, seed=1)
        lhs = db.session.scalar(sa.select(Campus).where(Campus.code == "LHS"))
        user = User(email="bench.aide@example.org", name="Bench Aide", role=Role.aide, campuses=[lhs])
        db.session.add(user)
        db.session.flush()
        token = issue_token(user, by=None, via=Via.cli)
        db.session.commit()
        codes = dict(db.session.execute(sa.select(Room.id, Room.code).where(Room.campus_id == lhs.id)).all())
        devices = [
            (tag, codes[room_id])
            for tag, room_id in db.session.execute(
                sa.select(Asset.asset_tag, Asset.home_room_id).where(
                    Asset.campus_id == lhs.id, Asset.home_room_id.is_not(None)
                )
            )
        ]
    return token, devices, sorted(codes.values())


def _ingest_rate(client, headers, events: list[dict]) -> float:
    """Events per second the server takes in; the phone's side (encoding the batches, reading the answers) is
    done outside the clock, and every answer is checked afterwards."""
    bodies = [
        json.dumps({"client_id": "bench", "events": events[offset : offset + BATCH]})
        for offset in range(0, len(events), BATCH)
    ]
    headers = {**headers, "Content-Type": "application/json"}
    started = time.perf_counter()
    responses = [client.post("/api/v1/sync", data=body, headers=headers) for body in bodies]
    rate = len(events) / (time.perf_counter() - started)
    for resp in responses:
        results = resp.get_json()["results"]
        assert resp.status_code == 200 and all(r["status"] == "applied" for r in results), results[:2]
    return rate


def ingest() -> None:
    """10,000 scan events in batches of 500 through POST /api/v1/sync, against raw executemany of as many rows.

    Two kinds of scans: rounds (each device seen where it belongs, as in a room audit: sightings and last-seen
    move, nothing else) and moves (each scan finds the device in another room: the activity log gets an entry per
    scan too, the most a scan costs).
    """
    app, folder = bench_app("sync")
    token, devices, rooms = _setup(app)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    start_at = datetime.now(UTC) - timedelta(days=1)
    clock = iter(range(10**9))

    def event(tag: str, room: str) -> dict:
        return {
            "id": str(uuid.uuid4()),
            "type": "scan",
            "at": (start_at + timedelta(milliseconds=next(clock))).isoformat(),
            "data": {"tag": tag, "room": room},
        }

    # Put every device in its home room first, so that rounds find them there.
    _ingest_rate(client, headers, [event(tag, home) for tag, home in devices])
    # As `rollcall serve` does in each worker once the app is loaded (app/serving.py).
    gc.collect()
    gc.freeze()
    scenarios = {
        "rounds": lambda run, i: event(*devices[i % len(devices)]),
        "moves": lambda run, i: event(devices[(i * 7) % len(devices)][0], rooms[(i + run + 1) % len(rooms)]),
    }
    for name, make in scenarios.items():
        rates = [_ingest_rate(client, headers, [make(run, i) for i in range(EVENTS)]) for run in range(RUNS)]
        report(
            f"sync ingest, {EVENTS:,} scans ({name}) in batches of {BATCH} (SQLite)",
            {"median_events_per_s": statistics.median(rates), "min": min(rates), "max": max(rates)},
        )
    gc.unfreeze()

    raw_rates = []
    for run in range(RUNS):
        path = folder / f"raw-{run}.sqlite3"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT, user_id INTEGER, client_id TEXT, status TEXT,"
            " at TEXT, received_at TEXT, flagged INTEGER)"
        )
        now = datetime.now(UTC).isoformat()
        rows = [(str(uuid.uuid4()), "scan", 1, "bench", "applied", now, now, 0) for _ in range(EVENTS)]
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
        raw_rates.append(EVENTS / (time.perf_counter() - started))
        conn.close()
    report(
        f"raw sqlite3 executemany, {EVENTS:,} rows, one transaction",
        {"median_rows_per_s": statistics.median(raw_rates), "min": min(raw_rates), "max": max(raw_rates)},
    )
    shutil.rmtree(folder, ignore_errors=True)


IMPORT_RE = re.compile(r"""(?:^|\n)\s*import\s+(?:[^'";]*?\s+from\s+)?["']([^"']+)["']""")
SCRIPT_RE = re.compile(r'<script[^>]+src="([^"]+)"')
STYLE_RE = re.compile(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"|<link[^>]+href="([^"]+)"[^>]+rel="stylesheet"')


def _weight(client, path: str) -> tuple[int, int, list[str]]:
    """Bytes (raw, gzip) of the CSS and JS a page loads, following static ES module imports."""
    html = client.get(path).get_data(as_text=True)
    queue = SCRIPT_RE.findall(html) + [a or b for a, b in STYLE_RE.findall(html)]
    seen: list[str] = []
    raw = zipped = 0
    while queue:
        url = queue.pop(0).split("?")[0]
        if url in seen:
            continue
        seen.append(url)
        body = client.get(url).get_data()
        raw += len(body)
        zipped += len(gzip.compress(body, 6))
        if url.endswith(".js"):
            base = url.rsplit("/", 1)[0]
            for target in IMPORT_RE.findall(body.decode("utf-8", "replace")):
                if target.startswith("./"):
                    queue.append(f"{base}/{target[2:]}")
                elif target.startswith("/"):
                    queue.append(target)
    return raw, zipped, seen


def page_weight() -> None:
    """JS + CSS (gzip) on /scan and on the asset list; the camera's scanner library loads on demand and is not in it."""
    app, folder = bench_app("sync-weight")
    _setup(app)
    client = app.test_client()
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import User
    from app.services.users import start_session

    with app.app_context():
        session_id = start_session(db.session.scalar(sa.select(User).where(User.email == "aide.lhs@mvusd.example")))
        db.session.commit()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    for path in ("/scan", "/assets"):
        raw, zipped, files = _weight(client, path)
        report(f"JS + CSS on {path} ({len(files)} files)", {"gzip_kb": zipped / 1024, "raw_kb": raw / 1024})
    shutil.rmtree(folder, ignore_errors=True)


def offline_navigation() -> None:
    """Reload /scan with the network off (served by the worker) against online reloads, in headless Chromium."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("offline navigation: playwright is not installed; skipped")
        return
    from werkzeug.serving import make_server

    from app.services.demo import DEMO_PASSWORD

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        print("offline navigation: no chromium; skipped")
        return
    app, folder = bench_app("sync-offline")
    # The sign-in form carries its CSRF token only when CSRF is on, and the app checks every POST.
    app.config["WTF_CSRF_ENABLED"] = True
    _setup(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    timing = """() => { const n = performance.getEntriesByType("navigation")[0];
        return {response: n.responseEnd - n.startTime, dcl: n.domContentLoadedEventEnd - n.startTime}; }"""
    try:
        with sync_playwright() as pw:
            args = ["--no-sandbox", "--disable-gpu"]
            browser = pw.chromium.launch(executable_path=chromium, headless=True, args=args)
            context = browser.new_context(base_url=base, viewport={"width": 390, "height": 844}, is_mobile=True)
            page = context.new_page()
            page.goto("/login?next=/scan")
            page.get_by_label("Email").fill("aide.lhs@mvusd.example")
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/scan")
            # Polled with evaluate: wait_for_function compiles its predicate in the page, which the CSP refuses.
            deadline = time.monotonic() + 60
            ready = """async () => navigator.serviceWorker.controller !== null
                && !!(await caches.match(location.origin + '/scan'))"""
            while not page.evaluate(ready):
                assert time.monotonic() < deadline, "the worker never took the page or never kept /scan"
                page.wait_for_timeout(100)
            figures = {}
            for label, offline in (("online", False), ("offline", True)):
                context.set_offline(offline)
                samples = []
                for _ in range(15):
                    page.reload(wait_until="domcontentloaded")
                    samples.append(page.evaluate(timing))
                figures[label] = samples
            context.set_offline(False)
            browser.close()
    finally:
        server.shutdown()
        thread.join(10)
        shutil.rmtree(folder, ignore_errors=True)
    for label, samples in figures.items():
        report(
            f"navigation to /scan, {label} (15 reloads)",
            {
                "median_response_ms": statistics.median(s["response"] for s in samples),
                "median_dcl_ms": statistics.median(s["dcl"] for s in samples),
            },
        )


def run() -> None:
    ingest()
    page_weight()
    offline_navigation()


if __name__ == "__main__":
    run()
