"""The live Google sync end to end: the real client libraries reading a 100,000-device fleet from the local fake
Directory API (334 pages), applied through the fleet core; then a full run that changes nothing, and an incremental
run for 1,000 changed devices. SQLite always; PostgreSQL too when BENCH_POSTGRES_URL (or TEST_DATABASE_URL) names
a server. Targets: full ≤ 60 s, incremental ≤ 5 s. Figures, not asserts."""

from __future__ import annotations

import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import bench_app, report

FLEET = int(os.environ.get("BENCH_GOOGLE_FLEET", "100000"))
CHANGED = 1000


def _sync(google_sync, **options) -> tuple[float, float, object]:
    from app.extensions import db

    started, cpu = time.perf_counter(), time.process_time()
    record = google_sync.run(google_sync.Options(**options), holder="bench")
    db.session.commit()
    # Wall time, and this process's CPU time (the fake's serving included): on a busy machine the second says more.
    return time.perf_counter() - started, time.process_time() - cpu, record


def _bench(label: str, app) -> None:
    from app.extensions import db
    from app.models.google import OrgUnitMapping
    from app.services import google_sync
    from tests import factories
    from tests.fake_directory import FakeDirectory, device

    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    with FakeDirectory() as fake, tempfile.TemporaryDirectory() as folder, app.app_context():
        db.create_all()
        _, key_file = fake.service_account(Path(folder))
        app.config.update(
            GOOGLE_CREDENTIALS=str(key_file),
            GOOGLE_ADMIN_EMAIL="it-admin@mvusd.example",
            GOOGLE_API_ENDPOINT=fake.url,
        )
        lhs = factories.make_campus("LHS", "Lincoln High")
        db.session.add(OrgUnitMapping(prefix="/Students/LHS", prefix_key="/students/lhs", campus_id=lhs.id))
        db.session.commit()
        fake.add_devices(device(n, synced=long_ago) for n in range(FLEET))

        seconds, cpu, first = _sync(google_sync, full=True)
        figures = {"s": seconds, "cpu_s": cpu, "pages": first.pages, "created": first.created}
        report(f"{label}: full, {FLEET:,} new devices", figures)
        seconds, cpu, again = _sync(google_sync, full=True)
        report(f"{label}: full again, nothing new", {"s": seconds, "cpu_s": cpu, "updated": again.updated})

        recent = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        for n in range(0, FLEET, max(FLEET // CHANGED, 1)):
            changed = {"lastSync": recent, "osVersion": "131.0.6778.1", "orgUnitPath": "/Students/LHS/A"}
            fake.devices[f"dev-{n:06d}"].update(changed)
        seconds, cpu, changes = _sync(google_sync)
        report(
            f"{label}: incremental, {CHANGED:,} changed",
            {"s": seconds, "cpu_s": cpu, "devices": changes.devices, "updated": changes.updated},
        )


def run() -> None:
    app, _ = bench_app("google_sync")
    _bench("SQLite", app)
    server = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_DATABASE_URL")
    if not server:
        report("PostgreSQL: skipped (set BENCH_POSTGRES_URL)", {})
        return
    from app import create_app
    from app.config import normalise_database_url
    from app.extensions import db
    from tests.servers import fresh_database

    with fresh_database(Path(tempfile.mkdtemp()), "bench_google") as url:
        # bench_app's settings, on the PostgreSQL database.
        pg_app = create_app(
            {
                "ENV_NAME": "development",
                "SECRET_KEY": "bench-secret-key-not-for-production",
                "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
                "WTF_CSRF_ENABLED": False,
                "RATELIMIT_ENABLED": False,
            }
        )
        _bench("PostgreSQL", pg_app)
        with pg_app.app_context():
            db.engine.dispose()
