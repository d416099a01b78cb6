"""Backup and restore at scale: `rollcall backup` of the 200,000-device demo district on SQLite, then a restore of
that file into an empty database, with rows per second and the file's size."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import sqlalchemy as sa

from bench.common import bench_app, report

ASSETS = int(os.environ.get("BENCH_ASSETS", "200000"))
# Reuse a database seeded by an earlier run (seeding 200,000 devices takes about a minute): BENCH_DB=path.
REUSE = os.environ.get("BENCH_DB")


def _rows(app) -> int:
    from app.extensions import db

    with app.app_context():
        return sum(db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in db.metadata.sorted_tables)


def run() -> None:
    from app.extensions import db
    from app.services import backup, demo

    source, folder = bench_app("backup-source", database=Path(REUSE) if REUSE else None)
    with source.app_context():
        if not REUSE:
            db.create_all()
            demo.seed(n_assets=ASSETS, seed=1)
            db.session.commit()
    rows = _rows(source)
    path = folder / "district.rollcall.gz"
    with source.app_context():
        started = time.perf_counter()
        summary = backup.backup(path)
        took = time.perf_counter() - started
    assert sum(summary.rows.values()) == rows
    report(
        f"backup, {rows:,} rows ({ASSETS:,} devices)",
        {"seconds": took, "rows_per_s": rows / took, "file_mb": path.stat().st_size / 2**20},
    )

    target, target_folder = bench_app("backup-target")
    with target.app_context():
        db.create_all()
        started = time.perf_counter()
        backup.restore(path)
        db.session.commit()
        took = time.perf_counter() - started
    assert _rows(target) == rows
    report(f"restore into an empty database, {rows:,} rows", {"seconds": took, "rows_per_s": rows / took})
    for place in {folder, target_folder}:
        shutil.rmtree(place, ignore_errors=True)
