"""Erasure at scale: erasing one student's personal data from the 200,000-device demo district on SQLite, where
every text and JSON column of every table is searched for them (each erase is rolled back, so the district is
the same for the next)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import sqlalchemy as sa

from bench.common import bench_app, report

ASSETS = int(os.environ.get("BENCH_ASSETS", "200000"))
# Reuse a database seeded by an earlier run (seeding 200,000 devices takes minutes): BENCH_DB=path/to.sqlite3.
REUSE = os.environ.get("BENCH_DB")
ERASES = 5


def run() -> None:
    app, folder = bench_app("privacy", database=Path(REUSE) if REUSE else None)
    from app.extensions import db
    from app.models import Asset, Assignment, Person, PersonKind, User, Via
    from app.services import activity, demo, privacy

    with app.app_context():
        if not REUSE:
            db.create_all()
            demo.seed(n_assets=ASSETS, seed=1)
            db.session.commit()
        rows = {
            t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in db.metadata.sorted_tables
            if t.name in ("assets", "people", "activity", "observations", "sync_events")
        }
        print(", ".join(f"{n:,} {name}" for name, n in rows.items()), flush=True)
        admin = db.session.scalar(sa.select(User).where(User.email == "admin@mvusd.example"))
        # Students who never had a device: nothing blocks their erasure.
        had = sa.select(Assignment.person_id)
        ids = db.session.scalars(
            sa.select(Person.id)
            .where(Person.kind == PersonKind.student, Person.id.not_in(had))
            .order_by(Person.id)
            .limit(ERASES)
        ).all()
        took = []
        for person_id in ids:
            person = db.session.get(Person, person_id)
            name = person.name
            # Someone wrote about them on a device and in the log, as in a real district.
            asset = db.session.get(Asset, person_id)
            asset.notes = f"Borrowed by {person.name} ({person.external_id})"
            activity.record("asset.update", f"Note about {person.name}", by=admin, via=Via.web, asset=asset)
            db.session.flush()
            started = time.perf_counter()
            privacy.erase(person, confirm=person.external_id, by=admin, via=Via.web)
            took.append(time.perf_counter() - started)
            assert name not in db.session.get(Asset, person_id).notes
            db.session.rollback()
    took.sort()
    report(
        f"erase one student, {ASSETS:,} devices",
        {"median_ms": took[len(took) // 2] * 1000, "max_ms": took[-1] * 1000, "min_ms": took[0] * 1000},
    )
    if not REUSE:
        shutil.rmtree(folder, ignore_errors=True)
