"""Snipe-IT files: time of a dry run and an apply of a large import, and peak memory (RSS) of streaming the devices
export and of reading a large CSV, each measured in a child process so its peak is its own. Reported, not asserted.

BENCH_SNIPE_ROWS (default 100,000) rows are imported into an empty district on SQLite, and on PostgreSQL too when
BENCH_PG_URL names a database to use (its tables are created and dropped); then the same devices are imported
again with every row's notes changed (an apply that updates each device). The export streams those devices
(BENCH_EXPORT_COPIES times over, default 10, so 100,000 devices make a 1,000,000-row export) to /dev/null;
the reader reads a BENCH_READ_ROWS-row file (default 1,000,000) row by row.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROWS = int(os.environ.get("BENCH_SNIPE_ROWS", "100000"))
COPIES = int(os.environ.get("BENCH_EXPORT_COPIES", "10"))
READ_ROWS = int(os.environ.get("BENCH_READ_ROWS", "1000000"))
PG = os.environ.get("BENCH_PG_URL")
HEADER = (
    "Asset Tag,Serial Number,Model Name,Manufacturer,Status,Location,Purchase Date,Purchase Cost,Warranty,Notes\r\n"
)


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def write_file(path: Path, rows: int, note: str = "note") -> None:
    """A Snipe-IT export of `rows` devices over three campuses, written as it goes."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for i in range(rows):
            campus = ("LHS", "JMS", "RES")[i % 3]
            out.write(
                f"{campus}-{i:07d},SNB{i:09d},Chromebook {i % 7},Acer,Ready to Deploy,{campus}-{100 + i % 40},"
                f'2023-07-{1 + i % 28:02d},{200 + i % 90}.{i % 100:02d},36,"{note}, {i}"\r\n'
            )


def _app(url: str):
    """A production-like app on this database."""
    from app import create_app
    from app.config import Config

    class BenchConfig(Config):
        ENV_NAME = "development"
        SECRET_KEY = "bench-secret-key-not-for-production"
        SQLALCHEMY_DATABASE_URI = url

    return create_app(BenchConfig)


def _import(path: str) -> tuple[Any, float, Any, float]:
    """A dry run and its approved apply of the file: (dry run report, its seconds, apply report, its seconds)."""
    from app.extensions import db
    from app.services import snipeit

    started = time.perf_counter()
    with open(path, "rb") as f:
        dry = snipeit.run(f, by=None, dry_run=True)
    checked = time.perf_counter() - started
    db.session.rollback()
    started = time.perf_counter()
    with open(path, "rb") as f:
        done = snipeit.run(f, by=None, dry_run=False, approved=dry.plan.to_bytes())
    db.session.commit()
    return dry, checked, done, time.perf_counter() - started


def child_import(path: str, url: str) -> None:
    """Import the file into an empty district, then its changed copy; print the timings."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Campus, Room
    from app.services import snipeit

    app = _app(url)
    with app.app_context():
        db.drop_all()
        db.create_all()
        for code in ("LHS", "JMS", "RES"):
            campus = Campus(code=code, name=code)
            db.session.add(campus)
            db.session.add_all(Room(campus=campus, code=f"{code}-{100 + n}", name=str(n)) for n in range(40))
        db.session.commit()
        dry, checked, done, applied = _import(path)
        n = db.session.scalar(sa.select(sa.func.count()).select_from(snipeit.Asset))
        print(f"rows={dry.rows} dry_run_s={checked:.1f} apply_s={applied:.1f} created={done.created} devices={n}")
        dry, checked, done, applied = _import(str(Path(path).with_name("assets-changed.csv")))
        print(f"again, changed: dry_run_s={checked:.1f} apply_s={applied:.1f} updated={done.updated}")
        print(f"peak_rss_mb={_peak_mb():.0f}")
        db.session.rollback()
        if url.startswith("sqlite"):
            return
        db.drop_all()


def child_export(url: str) -> None:
    """Stream the devices export COPIES times to /dev/null; print rows, time and peak RSS."""
    from app.extensions import db
    from app.services import snipeit

    app = _app(url)
    rows, started = 0, time.perf_counter()
    with app.app_context(), open(os.devnull, "w", encoding="utf-8") as out:
        for _ in range(COPIES):
            for chunk in snipeit.export_csv():
                out.write(chunk)
                rows += 1
            db.session.rollback()
    print(f"rows={rows - COPIES} export_s={time.perf_counter() - started:.1f} peak_rss_mb={_peak_mb():.0f}")


def child_read(path: str) -> None:
    """Read every row of the file through the shared reader; print rows, time and peak RSS."""
    from app.services.csvio import read_table
    from app.services.snipeit import ALIASES

    started = time.perf_counter()
    with open(path, "rb") as f:
        rows = sum(1 for _ in read_table(f, ALIASES, required=["asset_tag", "serial"]).rows)
    print(f"rows={rows} read_s={time.perf_counter() - started:.1f} peak_rss_mb={_peak_mb():.0f}")


def _child(*args: str) -> None:
    out = subprocess.run([sys.executable, "-m", "bench.bench_snipeit", *args], capture_output=True, text=True)
    for line in (out.stdout + (out.stderr if out.returncode else "")).strip().splitlines()[-4:]:
        print(f"  {args[0]:<8} {line}", flush=True)


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="rollcall-bench-snipeit-") as tmp:
        path = Path(tmp) / "assets.csv"
        write_file(path, ROWS)
        write_file(path.with_name("assets-changed.csv"), ROWS, note="changed")
        sqlite = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        print(f"Snipe-IT import of {ROWS:,} rows ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
        _child("import", str(path), sqlite)
        if PG:
            _child("import", str(path), PG)
        print(f"devices export streamed {COPIES} times over", flush=True)
        _child("export", sqlite)
        big = Path(tmp) / "big.csv"
        write_file(big, READ_ROWS)
        print(f"reading a {READ_ROWS:,}-row CSV ({big.stat().st_size / 1e6:.0f} MB)", flush=True)
        _child("read", str(big))


if __name__ == "__main__":
    what, *rest = sys.argv[1:]
    {"import": child_import, "export": child_export, "read": child_read}[what](*rest)
