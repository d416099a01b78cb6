"""gunicorn settings for `rollcall serve` (loaded with `--config python:app.serving`)."""

from __future__ import annotations

import gc


def post_worker_init(worker) -> None:
    """Once a worker has loaded the app, set its long-lived objects (modules, mappers, templates) aside from the
    garbage collector: full collections then walk only what requests create, which made a 500-scan sync request
    about a fifth faster (bench/bench_sync.py does the same)."""
    gc.collect()
    gc.freeze()


def child_exit(server, worker) -> None:
    """A worker stopped: let prometheus_client's multiprocess mode drop its live files (app.ops.metrics)."""
    from app.ops.metrics import worker_exited

    worker_exited(worker.pid)
