"""Helpers shared by benchmarks: timing with medians and p95, a throwaway app on its own SQLite file."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def timed(fn: Callable[[], object], repeat: int = 30, warmup: int = 3) -> dict[str, float]:
    """Call fn repeatedly; return median, p95 and min in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "median_ms": statistics.median(samples),
        "p95_ms": samples[max(0, int(round(0.95 * len(samples))) - 1)],
        "min_ms": samples[0],
    }


def report(label: str, figures: dict[str, float]) -> None:
    print(f"{label:<48} " + "  ".join(f"{k}={v:,.1f}" for k, v in figures.items()), flush=True)


def bench_app(name: str, keep: bool = False, database: Path | None = None):
    """A production-like app (not TESTING) on its own SQLite file under bench/out/ (or a temp dir), or on an
    existing database file."""
    from app import create_app
    from app.config import Config

    folder = Path(__file__).parent / "out" if keep else Path(tempfile.mkdtemp(prefix="rollcall-bench-"))
    folder.mkdir(parents=True, exist_ok=True)

    class BenchConfig(Config):
        ENV_NAME = "development"
        SECRET_KEY = "bench-secret-key-not-for-production"
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{database or folder / (name + '.sqlite3')}"
        WTF_CSRF_ENABLED = False
        RATELIMIT_ENABLED = False

    return create_app(BenchConfig), folder
