"""Cleaning a photo from the public report: peak memory above the worker's baseline and time, per kind of input.

Each photo is cleaned in a fresh process (tests/photo_samples.probe) so its peak is its own. The budget is
app.services.photos.MEMORY_BUDGET_MB; tests/test_photos_memory.py asserts it, this only reports.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.common import report

SAMPLES = (
    ("7060x7060 RGBA PNG pixel flood (refused)", "flood"),
    ("6000x4000 JPEG (24 MP camera)", "jpeg_24mp"),
    ("4032x3024 JPEG (12 MP phone, rotated)", "phone_12mp"),
    ("3540x3540 RGB PNG (largest PNG taken)", "png_at_limit"),
    ("2400x2400 RGBA PNG (screenshot with alpha)", "png_alpha"),
)
REPEAT = 3


def _make(name: str) -> bytes:
    from tests.photo_samples import camera_jpeg, flat_png

    return {
        "flood": lambda: flat_png(7060, 7060),
        "jpeg_24mp": lambda: camera_jpeg(6000, 4000),
        "phone_12mp": lambda: camera_jpeg(4032, 3024, orientation=6),
        "png_at_limit": lambda: flat_png(3540, 3540, alpha=False),
        "png_alpha": lambda: flat_png(2400, 2400),
    }[name]()


def run() -> None:
    from app.services.photos import MEMORY_BUDGET_MB
    from tests.photo_samples import probe

    print(f"budget: {MEMORY_BUDGET_MB} MB a photo", flush=True)
    with tempfile.TemporaryDirectory(prefix="rollcall-bench-photos-") as folder:
        for label, name in SAMPLES:
            path = Path(folder) / name
            path.write_bytes(_make(name))
            runs = [probe(path) for _ in range(REPEAT)]
            outcome = "x".join(map(str, runs[0]["size"])) if runs[0]["ok"] else runs[0]["error"]
            report(
                f"{label} -> {outcome}",
                {
                    "file_kb": path.stat().st_size / 1024,
                    "peak_mb": max(r["peak_mb"] for r in runs),
                    "median_ms": sorted(r["seconds"] for r in runs)[REPEAT // 2] * 1000,
                },
            )
