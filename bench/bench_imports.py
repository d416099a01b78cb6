"""Import uploads: peak memory (RSS) and time of checking a 12 MB and a 60 MB Google Admin export through the
upload page, each in a fresh process, against a district of 200,000 devices.

The file's first rows are the district's devices; past them, devices Rollcall lacks. Each check runs in a child
process so its peak RSS is its own: `baseline` is the process just before the upload (app loaded, signed in),
`peak` its high-water mark, `added` the difference. Figures are reported, never asserted.

BENCH_DB=path reuses a seeded SQLite file (its import runs are deleted again afterwards); BENCH_APP_ROOT=dir
measures the app of another checkout (an older commit, say) with the same files; BENCH_IMPORT_MB=12,60 sets the
sizes.

On 2 shared cores, 200,000 devices: before (bf6082c) 12 MB peaked at 396 MB (311 MB added) and 60 MB at 754 MB
(668 MB added); read as a stream, 332 MB (246 added) and 349 MB (263 added). What is left is the district's
devices held for matching (about 240 MB of it), not the file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ASSETS = int(os.environ.get("BENCH_ASSETS", "200000"))
REUSE = os.environ.get("BENCH_DB")
SIZES_MB = [int(s) for s in os.environ.get("BENCH_IMPORT_MB", "12,60").split(",")]
ROOT = Path(__file__).resolve().parent.parent


def _status_kb(field: str) -> int:
    """A figure of this process from /proc (VmRSS now, VmHWM its peak), in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _export(path: Path, rows: list[tuple], size: int) -> int:
    """Write a `gam print cros` file of about `size` bytes; the number of rows in it."""
    from bench.bench_visibility import google_export

    extra = [(f"BENCHX{i:08d}", f"LHS-X{i}", "Acer Chromebook 311", None, None) for i in range(400_000)]
    n = size // 250
    for _ in range(3):  # rows differ in length: two corrections come within a row or two of the size
        data = google_export(rows + extra, n)
        n = int(n * size / len(data))
    path.write_bytes(data)
    return data.count(b"\n") - 1


def run() -> None:
    import sqlalchemy as sa

    from bench.bench_visibility import _reuse
    from bench.common import bench_app

    app, folder = _reuse(REUSE) if REUSE else bench_app("imports")
    from app.extensions import db
    from app.models import Asset, DeviceModel, Person
    from app.services import demo

    with app.app_context():
        db.create_all()
        if not demo.has_data():
            started = time.perf_counter()
            demo.seed(n_assets=ASSETS, seed=1)
            db.session.commit()
            print(f"seed-demo --assets {ASSETS}: {time.perf_counter() - started:.1f} s", flush=True)
        devices = (
            sa.select(Asset.serial, Asset.asset_tag, DeviceModel.manufacturer, DeviceModel.name)
            .add_columns(DeviceModel.aue_date, Person.email)
            .join(DeviceModel, Asset.model_id == DeviceModel.id)
            .outerjoin(Person, Asset.assigned_to_id == Person.id)
            .order_by(Asset.id)
        )
        rows = [
            (serial, tag, f"{maker} {name}", aue, email)
            for serial, tag, maker, name, aue, email in db.session.execute(devices)
        ]
        database = app.config["SQLALCHEMY_DATABASE_URI"]
    files = Path(tempfile.mkdtemp(prefix="rollcall-bench-imports-"))
    for mb in SIZES_MB:
        path = files / f"google-{mb}mb.csv"
        n = _export(path, rows, mb * 1_000_000)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("BENCH_APP_ROOT"), str(ROOT)]))}
        out = subprocess.run(
            [sys.executable, "-m", "bench.bench_imports", database, str(path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            print(out.stderr, file=sys.stderr)
            raise SystemExit(f"the check of {path.name} failed")
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"check {path.stat().st_size / 1e6:.1f} MB Google file ({n:,} rows, {min(n, len(rows)):,} in Rollcall): "
            f"{figures['seconds']:.1f} s, status {figures['status']}, baseline {figures['baseline_mb']:.0f} MB, "
            f"peak {figures['peak_mb']:.0f} MB, added {figures['peak_mb'] - figures['baseline_mb']:.0f} MB"
            + (f", parked {figures['parked_mb']:.1f} MB" if figures.get("parked_mb") is not None else ""),
            flush=True,
        )
        path.unlink()
    print(f"(database in {folder})")


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)


def child(database: str, path: str) -> None:
    """One check of one file through the upload page, in this process; prints its figures as JSON."""
    root = os.environ.get("BENCH_APP_ROOT")
    if root:
        sys.path.insert(0, root)
    from app import create_app
    from app.config import Config

    class ChildConfig(Config):
        ENV_NAME = "development"
        SECRET_KEY = "bench-secret-key-not-for-production"
        SQLALCHEMY_DATABASE_URI = database
        RATELIMIT_ENABLED = False
        # An older checkout knows only the app-wide limit: let it take the file too.
        MAX_CONTENT_LENGTH = 128 * 1024 * 1024
        IMPORT_MAX_CONTENT_LENGTH = 128 * 1024 * 1024

    import sqlalchemy as sa

    app = create_app(ChildConfig)
    from app.extensions import db
    from app.models import ImportRun

    client = app.test_client()
    # Signed in through the form, which every version of the app has.
    page = client.get("/login").get_data(as_text=True)
    signed_in = client.post(
        "/login",
        data={"csrf_token": _csrf(page), "email": "admin@mvusd.example", "password": "rollcall-demo"},
    )
    assert signed_in.status_code in (302, 303), signed_in.status_code
    page = client.get("/imports").get_data(as_text=True)
    token = _csrf(page)
    baseline = _status_kb("VmRSS")
    started = time.perf_counter()
    with open(path, "rb") as upload:
        resp = client.post(
            "/imports/google-admin",
            data={"csrf_token": token, "file": (upload, Path(path).name)},
            content_type="multipart/form-data",
        )
    seconds = time.perf_counter() - started
    peak = _status_kb("VmHWM")
    with app.app_context():
        parked = db.session.scalar(sa.select(sa.func.max(sa.func.length(ImportRun.content))))
        db.session.execute(sa.delete(ImportRun))
        db.session.commit()
    print(
        json.dumps(
            {
                "status": resp.status_code,
                "seconds": seconds,
                "baseline_mb": baseline / 1024,
                "peak_mb": peak / 1024,
                "parked_mb": parked / 1e6 if parked else None,
            }
        )
    )


if __name__ == "__main__":
    child(*sys.argv[1:3])
