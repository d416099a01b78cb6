"""Visibility at scale: a 100,000-row Google Admin import and the dashboard's server time at 200,000 devices."""

from __future__ import annotations

import csv
import io
import os
import random
import time
from datetime import datetime, timedelta

import sqlalchemy as sa

from bench.common import bench_app, report, timed

ASSETS = int(os.environ.get("BENCH_ASSETS", "200000"))
# Reuse a database seeded by an earlier run (seeding 200,000 devices takes minutes): BENCH_DB=path/to.sqlite3.
REUSE = os.environ.get("BENCH_DB")
GOOGLE_ROWS = int(os.environ.get("BENCH_GOOGLE_ROWS", "100000"))
SYNC_BASE = datetime(2026, 11, 1)
GAM_HEADER = [
    "deviceId",
    "serialNumber",
    "status",
    "model",
    "orgUnitPath",
    "annotatedUser",
    "annotatedAssetId",
    "annotatedLocation",
    "notes",
    "lastSync",
    "lastEnrollmentTime",
    "osVersion",
    "macAddress",
    "autoUpdateThrough",
    "recentUsers.0.email",
    "recentUsers.0.type",
]


def google_export(rows: list[tuple], n: int, seed: int = 7, week: int = 0) -> bytes:
    """A `gam print cros` file for n of the given (serial, tag, model, aue, email) rows; `week` moves every
    last sync that many weeks later (next week's download)."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(GAM_HEADER)
    for i, (serial, tag, model, aue, email) in enumerate(rows[:n]):
        user = email if rng.random() < 0.9 else f"someone{i}@students.mvusd.example"
        writer.writerow(
            [
                f"{i:016x}-dev",
                serial.lower() if i % 50 == 0 else serial,
                "ACTIVE",
                model,
                f"/Students/{tag[:3]}",
                email or "",
                tag,
                f"{tag[:3]} Room {100 + i % 30}",
                "",
                (SYNC_BASE + timedelta(days=i % 28 + 7 * week, hours=i % 24)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "2025-08-20T15:02:11.000Z",
                "141.0.0",
                f"{i:012x}",
                aue.isoformat() if aue else "",
                user or "",
                "USER_TYPE_MANAGED",
            ]
        )
    return out.getvalue().encode()


def run() -> None:
    app, folder = _reuse(REUSE) if REUSE else bench_app("visibility")
    from app.extensions import db
    from app.models import Asset, DeviceModel, Person, User
    from app.services import demo, google_admin
    from app.services.users import start_session

    with app.app_context():
        db.create_all()
        if not demo.has_data():
            started = time.perf_counter()
            demo.seed(n_assets=ASSETS, seed=1)
            db.session.commit()
            print(f"seed-demo --assets {ASSETS}: {time.perf_counter() - started:.1f} s", flush=True)
        rows = [
            (serial, tag, f"{maker} {name}", aue, email)
            for serial, tag, maker, name, aue, email in db.session.execute(
                sa.select(
                    Asset.serial,
                    Asset.asset_tag,
                    DeviceModel.manufacturer,
                    DeviceModel.name,
                    DeviceModel.aue_date,
                    Person.email,
                )
                .join(DeviceModel, Asset.model_id == DeviceModel.id)
                .outerjoin(Person, Asset.assigned_to_id == Person.id)
                .order_by(Asset.id)
            )
        ]
        data = google_export(rows, GOOGLE_ROWS)
        next_week = google_export(rows, GOOGLE_ROWS, week=1)
        print(f"Google export: {GOOGLE_ROWS:,} rows, {len(data) / 1e6:.1f} MB", flush=True)
        admin = db.session.scalar(sa.select(User).where(User.email == "admin@mvusd.example"))

        for label, dry, payload in (
            ("dry run", True, data),
            ("apply", False, data),
            ("apply again (no changes)", False, data),
            ("apply next week's file (every sync newer)", False, next_week),
        ):
            started = time.perf_counter()
            result = google_admin.run(payload, by=admin, dry_run=dry, filename="bench.csv")
            db.session.commit()
            seconds = time.perf_counter() - started
            print(
                f"Google import {GOOGLE_ROWS:,} rows, {label}: {seconds:.1f} s "
                f"({result.updated:,} updated, {result.unchanged:,} unchanged, {len(result.errors)} errors, "
                f"{result.mismatch_count:,} mismatches)",
                flush=True,
            )
        admin_id = admin.id
        tech_id = db.session.scalar(sa.select(User.id).where(User.email == "tech@mvusd.example"))
        viewer_id = db.session.scalar(sa.select(User.id).where(User.email == "principal.lhs@mvusd.example"))

    client = app.test_client()
    for user_id, who in (
        (admin_id, "district admin"),
        (tech_id, "tech (3 campuses)"),
        (viewer_id, "viewer (1 campus)"),
    ):
        with app.app_context():
            session_id = start_session(db.session.get(User, user_id))
            db.session.commit()
        with client.session_transaction() as s:
            s["_user_id"] = session_id
        for label, url in (
            ("dashboard", "/"),
            ("closet finder", "/closet"),
            ("mismatch list", "/imports/google-admin/mismatches"),
        ):
            if "imports" in url and user_id != admin_id:
                continue  # the mismatch list names assignees: admins only

            def hit(url=url):
                resp = client.get(url)
                assert resp.status_code == 200, (url, resp.status_code)

            report(f"{who}: {label}", timed(hit, repeat=15, warmup=2))
    print(f"(database in {folder})")


def _reuse(path: str):
    """An app like bench_app's on an existing SQLite file."""
    from pathlib import Path

    from app import create_app
    from app.config import Config

    class ReuseConfig(Config):
        ENV_NAME = "development"
        SECRET_KEY = "bench-secret-key-not-for-production"
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{path}"
        WTF_CSRF_ENABLED = False
        RATELIMIT_ENABLED = False

    return create_app(ReuseConfig), Path(path).parent
